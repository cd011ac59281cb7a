"""What the AWS backend sends SageMaker for deploys, transforms, registrations and pipelines:
inference images, waits, tags. moto accepts almost anything, so these tests read the requests
themselves (recorded with botocore's own hook, after its validation of the parameters)."""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.sagemaker import models as sm_models

import mlopskit
from mlopskit.errors import (
    CapabilityError,
    DeploymentFailedError,
    MissingDependencyError,
    ValidationError,
    WaitTimeoutError,
)
from mlopskit.pipeline import FailStep, ModelStep, Pipeline, RegisterModelStep, TrainingStep
from mlopskit.testing import TEST_BUCKET, TEST_REGION, TEST_ROLE_ARN

SKLEARN_INFERENCE = ("683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                     "sagemaker-scikit-learn:1.2-1-cpu-py3")
PYTORCH_GPU_INFERENCE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-gpu"
PYTORCH_GPU_TRAINING = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-gpu"


class Recorder:
    """Every SageMaker request the session's client builds: (operation, parameters)."""

    def __init__(self, session: mlopskit.AwsSession) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        session.backend.clients.sagemaker.meta.events.register(
            "before-call.sagemaker", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, _body(params)))

    def operations(self, prefix: str = "Create") -> list[str]:
        return [name for name, _ in self.calls if name.startswith(prefix)]

    def one(self, operation: str) -> dict[str, Any]:
        found = [params for name, params in self.calls if name == operation]
        assert len(found) == 1, (operation, [name for name, _ in self.calls])
        return found[0]


def _body(params: dict[str, Any]) -> Any:
    """The JSON body botocore serialised (what goes on the wire)."""
    body = params.get("body", b"")
    return json.loads(body) if body else {}


@pytest.fixture
def recorder(aws_session: mlopskit.AwsSession) -> Recorder:
    return Recorder(aws_session)


@pytest.fixture
def artifact(aws_session: mlopskit.AwsSession, tmp_path: Path) -> str:
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"fake"))
    return aws_session.upload(tmp_path / "model.tar.gz",
                              f"s3://{TEST_BUCKET}/models/m1/model.tar.gz")


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    return folder


def _model(session: mlopskit.Session, artifact: str, code: Path, framework: str = "sklearn",
           version: str = "1.2-1") -> mlopskit.Model:
    return mlopskit.Model(artifact, framework=framework, framework_version=version,
                          entry_point="inference.py", source_dir=code, session=session)


def test_a_framework_deploy_uses_the_inference_image_and_the_sdk_container(
        aws_session, recorder, artifact, code):
    predictor = _model(aws_session, artifact, code).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="sk")
    assert recorder.operations() == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    container = recorder.one("CreateModel")["PrimaryContainer"]
    assert container["Image"] == SKLEARN_INFERENCE
    environment = container["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "inference.py"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"].endswith("/sourcedir.tar.gz")
    assert environment["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"
    assert environment["SAGEMAKER_REGION"] == TEST_REGION
    assert predictor.endpoint.status == "InService"


def test_a_gpu_instance_gets_the_gpu_inference_image(aws_session, recorder, artifact, code):
    _model(aws_session, artifact, code, "pytorch", "2.1").deploy(
        mlopskit.RealtimeConfig("ml.g4dn.xlarge"), endpoint_name="gpu")
    image = recorder.one("CreateModel")["PrimaryContainer"]["Image"]
    assert image.startswith(PYTORCH_GPU_INFERENCE)


def test_a_batch_transform_creates_the_model_and_the_job_only(aws_session, recorder,
                                                             artifact, code):
    transformer = _model(aws_session, artifact, code).transformer(
        instance_count=1, instance_type="ml.m5.xlarge", tags={"cost-centre": "42"})
    transformer.transform(f"s3://{TEST_BUCKET}/batch/", wait=False)
    assert recorder.operations("Create") == ["CreateModel", "CreateTransformJob"]
    assert recorder.operations("Delete") == []
    assert recorder.one("CreateModel")["PrimaryContainer"]["Image"] == SKLEARN_INFERENCE
    for operation in ("CreateModel", "CreateTransformJob"):
        assert recorder.one(operation)["Tags"] == [{"Key": "cost-centre", "Value": "42"}]


def test_without_the_sagemaker_extra_a_framework_deploy_uploads_nothing(
        aws_session, artifact, code, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)
    monkeypatch.setitem(sys.modules, "sagemaker.image_uris", None)
    monkeypatch.setitem(sys.modules, "sagemaker.core.image_uris", None)
    with pytest.raises(MissingDependencyError, match=r"mlopskit\[sagemaker\]"):
        _model(aws_session, artifact, code).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                                   endpoint_name="nope")
    assert aws_session.list(f"s3://{TEST_BUCKET}/") == [artifact]  # no code archive
    sagemaker = aws_session.backend.clients.sagemaker
    assert sagemaker.list_models()["Models"] == []


def test_a_framework_jobs_model_is_served_by_the_inference_image(aws_session, recorder,
                                                                moto_lifecycle, code,
                                                                tmp_path):
    moto_lifecycle.describes_until_done = 1
    (code / "train.py").write_text("print('trains')\n")
    job = mlopskit.Estimator(entry_point="train.py", source_dir=code, framework="sklearn",
                             framework_version="1.2-1", instance_type="ml.m5.large",
                             session=aws_session).fit(logs=False)
    training_image = recorder.one("CreateTrainingJob")["AlgorithmSpecification"][
        "TrainingImage"]
    assert "sagemaker-scikit-learn" in training_image
    with tarfile.open(tmp_path / "out.tar.gz", "w:gz"):
        pass
    aws_session.upload(tmp_path / "out.tar.gz", job.model_data)
    job.create_model(entry_point="inference.py", source_dir=code).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="from-job")
    assert recorder.one("CreateModel")["PrimaryContainer"]["Image"] == SKLEARN_INFERENCE


def test_a_package_is_registered_as_the_sdk_registers_a_framework_model(
        aws_session, recorder, artifact, code):
    group = mlopskit.ModelPackageGroup("torch", session=aws_session).create()
    package = group.register(_model(aws_session, artifact, code, "pytorch", "2.1"),
                             inference_instance_types=["ml.g4dn.xlarge"],
                             transform_instance_types=["ml.c5.xlarge"],
                             metrics={"auc": 0.9}, tags={"team": "fraud"})
    request = recorder.one("CreateModelPackage")
    container = request["InferenceSpecification"]["Containers"][0]
    assert container["Image"].startswith(PYTORCH_GPU_INFERENCE)
    assert (container["Framework"], container["FrameworkVersion"]) == ("PYTORCH", "2.1")
    assert set(container["Environment"]) == {
        "SAGEMAKER_PROGRAM", "SAGEMAKER_SUBMIT_DIRECTORY", "SAGEMAKER_REGION",
        "SAGEMAKER_CONTAINER_LOG_LEVEL"}
    assert request["InferenceSpecification"]["SupportedTransformInstanceTypes"] == [
        "ml.c5.xlarge"]
    assert request["Tags"] == [{"Key": "team", "Value": "fraud"}]
    assert package.refresh().metrics == {"auc": 0.9}


def test_pipeline_steps_use_the_scope_and_instance_type_of_each_step(aws_session, code,
                                                                     artifact):
    (code / "train.py").write_text("print('trains')\n")
    estimator = mlopskit.Estimator(entry_point="train.py", source_dir=code,
                                   framework="pytorch", framework_version="2.1",
                                   instance_type="ml.p3.2xlarge", session=aws_session)
    train = TrainingStep("Train", estimator)
    model = mlopskit.Model(train.properties.model_data, framework="pytorch",
                           framework_version="2.1", entry_point="inference.py",
                           source_dir=code, session=aws_session)
    create = ModelStep("Create", model, instance_type="ml.g4dn.xlarge")
    register = RegisterModelStep("Register", "torch", model,
                                 inference_instance_types=["ml.m5.large"])
    steps = {s["Name"]: s for s in json.loads(Pipeline(
        "p", steps=[train, create, register], session=aws_session).definition())["Steps"]}
    assert steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"].startswith(
        PYTORCH_GPU_TRAINING)
    assert steps["Create"]["Arguments"]["PrimaryContainer"]["Image"].startswith(
        PYTORCH_GPU_INFERENCE)
    registered = steps["Register"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert "pytorch-inference" in registered["Image"] and "-cpu-" in registered["Image"]
    assert registered["Environment"]["SAGEMAKER_CONTAINER_LOG_LEVEL"] == "20"


# -- waiting ---------------------------------------------------------------------------------

@pytest.fixture
def endpoint_lifecycle(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """moto makes endpoints InService at once; this keeps them Creating for a number of
    describes, then gives them a final status (moto patched, never mlopskit)."""
    state: dict[str, Any] = {"describes": 10**6, "final": "InService"}
    original = sm_models.SageMakerModelBackend.describe_endpoint

    def describe(self: Any, endpoint_name: str) -> dict[str, Any]:
        response = original(self, endpoint_name)
        state["describes"] -= 1
        response["EndpointStatus"] = "Creating" if state["describes"] > 0 else state["final"]
        if response["EndpointStatus"] == "Failed":
            response["FailureReason"] = "the container did not answer /ping"
        return dict(response)

    monkeypatch.setattr(sm_models.SageMakerModelBackend, "describe_endpoint", describe)
    return state


def _left(session: mlopskit.AwsSession) -> tuple[int, int, int]:
    sagemaker = session.backend.clients.sagemaker
    return (len(sagemaker.list_endpoints()["Endpoints"]),
            len(sagemaker.list_endpoint_configs()["EndpointConfigs"]),
            len(sagemaker.list_models()["Models"]))


def test_deploy_without_waiting_returns_while_the_endpoint_is_creating(
        aws_session, endpoint_lifecycle, artifact, code, fake_clock):
    started = fake_clock.monotonic()
    predictor = _model(aws_session, artifact, code).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="later", wait=False)
    assert fake_clock.monotonic() == started  # no wait at all
    assert predictor.endpoint.status == "Creating"
    endpoint_lifecycle["describes"] = 3
    assert predictor.endpoint.wait(timeout=600).status == "InService"


def test_a_deploy_that_runs_out_of_time_leaves_everything_in_place(
        aws_session, endpoint_lifecycle, artifact, code, fake_clock):
    started = fake_clock.monotonic()
    with pytest.raises(WaitTimeoutError, match="'slow' is still Creating after waiting 120"):
        _model(aws_session, artifact, code).deploy(
            mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="slow", timeout=120)
    assert fake_clock.monotonic() - started == pytest.approx(120, abs=1)
    assert _left(aws_session) == (1, 1, 1)
    endpoint_lifecycle["describes"] = 1
    assert mlopskit.Endpoint("slow", session=aws_session).wait().status == "InService"


def test_a_deploy_that_fails_removes_what_it_made(aws_session, endpoint_lifecycle, artifact,
                                                 code):
    endpoint_lifecycle.update(describes=2, final="Failed")
    with pytest.raises(DeploymentFailedError, match="did not answer /ping"):
        _model(aws_session, artifact, code).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                                   endpoint_name="broken")
    assert _left(aws_session) == (0, 0, 0)


@pytest.mark.parametrize("timeout", [-5, float("nan"), "soon", True])
def test_a_bad_wait_timeout_is_refused(aws_session, timeout):
    with pytest.raises(ValidationError, match="timeout"):
        mlopskit.Endpoint("any", session=aws_session).wait(timeout=timeout)


# -- tags ------------------------------------------------------------------------------------

@pytest.fixture
def tagged_session(moto_aws: Any, fake_clock: Any) -> Iterator[mlopskit.AwsSession]:
    boto = boto3.Session(region_name=TEST_REGION)
    boto.client("s3").create_bucket(Bucket=TEST_BUCKET)
    session = mlopskit.AwsSession(region=TEST_REGION, role_arn=TEST_ROLE_ARN,
                                  bucket=TEST_BUCKET, boto3_session=boto, clock=fake_clock,
                                  default_tags={"owner": "ml-platform", "env": "test"})
    try:
        yield session
    finally:
        session.close()


def _tags(request: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in request.get("Tags", [])}


def test_tags_reach_every_resource_with_the_sessions_defaults_under_them(
        tagged_session, tmp_path, code):
    recorder = Recorder(tagged_session)
    with tarfile.open(tmp_path / "m.tar.gz", "w:gz"):
        pass
    artifact = tagged_session.upload(tmp_path / "m.tar.gz", f"s3://{TEST_BUCKET}/m.tar.gz")
    _model(tagged_session, artifact, code).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="tagged",
        tags={"env": "prod", "project": "churn"})
    for operation in ("CreateModel", "CreateEndpointConfig", "CreateEndpoint"):
        assert _tags(recorder.one(operation)) == {"env": "prod", "project": "churn",
                                                  "owner": "ml-platform"}, operation
    processor = mlopskit.Processor(image_uri="img:1", instance_type="ml.m5.large",
                                   tags={"step": "prep"}, session=tagged_session)
    (tmp_path / "prep.py").write_text("print(1)\n")
    processor.run(tmp_path / "prep.py", wait=False, logs=False)
    assert _tags(recorder.one("CreateProcessingJob")) == {"step": "prep", "env": "test",
                                                         "owner": "ml-platform"}
    pipeline = Pipeline("tagged", steps=[FailStep("Stop", "tagged")], session=tagged_session)
    pipeline.upsert(tags={"project": "churn"})
    assert _tags(recorder.one("CreatePipeline")) == {"project": "churn", "env": "test",
                                                    "owner": "ml-platform"}
    pipeline.upsert(tags={"version": "2"})  # an update adds tags, as the SDK does
    assert _tags(recorder.one("AddTags")) == {"version": "2"}
    assert recorder.one("UpdatePipeline")["PipelineName"] == "tagged"
    arn = tagged_session.backend.clients.sagemaker.describe_pipeline(
        PipelineName="tagged")["PipelineArn"]
    listed = tagged_session.backend.clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]
    assert {t["Key"] for t in listed} >= {"project", "version", "owner"}


@pytest.mark.parametrize(("tags", "message"), [
    ({"aws:owner": "x"}, "'aws:' prefix is reserved"),
    ({"k" * 129: "x"}, "1 to 128 characters"),
    ({f"k{i}": "v" for i in range(51)}, "at most 50"),
])
def test_bad_default_tags_are_refused_naming_the_argument(tags, message):
    with pytest.raises(ValidationError, match=f"default_tags: .*{re.escape(message)}"):
        mlopskit.AwsSession(region=TEST_REGION, default_tags=tags)


def test_bad_deploy_tags_create_nothing(aws_session, artifact, code):
    with pytest.raises(ValidationError, match=r"tags: .*'aws:' prefix is reserved"):
        _model(aws_session, artifact, code).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                                   endpoint_name="t", tags={"aws:x": "1"})
    assert _left(aws_session) == (0, 0, 0)


def test_an_invocation_timeout_sagemaker_cannot_take_is_refused(aws_session, artifact, code):
    """SageMaker's realtime limit is a fixed 60 s: another value is refused, not dropped."""
    with pytest.raises(CapabilityError, match=r"invocation_timeout: 30 s .* fixed at 60 s"):
        _model(aws_session, artifact, code).deploy(
            mlopskit.RealtimeConfig("ml.m5.large", invocation_timeout=30), endpoint_name="t")
    assert _left(aws_session) == (0, 0, 0)
