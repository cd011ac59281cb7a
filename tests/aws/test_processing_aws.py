"""Processing on the AWS backend, offline on moto: the request sent, waits on the session
clock, failures, stop, CloudWatch logs, and checks made before anything is uploaded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

import mlopskit
from mlopskit.errors import JobFailedError, ValidationError, WaitTimeoutError
from mlopskit.testing import TEST_REGION, TEST_ROLE_ARN

from .. import processing_moto

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def lifecycle(monkeypatch: pytest.MonkeyPatch) -> processing_moto.ProcessingLifecycle:
    return processing_moto.patch(monkeypatch)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "prep.py"
    path.write_text("print('runs on SageMaker')\n")
    return path


def _processor(session: Any, **kwargs: Any) -> mlopskit.Processor:
    kwargs.setdefault("image_uri", IMAGE)
    return mlopskit.Processor(instance_type="ml.m5.large", session=session, **kwargs)


def test_the_request_carries_the_script_arguments_and_role(aws_session, script, lifecycle):
    job = _processor(aws_session, command=["python3", "-u"]).run(
        script, logs=False, arguments=["--rows", "10"], inputs=[
            mlopskit.ProcessingInput("s3://bkt-1/raw/", "/opt/ml/processing/input/raw")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out")])
    raw = aws_session.backend.clients.sagemaker.describe_processing_job(
        ProcessingJobName=job.name)
    app = raw["AppSpecification"]
    assert app["ContainerEntrypoint"] == ["python3", "-u", "/opt/ml/processing/input/code/prep.py"]
    assert app["ContainerArguments"] == ["--rows", "10"]
    assert app["ImageUri"] == IMAGE
    assert raw["RoleArn"] == TEST_ROLE_ARN
    code = raw["ProcessingInputs"][-1]
    assert code["InputName"] == "code"
    assert code["S3Input"]["S3Uri"] == \
        f"s3://{aws_session.default_bucket}/{job.name}/input/code/prep.py"
    assert raw["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == \
        f"s3://{aws_session.default_bucket}/{job.name}/output/output-1"


def test_wait_backs_off_on_the_session_clock(aws_session, script, lifecycle, fake_clock):
    lifecycle.describes_until_done = 8
    job = _processor(aws_session).run(script, logs=False)
    assert job.status == "Completed"
    sleeps = fake_clock.sleeps
    assert len(sleeps) >= 5
    assert sleeps[0] < sleeps[1] < sleeps[2] < sleeps[3]  # exponential at first
    assert all(2 <= s <= 30 + 2 for s in sleeps)  # from 2 s, capped at 30 s plus jitter


def test_wait_times_out_without_touching_the_job(aws_session, script, lifecycle):
    lifecycle.describes_until_done = 10_000
    job = _processor(aws_session).run(script, logs=False, wait=False)
    with pytest.raises(WaitTimeoutError, match="still InProgress"):
        job.wait(timeout=60)
    assert job.status == "InProgress"


def test_a_failed_job_raises_with_its_reason(aws_session, script, lifecycle):
    lifecycle.describes_until_done = 2
    lifecycle.final_status = "Failed"
    lifecycle.failure_reason = "AlgorithmError: See job logs for more information"
    lifecycle.exit_message = "ValueError: column price holds text"
    with pytest.raises(JobFailedError, match="See job logs") as info:
        _processor(aws_session).run(script, logs=False)
    assert info.value.job.exit_message == "ValueError: column price holds text"
    assert info.value.status == "Failed"


def test_stop_an_aws_job(aws_session, script, lifecycle):
    lifecycle.describes_until_done = 10_000
    job = _processor(aws_session).run(script, logs=False, wait=False)
    job.stop()
    job.stop()  # a Stopping job: nothing more to do
    assert job.status == "Stopping"
    job.wait(timeout=600, raise_on_failure=False)
    assert job.status == "Stopped"


def test_logs_come_from_the_processing_log_group(aws_session, script, lifecycle, capsys):
    job = _processor(aws_session, instance_count=2).run(script, logs=False)
    assert job.logs() == ""  # no streams yet
    logs = aws_session.backend.clients.logs
    group = "/aws/sagemaker/ProcessingJobs"
    now_ms = int(time.time() * 1000)  # CloudWatch (and moto) drop events older than 14 days
    logs.create_log_group(logGroupName=group)
    for host, lines in (("algo-1", ["one", "two"]), ("algo-2", ["three"])):
        stream = f"{job.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now_ms + i, "message": line} for i, line in enumerate(lines)])
    lines, cursor = aws_session.backend.processing.read_logs(job.name)
    assert lines == ["[algo-1] one", "[algo-1] two", "[algo-2] three"]
    logs.put_log_events(logGroupName=group, logStreamName=f"{job.name}/algo-2-1700000000",
                        logEvents=[{"timestamp": now_ms + 100, "message": "later"}])
    assert aws_session.backend.processing.read_logs(job.name, cursor)[0] == ["[algo-2] later"]
    job.wait(logs=True)
    assert "[algo-1] two" in capsys.readouterr().out
    assert aws_session.backend.training.read_logs(job.name)[0] == []  # another log group


def test_checks_fail_before_anything_is_uploaded(moto_aws, fake_clock, script):
    boto = boto3.Session(region_name=TEST_REGION)
    boto.client("s3").create_bucket(Bucket="no-role-bucket")
    session = mlopskit.AwsSession(region=TEST_REGION, bucket="no-role-bucket",
                                  boto3_session=boto, clock=fake_clock)
    try:
        with pytest.raises(ValidationError, match="role_arn"):
            _processor(session).run(script, logs=False)
        session.role_arn = TEST_ROLE_ARN
        with pytest.raises(ValidationError, match="instance_type: 'local'"):
            mlopskit.Processor(image_uri=IMAGE, instance_type="local",
                               session=session).run(script, logs=False)
        with pytest.raises(ValidationError, match="image_uri"):
            mlopskit.Processor(instance_type="ml.m5.large", session=session).run(
                script, logs=False)
        assert session.backend.objects.list("s3://no-role-bucket/") == []
        assert list(session.backend.processing.names(None)) == []
    finally:
        session.close()
