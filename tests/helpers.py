"""Shared builders for serving tests: a model artifact in the store and its inference code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier

import mlopskit
from mlopskit.testing.conformance._support import model_in_store as _model_in_store

INFERENCE_SCRIPTS = Path(__file__).parent / "scripts" / "inference"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def constant_model(value: int) -> DummyClassifier:
    """A classifier that always answers ``value``: which model served is then plain."""
    return DummyClassifier(strategy="constant", constant=value).fit(
        np.zeros((2, 3)), [value, value + 100])


def model_in_store(session: mlopskit.Session, tmp_path: Path, estimator: Any, script: str, *,
                   key: str, image_uri: str | None = None) -> mlopskit.Model:
    """Put ``estimator`` as ``model.joblib`` in a model.tar.gz under ``key`` and return a
    Model served by ``tests/scripts/inference/<script>``."""
    return _model_in_store(session, tmp_path, estimator, script, key=key,
                           image_uri=image_uri, scripts=INFERENCE_SCRIPTS)
