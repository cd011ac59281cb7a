"""Local files where SageMaker's local mode takes them: a Model's ``model_data`` and a
Transformer's ``data``, uploaded into the object store on first use, on every backend."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, ValidationError

from ...session import Session
from ..plugin import Emulation
from ._support import IMAGE, INFERENCE_SCRIPTS, Conformance, fitted_classifier

__all__ = ["LocalArtifactsConformance", "addressed", "archive_of", "artifact_folder",
           "csv_rows", "inference_code", "row_sums"]


def _rows() -> Any:
    import numpy as np

    return np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5], [-1.0, -2.0, 0.0]])


def artifact_folder(tmp_path: Path, estimator: object) -> Path:
    """``<tmp_path>/artifact/model.joblib``: a model artifact as a folder."""
    folder = tmp_path / "artifact"
    folder.mkdir()
    importlib.import_module("joblib").dump(estimator, folder / "model.joblib")
    return folder


def archive_of(tmp_path: Path, estimator: object) -> Path:
    """``<tmp_path>/model.tar.gz`` holding ``model.joblib``."""
    folder = artifact_folder(tmp_path, estimator)
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "model.joblib", arcname="model.joblib")
    return archive


def inference_code(tmp_path: Path, script: str) -> Path:
    """A source folder holding the shipped inference ``script``."""
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(INFERENCE_SCRIPTS / script, code / script)
    return code


def addressed(session: Session, uri: str) -> None:
    """``uri`` is where an uploaded local artifact goes: under its SHA-256."""
    prefix = f"s3://{session.default_bucket}/mlopskit/models/"
    assert uri.startswith(prefix) and uri.endswith("/model.tar.gz"), uri
    assert len(uri[len(prefix):].split("/")[0]) == 64


def csv_rows(path: Path, start: int, count: int) -> Path:
    """A CSV file of rows ``i,i,1`` for ``i`` from ``start``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i},{i},1\n" for i in range(start, start + count)))
    return path


def row_sums(start: int, count: int) -> list[str]:
    """What the summing model answers to :func:`csv_rows`."""
    return [str(2 * i + 1) for i in range(start, start + count)]


def _transform_jobs(session: Session) -> list[str]:
    return [job.name for job in mlopskit.TransformJob.list(session=session)]


BAD_ARTIFACTS: list[tuple[Callable[[Path], Any], str]] = [
    (lambda p: p / "missing.tar.gz", "neither an s3:// URI nor an existing local"),
    (lambda p: f"file://{p}/missing.tar.gz", "neither an s3:// URI nor an existing local"),
    (lambda p: p / "notes.txt", "is not a .tar.gz archive"),
    (lambda p: p / "fake.tar.gz", "is not a .tar.gz archive"),
    (lambda p: p / "empty", "is empty"),
    (lambda p: "S3://Bucket/model.tar.gz", "neither an s3:// URI"),
    (lambda p: 42, "model_data: expected an s3://bucket/key URI, got int"),
]

BAD_TRANSFORM_DATA: list[tuple[Callable[[Any, Path], Any], str]] = [
    (lambda t, p: t.transform(p / "missing.csv"), "data: .* is neither an s3:// URI nor an"),
    (lambda t, p: t.transform(p / "empty"), "data: folder .* holds no files"),
    (lambda t, p: t.transform(), "data: required"),
    (lambda t, p: t.transform(17), "data: expected an s3:// URI, or a local file"),
    (lambda t, p: t.transform("s3://Bad_Bucket/x"), "data: .* is not an S3 URI"),
    (lambda t, p: t.transform(p / "x.csv", data_uri="s3://bkt-1/x"), "data_uri: .* not both"),
]


class LocalArtifactsConformance(Conformance):
    """A Model made from a local archive, file URI or folder, and a Transformer given
    local data: uploaded once, content-addressed, and used like their S3 counterparts."""

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> Any:
        return fitted_classifier(3, 80)

    @pytest.fixture
    def summing_model(self, session: Session, tmp_path: Path) -> mlopskit.Model:
        """A model whose answer to a CSV row is the sum of its values, from a local
        archive."""
        archive = tmp_path / "placeholder.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
        return mlopskit.Model(archive, image_uri=IMAGE, entry_point="echo_rows.py",
                              source_dir=inference_code(tmp_path, "echo_rows.py"),
                              session=session)

    def test_a_local_model_registers_and_deploys_on_either_backend(
            self, session: Session, tmp_path: Path, fitted: Any,
            conformance_emulation: Emulation) -> None:
        archive = archive_of(tmp_path, fitted)
        group = mlopskit.ModelPackageGroup("local-artifacts", session=session)
        group.create()
        model = mlopskit.Model(f"file://{archive}", image_uri=IMAGE,
                               entry_point="only_model_fn.py",
                               source_dir=inference_code(tmp_path, "only_model_fn.py"),
                               session=session)
        package = group.register(model, approval_status="Approved")
        addressed(session, package.model.model_data)
        assert session.read_bytes(package.model.model_data) == archive.read_bytes()
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        assert package.lineage["sha256"] == digest
        assert f"/{digest}/" in package.model.model_data
        endpoint_model = mlopskit.Model(archive, image_uri=IMAGE,
                                        entry_point="only_model_fn.py",
                                        source_dir=inference_code(tmp_path, "only_model_fn.py"),
                                        session=session)
        endpoint_model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="local-art")
        endpoint = mlopskit.Endpoint("local-art", session=session)
        if conformance_emulation.executes:  # the deployed model answers
            rows = _rows()
            predicted = endpoint.invoke(json.dumps(rows.tolist()).encode(),
                                        content_type="application/json",
                                        accept="application/json")
            assert json.loads(predicted.body) == fitted.predict(rows).tolist()
        endpoint.delete()

    @pytest.mark.parametrize(("make", "message"), BAD_ARTIFACTS)
    def test_bad_local_artifacts_are_refused_at_construction(
            self, session: Session, tmp_path: Path, make: Callable[[Path], Any],
            message: str) -> None:
        (tmp_path / "notes.txt").write_text("not a model")
        (tmp_path / "fake.tar.gz").write_bytes(b"\x1f\x8bnot really gzip")
        (tmp_path / "empty").mkdir()
        with pytest.raises(ValidationError, match=message):
            mlopskit.Model(make(tmp_path), image_uri=IMAGE, session=session)
        assert session.list(f"s3://{session.default_bucket}/") == []

    @pytest.mark.parametrize("kind", ["file", "file-uri"])
    def test_transform_a_local_csv_file(self, session: Session, summing_model: mlopskit.Model,
                                        tmp_path: Path, conformance_emulation: Emulation,
                                        kind: str) -> None:
        csv = csv_rows(tmp_path / "in" / "scoring.csv", 0, 40)
        data = f"file://{csv}" if kind == "file-uri" else csv
        job = summing_model.transformer(1, "ml.m5.large").transform(data,
                                                                    job_name=f"csv-{kind}")
        bucket = session.default_bucket
        uploaded = f"s3://{bucket}/{job.name}/input/"
        assert session.list(uploaded) == [f"{uploaded}scoring.csv"]
        assert session.read_bytes(f"{uploaded}scoring.csv") == csv.read_bytes()
        if not conformance_emulation.executes:
            return  # the job was recorded; nothing ran it
        out = f"s3://{bucket}/{job.name}"  # the default output path, as the SDK's
        assert job.outputs == (f"{out}/scoring.csv.out",)
        assert session.read_bytes(job.outputs[0]).decode().split() == row_sums(0, 40)

    def test_transform_a_local_folder(self, session: Session, summing_model: mlopskit.Model,
                                      tmp_path: Path, conformance_emulation: Emulation) -> None:
        folder = tmp_path / "batch"
        csv_rows(folder / "a.csv", 0, 5)
        csv_rows(folder / "nested" / "b.csv", 100, 3)
        job = summing_model.transformer(1, "ml.m5.large").transform(folder)  # a generated name
        uploaded = f"s3://{session.default_bucket}/{job.name}/input/"
        assert session.list(uploaded) == [f"{uploaded}a.csv", f"{uploaded}nested/b.csv"]
        if not conformance_emulation.executes:
            return  # the job was recorded; nothing ran it
        out = f"s3://{session.default_bucket}/{job.name}"  # the default output path
        assert sorted(job.outputs) == [f"{out}/a.csv.out", f"{out}/nested/b.csv.out"]
        assert session.read_bytes(f"{out}/a.csv.out").decode().split() == row_sums(0, 5)
        assert session.read_bytes(f"{out}/nested/b.csv.out").decode().split() == \
            row_sums(100, 3)

    def test_two_generated_names_on_one_clock_tick_do_not_share_an_input(
            self, session: Session, summing_model: mlopskit.Model, tmp_path: Path) -> None:
        transformer = summing_model.transformer(1, "ml.m5.large")
        first = transformer.transform(csv_rows(tmp_path / "one" / "x.csv", 0, 2))
        second = transformer.transform(csv_rows(tmp_path / "two" / "x.csv", 50, 2))
        assert first.name != second.name
        bucket = session.default_bucket
        assert session.read_bytes(f"s3://{bucket}/{first.name}/input/x.csv") == \
            (tmp_path / "one" / "x.csv").read_bytes()

    def test_an_s3_uri_is_used_as_is_and_data_uri_still_works(
            self, session: Session, summing_model: mlopskit.Model, tmp_path: Path,
            conformance_emulation: Emulation) -> None:
        bucket = session.default_bucket
        uri = session.upload(csv_rows(tmp_path / "s3.csv", 0, 3), f"s3://{bucket}/given/s3.csv")
        transformer = summing_model.transformer(1, "ml.m5.large")
        job = transformer.transform(data_uri=uri, job_name="old-keyword")
        assert session.list(f"s3://{bucket}/old-keyword/input/") == []
        if conformance_emulation.executes:
            assert session.read_bytes(job.outputs[0]).decode().split() == row_sums(0, 3)

    @pytest.mark.parametrize(("call", "message"), BAD_TRANSFORM_DATA)
    def test_bad_transform_data_creates_and_uploads_nothing(
            self, session: Session, summing_model: mlopskit.Model, tmp_path: Path,
            call: Callable[[Any, Path], Any], message: str) -> None:
        (tmp_path / "empty").mkdir()
        csv_rows(tmp_path / "x.csv", 0, 1)
        transformer = summing_model.transformer(1, "ml.m5.large")
        with pytest.raises(ValidationError, match=message):
            call(transformer, tmp_path)
        assert _transform_jobs(session) == []
        assert session.list(f"s3://{session.default_bucket}/") == []

    def test_a_taken_job_name_is_refused_before_its_input_is_overwritten(
            self, session: Session, summing_model: mlopskit.Model, tmp_path: Path) -> None:
        transformer = summing_model.transformer(1, "ml.m5.large")
        transformer.transform(csv_rows(tmp_path / "a" / "in.csv", 0, 2), job_name="taken")
        uri = f"s3://{session.default_bucket}/taken/input/in.csv"
        original = session.read_bytes(uri)
        with pytest.raises(ConflictError, match="'taken' already exists"):
            transformer.transform(csv_rows(tmp_path / "b" / "in.csv", 7, 9), job_name="taken")
        assert session.read_bytes(uri) == original
        assert _transform_jobs(session) == ["taken"]
