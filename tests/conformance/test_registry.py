"""The model registry's lifecycle, rules and bad-input handling, on every backend."""

from __future__ import annotations

from mlopskit.testing.conformance import RegistryConformance


class TestRegistry(RegistryConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
