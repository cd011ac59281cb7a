"""Listings that span several pages on the AWS backend, offline on moto: log streams, tags,
pipeline parameters. moto pages DescribeLogStreams and ListTags by 50; it does not page
ListPipelineParametersForExecution, so that test patches moto to (never mlopskit)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from moto.core.responses import ActionResult
from moto.sagemaker import responses as sm_responses

from mlopskit.backends.aws.pipelines import AwsPipelines
from mlopskit.errors import ThrottledError
from mlopskit.specs import TrainingJobSpec, build

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _on_call(client: Any, handler: Callable[..., None]) -> None:
    """Run ``handler`` before each call ``client`` makes (botocore's own event hook)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}", handler)


def _record(client: Any) -> list[str]:
    """The operations ``client`` sends, in order."""
    seen: list[str] = []

    def before_call(model: Any, **_: Any) -> None:
        seen.append(model.name)

    _on_call(client, before_call)
    return seen


def _throttle_once(client: Any, operation: str, after: int) -> Callable[[], int]:
    """Answer ``operation`` with a throttling error once, on its ``after``-th call (botocore
    stands in for AWS); returns a counter of the calls made."""
    from botocore.exceptions import ClientError

    calls = [0]

    def before_call(model: Any, **_: Any) -> None:
        if model.name == operation:
            calls[0] += 1
            if calls[0] == after:
                raise ClientError({"Error": {"Code": "ThrottlingException",
                                             "Message": "Rate exceeded"},
                                   "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)

    _on_call(client, before_call)
    return lambda: calls[0]


def test_every_log_stream_is_read_past_the_first_page(aws_session):
    backend = aws_session.backend
    logs = backend.clients.logs
    group = "/aws/sagemaker/TrainingJobs"
    now_ms = int(time.time() * 1000)
    logs.create_log_group(logGroupName=group)
    hosts = [f"algo-{n}" for n in range(1, 61)]  # 60 streams; moto pages 50 at a time
    for host in hosts:
        stream = f"many-hosts/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now_ms, "message": f"hello from {host}"}])
    seen = _record(logs)
    lines, cursor = backend.training.read_logs("many-hosts")
    assert sorted(lines) == sorted(f"[{h}] hello from {h}" for h in hosts)
    assert len(cursor) == 60
    assert seen.count("DescribeLogStreams") == 2


def test_a_throttled_page_of_log_streams_is_retried(aws_session, fake_clock):
    backend = aws_session.backend
    logs = backend.clients.logs
    group = "/aws/sagemaker/TrainingJobs"
    logs.create_log_group(logGroupName=group)
    for n in range(1, 56):
        logs.create_log_stream(logGroupName=group, logStreamName=f"busy/algo-{n}-1")
    calls = _throttle_once(logs, "DescribeLogStreams", after=2)  # the second page
    backend.training.read_logs("busy")
    assert calls() == 4  # two pages, then both again after the throttled one
    assert len(fake_clock.sleeps) == 1


def _training_job(aws_session: Any, name: str) -> str:
    spec = build(TrainingJobSpec, "", name=name, entry_point="train.py", image_uri=IMAGE,
                 source_uri=f"s3://{aws_session.default_bucket}/{name}/sourcedir.tar.gz",
                 instance_type="ml.m5.large", output_path=f"s3://{aws_session.default_bucket}/",
                 tags={"team": "fraud"})
    aws_session.backend.training.create(spec, False, None, None)
    arn = aws_session.backend.clients.sagemaker.describe_training_job(
        TrainingJobName=name)["TrainingJobArn"]
    return str(arn)


def _many_tags(count: int) -> list[dict[str, str]]:
    return [{"Key": f"k{n:03d}", "Value": f"v{n}"} for n in range(count)]


def test_every_tag_of_a_training_job_is_listed(aws_session):
    sagemaker = aws_session.backend.clients.sagemaker
    arn = _training_job(aws_session, "tagged-job")
    sagemaker.add_tags(ResourceArn=arn, Tags=_many_tags(70))  # moto pages ListTags by 50
    seen = _record(sagemaker)
    tags = aws_session.backend.training.describe("tagged-job").tags
    assert tags == {"team": "fraud", **{f"k{n:03d}": f"v{n}" for n in range(70)}}
    assert seen.count("ListTags") == 2


def test_every_tag_of_a_processing_job_is_listed(aws_session):
    sagemaker = aws_session.backend.clients.sagemaker
    arn = sagemaker.create_processing_job(
        ProcessingJobName="tagged-processing", RoleArn=aws_session.role_arn,
        AppSpecification={"ImageUri": IMAGE},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1,
                                               "InstanceType": "ml.m5.large",
                                               "VolumeSizeInGB": 30}},
    )["ProcessingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=_many_tags(120))
    seen = _record(sagemaker)
    tags = aws_session.backend.processing.describe("tagged-processing").tags
    assert tags == {f"k{n:03d}": f"v{n}" for n in range(120)}
    assert seen.count("ListTags") == 3


def test_throttled_tags_are_retried_to_the_full_list(aws_session, fake_clock):
    sagemaker = aws_session.backend.clients.sagemaker
    arn = _training_job(aws_session, "throttled-tags")
    sagemaker.add_tags(ResourceArn=arn, Tags=_many_tags(60))
    calls = _throttle_once(sagemaker, "ListTags", after=2)
    assert len(aws_session.backend.training.describe("throttled-tags").tags) == 61
    assert calls() == 4
    assert len(fake_clock.sleeps) == 1


def test_tags_throttled_past_the_budget_are_a_clear_error(aws_session, fake_clock):
    from botocore.exceptions import ClientError

    sagemaker = aws_session.backend.clients.sagemaker
    arn = _training_job(aws_session, "always-throttled")
    sagemaker.add_tags(ResourceArn=arn, Tags=_many_tags(60))

    def throttle(model: Any, **_: Any) -> None:
        if model.name == "ListTags":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}},
                              "ListTags")

    _on_call(sagemaker, throttle)
    with pytest.raises(ThrottledError, match="ListTags always-throttled: still throttled"):
        aws_session.backend.training.describe("always-throttled")


@pytest.fixture
def paged_pipeline_parameters(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """moto answers ListPipelineParametersForExecution in one page; page it by 2 (patching
    moto, not mlopskit). Returns the NextToken of each request received."""
    tokens: list[str | None] = []

    def list_parameters(self: Any) -> ActionResult:
        found = self.sagemaker_backend.list_pipeline_parameters_for_execution(
            self._get_param("PipelineExecutionArn"))["PipelineParameters"]
        token = self._get_param("NextToken")
        tokens.append(token)
        start = int(token or 0)
        size = int(self._get_param("MaxResults") or 2)
        page: dict[str, Any] = {"PipelineParameters": found[start:start + size]}
        if start + size < len(found):
            page["NextToken"] = str(start + size)
        return ActionResult(page)

    monkeypatch.setattr(sm_responses.SageMakerResponse,
                        "list_pipeline_parameters_for_execution", list_parameters)
    return tokens


def test_every_pipeline_parameter_is_read_past_the_first_page(aws_session,
                                                               paged_pipeline_parameters):
    pipelines = AwsPipelines(aws_session.backend)
    definition = json.dumps({"Version": "2020-12-01", "Steps": [], "Parameters": [
        {"Name": f"P{n}", "Type": "Integer", "DefaultValue": n} for n in range(5)]})
    pipelines.upsert_pipeline("paged-parameters", definition, role_arn=None)
    arn = pipelines.start_execution("paged-parameters", {f"P{n}": n * 10 for n in range(5)})
    record = pipelines.describe_execution(arn)
    assert record.parameters == {f"P{n}": n * 10 for n in range(5)}
    assert paged_pipeline_parameters == [None, "2", "4"]
