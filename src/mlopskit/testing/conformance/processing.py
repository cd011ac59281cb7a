"""Processing behaviour that must be the same on every backend."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ConflictError, NotFoundError

from ...backends.base import Capability
from ...session import Session
from ..plugin import notimpl
from ._support import IMAGE, Conformance

__all__ = ["ProcessingConformance"]

SCRIPT = ("import os\n"
          "os.makedirs('/opt/ml/processing/out', exist_ok=True)\n"
          "open('/opt/ml/processing/out/done.txt', 'w').write('done')\n")


def _processor(session: Session, **kwargs: Any) -> mlopskit.Processor:
    kwargs.setdefault("instance_type", "ml.m5.large")
    return mlopskit.Processor(image_uri=IMAGE, session=session, **kwargs)


class ProcessingConformance(Conformance):
    """Processor.run and ProcessingJob: names, code and inputs uploaded under the job or
    used in place, outputs, arguments, attach, conflicts, non-Python commands."""

    @pytest.fixture
    def script(self, tmp_path: Path) -> Path:
        path = tmp_path / "prep.py"
        path.write_text(SCRIPT)
        return path

    def test_run_completes_with_sagemaker_shaped_names(self, session: Session,
                                                       script: Path) -> None:
        job = _processor(session).run(script, logs=False)
        assert job.status == "Completed"
        assert re.fullmatch(r"prep-\d{4}(-\d\d){5}-\d{3}", job.name)
        assert re.fullmatch(
            rf"arn:aws:sagemaker:us-east-1:\d{{12}}:processing-job/{job.name}", job.arn)
        assert job.failure_reason is None
        assert job.arguments == []

    def test_code_is_uploaded_under_the_job(self, session: Session, script: Path) -> None:
        job = _processor(session).run(script, logs=False)
        uri = f"s3://{session.default_bucket}/{job.name}/input/code/prep.py"
        assert session.backend.objects.get_bytes(uri) == script.read_bytes()
        assert job.inputs == {"code": uri}
        assert job.describe().entrypoint == ("python3", "/opt/ml/processing/input/code/prep.py")

    def test_code_already_in_s3_is_used_in_place(self, session: Session, script: Path) -> None:
        bucket = session.default_bucket
        session.backend.objects.put_bytes(script.read_bytes(), f"s3://{bucket}/code/prep.py")
        job = _processor(session).run(f"s3://{bucket}/code/prep.py", logs=False)
        assert job.status == "Completed"
        assert job.inputs["code"] == f"s3://{bucket}/code/prep.py"
        assert session.backend.objects.list(f"s3://{bucket}/{job.name}/") == []

    def test_local_inputs_are_uploaded_under_the_job(self, session: Session, script: Path,
                                                     tmp_path: Path) -> None:
        folder = tmp_path / "raw"
        (folder / "nested").mkdir(parents=True)
        (folder / "a.csv").write_text("1,2\n")
        (folder / "nested" / "b.csv").write_text("3,4\n")
        single = tmp_path / "lookup.json"
        single.write_text("{}")
        job = _processor(session).run(script, logs=False, inputs=[
            mlopskit.ProcessingInput(folder, "/opt/ml/processing/input/raw"),
            mlopskit.ProcessingInput(str(single), "/opt/ml/processing/input/lookup",
                                     input_name="lookup")])
        prefix = f"s3://{session.default_bucket}/{job.name}/input"
        assert session.backend.objects.list(f"{prefix}/input-1/") == [
            f"{prefix}/input-1/a.csv", f"{prefix}/input-1/nested/b.csv"]
        assert session.backend.objects.list(f"{prefix}/lookup/") == [
            f"{prefix}/lookup/lookup.json"]
        assert job.inputs == {"input-1": f"{prefix}/input-1/", "lookup": f"{prefix}/lookup/",
                              "code": f"{prefix}/code/prep.py"}

    def test_s3_inputs_are_used_in_place(self, session: Session, script: Path) -> None:
        bucket = session.default_bucket
        session.backend.objects.put_bytes(b"1,2\n", f"s3://{bucket}/datasets/raw/part-0.csv")
        job = _processor(session).run(script, logs=False, inputs=[
            mlopskit.ProcessingInput(f"s3://{bucket}/datasets/raw",
                                     "/opt/ml/processing/input/raw",
                                     s3_data_distribution_type="ShardedByS3Key")])
        assert job.status == "Completed"
        assert job.inputs["input-1"] == f"s3://{bucket}/datasets/raw"
        assert session.backend.objects.list(f"s3://{bucket}/{job.name}/input/") == [
            f"s3://{bucket}/{job.name}/input/code/prep.py"]

    def test_outputs_default_to_the_job_prefix(self, session: Session, script: Path) -> None:
        bucket = session.default_bucket
        job = _processor(session).run(script, logs=False, outputs=[
            mlopskit.ProcessingOutput("/opt/ml/processing/out"),
            mlopskit.ProcessingOutput("/opt/ml/processing/other", f"s3://{bucket}/elsewhere/",
                                      output_name="other")])
        assert job.outputs == {"output-1": f"s3://{bucket}/{job.name}/output/output-1",
                               "other": f"s3://{bucket}/elsewhere/"}

    def test_arguments_are_kept_verbatim(self, session: Session, script: Path) -> None:
        arguments = ["--rows", "10", "two words", "", "--flag=a b", "ünï"]
        job = _processor(session).run(script, logs=False, arguments=arguments)
        assert job.arguments == arguments
        assert mlopskit.ProcessingJob.attach(job.name, session=session).arguments == arguments

    @notimpl(Capability.MULTI_HOST)
    def test_attach_describes_the_job(self, session: Session, script: Path) -> None:
        processor = _processor(session, instance_count=2, environment={"MODE": "full"},
                               tags={"team": "fraud"}, max_runtime=600)
        processor.run(script, logs=False, job_name="prep-named")
        attached = mlopskit.ProcessingJob.attach("prep-named", session=session)
        described = attached.describe()
        assert (attached.name, attached.status) == ("prep-named", "Completed")
        assert described.tags == {"team": "fraud"}
        assert (described.instance_type, described.instance_count) == ("ml.m5.large", 2)
        assert described.environment == {"MODE": "full"}
        assert described.max_runtime == 600
        assert described.image_uri == IMAGE
        assert described.creation_time is not None and described.end_time is not None
        assert processor.latest_job is not None
        assert processor.latest_job.name == "prep-named"

    def test_attach_unknown_job_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFoundError, match="no-such-job"):
            mlopskit.ProcessingJob.attach("no-such-job", session=session)

    def test_duplicate_job_name_is_a_conflict_and_uploads_nothing(self, session: Session,
                                                                  script: Path) -> None:
        processor = _processor(session)
        processor.run(script, logs=False, job_name="dup-job")
        objects = session.backend.objects
        before = objects.list(f"s3://{session.default_bucket}/")
        script.write_text(SCRIPT + "# changed\n")
        with pytest.raises(ConflictError, match="dup-job"):
            processor.run(script, logs=False, job_name="dup-job")
        assert objects.list(f"s3://{session.default_bucket}/") == before

    def test_generated_names_are_unique_and_listed(self, session: Session,
                                                   script: Path) -> None:
        processor = _processor(session, base_job_name="nightly")
        first = processor.run(script, logs=False)
        second = processor.run(script, logs=False)
        assert first.name != second.name
        assert first.name.startswith("nightly-")
        listed = {j.name for j in mlopskit.ProcessingJob.list(session=session)}
        assert listed == {first.name, second.name}
        assert [j.name for j in mlopskit.ProcessingJob.list(
            session=session, name_contains=second.name)] == [second.name]

    def test_wait_on_a_finished_job_returns_at_once(self, session: Session,
                                                    script: Path) -> None:
        job = _processor(session).run(script, logs=False)
        assert job.wait(timeout=0.0) is job

    def test_stopping_an_ended_job_is_a_conflict(self, session: Session, script: Path) -> None:
        job = _processor(session).run(script, logs=False)
        with pytest.raises(ConflictError, match="Completed"):
            job.stop()

    @notimpl(Capability.CONTAINER_IMAGES, reason="only python3 scripts run without an image")
    def test_a_non_python_command_runs_only_where_containers_do(self, session: Session,
                                                                tmp_path: Path) -> None:
        script = tmp_path / "prep.sh"
        script.write_text("echo hi\n")
        processor = _processor(session, command=["bash"])
        try:
            job = processor.run(script, logs=False, job_name="shell-job")
        except CapabilityError as refused:  # refused before anything is made
            assert "['bash']" in str(refused)  # noqa: PT017 (re-raised below)
            assert mlopskit.ProcessingJob.list(session=session) == []
            assert session.backend.objects.list(f"s3://{session.default_bucket}/") == []
            raise
        assert job.describe().entrypoint == ("bash", "/opt/ml/processing/input/code/prep.sh")
