"""SageMaker requests back into specs: our own requests round-trip, the SDK's are read, and
what cannot run locally is refused with the request field named."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlopskit.errors import CapabilityError, ValidationError
from mlopskit.sagemaker_api import registry as registry_api
from mlopskit.sagemaker_api import serving as serving_api
from mlopskit.sagemaker_api import training as training_api
from mlopskit.sagemaker_api import transform as transform_api
from mlopskit.sagemaker_api.model_metrics import metrics_report, read_metrics
from mlopskit.sagemaker_api.registry import (
    PackageRegistration,
    create_model_package_request,
    model_package_spec_from_request,
    serving_environment,
)
from mlopskit.sagemaker_api.serving import create_model_request, model_spec_from_request
from mlopskit.sagemaker_api.training import (
    create_training_job_request,
    training_spec_from_request,
)
from mlopskit.sagemaker_api.transform import (
    create_transform_job_request,
    transform_spec_from_request,
)
from mlopskit.specs import build
from mlopskit.specs.registry import ApprovalStatus, HistoryEntry, ModelPackageSpec
from mlopskit.specs.serving import DeployedModelSpec, TransformJobSpec
from mlopskit.specs.training import TrainingJobSpec

ROLE = "arn:aws:iam::111122223333:role/DummySageMakerExecutionRole"
REGION = "us-east-1"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
BUCKET = "s3://dummy-mlopskit-bucket"
Mutation = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def service_model() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker")


def assert_valid(service_model: Any, operation: str, request: dict[str, Any]) -> None:
    shape = service_model.operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def assert_refused(call: Callable[[], object], error: type[Exception], field: str,
                   *fragments: str) -> None:
    """The call raises ``error``, whose message starts with the request field and says
    what is allowed (``fragments``)."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert message.startswith(f"{field}:"), message
    if isinstance(caught.value, ValidationError):
        assert caught.value.field == field
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# -- CreateTrainingJob ----------------------------------------------------------------------

TRAINING_SPECS = {
    "minimal": dict(name="train-min", entry_point="train.py", image_uri=IMAGE,
                    source_uri=f"{BUCKET}/train-min/source/sourcedir.tar.gz",
                    instance_type="ml.m5.large", output_path=f"{BUCKET}/models"),
    "everything": dict(
        name="train-all", entry_point="src/pkg/train.py", image_uri=IMAGE,
        source_uri=f"{BUCKET}/code/0123abcd/sourcedir.tar.gz", instance_type="ml.c5.xlarge",
        instance_count=3, output_path=f"{BUCKET}/models/", max_run=3600, volume_size_gb=100,
        container_log_level=10,
        hyperparameters={"lr": 0.05, "epochs": 3, "flag": True, "off": False, "name": "a b",
                         "layers": [64, 32], "opts": {"b": 2, "a": "x"}, "nothing": None,
                         "looks-like-int": "5", "empty": "", "unicode": "été"},
        environment={"MY_FLAG": "1", "OTHER": "with space"},
        metric_definitions=[{"name": "train:loss", "regex": r"loss=([0-9.]+)"},
                            {"name": "validation:auc", "regex": r"auc: (\S+)"}],
        tags={"team": "fraud", "cost-center": "42"},
        channels=[{"name": "train", "s3_uri": f"{BUCKET}/data/train",
                   "content_type": "text/csv"},
                  {"name": "validation", "s3_uri": f"{BUCKET}/data/validation/",
                   "distribution": "ShardedByS3Key", "input_mode": "FastFile"},
                  {"name": "test.set-1_b", "s3_uri": f"{BUCKET}/data/test/part-0.csv",
                   "content_type": "application/json"}]),
    "one-channel-no-metrics": dict(
        name="train-one", entry_point="train.py", image_uri="my-image:1",
        source_uri=f"{BUCKET}/train-one/source/sourcedir.tar.gz", instance_type="ml.m5.xlarge",
        output_path=f"{BUCKET}/out", hyperparameters={"n_estimators": 100},
        channels=[{"name": "training", "s3_uri": f"{BUCKET}/data/train"}]),
}


def training_request(spec: TrainingJobSpec) -> dict[str, Any]:
    assert spec.image_uri is not None
    return create_training_job_request(spec, role_arn=ROLE, region=REGION,
                                       image_uri=spec.image_uri)


@pytest.fixture(params=sorted(TRAINING_SPECS))
def training_spec(request: pytest.FixtureRequest) -> TrainingJobSpec:
    return build(TrainingJobSpec, "", **TRAINING_SPECS[request.param])


def test_training_round_trip(training_spec):
    request = training_request(training_spec)
    assert training_spec_from_request(request, name=training_spec.name) == training_spec


def test_training_round_trip_without_the_job_name_as_a_pipeline_holds_it(training_spec):
    request = training_request(training_spec)
    request.pop("TrainingJobName")
    back = training_spec_from_request(request, name="from-the-engine")
    assert back == training_spec.model_copy(update={"name": "from-the-engine"})


def test_training_forward_requests_pass_botocore_validation(training_spec, service_model):
    assert_valid(service_model, "CreateTrainingJob", training_request(training_spec))


# The Train step of the SDK v2 reference definition, expressions replaced by values.
SDK_TRAIN: dict[str, Any] = {
    "AlgorithmSpecification": {
        "TrainingInputMode": "File",
        "TrainingImage": "111122223333.dkr.ecr.us-east-1.amazonaws.com/dummy-train:latest",
        "MetricDefinitions": [{"Name": "validation:auc",
                               "Regex": "validation-auc:([0-9\\.]+)"}]},
    "OutputDataConfig": {"S3OutputPath": f"{BUCKET}/models/exec-7f3a"},
    "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1,
                       "InstanceType": "ml.m5.xlarge"},
    "RoleArn": ROLE,
    "InputDataConfig": [
        {"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/preprocess/exec-7f3a/train",
            "S3DataDistributionType": "FullyReplicated"}},
         "ContentType": "text/csv", "ChannelName": "train"},
        {"DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/preprocess/exec-7f3a/validation",
            "S3DataDistributionType": "FullyReplicated"}},
         "ContentType": "text/csv", "ChannelName": "validation"}],
    "HyperParameters": {"max_depth": "5", "eta": "0.2", "objective": "binary:logistic",
                        "num_round": "50"},
    "DebugHookConfig": {"S3OutputPath": f"{BUCKET}/models/exec-7f3a",
                        "CollectionConfigurations": []},
    "ProfilerConfig": {"S3OutputPath": f"{BUCKET}/models/exec-7f3a",
                       "DisableProfiler": False},
}
# What a framework estimator (SKLearn, ...) adds: its JSON-encoded keys.
SDK_FRAMEWORK_KEYS = {
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory":
        f'"{BUCKET}/pipelines-exec-7f3a-Train/source/sourcedir.tar.gz"',
    "sagemaker_container_log_level": "20",
    "sagemaker_job_name": '"pipelines-exec-7f3a-Train"',
    "sagemaker_region": '"us-east-1"',
}


def sdk_framework_train() -> dict[str, Any]:
    request = copy.deepcopy(SDK_TRAIN)
    request["HyperParameters"].update(SDK_FRAMEWORK_KEYS)
    request["ProfilerRuleConfigurations"] = [{
        "RuleConfigurationName": "ProfilerReport-1",
        "RuleEvaluatorImage": "503895931360.dkr.ecr.us-east-1.amazonaws.com/"
                              "sagemaker-debugger-rules:latest",
        "RuleParameters": {"rule_to_invoke": "ProfilerReport"}}]
    request["Environment"] = {"PYTHONUNBUFFERED": "1"}
    return request


@pytest.mark.parametrize("request_of", [lambda: SDK_TRAIN, sdk_framework_train],
                         ids=["builtin", "framework"])
def test_sdk_training_requests_are_valid_api_requests(request_of, service_model):
    assert_valid(service_model, "CreateTrainingJob",
                 {**request_of(), "TrainingJobName": "pipelines-exec-7f3a-Train"})


def test_sdk_builtin_algorithm_is_refused_naming_sagemaker_program():
    assert_refused(lambda: training_spec_from_request(SDK_TRAIN, name="t-1"), CapabilityError,
                   "HyperParameters.sagemaker_program", "dummy-train:latest", "script-mode")


def test_sdk_framework_training_request_is_read():
    spec = training_spec_from_request(sdk_framework_train(), name="Train-exec-7f3a")
    assert spec.name == "Train-exec-7f3a"
    assert spec.entry_point == "train.py"
    assert spec.source_uri == f"{BUCKET}/pipelines-exec-7f3a-Train/source/sourcedir.tar.gz"
    assert spec.image_uri == "111122223333.dkr.ecr.us-east-1.amazonaws.com/dummy-train:latest"
    # Raw values decode as the toolkit decodes them: JSON when it parses, else the text.
    assert spec.hyperparameters == {"max_depth": 5, "eta": 0.2, "objective": "binary:logistic",
                                    "num_round": 50}
    assert spec.container_log_level == 20
    assert [(c.name, c.s3_uri, c.content_type, c.distribution, c.input_mode)
            for c in spec.channels] == [
        ("train", f"{BUCKET}/preprocess/exec-7f3a/train", "text/csv", "FullyReplicated",
         "File"),
        ("validation", f"{BUCKET}/preprocess/exec-7f3a/validation", "text/csv",
         "FullyReplicated", "File")]
    assert [(m.name, m.regex) for m in spec.metric_definitions] == [
        ("validation:auc", "validation-auc:([0-9\\.]+)")]
    assert (spec.instance_type, spec.instance_count, spec.volume_size_gb, spec.max_run) == (
        "ml.m5.xlarge", 1, 30, 86400)
    assert spec.output_path == f"{BUCKET}/models/exec-7f3a"
    assert spec.environment == {"PYTHONUNBUFFERED": "1"}


def test_sdk_distribution_switches_that_are_off_are_accepted():
    request = sdk_framework_train()
    request["HyperParameters"].update(sagemaker_mpi_enabled="false",
                                      sagemaker_distributed_dataparallel_enabled="false",
                                      sagemaker_estimator_module='"sagemaker.sklearn"',
                                      sagemaker_estimator_class_name='"SKLearn"')
    spec = training_spec_from_request(request, name="t-1")
    assert not any(k.startswith("sagemaker_") for k in spec.hyperparameters)


def test_every_ignored_training_field_changes_nothing():
    request = sdk_framework_train()
    expected = training_spec_from_request(request, name="t-1")
    for field in sorted(training_api._TRAINING_IGNORED):
        request[field] = {"Anything": "at all"}
    request["AlgorithmSpecification"].update(EnableSageMakerMetricsTimeSeries=True,
                                             TrainingImageConfig={"TrainingRepositoryAccessMode":
                                                                  "Vpc"})
    request["ResourceConfig"].update(VolumeKmsKeyId="key", KeepAlivePeriodInSeconds=600)
    request["StoppingCondition"].update(MaxWaitTimeInSeconds=90000)
    request["OutputDataConfig"]["KmsKeyId"] = "key"
    request["InputDataConfig"][0]["ShuffleConfig"] = {"Seed": 1}
    request["CheckpointConfig"] = None  # None is absent
    assert training_spec_from_request(request, name="t-1") == expected


def _set(path: str, value: Any) -> Mutation:
    """A mutation setting ``value`` at a dotted path (``[i]`` indexes lists)."""
    def mutate(request: dict[str, Any]) -> None:
        target: Any = request
        parts = path.replace("[", ".").replace("]", "").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        last = parts[-1]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value
    return mutate


def _drop(path: str) -> Mutation:
    def mutate(request: dict[str, Any]) -> None:
        target: Any = request
        parts = path.replace("[", ".").replace("]", "").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[parts[-1]]
    return mutate


def _dup_channel(request: dict[str, Any]) -> None:
    request["InputDataConfig"][1]["ChannelName"] = "train"


BAD_TRAINING: list[tuple[str, Mutation, type[Exception], str, tuple[str, ...]]] = [
    ("no-submit-dir", _drop("HyperParameters.sagemaker_submit_directory"), CapabilityError,
     "HyperParameters.sagemaker_submit_directory", ("script-mode",)),
    ("mpi-on", _set("HyperParameters.sagemaker_mpi_enabled", "true"), CapabilityError,
     "HyperParameters.sagemaker_mpi_enabled", ("sagemaker_program", "only when false")),
    ("pipe-channel", _set("InputDataConfig[0].InputMode", "Pipe"), CapabilityError,
     "InputDataConfig[0].InputMode", ("File, FastFile",)),
    ("pipe-default", _set("AlgorithmSpecification.TrainingInputMode", "Pipe"), CapabilityError,
     "AlgorithmSpecification.TrainingInputMode", ("File or FastFile",)),
    ("bad-mode", _set("InputDataConfig[1].InputMode", "Stream"), ValidationError,
     "InputDataConfig[1].InputMode", ("allowed: Pipe, File, FastFile",)),
    ("manifest", _set("InputDataConfig[0].DataSource.S3DataSource.S3DataType", "ManifestFile"),
     CapabilityError, "InputDataConfig[0].DataSource.S3DataSource.S3DataType", ("S3Prefix",)),
    ("bad-data-type", _set("InputDataConfig[0].DataSource.S3DataSource.S3DataType", "Prefix"),
     ValidationError, "InputDataConfig[0].DataSource.S3DataSource.S3DataType",
     ("allowed: ManifestFile, S3Prefix",)),
    ("no-data-type", _drop("InputDataConfig[0].DataSource.S3DataSource.S3DataType"),
     ValidationError, "InputDataConfig[0].DataSource.S3DataSource.S3DataType", ("required",)),
    ("bad-distribution",
     _set("InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType", "Sharded"),
     ValidationError, "InputDataConfig[0].DataSource.S3DataSource.S3DataDistributionType",
     ("FullyReplicated, ShardedByS3Key",)),
    ("gzip", _set("InputDataConfig[0].CompressionType", "Gzip"), CapabilityError,
     "InputDataConfig[0].CompressionType", ("supports None",)),
    ("recordio", _set("InputDataConfig[1].RecordWrapperType", "RecordIO"), CapabilityError,
     "InputDataConfig[1].RecordWrapperType", ("supports None",)),
    ("efs", _set("InputDataConfig[0].DataSource.FileSystemDataSource", {"FileSystemId": "f"}),
     CapabilityError, "InputDataConfig[0].DataSource.FileSystemDataSource", ("S3 only",)),
    ("no-s3-source", _drop("InputDataConfig[0].DataSource.S3DataSource"), ValidationError,
     "InputDataConfig[0].DataSource.S3DataSource", ("required",)),
    ("checkpoints", _set("CheckpointConfig", {"S3Uri": f"{BUCKET}/ckpt"}), CapabilityError,
     "CheckpointConfig", ("checkpoint",)),
    ("tensorboard", _set("TensorBoardOutputConfig", {"S3OutputPath": f"{BUCKET}/tb"}),
     CapabilityError, "TensorBoardOutputConfig", ("TensorBoard",)),
    ("algorithm-name", _set("AlgorithmSpecification.AlgorithmName", "my-algo"),
     CapabilityError, "AlgorithmSpecification.AlgorithmName", ("script-mode",)),
    ("entrypoint", _set("AlgorithmSpecification.ContainerEntrypoint", ["python"]),
     CapabilityError, "AlgorithmSpecification.ContainerEntrypoint", ("script mode",)),
    ("instance-groups", _set("ResourceConfig.InstanceGroups", [{"InstanceType": "ml.m5.large",
                                                               "InstanceCount": 1,
                                                               "InstanceGroupName": "a"}]),
     CapabilityError, "ResourceConfig.InstanceGroups", ("InstanceType",)),
    ("uncompressed-output", _set("OutputDataConfig.CompressionType", "NONE"), CapabilityError,
     "OutputDataConfig.CompressionType", ("supports GZIP",)),
    ("unknown-field", _set("Bogus", 1), CapabilityError, "Bogus",
     ("not a field", "AlgorithmSpecification", "RoleArn")),
    ("unknown-nested", _set("ResourceConfig.Bogus", 1), CapabilityError,
     "ResourceConfig.Bogus", ("InstanceType",)),
    ("instance-type", _set("ResourceConfig.InstanceType", "m5.large"), ValidationError,
     "ResourceConfig.InstanceType", ("ml.m5.xlarge",)),
    ("no-instance-type", _drop("ResourceConfig.InstanceType"), ValidationError,
     "ResourceConfig.InstanceType", ("required",)),
    ("count-as-text", _set("ResourceConfig.InstanceCount", "2"), ValidationError,
     "ResourceConfig.InstanceCount", ("whole number", "'2'")),
    ("count-zero", _set("ResourceConfig.InstanceCount", 0), ValidationError,
     "ResourceConfig.InstanceCount", ("greater than or equal to 1",)),
    ("max-run", _set("StoppingCondition.MaxRuntimeInSeconds", 10**9), ValidationError,
     "StoppingCondition.MaxRuntimeInSeconds", ("2419200",)),
    ("output-path", _set("OutputDataConfig.S3OutputPath", "/tmp/models"), ValidationError,
     "OutputDataConfig.S3OutputPath", ("s3://bucket/key",)),
    ("no-output", _drop("OutputDataConfig"), ValidationError, "OutputDataConfig",
     ("required",)),
    ("channel-uri", _set("InputDataConfig[1].DataSource.S3DataSource.S3Uri", "s3://A/x"),
     ValidationError, "InputDataConfig[1].DataSource.S3DataSource.S3Uri", ("S3 URI",)),
    ("channel-name", _set("InputDataConfig[1].ChannelName", "bad name"), ValidationError,
     "InputDataConfig[1].ChannelName", ("letters, digits",)),
    ("duplicate-channels", _dup_channel, ValidationError, "InputDataConfig",
     ("duplicate channel names ['train']",)),
    ("regex", _set("AlgorithmSpecification.MetricDefinitions[0].Regex", "auc=[0-9.]+"),
     ValidationError, "AlgorithmSpecification.MetricDefinitions[0].Regex",
     ("capture group",)),
    ("metric-name", _drop("AlgorithmSpecification.MetricDefinitions[0].Name"),
     ValidationError, "AlgorithmSpecification.MetricDefinitions[0].Name", ("required",)),
    ("hp-not-text", _set("HyperParameters.max_depth", 5), ValidationError,
     "HyperParameters.max_depth", ("expected a string",)),
    ("log-level", _set("HyperParameters.sagemaker_container_log_level", '"loud"'),
     ValidationError, "HyperParameters.sagemaker_container_log_level", ("integer",)),
    ("program-not-text", _set("HyperParameters.sagemaker_program", "7"), ValidationError,
     "HyperParameters.sagemaker_program", ("string",)),
    ("local-source", _set("HyperParameters.sagemaker_submit_directory", '"file:///tmp/src"'),
     ValidationError, "HyperParameters.sagemaker_submit_directory", ("S3 URI",)),
    ("environment", _set("Environment", {"1BAD": "x"}), ValidationError, "Environment",
     ("[a-zA-Z_][a-zA-Z0-9_]*",)),
    ("tags", _set("Tags", [{"Key": "aws:owner", "Value": "x"}]), ValidationError, "Tags",
     ("reserved",)),
    ("tag-value", _set("Tags", [{"Key": "owner"}]), ValidationError, "Tags[0].Value",
     ("required",)),
    ("channels-not-list", _set("InputDataConfig", {"ChannelName": "x"}), ValidationError,
     "InputDataConfig", ("expected a list",)),
    ("no-image", _drop("AlgorithmSpecification.TrainingImage"), ValidationError,
     "AlgorithmSpecification.TrainingImage", ("required",)),
]


@pytest.mark.parametrize(("mutate", "error", "field", "fragments"),
                         [case[1:] for case in BAD_TRAINING],
                         ids=[case[0] for case in BAD_TRAINING])
def test_bad_training_requests_name_the_field(mutate, error, field, fragments):
    request = sdk_framework_train()
    mutate(request)
    assert_refused(lambda: training_spec_from_request(request, name="t-1"), error, field,
                   *fragments)


def test_training_request_that_is_not_an_object():
    assert_refused(lambda: training_spec_from_request([], name="t-1"),  # type: ignore[arg-type]
                   ValidationError, "request", "expected an object")


def test_training_job_name_is_checked_as_a_resource_name():
    assert_refused(lambda: training_spec_from_request(sdk_framework_train(), name="bad_name"),
                   ValidationError, "name", "letters, digits and hyphens")


# -- CreateModel ----------------------------------------------------------------------------

MODEL_SPECS = {
    "artifact-only": dict(name="m-1", image_uri=IMAGE, model_data=f"{BUCKET}/m/model.tar.gz"),
    "with-code": dict(name="model-with-code", image_uri="my-image:2",
                      model_data=f"{BUCKET}/train/output/model.tar.gz",
                      environment={"SAGEMAKER_PROGRAM": "inference.py",
                                   "SAGEMAKER_SUBMIT_DIRECTORY":
                                       f"{BUCKET}/code/ab12/sourcedir.tar.gz",
                                   "SAGEMAKER_REGION": "eu-west-1",
                                   "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}),
}


@pytest.fixture(params=sorted(MODEL_SPECS))
def model_spec(request: pytest.FixtureRequest) -> DeployedModelSpec:
    return build(DeployedModelSpec, "", **MODEL_SPECS[request.param])


def test_model_round_trip(model_spec):
    request = create_model_request(model_spec, role_arn=ROLE)
    assert model_spec_from_request(request, name=model_spec.name) == model_spec


def test_model_forward_requests_pass_botocore_validation(model_spec, service_model):
    assert_valid(service_model, "CreateModel", create_model_request(model_spec, role_arn=ROLE))


# What the SDK v2 writes for a ModelStep of an SKLearnModel (ModelName left to the service).
SDK_MODEL: dict[str, Any] = {
    "ExecutionRoleArn": ROLE,
    "PrimaryContainer": {
        "Image": IMAGE,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/sklearn-model/sourcedir.tar.gz",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "SAGEMAKER_REGION": "us-east-1"},
        "ModelDataUrl": f"{BUCKET}/models/exec-7f3a/Train-abc/output/model.tar.gz"},
}


def test_sdk_model_request_is_read(service_model):
    assert_valid(service_model, "CreateModel", {**SDK_MODEL, "ModelName": "m-1"})
    spec = model_spec_from_request(SDK_MODEL, name="CreateModel-exec-7f3a")
    assert spec.name == "CreateModel-exec-7f3a"
    assert spec.image_uri == IMAGE
    assert spec.model_data == SDK_MODEL["PrimaryContainer"]["ModelDataUrl"]
    assert spec.environment == SDK_MODEL["PrimaryContainer"]["Environment"]
    assert spec.sha256 is None


def test_sdk_model_with_a_one_element_containers_list():
    request = {"ExecutionRoleArn": ROLE, "Containers": [SDK_MODEL["PrimaryContainer"]],
               "InferenceExecutionConfig": {"Mode": "Serial"}, "EnableNetworkIsolation": False}
    assert model_spec_from_request(request, name="m-1") == model_spec_from_request(
        SDK_MODEL, name="m-1")


def _two_containers(request: dict[str, Any]) -> None:
    container = request.pop("PrimaryContainer")
    request["Containers"] = [container, container]


BAD_MODEL: list[tuple[str, Mutation, type[Exception], str, tuple[str, ...]]] = [
    ("both", _set("Containers", []), ValidationError, "PrimaryContainer", ("not both",)),
    ("none", _drop("PrimaryContainer"), ValidationError, "PrimaryContainer", ("required",)),
    ("pipeline", _two_containers, CapabilityError, "Containers", ("one container",)),
    ("multi-model", _set("PrimaryContainer.Mode", "MultiModel"), CapabilityError,
     "PrimaryContainer.Mode", ("supports SingleModel",)),
    ("no-artifact", _drop("PrimaryContainer.ModelDataUrl"), CapabilityError,
     "PrimaryContainer.ModelDataUrl", ("model.tar.gz",)),
    ("data-source", _set("PrimaryContainer.ModelDataSource", {"S3DataSource": {}}),
     CapabilityError, "PrimaryContainer.ModelDataSource", ("ModelDataUrl",)),
    ("from-package", _set("PrimaryContainer.ModelPackageName", "arn:pkg/1"), CapabilityError,
     "PrimaryContainer.ModelPackageName", ("Image and ModelDataUrl",)),
    ("code-elsewhere", _set("PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY",
                            "/opt/program/code"), CapabilityError,
     "PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY", ("sourcedir.tar.gz",)),
    ("code-climbs-out", _set("PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY",
                             "/opt/ml/model/../../etc"), ValidationError,
     "PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY", ("climbs out",)),
    ("bad-code-uri", _set("PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY",
                          "s3://x/code.tar.gz"), ValidationError,
     "PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY", ("3-63",)),
    ("env-not-text", _set("PrimaryContainer.Environment.SAGEMAKER_CONTAINER_LOG_LEVEL", 20),
     ValidationError, "PrimaryContainer.Environment.SAGEMAKER_CONTAINER_LOG_LEVEL",
     ("expected a string",)),
    ("env-too-long", _set("PrimaryContainer.Environment.BIG", "x" * 513), ValidationError,
     "PrimaryContainer.Environment", ("at most 512",)),
    ("artifact-uri", _set("PrimaryContainer.ModelDataUrl", "https://example.com/m.tar.gz"),
     ValidationError, "PrimaryContainer.ModelDataUrl", ("s3://bucket/key",)),
    ("unknown", _set("PrimaryContainer.Bogus", "x"), CapabilityError,
     "PrimaryContainer.Bogus", ("ModelDataUrl",)),
]


@pytest.mark.parametrize(("mutate", "error", "field", "fragments"),
                         [case[1:] for case in BAD_MODEL], ids=[case[0] for case in BAD_MODEL])
def test_bad_model_requests_name_the_field(mutate, error, field, fragments):
    request = copy.deepcopy(SDK_MODEL)
    mutate(request)
    assert_refused(lambda: model_spec_from_request(request, name="m-1"), error, field,
                   *fragments)


def test_model_from_a_request_is_created_by_the_local_backend(local_session):
    spec = model_spec_from_request(SDK_MODEL, name="m-from-request")
    serving = local_session.backend.serving
    serving.create_model(spec)
    assert serving._model("m-from-request") == spec


# -- CreateTransformJob ---------------------------------------------------------------------

TRANSFORM_SPECS = {
    "defaults": dict(name="t-1", model_name="m-1", input_uri=f"{BUCKET}/in/",
                     output_path=f"{BUCKET}/out/", instance_type="ml.m5.large"),
    "filters-and-join": dict(
        name="t-2", model_name="m-2", input_uri=f"{BUCKET}/in/data.csv",
        output_path=f"{BUCKET}/out", instance_type="ml.c5.xlarge", instance_count=2,
        accept="text/csv", max_concurrent_transforms=4, max_payload_mb=25,
        input_filter="$[1:]", output_filter="$[0,-1]", join_source="Input"),
    "single-record-json": dict(
        name="t-3", model_name="m-3", input_uri=f"{BUCKET}/in/", output_path=f"{BUCKET}/o/",
        instance_type="ml.m5.large", content_type="application/json",
        accept="application/json", split_type="None", assemble_with="None",
        strategy="SingleRecord", max_payload_mb=0, input_filter="$.features",
        output_filter="$"),
}


@pytest.fixture(params=sorted(TRANSFORM_SPECS))
def transform_spec(request: pytest.FixtureRequest) -> TransformJobSpec:
    return build(TransformJobSpec, "", **TRANSFORM_SPECS[request.param])


def test_transform_round_trip(transform_spec):
    request = create_transform_job_request(transform_spec)
    assert transform_spec_from_request(request, name=transform_spec.name) == transform_spec


def test_transform_forward_requests_pass_botocore_validation(transform_spec, service_model):
    assert_valid(service_model, "CreateTransformJob",
                 create_transform_job_request(transform_spec))


# What the SDK v2 writes for a TransformStep (TransformJobName left to the service).
SDK_TRANSFORM: dict[str, Any] = {
    "ModelName": "pipelines-exec-7f3a-CreateModel-abc",
    "TransformInput": {"DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/preprocess/exec-7f3a/test"}},
        "ContentType": "text/csv", "SplitType": "Line"},
    "TransformOutput": {"S3OutputPath": f"{BUCKET}/transform/exec-7f3a",
                        "AssembleWith": "Line", "Accept": "text/csv"},
    "TransformResources": {"InstanceCount": 1, "InstanceType": "ml.m5.large"},
    "DataProcessing": {"InputFilter": "$[1:]", "OutputFilter": "$[0,-1]",
                       "JoinSource": "Input"},
}


def test_sdk_transform_request_is_read(service_model):
    assert_valid(service_model, "CreateTransformJob", {**SDK_TRANSFORM,
                                                      "TransformJobName": "t-1"})
    spec = transform_spec_from_request(SDK_TRANSFORM, name="Transform-exec-7f3a")
    assert spec == build(
        TransformJobSpec, "", name="Transform-exec-7f3a",
        model_name="pipelines-exec-7f3a-CreateModel-abc",
        input_uri=f"{BUCKET}/preprocess/exec-7f3a/test",
        output_path=f"{BUCKET}/transform/exec-7f3a", content_type="text/csv",
        accept="text/csv", split_type="Line", assemble_with="Line", strategy="MultiRecord",
        max_payload_mb=6, instance_type="ml.m5.large", instance_count=1,
        input_filter="$[1:]", output_filter="$[0,-1]", join_source="Input")


def test_transform_absent_fields_take_the_api_defaults(service_model):
    request = {"ModelName": "m-1",
               "TransformInput": {"DataSource": {"S3DataSource": {
                   "S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/in"}}},
               "TransformOutput": {"S3OutputPath": f"{BUCKET}/out"},
               "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
               "MaxConcurrentTransforms": 0}
    assert_valid(service_model, "CreateTransformJob", {**request, "TransformJobName": "t"})
    spec = transform_spec_from_request(request, name="t-1")
    assert (spec.split_type, spec.assemble_with, spec.strategy) == ("None", "None",
                                                                     "MultiRecord")
    assert (spec.content_type, spec.accept) == ("application/json", None)
    assert (spec.max_payload_mb, spec.max_concurrent_transforms) == (6, None)
    assert (spec.input_filter, spec.output_filter, spec.join_source) == (None, None, "None")


def test_transform_ignored_fields_change_nothing():
    request = copy.deepcopy(SDK_TRANSFORM)
    request.update(TransformJobName="ignored", Tags=[{"Key": "a", "Value": "b"}],
                   ExperimentConfig={"TrialName": "x"}, Environment={},
                   ModelClientConfig={"InvocationsTimeoutInSeconds": 60})
    request["TransformOutput"]["KmsKeyId"] = "key"
    request["TransformResources"]["VolumeKmsKeyId"] = "key"
    assert transform_spec_from_request(request, name="t-1") == transform_spec_from_request(
        SDK_TRANSFORM, name="t-1")


BAD_TRANSFORM: list[tuple[str, Mutation, type[Exception], str, tuple[str, ...]]] = [
    ("recordio", _set("TransformInput.SplitType", "RecordIO"), CapabilityError,
     "TransformInput.SplitType", ("recordio-split", "None, Line")),
    ("tfrecord", _set("TransformInput.SplitType", "TFRecord"), CapabilityError,
     "TransformInput.SplitType", ("recordio-split",)),
    ("bad-split", _set("TransformInput.SplitType", "Lines"), ValidationError,
     "TransformInput.SplitType", ("allowed: None, Line, RecordIO, TFRecord",)),
    ("gzip", _set("TransformInput.CompressionType", "Gzip"), CapabilityError,
     "TransformInput.CompressionType", ("supports None",)),
    ("manifest", _set("TransformInput.DataSource.S3DataSource.S3DataType", "ManifestFile"),
     CapabilityError, "TransformInput.DataSource.S3DataSource.S3DataType", ("S3Prefix",)),
    ("environment", _set("Environment", {"MODEL_SERVER_WORKERS": "2"}), CapabilityError,
     "Environment", ("CreateModel",)),
    ("capture", _set("DataCaptureConfig", {"DestinationS3Uri": f"{BUCKET}/cap"}),
     CapabilityError, "DataCaptureConfig", ("capture",)),
    ("filter", _set("DataProcessing.InputFilter", "[1:]"), ValidationError,
     "DataProcessing.InputFilter", ("JSONPath",)),
    ("payload-product", _set("MaxConcurrentTransforms", 50), ValidationError,
     "MaxConcurrentTransforms", ("MaxConcurrentTransforms x MaxPayloadInMB is 300 MB",)),
    ("payload", _set("MaxPayloadInMB", 101), ValidationError, "MaxPayloadInMB",
     ("less than or equal to 100",)),
    ("join", _set("DataProcessing.JoinSource", "Output"), ValidationError,
     "DataProcessing.JoinSource", ("allowed: Input, None",)),
    ("strategy", _set("BatchStrategy", "Multi"), ValidationError, "BatchStrategy",
     ("MultiRecord, SingleRecord",)),
    ("instance-type", _set("TransformResources.InstanceType", "ml.m5"), ValidationError,
     "TransformResources.InstanceType", ("ml.<family>.<size>",)),
    ("no-output", _drop("TransformOutput"), ValidationError, "TransformOutput",
     ("required",)),
    ("no-model", _drop("ModelName"), ValidationError, "ModelName", ("required",)),
    ("input-uri", _set("TransformInput.DataSource.S3DataSource.S3Uri", "s3:/b/in"),
     ValidationError, "TransformInput.DataSource.S3DataSource.S3Uri", ("S3 URI",)),
    ("unknown", _set("TransformOutput.Bogus", 1), CapabilityError, "TransformOutput.Bogus",
     ("S3OutputPath",)),
]


@pytest.mark.parametrize(("mutate", "error", "field", "fragments"),
                         [case[1:] for case in BAD_TRANSFORM],
                         ids=[case[0] for case in BAD_TRANSFORM])
def test_bad_transform_requests_name_the_field(mutate, error, field, fragments):
    request = copy.deepcopy(SDK_TRANSFORM)
    mutate(request)
    assert_refused(lambda: transform_spec_from_request(request, name="t-1"), error, field,
                   *fragments)


# -- CreateModelPackage ---------------------------------------------------------------------

METRICS_URI = f"{BUCKET}/registry/churn/0f0f/metrics.json"
PACKAGE_SPECS = {
    "minimal": dict(group="churn", model={"model_data": f"{BUCKET}/m/model.tar.gz",
                                          "image_uri": IMAGE}),
    "everything": dict(
        group="churn-models", approval_status=ApprovalStatus.APPROVED,
        model={"model_data": f"{BUCKET}/train/output/model.tar.gz", "image_uri": IMAGE,
               "entry_point": "inference.py",
               "source_uri": f"{BUCKET}/mlopskit/code/ab12/sourcedir.tar.gz",
               "environment": {"SAGEMAKER_REGION": "us-east-1", "MODEL_SERVER_WORKERS": "2"}},
        metrics={"auc": 0.91, "accuracy": 0.875, "loss": 1e-05},
        content_types=("text/csv", "application/json"), response_types=("application/json",),
        inference_instance_types=("ml.m5.large", "ml.c5.xlarge"),
        description="weekly retrain", metadata={"git_sha": "deadbeef", "owner": "fraud"},
        tags={"team": "fraud"}),
    "rejected-metadata-only": dict(
        group="g-1", approval_status=ApprovalStatus.REJECTED,
        model={"model_data": f"{BUCKET}/m/model.tar.gz", "image_uri": "img:1",
               "entry_point": "serve.py"},
        metadata={f"key{i}": "v" * 256 for i in range(50)}),
}


@pytest.fixture(params=sorted(PACKAGE_SPECS))
def package_spec(request: pytest.FixtureRequest) -> ModelPackageSpec:
    return build(ModelPackageSpec, "", **PACKAGE_SPECS[request.param])


def package_request(spec: ModelPackageSpec) -> dict[str, Any]:
    assert spec.model.image_uri is not None
    return create_model_package_request(spec, image_uri=spec.model.image_uri,
                                        metrics_uri=METRICS_URI, region="eu-west-1")


def test_package_round_trip(package_spec):
    registration = model_package_spec_from_request(package_request(package_spec))
    # A request says where the metrics are, not what they are; lineage is the engine's.
    # The container gains the serving variables the SDK sets for a script (the script and
    # its code come back as entry_point and source_uri).
    served = serving_environment(package_spec.model, "eu-west-1")
    served.pop("SAGEMAKER_PROGRAM", None)
    served.pop("SAGEMAKER_SUBMIT_DIRECTORY", None)
    model = package_spec.model.model_copy(update={"environment": served})
    assert registration.spec == package_spec.model_copy(update={"metrics": {}, "model": model})
    assert registration.metrics_uri == METRICS_URI
    assert registration.reports == {"ModelQuality.Statistics": METRICS_URI}
    # The report the aws backend writes, read back, completes the spec.
    metrics = read_metrics(metrics_report(dict(package_spec.metrics)))
    assert registration.complete(metrics=metrics) == package_spec.model_copy(
        update={"model": model})


def test_package_forward_requests_pass_botocore_validation(package_spec, service_model):
    assert_valid(service_model, "CreateModelPackage", package_request(package_spec))


# The RegisterModel step of the SDK v2 reference definition, expressions replaced by values.
SDK_REGISTER: dict[str, Any] = {
    "ModelPackageGroupName": "mlopskit-demo-group",
    "ModelPackageDescription": "demo model package",
    "ModelMetrics": {
        "ModelQuality": {"Statistics": {
            "ContentType": "application/json",
            "S3Uri": f"{BUCKET}/evaluation/evaluation.json"}},
        "Bias": {},
        "Explainability": {}},
    "CustomerMetadataProperties": {"git_sha": "deadbeef", "owner": "mlopskit"},
    "InferenceSpecification": {
        "Containers": [{
            "Image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/dummy-serve:latest",
            "Environment": {},
            "ModelDataUrl": f"{BUCKET}/models/exec-7f3a/pipelines-7f3a-Train/output/"
                            "model.tar.gz"}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
        "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large", "ml.m5.xlarge"],
        "SupportedTransformInstanceTypes": ["ml.m5.large"]},
    "ModelApprovalStatus": "PendingManualApproval",
    "SkipModelValidation": "None",
}


def test_sdk_register_request_is_read(service_model):
    assert_valid(service_model, "CreateModelPackage", SDK_REGISTER)
    registration = model_package_spec_from_request(SDK_REGISTER)
    spec = registration.spec
    container = SDK_REGISTER["InferenceSpecification"]["Containers"][0]
    assert spec.group == "mlopskit-demo-group"
    assert spec.description == "demo model package"
    assert spec.approval_status is ApprovalStatus.PENDING
    assert spec.metadata == {"git_sha": "deadbeef", "owner": "mlopskit"}
    assert spec.model.model_data == container["ModelDataUrl"]
    assert spec.model.image_uri == container["Image"]
    assert (spec.model.entry_point, spec.model.source_uri, spec.model.environment) == (
        None, None, {})
    assert spec.content_types == spec.response_types == ("text/csv",)
    assert spec.inference_instance_types == ("ml.m5.large", "ml.m5.xlarge")
    assert (spec.metrics, spec.lineage) == ({}, {})
    assert registration.metrics_uri == f"{BUCKET}/evaluation/evaluation.json"
    # SageMaker's own evaluation report shape gives the metric values.
    report = {"metrics": {"accuracy": {"value": 0.93}}}
    assert registration.complete(metrics=read_metrics(report)).metrics == {"accuracy": 0.93}


def test_sdk_register_of_a_framework_model_moves_the_code_out_of_the_environment():
    request = copy.deepcopy(SDK_REGISTER)
    request["InferenceSpecification"]["Containers"][0].update(
        Framework="SKLEARN", FrameworkVersion="1.2-1",
        Environment={"SAGEMAKER_PROGRAM": "inference.py",
                     "SAGEMAKER_SUBMIT_DIRECTORY": f"{BUCKET}/code/sourcedir.tar.gz",
                     "SAGEMAKER_CONTAINER_LOG_LEVEL": "20", "SAGEMAKER_REGION": "us-east-1"})
    request["ModelMetrics"]["Bias"] = {"Report": {"ContentType": "application/json",
                                                  "S3Uri": f"{BUCKET}/clarify/bias.json"}}
    request["DriftCheckBaselines"] = {"ModelQuality": {}}
    request["MetadataProperties"] = {"CommitId": "deadbeef"}
    registration = model_package_spec_from_request(request)
    model = registration.spec.model
    assert (model.framework, model.framework_version) == ("sklearn", "1.2-1")
    assert (model.entry_point, model.source_uri) == ("inference.py",
                                                      f"{BUCKET}/code/sourcedir.tar.gz")
    assert model.environment == {"SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                                 "SAGEMAKER_REGION": "us-east-1"}
    assert registration.reports == {
        "ModelQuality.Statistics": f"{BUCKET}/evaluation/evaluation.json",
        "Bias.Report": f"{BUCKET}/clarify/bias.json"}


def test_package_without_metrics_has_no_metrics_uri():
    request = copy.deepcopy(SDK_REGISTER)
    del request["ModelMetrics"]
    registration = model_package_spec_from_request(request)
    assert (registration.metrics_uri, registration.reports) == (None, {})


def test_package_registration_is_registered_by_the_local_registry(local_session):
    registry = local_session.backend.registry
    registry.create_group("mlopskit-demo-group", None, {})
    registration = model_package_spec_from_request(SDK_REGISTER)
    spec = registration.complete(metrics={"accuracy": 0.93},
                                 lineage={"model_data": registration.spec.model.model_data})
    entry = HistoryEntry(status=spec.approval_status.value, previous=None, by="pipeline",
                         at="2024-01-01T00:00:00+00:00", note="registered by a pipeline")
    record = registry.register(spec, entry)
    assert (record.version, record.metrics, record.metadata) == (
        1, {"accuracy": 0.93}, {"git_sha": "deadbeef", "owner": "mlopskit"})
    assert registry.get_package("mlopskit-demo-group", 1).model == spec.model


def test_complete_checks_the_metric_values():
    registration = model_package_spec_from_request(SDK_REGISTER)
    assert isinstance(registration, PackageRegistration)
    assert_refused(lambda: registration.complete(metrics={"auc": math.nan}), ValidationError,
                   "metrics", "finite")


def _unversioned(request: dict[str, Any]) -> None:
    del request["ModelPackageGroupName"]
    request["ModelPackageName"] = "my-package"


def _two_package_containers(request: dict[str, Any]) -> None:
    containers = request["InferenceSpecification"]["Containers"]
    containers.append(containers[0])


BAD_PACKAGE: list[tuple[str, Mutation, type[Exception], str, tuple[str, ...]]] = [
    ("no-group", _drop("ModelPackageGroupName"), CapabilityError, "ModelPackageGroupName",
     ("unversioned",)),
    ("unversioned", _unversioned, CapabilityError, "ModelPackageName", ("unversioned",)),
    ("group-name", _set("ModelPackageGroupName", "bad_group"), ValidationError,
     "ModelPackageGroupName", ("letters, digits and hyphens",)),
    ("status", _set("ModelApprovalStatus", "Approve"), ValidationError, "ModelApprovalStatus",
     ("allowed: PendingManualApproval, Approved, Rejected",)),
    ("metadata", _set("CustomerMetadataProperties", {f"k{i}": "v" for i in range(51)}),
     ValidationError, "CustomerMetadataProperties", ("at most 50",)),
    ("metadata-value", _set("CustomerMetadataProperties.owner", "v" * 257), ValidationError,
     "CustomerMetadataProperties", ("at most 256",)),
    ("content-types", _set("InferenceSpecification.SupportedContentTypes", ["csv"]),
     ValidationError, "InferenceSpecification.SupportedContentTypes", ("MIME type",)),
    ("content-type-item", _set("InferenceSpecification.SupportedResponseMIMETypes", [1]),
     ValidationError, "InferenceSpecification.SupportedResponseMIMETypes[0]",
     ("valid string",)),
    ("no-inference", _drop("InferenceSpecification"), CapabilityError,
     "InferenceSpecification", ("ModelDataUrl",)),
    ("pipeline", _two_package_containers, CapabilityError,
     "InferenceSpecification.Containers", ("one container",)),
    ("no-artifact", _drop("InferenceSpecification.Containers[0].ModelDataUrl"),
     CapabilityError, "InferenceSpecification.Containers[0].ModelDataUrl", ("model.tar.gz",)),
    ("artifact-uri", _set("InferenceSpecification.Containers[0].ModelDataUrl", "model.tar.gz"),
     ValidationError, "InferenceSpecification.Containers[0].ModelDataUrl", ("S3 URI",)),
    ("marketplace", _set("InferenceSpecification.Containers[0].ProductId", "prod-1"),
     CapabilityError, "InferenceSpecification.Containers[0].ProductId", ("Marketplace",)),
    ("code-elsewhere",
     _set("InferenceSpecification.Containers[0].Environment.SAGEMAKER_SUBMIT_DIRECTORY",
          "/opt/program/code"), CapabilityError,
     "InferenceSpecification.Containers[0].Environment.SAGEMAKER_SUBMIT_DIRECTORY",
     ("s3://",)),
    ("report-type", _set("ModelMetrics.ModelQuality.Statistics.ContentType", "text/csv"),
     CapabilityError, "ModelMetrics.ModelQuality.Statistics.ContentType",
     ("application/json",)),
    ("report-uri", _set("ModelMetrics.ModelQuality.Statistics.S3Uri", "evaluation.json"),
     ValidationError, "ModelMetrics.ModelQuality.Statistics.S3Uri", ("S3 URI",)),
    ("report-no-uri", _drop("ModelMetrics.ModelQuality.Statistics.S3Uri"), ValidationError,
     "ModelMetrics.ModelQuality.Statistics.S3Uri", ("required",)),
    ("validation", _set("ValidationSpecification", {"ValidationRole": ROLE}), CapabilityError,
     "ValidationSpecification", ("validation",)),
    ("marketplace-listing", _set("CertifyForMarketplace", True), CapabilityError,
     "CertifyForMarketplace", ("Marketplace",)),
    ("unknown-report", _set("ModelMetrics.Fairness", {}), CapabilityError,
     "ModelMetrics.Fairness", ("ModelQuality",)),
    ("description", _set("ModelPackageDescription", "d" * 1025), ValidationError,
     "ModelPackageDescription", ("at most 1024",)),
]


@pytest.mark.parametrize(("mutate", "error", "field", "fragments"),
                         [case[1:] for case in BAD_PACKAGE],
                         ids=[case[0] for case in BAD_PACKAGE])
def test_bad_package_requests_name_the_field(mutate, error, field, fragments):
    request = copy.deepcopy(SDK_REGISTER)
    mutate(request)
    assert_refused(lambda: model_package_spec_from_request(request), error, field,
                   *fragments)


def test_marketplace_certification_set_to_false_is_accepted():
    request = {**SDK_REGISTER, "CertifyForMarketplace": False}
    assert model_package_spec_from_request(request) == model_package_spec_from_request(
        SDK_REGISTER)


# -- documentation --------------------------------------------------------------------------

@pytest.mark.parametrize(("module", "table"), [
    (training_api, "_TRAINING_IGNORED"), (training_api, "_TRAINING_REFUSED"),
    (training_api, "_TRAINING_ALGORITHM_IGNORED"), (training_api, "TRAINING_ALGORITHM_REFUSED"),
    (training_api, "_TRAINING_RESOURCES_IGNORED"), (training_api, "_TRAINING_FRAMEWORK_IGNORED"),
    (serving_api, "_MODEL_IGNORED"), (serving_api, "_MODEL_CONTAINER_IGNORED"),
    (serving_api, "_MODEL_CONTAINER_REFUSED"), (transform_api, "_TRANSFORM_IGNORED"),
    (transform_api, "_TRANSFORM_REFUSED"), (registry_api, "_PACKAGE_IGNORED"),
    (registry_api, "_PACKAGE_REFUSED"), (registry_api, "_PACKAGE_CONTAINER_IGNORED"),
    (registry_api, "_PACKAGE_CONTAINER_REFUSED")],
    ids=lambda value: value if isinstance(value, str) else value.__name__.rsplit(".", 1)[-1])
def test_every_ignored_or_refused_field_is_named_in_the_module_docstring(module, table):
    doc = module.__doc__ or ""
    missing = sorted(name for name in getattr(module, table) if f"``{name}``" not in doc)
    assert not missing, f"{module.__name__}.{table}: the module docstring does not name {missing}"


def test_code_repacked_into_the_artifact_is_read_from_there():
    """The SDK repacks inference code into model.tar.gz and points the container at it."""
    request = copy.deepcopy(SDK_MODEL)
    request["PrimaryContainer"]["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] = \
        "/opt/ml/model/code"
    spec = model_spec_from_request(request, name="m-1")
    assert spec.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    package = copy.deepcopy(SDK_REGISTER)
    container = package["InferenceSpecification"]["Containers"][0]
    container["Environment"] = {"SAGEMAKER_PROGRAM": "inference.py",
                                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"}
    model = model_package_spec_from_request(package).spec.model
    assert model.entry_point == "inference.py"
    assert model.source_uri is None
    assert model.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_empty_script_variables_mean_no_custom_script():
    """As SDK v3's ModelBuilder.register() writes them."""
    package = copy.deepcopy(SDK_REGISTER)
    environment = package["InferenceSpecification"]["Containers"][0]["Environment"]
    environment.update(SAGEMAKER_PROGRAM="", SAGEMAKER_SUBMIT_DIRECTORY="")
    model = model_package_spec_from_request(package).spec.model
    assert (model.entry_point, model.source_uri) == (None, None)
    assert "SAGEMAKER_PROGRAM" not in model.environment
    assert "SAGEMAKER_SUBMIT_DIRECTORY" not in model.environment
    request = copy.deepcopy(SDK_MODEL)
    request["PrimaryContainer"]["Environment"].update(SAGEMAKER_PROGRAM="",
                                                      SAGEMAKER_SUBMIT_DIRECTORY="")
    assert model_spec_from_request(request, name="m-1").environment["SAGEMAKER_PROGRAM"] == ""
