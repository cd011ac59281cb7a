"""What every conformance class shares: its base, the shipped scripts, model builders."""

from __future__ import annotations

import importlib
import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

import mlopskit

from ...session import Session

__all__ = ["IMAGE", "INFERENCE_SCRIPTS", "SCRIPTS", "Conformance", "constant_model",
           "fitted_classifier", "model_in_store", "run_cli"]

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
# Shipped with the package (package data): scripts jobs and inference servers run.
SCRIPTS = Path(__file__).resolve().parent / "scripts"
INFERENCE_SCRIPTS = SCRIPTS / "inference"


class Conformance:
    """Base of the conformance classes.

    A subclass runs against the session of the ``conformance_session`` fixture, which the
    backend's own test suite provides (in its ``conftest.py`` or in the subclass); tests
    ask for it as ``session``. The ``mlopskit.testing`` plugin must be enabled.
    """

    @pytest.fixture
    def session(self, conformance_session: Session) -> Session:
        return conformance_session


def _module(name: str) -> Any:
    """A module without type information (scikit-learn, joblib), imported when first used."""
    return importlib.import_module(name)


def constant_model(value: int) -> Any:
    """A classifier that always answers ``value``: which model served is then plain."""
    np = _module("numpy")
    dummy = _module("sklearn.dummy").DummyClassifier(strategy="constant", constant=value)
    return dummy.fit(np.zeros((2, 3)), [value, value + 100])


def fitted_classifier(seed: int, rows: int) -> Any:
    """A logistic regression on ``rows`` random rows of 3 features (label: x0 > 0)."""
    np = _module("numpy")
    features = np.random.default_rng(seed).normal(size=(rows, 3))
    regression = _module("sklearn.linear_model").LogisticRegression()
    return regression.fit(features, (features[:, 0] > 0).astype(int))


def model_in_store(session: Session, tmp_path: Path, estimator: Any, script: str, *,
                   key: str, image_uri: str | None = None,
                   scripts: Path = INFERENCE_SCRIPTS) -> mlopskit.Model:
    """Put ``estimator`` as ``model.joblib`` in a model.tar.gz under ``key`` and return a
    Model served by ``<scripts>/<script>`` (the shipped ``scripts/inference/`` by
    default)."""
    buffer = io.BytesIO()
    _module("joblib").dump(estimator, buffer)
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
    shutil.copy(scripts / script, code / script)
    return mlopskit.Model(uri, image_uri=image_uri, entry_point=script, source_dir=code,
                          session=session)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``mlopskit ARGV...`` in this process: its exit code, stdout and stderr."""
    from ...cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
