"""AWS backend specifics, offline on moto: request shapes, retries, errors, waits, logs, S3."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.validate import ParamValidator
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sm_models

import mlopskit
from mlopskit.errors import (
    BackendError,
    JobFailedError,
    MissingDependencyError,
    NotFoundError,
    ThrottledError,
    ValidationError,
    WaitTimeoutError,
)
from mlopskit.sagemaker_api.training import create_training_job_request
from mlopskit.specs import TrainingJobSpec, build
from mlopskit.testing import TEST_ROLE_ARN

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


class _ServiceError(JsonRESTError):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(code, message)
        self.code = status


def _fail_next(monkeypatch: pytest.MonkeyPatch, method: str, errors: list[tuple[str, int]],
               ) -> list[str]:
    """Patch moto (never mlopskit) so its next calls of ``method`` fail, unprocessed.

    Each failure is an error code and HTTP status; when they run out, moto answers normally.
    Returns the list of calls seen.
    """
    seen: list[str] = []
    queue = list(errors)
    original = getattr(sm_models.SageMakerModelBackend, method)

    def failing(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(method)
        if queue:
            code, status = queue.pop(0)
            raise _ServiceError(code, f"injected {code}", status)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sm_models.SageMakerModelBackend, method, failing)
    return seen


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('runs on SageMaker')\n")
    return folder


def _estimator(session, code: Path, **kwargs: Any) -> mlopskit.Estimator:
    kwargs.setdefault("image_uri", IMAGE)
    return mlopskit.Estimator(entry_point="train.py", source_dir=code,
                              instance_type="ml.m5.large", session=session, **kwargs)


def _spec(**overrides: Any) -> TrainingJobSpec:
    values: dict[str, Any] = {"name": "job-1", "entry_point": "train.py",
                              "source_uri": "s3://bkt-1/job-1/source/sourcedir.tar.gz",
                              "instance_type": "ml.m5.large", "output_path": "s3://bkt-1/"}
    values.update(overrides)
    return build(TrainingJobSpec, "", **values)


@pytest.mark.parametrize("spec", [
    _spec(),
    _spec(instance_count=3, max_run=7200, hyperparameters={"a b": [1, {"c": None}], "x": True},
          environment={"MODE": "fast"}, tags={"team": "fraud"},
          metric_definitions=({"name": "acc", "regex": "acc=([0-9.]+)"},),
          channels=({"name": "train", "s3_uri": "s3://bkt-1/train/", "content_type": "text/csv",
                     "distribution": "ShardedByS3Key"},
                    {"name": "validation", "s3_uri": "s3://bkt-1/valid.csv",
                     "input_mode": "FastFile"})),
], ids=["minimal", "everything"])
def test_requests_pass_botocore_validation(aws_session, spec):
    request = create_training_job_request(spec, role_arn=TEST_ROLE_ARN, region="us-east-1",
                                          image_uri=IMAGE)
    shape = aws_session.backend.clients.sagemaker.meta.service_model.operation_model(
        "CreateTrainingJob").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert request["HyperParameters"]["sagemaker_submit_directory"] == json.dumps(spec.source_uri)


def test_request_carries_the_framework_hyperparameters(aws_session, code):
    job = _estimator(aws_session, code, hyperparameters={"lr": 0.1}).fit(logs=False)
    raw = aws_session.backend.clients.sagemaker.describe_training_job(TrainingJobName=job.name)
    hps = raw["HyperParameters"]
    assert hps["lr"] == "0.1"
    assert json.loads(hps["sagemaker_program"]) == "train.py"
    assert json.loads(hps["sagemaker_job_name"]) == job.name
    assert json.loads(hps["sagemaker_region"]) == "us-east-1"
    assert json.loads(hps["sagemaker_submit_directory"]) == \
        f"s3://{aws_session.default_bucket}/{job.name}/source/sourcedir.tar.gz"
    assert raw["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert raw["RoleArn"] == TEST_ROLE_ARN


def test_throttling_is_retried_until_it_succeeds(aws_session, code, fake_clock, monkeypatch):
    seen = _fail_next(monkeypatch, "create_training_job", [("ThrottlingException", 400)] * 2)
    job = _estimator(aws_session, code).fit(logs=False, job_name="after-throttle")
    assert len(seen) == 3
    assert job.status == "Completed"
    assert len(fake_clock.sleeps) >= 2  # backed off twice, on the fake clock


def test_throttling_past_the_budget_is_a_clear_error_and_leaves_nothing(aws_session, code,
                                                                        fake_clock, monkeypatch):
    seen = _fail_next(monkeypatch, "create_training_job", [("ThrottlingException", 400)] * 50)
    with pytest.raises(ThrottledError, match=r"still throttled after 8 attempts"):
        _estimator(aws_session, code).fit(logs=False, job_name="never-made")
    assert len(seen) == aws_session.max_attempts == 8
    backoff = fake_clock.sleeps[-7:]
    assert all(0 < s <= aws_session.max_backoff + 0.5 for s in backoff)
    assert backoff[3] > backoff[0]  # exponential growth before the cap
    assert aws_session.backend.training.names(None) == []
    assert aws_session.backend.objects.list(f"s3://{aws_session.default_bucket}/") == []


def test_server_errors_are_retried(aws_session, code, monkeypatch):
    seen = _fail_next(monkeypatch, "create_training_job", [("InternalFailure", 500)])
    assert _estimator(aws_session, code).fit(logs=False).status == "Completed"
    assert len(seen) == 2


def test_validation_errors_are_not_retried(aws_session, code, monkeypatch):
    seen = _fail_next(monkeypatch, "create_training_job", [("ValidationException", 400)])
    with pytest.raises(ValidationError, match=r"CreateTrainingJob .*injected ValidationException"):
        _estimator(aws_session, code).fit(logs=False)
    assert len(seen) == 1


def test_other_service_errors_become_backend_errors(aws_session, code, monkeypatch):
    _fail_next(monkeypatch, "create_training_job", [("ResourceLimitExceeded", 400)])
    with pytest.raises(BackendError, match="ResourceLimitExceeded") as info:
        _estimator(aws_session, code).fit(logs=False)
    assert info.value.code == "ResourceLimitExceeded"


def test_wait_backs_off_on_the_session_clock(aws_session, code, moto_lifecycle, fake_clock):
    moto_lifecycle.describes_until_done = 6
    job = _estimator(aws_session, code).fit(logs=False, wait=False)
    assert job.status == "InProgress"
    start = fake_clock.monotonic()
    assert job.wait(timeout=3600).status == "Completed"
    waited = fake_clock.sleeps
    assert waited[0] < waited[1] < waited[2]  # exponential at first
    assert all(s <= 30 + 2 for s in waited)  # capped (AWS waits: 2 s up to 30 s + jitter)
    assert fake_clock.monotonic() - start < 3600


def test_wait_times_out_without_touching_the_job(aws_session, code, moto_lifecycle,
                                                 fake_clock):
    moto_lifecycle.describes_until_done = 10_000
    job = _estimator(aws_session, code).fit(logs=False, wait=False)
    with pytest.raises(WaitTimeoutError, match="still InProgress"):
        job.wait(timeout=120)
    assert job.status == "InProgress"


def test_failed_job_raises_with_its_reason(aws_session, code, moto_lifecycle):
    moto_lifecycle.final_status = "Failed"
    moto_lifecycle.failure_reason = "AlgorithmError: boom"
    with pytest.raises(JobFailedError, match="AlgorithmError: boom"):
        _estimator(aws_session, code).fit(logs=False)


def test_stop_an_aws_job(aws_session, code, moto_lifecycle):
    moto_lifecycle.describes_until_done = 10_000
    job = _estimator(aws_session, code).fit(logs=False, wait=False)
    job.stop()
    assert job.wait(raise_on_failure=False).status == "Stopped"


def test_instance_type_local_is_refused_on_aws(aws_session, code):
    with pytest.raises(ValidationError, match=r"instance_type: 'local' only runs"):
        mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                           instance_type="local", session=aws_session).fit(logs=False)
    assert aws_session.backend.objects.list(f"s3://{aws_session.default_bucket}/") == []


def test_missing_role_is_refused_before_any_upload(aws_session, code):
    aws_session.role_arn = None
    with pytest.raises(ValidationError, match=r"role_arn.*MLOPSKIT_ROLE_ARN"):
        _estimator(aws_session, code).fit(logs=False)
    assert aws_session.backend.objects.list(f"s3://{aws_session.default_bucket}/") == []


def test_framework_without_the_sagemaker_extra_names_the_extra(aws_session, code, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", None)
    monkeypatch.setitem(sys.modules, "sagemaker.core.image_uris", None)
    estimator = _estimator(aws_session, code, image_uri=None, framework="sklearn",
                           framework_version="1.2-1")
    with pytest.raises(MissingDependencyError, match=r"mlopskit\[sagemaker\]") as info:
        estimator.fit(logs=False)
    assert info.value.extra == "sagemaker"
    assert aws_session.backend.objects.list(f"s3://{aws_session.default_bucket}/") == []


def test_no_image_and_no_framework_is_a_validation_error(aws_session, code):
    with pytest.raises(ValidationError, match="image_uri"):
        _estimator(aws_session, code, image_uri=None).fit(logs=False)


def test_cloudwatch_logs_are_read_per_host(aws_session, code, capsys):
    job = _estimator(aws_session, code, instance_count=2).fit(logs=False)
    logs = aws_session.backend.clients.logs
    group = "/aws/sagemaker/TrainingJobs"
    now_ms = int(time.time() * 1000)  # CloudWatch (and moto) drop events older than 14 days
    logs.create_log_group(logGroupName=group)
    for host in ("algo-1", "algo-2"):
        stream = f"{job.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now_ms + i, "message": f"{host} line {i}"} for i in range(3)])
    lines, cursor = aws_session.backend.training.read_logs(job.name)
    assert lines == [f"[{h}] {h} line {i}" for h in ("algo-1", "algo-2") for i in range(3)]
    stream = f"{job.name}/algo-1-1700000000"
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": now_ms + 1000, "message": "later"}])
    more, _ = aws_session.backend.training.read_logs(job.name, cursor)
    assert more == ["[algo-1] later"]
    assert "later" in job.logs()
    job.wait(logs=True)
    assert "[algo-2] algo-2 line 2" in capsys.readouterr().out


def test_logs_of_a_job_without_streams_are_empty(aws_session, code):
    job = _estimator(aws_session, code).fit(logs=True)
    assert job.logs() == ""


def test_s3_object_store_round_trip(aws_session, tmp_path):
    objects = aws_session.backend.objects
    bucket = aws_session.default_bucket
    objects.put_bytes(b"one", f"s3://{bucket}/a/1.txt")
    (tmp_path / "2.txt").write_text("two")
    objects.put_file(tmp_path / "2.txt", f"s3://{bucket}/a/b/2.txt")
    assert objects.list(f"s3://{bucket}/a/") == [f"s3://{bucket}/a/1.txt",
                                                 f"s3://{bucket}/a/b/2.txt"]
    assert objects.exists(f"s3://{bucket}/a/1.txt")
    assert not objects.exists(f"s3://{bucket}/a/1")
    objects.download(f"s3://{bucket}/a/b/2.txt", tmp_path / "copy.txt")
    assert (tmp_path / "copy.txt").read_text() == "two"
    objects.delete(f"s3://{bucket}/a/1.txt")
    with pytest.raises(NotFoundError, match=r"1\.txt"):
        objects.get_bytes(f"s3://{bucket}/a/1.txt")
    with pytest.raises(NotFoundError):
        objects.get_bytes("s3://no-such-bucket-1/x")


def test_serving_and_registry_requests_pass_botocore_validation(aws_session):
    from mlopskit.sagemaker_api.registry import create_model_package_request
    from mlopskit.sagemaker_api.serving import (
        create_endpoint_config_request,
        create_model_request,
    )
    from mlopskit.specs.registry import ModelPackageSpec
    from mlopskit.specs.serving import DeployedModelSpec, EndpointConfigSpec

    model = build(DeployedModelSpec, "", name="m-1", image_uri=IMAGE,
                  model_data="s3://bkt-1/m/model.tar.gz",
                  environment={"SAGEMAKER_PROGRAM": "inference.py"})
    config = build(EndpointConfigSpec, "", name="c-1", variants=[
        {"name": "Blue", "model_name": "m-1", "instance_type": "ml.m5.large",
         "initial_weight": 0.9},
        {"name": "Green", "model_name": "m-1", "instance_type": "ml.c5.xlarge",
         "initial_instance_count": 2, "initial_weight": 0.1},
        {"name": "Lambda", "model_name": "m-1", "initial_weight": 0.1,
         "serverless": {"memory_size_mb": 2048, "max_concurrency": 20,
                        "provisioned_concurrency": 2}}])
    package = build(ModelPackageSpec, "", group="g-1", model={
        "model_data": "s3://bkt-1/m/model.tar.gz", "image_uri": IMAGE,
        "entry_point": "inference.py", "source_uri": "s3://bkt-1/code/sourcedir.tar.gz"},
        metrics={"auc": 0.9}, metadata={"owner": "me"}, description="d",
        inference_instance_types=("ml.m5.large",))
    model_shapes = aws_session.backend.clients.sagemaker.meta.service_model
    for operation, request in [
        ("CreateModel", create_model_request(model, role_arn=TEST_ROLE_ARN)),
        ("CreateEndpointConfig", create_endpoint_config_request(config)),
        ("CreateModelPackage", create_model_package_request(
            package, image_uri=IMAGE, metrics_uri="s3://bkt-1/r/metrics.json",
            region="us-east-1", record_uri="s3://bkt-1/r/record.json")),
    ]:
        report = ParamValidator().validate(
            request, model_shapes.operation_model(operation).input_shape)
        assert not report.has_errors(), (operation, report.generate_report())


@pytest.mark.parametrize("strategy", [
    mlopskit.AllAtOnce(wait=300),
    mlopskit.Canary(10, wait=600, rollback_on=["HighErrorRate", "HighLatency"]),
    mlopskit.Linear(20, interval=120, rollback_on=["HighErrorRate"]),
], ids=["all-at-once", "canary", "linear"])
def test_rollout_requests_pass_botocore_validation(aws_session, strategy):
    from mlopskit.sagemaker_api.serving import deployment_config

    request = {"EndpointName": "e-1", "EndpointConfigName": "c-2",
               "DeploymentConfig": deployment_config(strategy)}
    shape = aws_session.backend.clients.sagemaker.meta.service_model.operation_model(
        "UpdateEndpoint").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    routing = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == {"AllAtOnce": "ALL_AT_ONCE", "Canary": "CANARY",
                               "Linear": "LINEAR"}[type(strategy).__name__]


def test_rollout_on_aws_uses_update_endpoint(aws_session, code, monkeypatch, tmp_path):
    from moto.sagemaker import responses as sm_responses

    calls: list[dict[str, Any]] = []

    def update_endpoint(self: Any) -> Any:  # moto has no UpdateEndpoint: give it one
        from moto.core.responses import ActionResult

        calls.append(dict(self._get_params()))
        endpoint = self.sagemaker_backend.endpoints[self._get_param("EndpointName")]
        alarms = self._get_params().get("DeploymentConfig", {}).get(
            "AutoRollbackConfiguration", {}).get("Alarms", [])
        if any(a["AlarmName"] == "InjectedAlarm" for a in alarms):
            # SageMaker rolls back: the old config stays and the endpoint says why.
            endpoint.failure_reason = "Rolled back: alarm InjectedAlarm went off"
            return ActionResult({"EndpointArn": endpoint.arn})
        config = self.sagemaker_backend.describe_endpoint_config(
            self._get_param("EndpointConfigName"))
        endpoint.endpoint_config_name = self._get_param("EndpointConfigName")
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"])
        return ActionResult({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(sm_responses.SageMakerResponse, "update_endpoint", update_endpoint,
                        raising=False)
    uri = f"s3://{aws_session.default_bucket}/m/model.tar.gz"
    aws_session.backend.objects.put_bytes(b"model", uri)
    model = mlopskit.Model(uri, image_uri=IMAGE, session=aws_session)
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="rollout-ep")
    endpoint = mlopskit.Endpoint("rollout-ep", session=aws_session)
    old_config = endpoint.describe().config_name
    with pytest.raises(mlopskit.errors.CapabilityError, match="CloudWatch alarm names"):
        endpoint.update(model, mlopskit.Canary(10, wait=60, rollback_on=[lambda s: None]))
    report = endpoint.update(model, mlopskit.Canary(10, wait=600,
                                                    rollback_on=["HighErrorRate"]))
    assert report.completed
    sent = calls[-1]["DeploymentConfig"]
    assert sent["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "HighErrorRate"}]}
    assert sent["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT", "Value": 10}
    assert endpoint.describe().config_name != old_config
    names = aws_session.backend.clients.sagemaker.list_models()["Models"]
    assert len(names) == 1  # the old fleet's model was removed, the new one kept
    current = endpoint.describe().config_name
    rolled = endpoint.update(model, mlopskit.Canary(10, wait=600,
                                                    rollback_on=["InjectedAlarm"]))
    assert rolled.rolled_back and not rolled.completed
    assert "InjectedAlarm" in rolled.reason
    assert endpoint.describe().config_name == current
    assert len(aws_session.backend.clients.sagemaker.list_models()["Models"]) == 1
