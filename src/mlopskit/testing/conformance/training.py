"""Training behaviour that must be the same on every backend."""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError

from ...backends.base import Capability
from ...session import Session
from ..plugin import notimpl
from ._support import IMAGE, Conformance

__all__ = ["TrainingConformance"]

SCRIPT = ("import os\n"
          "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')\n")


def _estimator(session: Session, code: Path, **kwargs: Any) -> mlopskit.Estimator:
    kwargs.setdefault("instance_type", "ml.m5.large")
    return mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                              session=session, **kwargs)


class TrainingConformance(Conformance):
    """Estimator.fit and TrainingJob: SageMaker-shaped names, uploads under the job, attach,
    list, conflicts, output paths, several hosts."""

    @pytest.fixture
    def code(self, tmp_path: Path) -> Path:
        folder = tmp_path / "code"
        folder.mkdir()
        (folder / "train.py").write_text(SCRIPT)
        (folder / "helpers.py").write_text("X = 1\n")
        return folder

    def test_fit_completes_with_sagemaker_shaped_names(self, session: Session,
                                                       code: Path) -> None:
        job = _estimator(session, code, hyperparameters={
            "epochs": 3, "mode": "fast mode", "flags": [1, 2]}).fit(logs=False)
        bucket = session.default_bucket
        assert job.status == "Completed"
        assert re.fullmatch(r"train-\d{4}(-\d\d){5}-\d{3}", job.name)
        assert re.fullmatch(rf"arn:aws:sagemaker:us-east-1:\d{{12}}:training-job/{job.name}",
                            job.arn)
        assert job.model_data == f"s3://{bucket}/{job.name}/output/model.tar.gz"
        assert job.hyperparameters == {"epochs": 3, "mode": "fast mode", "flags": [1, 2]}
        assert job.failure_reason is None

    def test_source_is_uploaded_as_sourcedir_tarball(self, session: Session, code: Path,
                                                     tmp_path: Path) -> None:
        job = _estimator(session, code).fit(logs=False)
        uri = f"s3://{session.default_bucket}/{job.name}/source/sourcedir.tar.gz"
        archive = tmp_path / "sourcedir.tar.gz"
        session.backend.objects.download(uri, archive)
        with tarfile.open(archive) as tar:
            assert sorted(tar.getnames()) == ["helpers.py", "train.py"]

    def test_local_inputs_are_uploaded_under_the_job(self, session: Session, code: Path,
                                                     tmp_path: Path) -> None:
        data = tmp_path / "data"
        (data / "nested").mkdir(parents=True)
        (data / "a.csv").write_text("1,2\n")
        (data / "nested" / "b.csv").write_text("3,4\n")
        job = _estimator(session, code).fit({"train": str(data)}, logs=False)
        prefix = f"s3://{session.default_bucket}/{job.name}/input/train/"
        assert session.backend.objects.list(prefix) == [prefix + "a.csv",
                                                        prefix + "nested/b.csv"]

    def test_s3_inputs_are_used_in_place(self, session: Session, code: Path) -> None:
        objects = session.backend.objects
        bucket = session.default_bucket
        objects.put_bytes(b"1,2\n", f"s3://{bucket}/datasets/train/part-0.csv")
        job = _estimator(session, code).fit(
            {"train": mlopskit.TrainingInput(f"s3://{bucket}/datasets/train",
                                             content_type="text/csv")}, logs=False)
        assert job.status == "Completed"
        assert objects.list(f"s3://{bucket}/{job.name}/input/") == []

    def test_attach_finds_the_job_by_name(self, session: Session, code: Path) -> None:
        job = _estimator(session, code, tags={"team": "fraud"}).fit(logs=False,
                                                                   job_name="named-1")
        attached = mlopskit.TrainingJob.attach("named-1", session=session)
        assert attached.name == "named-1"
        assert attached.status == "Completed"
        assert attached.model_data == job.model_data
        assert attached.describe().tags == {"team": "fraud"}

    def test_attach_unknown_job_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFoundError, match="no-such-job"):
            mlopskit.TrainingJob.attach("no-such-job", session=session)

    def test_duplicate_job_name_is_a_conflict_and_uploads_nothing(self, session: Session,
                                                                  code: Path) -> None:
        estimator = _estimator(session, code)
        estimator.fit(logs=False, job_name="dup-job")
        objects = session.backend.objects
        before = objects.list(f"s3://{session.default_bucket}/")
        (code / "train.py").write_text(SCRIPT + "# changed\n")
        with pytest.raises(ConflictError, match="dup-job"):
            estimator.fit(logs=False, job_name="dup-job")
        assert objects.list(f"s3://{session.default_bucket}/") == before

    def test_generated_names_are_unique_and_listed(self, session: Session,
                                                   code: Path) -> None:
        estimator = _estimator(session, code)
        first = estimator.fit(logs=False)
        if isinstance(session.clock, mlopskit.FakeClock):
            session.clock.advance(0.002)
        second = estimator.fit(logs=False)
        assert first.name != second.name
        listed = [j.name for j in mlopskit.TrainingJob.list(session=session)]
        assert set(listed) == {first.name, second.name}
        assert estimator.latest_job is second

    def test_wait_on_a_finished_job_returns_at_once(self, session: Session,
                                                    code: Path) -> None:
        job = _estimator(session, code).fit(logs=False)
        assert job.wait(timeout=0.0) is job

    def test_custom_output_path(self, session: Session, code: Path) -> None:
        bucket = session.default_bucket
        job = _estimator(session, code, output_path=f"s3://{bucket}/models/").fit(logs=False)
        assert job.model_data == f"s3://{bucket}/models/{job.name}/output/model.tar.gz"

    @notimpl(Capability.MULTI_HOST)
    def test_multi_host_job_completes(self, session: Session, code: Path) -> None:
        job = _estimator(session, code, instance_count=2).fit(logs=False)
        assert job.status == "Completed"
        assert job.describe().instance_count == 2

    def test_sessions_work_as_context_managers(self, session: Session) -> None:
        with session as entered:
            assert mlopskit.TrainingJob.list(session=entered) == []
        # Closing releases resources; the session rebuilds its backend on next use.
        assert mlopskit.TrainingJob.list(session=session) == []

    def test_tempdir_is_cleaned_after_packing(self, session: Session, code: Path) -> None:
        before = set(Path(tempfile.gettempdir()).glob("mlopskit-src-*"))
        _estimator(session, code).fit(logs=False)
        assert set(Path(tempfile.gettempdir()).glob("mlopskit-src-*")) == before
