"""Realtime endpoints on every backend: deploy, describe, weights, target variant, delete."""

from __future__ import annotations

from mlopskit.testing.conformance import ServingConformance


class TestServing(ServingConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
