"""Notebook reprs work the same on every backend (local, and AWS on moto)."""

from __future__ import annotations

from mlopskit.testing.conformance import DisplayConformance


class TestDisplay(DisplayConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
