"""Hyperparameter tuning that must be the same on every backend (local, and AWS on moto)."""

from __future__ import annotations

from mlopskit.testing.conformance import TuningConformance


class TestTuning(TuningConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
