"""Local files where SageMaker's local mode takes them: a Model's ``model_data`` and a
Transformer's ``data``, uploaded into the object store on first use, on every backend."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.errors import ConflictError, ValidationError

from ..helpers import IMAGE, INFERENCE_SCRIPTS

X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5], [-1.0, -2.0, 0.0]])


@pytest.fixture(scope="module")
def fitted() -> LogisticRegression:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(80, 3))
    return LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))


def _artifact_folder(tmp_path: Path, estimator: object) -> Path:
    folder = tmp_path / "artifact"
    folder.mkdir()
    joblib.dump(estimator, folder / "model.joblib")
    return folder


def _archive(tmp_path: Path, estimator: object) -> Path:
    folder = _artifact_folder(tmp_path, estimator)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "model.joblib", arcname="model.joblib")
    return archive


def _code(tmp_path: Path, script: str) -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(INFERENCE_SCRIPTS / script, code / script)
    return code


def _model_data(kind: str, tmp_path: Path, estimator: object) -> str:
    if kind == "folder":
        return str(_artifact_folder(tmp_path, estimator))
    archive = _archive(tmp_path, estimator)
    return f"file://{archive}" if kind == "file-uri" else str(archive)


def _addressed(session: mlopskit.Session, uri: str) -> None:
    prefix = f"s3://{session.default_bucket}/mlopskit/models/"
    assert uri.startswith(prefix) and uri.endswith("/model.tar.gz"), uri
    assert len(uri[len(prefix):].split("/")[0]) == 64


# -- Model(model_data=<local>) ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["archive", "file-uri", "folder"])
def test_a_local_model_deploys_and_predicts(local_session, tmp_path, fitted, kind):
    given = _model_data(kind, tmp_path, fitted)
    model = mlopskit.Model(given, entry_point="only_model_fn.py",
                           source_dir=_code(tmp_path, "only_model_fn.py"),
                           session=local_session)
    assert model.model_data == given
    assert model.is_local
    assert local_session.list(f"s3://{local_session.default_bucket}/mlopskit/models/") == []
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name=f"m-{kind}")
    assert predictor.predict(X).tolist() == fitted.predict(X).tolist()
    assert not model.is_local
    _addressed(local_session, model.model_data)
    with tarfile.open(fileobj=io.BytesIO(local_session.read_bytes(model.model_data))) as tar:
        assert tar.getnames() == ["model.joblib"]
    predictor.delete_endpoint()


def test_the_same_artifact_is_uploaded_once(local_session, tmp_path, fitted):
    archive = _archive(tmp_path, fitted)
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


def test_a_local_model_registers_and_deploys_on_either_backend(any_session, tmp_path, fitted):
    archive = _archive(tmp_path, fitted)
    group = mlopskit.ModelPackageGroup("local-artifacts", session=any_session)
    group.create()
    model = mlopskit.Model(f"file://{archive}", image_uri=IMAGE, entry_point="only_model_fn.py",
                           source_dir=_code(tmp_path, "only_model_fn.py"), session=any_session)
    package = group.register(model, approval_status="Approved")
    _addressed(any_session, package.model.model_data)
    assert any_session.read_bytes(package.model.model_data) == archive.read_bytes()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert package.lineage["sha256"] == digest
    assert f"/{digest}/" in package.model.model_data
    endpoint_model = mlopskit.Model(archive, image_uri=IMAGE, entry_point="only_model_fn.py",
                                    source_dir=_code(tmp_path, "only_model_fn.py"),
                                    session=any_session)
    endpoint_model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="local-art")
    endpoint = mlopskit.Endpoint("local-art", session=any_session)
    if any_session.backend_name == "aws":
        sagemaker = any_session.backend.clients.sagemaker
        described = sagemaker.describe_model(ModelName=endpoint.variants[0].model_name)
        assert described["PrimaryContainer"]["ModelDataUrl"] == package.model.model_data
    else:
        predicted = endpoint.invoke(json.dumps(X.tolist()).encode(),
                                    content_type="application/json", accept="application/json")
        assert json.loads(predicted.body) == fitted.predict(X).tolist()
    endpoint.delete()


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing.tar.gz", "neither an s3:// URI nor an existing local"),
    (lambda p: f"file://{p}/missing.tar.gz", "neither an s3:// URI nor an existing local"),
    (lambda p: p / "notes.txt", "is not a .tar.gz archive"),
    (lambda p: p / "fake.tar.gz", "is not a .tar.gz archive"),
    (lambda p: p / "empty", "is empty"),
    (lambda p: "S3://Bucket/model.tar.gz", "neither an s3:// URI"),
    (lambda p: 42, "model_data: expected an s3://bucket/key URI, got int"),
])
def test_bad_local_artifacts_are_refused_at_construction(any_session, tmp_path, make, message):
    (tmp_path / "notes.txt").write_text("not a model")
    (tmp_path / "fake.tar.gz").write_bytes(b"\x1f\x8bnot really gzip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match=message):
        mlopskit.Model(make(tmp_path), image_uri=IMAGE, session=any_session)
    assert any_session.list(f"s3://{any_session.default_bucket}/") == []


def test_a_pipeline_step_needs_an_uploaded_artifact(local_session, tmp_path, fitted):
    from mlopskit.pipeline import RegisterModelStep

    model = mlopskit.Model(_archive(tmp_path, fitted), image_uri=IMAGE, session=local_session)
    with pytest.raises(ValidationError, match=r"local artifact.*upload it first"):
        RegisterModelStep("Register", "group", model)


# -- Transformer.transform(<local data>) -----------------------------------------------------

@pytest.fixture
def summing_model(any_session, tmp_path) -> mlopskit.Model:
    """A model whose answer to a CSV row is the sum of its values, from a local archive."""
    archive = tmp_path / "placeholder.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    return mlopskit.Model(archive, image_uri=IMAGE, entry_point="echo_rows.py",
                          source_dir=_code(tmp_path, "echo_rows.py"), session=any_session)


def _csv(path: Path, start: int, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i},{i},1\n" for i in range(start, start + count)))
    return path


def _sums(start: int, count: int) -> list[str]:
    return [str(2 * i + 1) for i in range(start, start + count)]


def _requested_input(session: mlopskit.Session, job: str) -> str:
    described = session.backend.clients.sagemaker.describe_transform_job(TransformJobName=job)
    uri: str = described["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    return uri


@pytest.mark.parametrize("kind", ["file", "file-uri"])
def test_transform_a_local_csv_file(any_session, summing_model, tmp_path, kind):
    csv = _csv(tmp_path / "in" / "scoring.csv", 0, 40)
    data = f"file://{csv}" if kind == "file-uri" else csv
    job = summing_model.transformer(1, "ml.m5.large").transform(data, job_name=f"csv-{kind}")
    bucket = any_session.default_bucket
    uploaded = f"s3://{bucket}/{job.name}/input/"
    assert any_session.list(uploaded) == [f"{uploaded}scoring.csv"]
    assert any_session.read_bytes(f"{uploaded}scoring.csv") == csv.read_bytes()
    if any_session.backend_name == "aws":
        assert _requested_input(any_session, job.name) == uploaded
        return
    out = f"s3://{bucket}/{job.name}"  # the default output path, as the SDK's
    assert job.outputs == (f"{out}/scoring.csv.out",)
    assert any_session.read_bytes(job.outputs[0]).decode().split() == _sums(0, 40)


def test_transform_a_local_folder(any_session, summing_model, tmp_path):
    folder = tmp_path / "batch"
    _csv(folder / "a.csv", 0, 5)
    _csv(folder / "nested" / "b.csv", 100, 3)
    job = summing_model.transformer(1, "ml.m5.large").transform(folder)  # a generated name
    uploaded = f"s3://{any_session.default_bucket}/{job.name}/input/"
    assert any_session.list(uploaded) == [f"{uploaded}a.csv", f"{uploaded}nested/b.csv"]
    if any_session.backend_name == "aws":
        assert _requested_input(any_session, job.name) == uploaded
        return
    out = f"s3://{any_session.default_bucket}/{job.name}"  # the default output path
    assert sorted(job.outputs) == [f"{out}/a.csv.out", f"{out}/nested/b.csv.out"]
    assert any_session.read_bytes(f"{out}/a.csv.out").decode().split() == _sums(0, 5)
    assert any_session.read_bytes(f"{out}/nested/b.csv.out").decode().split() == _sums(100, 3)


def test_two_generated_names_on_one_clock_tick_do_not_share_an_input(any_session,
                                                                     summing_model, tmp_path):
    transformer = summing_model.transformer(1, "ml.m5.large")
    first = transformer.transform(_csv(tmp_path / "one" / "x.csv", 0, 2))
    second = transformer.transform(_csv(tmp_path / "two" / "x.csv", 50, 2))
    assert first.name != second.name
    bucket = any_session.default_bucket
    assert any_session.read_bytes(f"s3://{bucket}/{first.name}/input/x.csv") == \
        (tmp_path / "one" / "x.csv").read_bytes()


def test_an_s3_uri_is_used_as_is_and_data_uri_still_works(any_session, summing_model,
                                                          tmp_path):
    bucket = any_session.default_bucket
    uri = any_session.upload(_csv(tmp_path / "s3.csv", 0, 3), f"s3://{bucket}/given/s3.csv")
    transformer = summing_model.transformer(1, "ml.m5.large")
    job = transformer.transform(data_uri=uri, job_name="old-keyword")
    assert any_session.list(f"s3://{bucket}/old-keyword/input/") == []
    if any_session.backend_name == "aws":
        assert _requested_input(any_session, job.name) == uri
    else:
        assert any_session.read_bytes(job.outputs[0]).decode().split() == _sums(0, 3)


def _transform_jobs(session: mlopskit.Session) -> list[str]:
    return list(session.backend.serving.list_transform_jobs())


@pytest.mark.parametrize(("call", "message"), [
    (lambda t, p: t.transform(p / "missing.csv"), "data: .* is neither an s3:// URI nor an"),
    (lambda t, p: t.transform(p / "empty"), "data: folder .* holds no files"),
    (lambda t, p: t.transform(), "data: required"),
    (lambda t, p: t.transform(17), "data: expected an s3:// URI, or a local file"),
    (lambda t, p: t.transform("s3://Bad_Bucket/x"), "data: .* is not an S3 URI"),
    (lambda t, p: t.transform(p / "x.csv", data_uri="s3://bkt-1/x"), "data_uri: .* not both"),
])
def test_bad_transform_data_creates_and_uploads_nothing(any_session, summing_model, tmp_path,
                                                        call, message):
    (tmp_path / "empty").mkdir()
    _csv(tmp_path / "x.csv", 0, 1)
    transformer = summing_model.transformer(1, "ml.m5.large")
    with pytest.raises(ValidationError, match=message):
        call(transformer, tmp_path)
    assert _transform_jobs(any_session) == []
    assert any_session.list(f"s3://{any_session.default_bucket}/") == []


def test_a_taken_job_name_is_refused_before_its_input_is_overwritten(any_session,
                                                                      summing_model, tmp_path):
    transformer = summing_model.transformer(1, "ml.m5.large")
    transformer.transform(_csv(tmp_path / "a" / "in.csv", 0, 2), job_name="taken")
    uri = f"s3://{any_session.default_bucket}/taken/input/in.csv"
    original = any_session.read_bytes(uri)
    with pytest.raises(ConflictError, match="'taken' already exists"):
        transformer.transform(_csv(tmp_path / "b" / "in.csv", 7, 9), job_name="taken")
    assert any_session.read_bytes(uri) == original
    assert _transform_jobs(any_session) == ["taken"]


def test_transform_takes_data_first_as_the_sagemaker_sdk():
    import inspect

    parameters = list(inspect.signature(mlopskit.Transformer.transform).parameters)
    assert parameters[:5] == ["self", "data", "content_type", "wait", "job_name"]
