"""Processing behaviour that must be the same on every backend (local, and AWS on moto)."""

from __future__ import annotations

from mlopskit.testing.conformance import ProcessingConformance


class TestProcessing(ProcessingConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
