"""Bad input gets a clear ValidationError naming the field and creates nothing, anywhere."""

from __future__ import annotations

from mlopskit.testing.conformance import BadInputConformance


class TestBadInput(BadInputConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
