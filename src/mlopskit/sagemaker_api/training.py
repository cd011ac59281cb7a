"""CreateTrainingJob both ways: a spec to the request (``create_training_job_request``, pure,
checked against botocore's own validator in tests) and a resolved request back to a spec
(``training_spec_from_request``, what the local pipeline engine runs; the rules shared by
every reader are in :mod:`._reading`).

**CreateTrainingJob** (script mode only). Read: ``HyperParameters`` (``sagemaker_program`` ->
entry_point, ``sagemaker_submit_directory`` -> source_uri, ``sagemaker_container_log_level``;
every other value JSON-decoded as the training toolkit decodes it),
``AlgorithmSpecification.TrainingImage`` -> image_uri, ``.MetricDefinitions``,
``.TrainingInputMode`` (the default of each channel's ``InputMode``), ``InputDataConfig``,
``OutputDataConfig.S3OutputPath``, ``ResourceConfig.InstanceType``/``InstanceCount``/
``VolumeSizeInGB``, ``StoppingCondition.MaxRuntimeInSeconds``, ``Environment``, ``Tags``.
Refused: no ``sagemaker_program`` or ``sagemaker_submit_directory`` (a built-in algorithm),
``AlgorithmName``, ``ContainerEntrypoint``, ``ContainerArguments``, ``Pipe`` input mode,
manifest data types, ``Gzip`` or ``RecordIO`` channels, ``FileSystemDataSource``,
``DatasetSource``, ``AttributeNames``, ``InstanceGroupNames``, ``HubAccessConfig``,
``InstanceGroups``, ``OutputDataConfig.CompressionType`` ``NONE``, ``CheckpointConfig``,
``TensorBoardOutputConfig``, ``ServerlessJobConfig``, ``ModelPackageConfig``, and any other
``sagemaker_*`` hyperparameter unless it is ``false`` (distribution switches such as
``sagemaker_mpi_enabled``). Ignored: ``TrainingJobName``, ``RoleArn``, ``VpcConfig``,
``EnableNetworkIsolation``, ``EnableInterContainerTrafficEncryption``,
``EnableManagedSpotTraining``, ``DebugHookConfig``, ``DebugRuleConfigurations``,
``ProfilerConfig``, ``ProfilerRuleConfigurations``, ``ExperimentConfig``, ``RetryStrategy``,
``RemoteDebugConfig``, ``InfraCheckConfig``, ``SessionChainingConfig``, ``MlflowConfig``;
``TrainingImageConfig``, ``EnableSageMakerMetricsTimeSeries``; ``KmsKeyId``;
``VolumeKmsKeyId``, ``KeepAlivePeriodInSeconds``, ``TrainingPlanArn``,
``InstancePlacementConfig``; ``MaxWaitTimeInSeconds``, ``MaxPendingTimeInSeconds``; a
channel's ``ShuffleConfig`` and ``ModelAccessConfig``; the hyperparameters
``sagemaker_job_name`` and ``sagemaker_region`` (the engine's name and the session's region
win), ``sagemaker_estimator_class_name``, ``sagemaker_estimator_module``. Not recoverable:
``framework``/``framework_version`` (a request holds only the image URI).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import CapabilityError
from ..specs.training import TrainingJobSpec, decode_hyperparameter
from . import _reading as _r
from ._reading import S3_DATA_TYPES, S3_PREFIX_ONLY

__all__ = ["create_training_job_request", "training_spec_from_request"]


def create_training_job_request(spec: TrainingJobSpec, *, role_arn: str, region: str,
                                image_uri: str) -> dict[str, Any]:
    """The ``CreateTrainingJob`` request for ``spec``.

    Example:
        >>> from mlopskit.specs import build
        >>> spec = build(TrainingJobSpec, name="j", entry_point="train.py",
        ...              source_uri="s3://bkt/j/source/sourcedir.tar.gz",
        ...              instance_type="ml.m5.large", output_path="s3://bkt/")
        >>> request = create_training_job_request(spec, role_arn="arn:aws:iam::1:role/r",
        ...                                       region="us-east-1", image_uri="img:1")
        >>> request["HyperParameters"]["sagemaker_program"]
        '"train.py"'
    """
    algorithm: dict[str, Any] = {"TrainingImage": image_uri, "TrainingInputMode": "File"}
    if spec.metric_definitions:
        algorithm["MetricDefinitions"] = [{"Name": m.name, "Regex": m.regex}
                                          for m in spec.metric_definitions]
    request: dict[str, Any] = {
        "TrainingJobName": spec.name,
        "HyperParameters": spec.encoded_hyperparameters(region),
        "AlgorithmSpecification": algorithm,
        "RoleArn": role_arn,
        "OutputDataConfig": {"S3OutputPath": spec.output_path},
        "ResourceConfig": {"InstanceType": spec.instance_type,
                           "InstanceCount": spec.instance_count,
                           "VolumeSizeInGB": spec.volume_size_gb},
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_run},
    }
    if spec.channels:
        channels = []
        for channel in spec.channels:
            entry: dict[str, Any] = {
                "ChannelName": channel.name,
                "DataSource": {"S3DataSource": {
                    "S3DataType": channel.s3_data_type, "S3Uri": channel.s3_uri,
                    "S3DataDistributionType": channel.distribution}},
                "InputMode": channel.input_mode,
            }
            if channel.content_type:
                entry["ContentType"] = channel.content_type
            channels.append(entry)
        request["InputDataConfig"] = channels
    if spec.environment:
        request["Environment"] = dict(spec.environment)
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


# -- reading CreateTrainingJob back: request -> TrainingJobSpec ----------------------------

_TRAINING_READ = frozenset({
    "HyperParameters", "AlgorithmSpecification", "InputDataConfig", "OutputDataConfig",
    "ResourceConfig", "StoppingCondition", "Environment", "Tags"})
_TRAINING_IGNORED = frozenset({
    "TrainingJobName", "RoleArn", "VpcConfig", "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "DebugHookConfig",
    "DebugRuleConfigurations", "ProfilerConfig", "ProfilerRuleConfigurations",
    "ExperimentConfig", "RetryStrategy", "RemoteDebugConfig", "InfraCheckConfig",
    "SessionChainingConfig", "MlflowConfig"})
_TRAINING_REFUSED = {
    "CheckpointConfig": "the local backend does not sync a checkpoint folder with S3; "
                        "remove it (or save checkpoints to the model folder)",
    "TensorBoardOutputConfig": "the local backend does not upload TensorBoard output; "
                               "remove it",
    "ServerlessJobConfig": "serverless (model customisation) jobs cannot run locally",
    "ModelPackageConfig": "registering a package from a training job is not done locally; "
                          "use a RegisterModel step",
}
_TRAINING_ALGORITHM_READ = frozenset({"TrainingImage", "TrainingInputMode", "MetricDefinitions"})
_TRAINING_ALGORITHM_IGNORED = frozenset({"EnableSageMakerMetricsTimeSeries", "TrainingImageConfig"})
_TRAINING_SCRIPT_MODE_ONLY = (
    "the local backend runs the training toolkit's script mode (the sagemaker_program and "
    "sagemaker_submit_directory hyperparameters), not a container entry point such as the "
    "driver script SDK v3's ModelTrainer runs; build the step from mlopskit.Estimator or an "
    "SDK v2 framework estimator to run it locally")
TRAINING_ALGORITHM_REFUSED = {
    "AlgorithmName": "an algorithm resource runs its own code; the local backend runs "
                     "script-mode Python only (TrainingImage plus the sagemaker_program and "
                     "sagemaker_submit_directory hyperparameters)",
    "ContainerEntrypoint": _TRAINING_SCRIPT_MODE_ONLY,
    "ContainerArguments": _TRAINING_SCRIPT_MODE_ONLY,
}
_TRAINING_RESOURCES_READ = frozenset({"InstanceType", "InstanceCount", "VolumeSizeInGB"})
_TRAINING_RESOURCES_IGNORED = frozenset({
    "VolumeKmsKeyId", "KeepAlivePeriodInSeconds", "TrainingPlanArn", "InstancePlacementConfig"})
_TRAINING_INPUT_MODES = ("Pipe", "File", "FastFile")
_TRAINING_LOCAL_MODES = ("File", "FastFile")
_TRAINING_PIPE = "Pipe mode streams through a FIFO the local backend does not provide"
# The framework keys the toolkit uses; those the engine replaces; the SDK's bookkeeping.
_TRAINING_FRAMEWORK_READ = ("sagemaker_program", "sagemaker_submit_directory",
                            "sagemaker_container_log_level")
_TRAINING_FRAMEWORK_IGNORED = ("sagemaker_job_name", "sagemaker_region",
                               "sagemaker_estimator_class_name", "sagemaker_estimator_module")

_training_locate = _r.request_locator(
    fields={"entry_point": "HyperParameters.sagemaker_program",
            "source_uri": "HyperParameters.sagemaker_submit_directory",
            "container_log_level": "HyperParameters.sagemaker_container_log_level",
            "hyperparameters": "HyperParameters",
            "image_uri": "AlgorithmSpecification.TrainingImage",
            "metric_definitions": "AlgorithmSpecification.MetricDefinitions",
            "instance_type": "ResourceConfig.InstanceType",
            "instance_count": "ResourceConfig.InstanceCount",
            "volume_size_gb": "ResourceConfig.VolumeSizeInGB",
            "output_path": "OutputDataConfig.S3OutputPath",
            "max_run": "StoppingCondition.MaxRuntimeInSeconds",
            "channels": "InputDataConfig", "environment": "Environment", "tags": "Tags"},
    items={"channels": ("InputDataConfig", {
               "name": "ChannelName", "s3_uri": "DataSource.S3DataSource.S3Uri",
               "content_type": "ContentType", "input_mode": "InputMode",
               "distribution": "DataSource.S3DataSource.S3DataDistributionType"}),
           "metric_definitions": ("AlgorithmSpecification.MetricDefinitions",
                                  {"name": "Name", "regex": "Regex"})},
    whole={"channels": "InputDataConfig"})


def _training_hyperparameters(value: Any, image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the user's decoded values, the framework's decoded ``sagemaker_*`` values)."""
    user: dict[str, Any] = {}
    framework: dict[str, Any] = {}
    for key, text in _r.request_strings(value, "HyperParameters").items():
        decoded = decode_hyperparameter(text)
        if not key.startswith("sagemaker_"):
            user[key] = decoded
        elif key in _TRAINING_FRAMEWORK_READ:
            framework[key] = decoded
        elif key not in _TRAINING_FRAMEWORK_IGNORED and decoded is not False:
            raise CapabilityError(
                f"HyperParameters.{key}: asks the framework container for something "
                "the local backend does not do (such as a distributed launcher); it reads "
                f"{', '.join(_TRAINING_FRAMEWORK_READ)}, ignores "
                f"{', '.join(_TRAINING_FRAMEWORK_IGNORED)}, and accepts other sagemaker_* "
                "keys only when false")
    for key in ("sagemaker_program", "sagemaker_submit_directory"):
        if key not in framework:
            raise CapabilityError(
                f"HyperParameters.{key}: missing, so this is not a script-mode job: image "
                f"{image!r} would run its own built-in code, and the local backend runs no "
                "images; it runs the Python entry point named by sagemaker_program from the "
                "sagemaker_submit_directory archive (JSON-encoded, as the SDK's framework "
                "estimators send them)")
    return user, framework


def _training_channel(value: Any, path: str, default_mode: str) -> dict[str, Any]:
    channel = _r.request_object(
        value, path, ignored=("ShuffleConfig",),
        read=("ChannelName", "DataSource", "ContentType", "CompressionType",
              "RecordWrapperType", "InputMode"))
    source_path = f"{path}.DataSource"
    source = _r.request_object(channel.get("DataSource"), source_path, read=("S3DataSource",),
                             required=True, refused={
        "FileSystemDataSource": "the local backend reads channels from S3 only, not from "
                                "EFS or FSx for Lustre",
        "DatasetSource": "the local backend reads channels from S3 only"})
    s3_path = f"{source_path}.S3DataSource"
    s3 = _r.request_object(source.get("S3DataSource"), s3_path,
                         read=("S3DataType", "S3Uri", "S3DataDistributionType"),
                         ignored=("ModelAccessConfig",), required=True, refused={
        "AttributeNames": "augmented manifests are not read locally",
        "InstanceGroupNames": "instance groups (heterogeneous clusters) do not exist locally",
        "HubAccessConfig": "hub content is not read locally"})
    _r.request_choice(s3, "S3DataType", s3_path, S3_DATA_TYPES, default=None,
                    local=("S3Prefix",), why=S3_PREFIX_ONLY)
    distribution = _r.request_choice(s3, "S3DataDistributionType", s3_path,
                                   ("FullyReplicated", "ShardedByS3Key"),
                                   default="FullyReplicated")
    _r.request_choice(channel, "CompressionType", path, ("None", "Gzip"), default="None",
                    local=("None",), why="objects are copied as they are, not decompressed")
    _r.request_choice(channel, "RecordWrapperType", path, ("None", "RecordIO"), default="None",
                    local=("None",), why="records are not wrapped locally")
    if channel.get("InputMode") is None and default_mode == "Pipe":
        raise CapabilityError(f"AlgorithmSpecification.TrainingInputMode: 'Pipe' cannot run on "
                              f"the local backend ({_TRAINING_PIPE}), and channel {path} "
                              "does not override it; use File or FastFile")
    mode = _r.request_choice(channel, "InputMode", path, _TRAINING_INPUT_MODES,
                           default=default_mode, local=_TRAINING_LOCAL_MODES,
                           why=_TRAINING_PIPE)
    return _r.request_compact({
        "name": channel.get("ChannelName"), "s3_uri": s3.get("S3Uri"),
        "content_type": channel.get("ContentType"), "distribution": distribution,
        "input_mode": mode, "s3_data_type": "S3Prefix"})


def training_spec_from_request(request: Mapping[str, Any], *, name: str) -> TrainingJobSpec:
    """The :class:`~mlopskit.specs.TrainingJobSpec` a resolved ``CreateTrainingJob`` asks for.

    ``name`` names the job (the request's ``TrainingJobName`` is ignored). Only script-mode
    jobs run locally: the request needs the ``sagemaker_program`` and
    ``sagemaker_submit_directory`` hyperparameters.

    Example:
        >>> spec = training_spec_from_request({
        ...     "AlgorithmSpecification": {"TrainingImage": "img:1", "TrainingInputMode": "File"},
        ...     "HyperParameters": {"sagemaker_program": '"train.py"', "epochs": "3",
        ...                         "sagemaker_submit_directory": '"s3://bkt/src.tar.gz"'},
        ...     "OutputDataConfig": {"S3OutputPath": "s3://bkt/models"},
        ...     "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}},
        ...     name="train-1")
        >>> spec.entry_point, spec.hyperparameters
        ('train.py', {'epochs': 3})
    """
    top = _r.request_object(request, "", read=_TRAINING_READ, ignored=_TRAINING_IGNORED,
                          refused=_TRAINING_REFUSED)
    algorithm = _r.request_object(top.get("AlgorithmSpecification"), "AlgorithmSpecification",
                                read=_TRAINING_ALGORITHM_READ, required=True,
                                ignored=_TRAINING_ALGORITHM_IGNORED,
                                refused=TRAINING_ALGORITHM_REFUSED)
    image = _r.request_text(algorithm, "TrainingImage", "AlgorithmSpecification", required=True)
    assert image is not None
    default_mode = _r.request_choice(algorithm, "TrainingInputMode", "AlgorithmSpecification",
                                   _TRAINING_INPUT_MODES, default="File")
    metrics = []
    metrics_path = "AlgorithmSpecification.MetricDefinitions"
    for index, item in enumerate(_r.request_list(algorithm.get("MetricDefinitions"),
                                               metrics_path)):
        metric = _r.request_object(item, _r.request_path(metrics_path, index),
                                 read=("Name", "Regex"))
        metrics.append(_r.request_compact({"name": metric.get("Name"),
                                         "regex": metric.get("Regex")}))
    hyperparameters, framework = _training_hyperparameters(top.get("HyperParameters"), image)
    channels = [_training_channel(item, _r.request_path("InputDataConfig", index), default_mode)
                for index, item in enumerate(_r.request_list(top.get("InputDataConfig"),
                                                           "InputDataConfig"))]
    output = _r.request_object(top.get("OutputDataConfig"), "OutputDataConfig", required=True,
                             read=("S3OutputPath", "CompressionType"), ignored=("KmsKeyId",))
    _r.request_choice(output, "CompressionType", "OutputDataConfig", ("GZIP", "NONE"),
                    default="GZIP", local=("GZIP",),
                    why="the local backend always writes model.tar.gz and output.tar.gz")
    resources = _r.request_object(
        top.get("ResourceConfig"), "ResourceConfig", read=_TRAINING_RESOURCES_READ,
        ignored=_TRAINING_RESOURCES_IGNORED, required=True, refused={
            "InstanceGroups": "heterogeneous clusters (instance groups) cannot run locally; "
                              "give InstanceType and InstanceCount"})
    stopping = _r.request_object(top.get("StoppingCondition"), "StoppingCondition",
                               read=("MaxRuntimeInSeconds",),
                               ignored=("MaxWaitTimeInSeconds", "MaxPendingTimeInSeconds"))
    data = _r.request_compact({
        "name": name,
        "entry_point": framework["sagemaker_program"],
        "source_uri": framework["sagemaker_submit_directory"],
        "container_log_level": framework.get("sagemaker_container_log_level"),
        "image_uri": image,
        "instance_type": resources.get("InstanceType"),
        "instance_count": _r.request_whole(resources, "InstanceCount", "ResourceConfig"),
        "volume_size_gb": _r.request_whole(resources, "VolumeSizeInGB", "ResourceConfig"),
        "hyperparameters": hyperparameters,
        "environment": _r.request_strings(top.get("Environment"), "Environment"),
        "metric_definitions": metrics,
        "output_path": output.get("S3OutputPath"),
        "max_run": _r.request_whole(stopping, "MaxRuntimeInSeconds", "StoppingCondition"),
        "tags": _r.request_tags(top.get("Tags"), "Tags"),
        "channels": channels,
    })
    return _r.request_validate(TrainingJobSpec, data, _training_locate)

