"""Local files where SageMaker's local mode takes them: a Model's ``model_data`` and a
Transformer's ``data``, uploaded into the object store on first use, on every backend."""

from __future__ import annotations

import io
import shutil
import tarfile

import numpy as np
import pytest

import mlopskit
from mlopskit.errors import ValidationError
from mlopskit.testing.conformance import IMAGE, LocalArtifactsConformance
from mlopskit.testing.conformance._support import fitted_classifier
from mlopskit.testing.conformance.artifacts import (
    addressed,
    archive_of,
    artifact_folder,
    csv_rows,
    inference_code,
)

X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5], [-1.0, -2.0, 0.0]])


class TestLocalArtifacts(LocalArtifactsConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


@pytest.fixture(scope="module")
def fitted():
    return fitted_classifier(3, 80)


def _model_data(kind: str, tmp_path, estimator: object) -> str:
    if kind == "folder":
        return str(artifact_folder(tmp_path, estimator))
    archive = archive_of(tmp_path, estimator)
    return f"file://{archive}" if kind == "file-uri" else str(archive)


# -- the local backend ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["archive", "file-uri", "folder"])
def test_a_local_model_deploys_and_predicts(local_session, tmp_path, fitted, kind):
    given = _model_data(kind, tmp_path, fitted)
    model = mlopskit.Model(given, entry_point="only_model_fn.py",
                           source_dir=inference_code(tmp_path, "only_model_fn.py"),
                           session=local_session)
    assert model.model_data == given
    assert model.is_local
    assert local_session.list(f"s3://{local_session.default_bucket}/mlopskit/models/") == []
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name=f"m-{kind}")
    assert predictor.predict(X).tolist() == fitted.predict(X).tolist()
    assert not model.is_local
    addressed(local_session, model.model_data)
    with tarfile.open(fileobj=io.BytesIO(local_session.read_bytes(model.model_data))) as tar:
        assert tar.getnames() == ["model.joblib"]
    predictor.delete_endpoint()


def test_the_same_artifact_is_uploaded_once(local_session, tmp_path, fitted):
    archive = archive_of(tmp_path, fitted)
    first = mlopskit.Model(archive, image_uri=IMAGE, session=local_session)
    uri = first.spec().model_data
    stored = local_session.backend.objects.path_for(uri)
    stamp = stored.stat().st_mtime_ns
    second = mlopskit.Model(str(archive), image_uri=IMAGE, session=local_session)
    assert second.spec().model_data == uri
    assert stored.stat().st_mtime_ns == stamp  # not written again
    assert local_session.list(f"s3://{local_session.default_bucket}/mlopskit/models/") == [uri]
    # a folder packs reproducibly: the same files give the same object
    folder = tmp_path / "again"
    folder.mkdir()
    shutil.copy(tmp_path / "artifact" / "model.joblib", folder / "model.joblib")
    packed = [mlopskit.Model(folder, image_uri=IMAGE, session=local_session).spec().model_data
              for _ in range(2)]
    assert packed[0] == packed[1]


def test_a_pipeline_step_needs_an_uploaded_artifact(local_session, tmp_path, fitted):
    from mlopskit.pipeline import RegisterModelStep

    model = mlopskit.Model(archive_of(tmp_path, fitted), image_uri=IMAGE, session=local_session)
    with pytest.raises(ValidationError, match=r"local artifact.*upload it first"):
        RegisterModelStep("Register", "group", model)


def test_transform_takes_data_first_as_the_sagemaker_sdk():
    import inspect

    parameters = list(inspect.signature(mlopskit.Transformer.transform).parameters)
    assert parameters[:5] == ["self", "data", "content_type", "wait", "job_name"]


# -- what the AWS backend sends (moto runs no model: the requests are what can be checked) --


def _requested_input(session: mlopskit.Session, job: str) -> str:
    described = session.backend.clients.sagemaker.describe_transform_job(TransformJobName=job)
    uri: str = described["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    return uri


def test_a_local_model_on_aws_is_deployed_from_its_upload(aws_session, tmp_path, fitted):
    archive = archive_of(tmp_path, fitted)
    model = mlopskit.Model(archive, image_uri=IMAGE, entry_point="only_model_fn.py",
                           source_dir=inference_code(tmp_path, "only_model_fn.py"),
                           session=aws_session)
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="local-art")
    endpoint = mlopskit.Endpoint("local-art", session=aws_session)
    addressed(aws_session, model.model_data)
    sagemaker = aws_session.backend.clients.sagemaker
    described = sagemaker.describe_model(ModelName=endpoint.variants[0].model_name)
    assert described["PrimaryContainer"]["ModelDataUrl"] == model.model_data
    endpoint.delete()


@pytest.mark.parametrize("kind", ["file", "file-uri", "folder", "s3-uri"])
def test_a_transform_on_aws_reads_the_uploaded_data(aws_session, tmp_path, kind):
    archive = tmp_path / "placeholder.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    model = mlopskit.Model(archive, image_uri=IMAGE, entry_point="echo_rows.py",
                           source_dir=inference_code(tmp_path, "echo_rows.py"),
                           session=aws_session)
    bucket = aws_session.default_bucket
    csv = csv_rows(tmp_path / "in" / "scoring.csv", 0, 4)
    data = {"file": csv, "file-uri": f"file://{csv}", "folder": csv.parent,
            "s3-uri": aws_session.upload(csv, f"s3://{bucket}/given/scoring.csv")}[kind]
    job = model.transformer(1, "ml.m5.large").transform(data, job_name=f"aws-{kind}")
    expected = (f"s3://{bucket}/given/scoring.csv" if kind == "s3-uri"
                else f"s3://{bucket}/{job.name}/input/")
    assert _requested_input(aws_session, job.name) == expected
