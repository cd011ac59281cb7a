"""Bad input to a HyperparameterTuner is refused, names its field and creates nothing, on
every backend (local, and AWS on moto)."""

from __future__ import annotations

from mlopskit.testing.conformance import TuningBadInputConformance


class TestTuningBadInput(TuningBadInputConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""
