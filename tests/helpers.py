"""Shared builders for serving tests: a model artifact in the store and its inference code."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.dummy import DummyClassifier

import mlopskit

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
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    folder = tmp_path / f"model-{key.replace('/', '-')}"
    folder.mkdir(parents=True)
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(buffer.getvalue())
        tar.addfile(info, io.BytesIO(buffer.getvalue()))
    uri = f"s3://{session.default_bucket}/{key}/model.tar.gz"
    session.backend.objects.put_file(archive, uri)
    code = folder / "code"
    code.mkdir()
    shutil.copy(INFERENCE_SCRIPTS / script, code / script)
    return mlopskit.Model(uri, image_uri=image_uri, entry_point=script, source_dir=code,
                          session=session)
