"""Turn SageMaker API requests (as a pipeline definition holds them, resolved) back into
mlopskit specs, so the local backend can run them.

A pipeline step's ``Arguments`` is the request of a SageMaker API. Once the pipeline engine
has replaced every expression (``{"Get": ...}``, ``{"Std:Join": ...}``) by its value, these
functions turn the request into what the local backend runs:

- ``training_spec_from_request(request, *, name)``: CreateTrainingJob -> ``TrainingJobSpec``
- ``model_spec_from_request(request, *, name)``: CreateModel -> ``DeployedModelSpec``
- ``transform_spec_from_request(request, *, name)``: CreateTransformJob -> ``TransformJobSpec``
- ``model_package_spec_from_request(request)``: CreateModelPackage -> ``PackageRegistration``
  (the ``ModelPackageSpec`` plus the URIs of the metrics reports, which the engine reads: a
  request holds no metric values, only where the reports are)

They accept what mlopskit's own request builders (``backends/aws``) produce, so spec ->
request -> spec gives the spec back, and what the SageMaker Python SDK v2 writes into a
definition. Values go through the specs' own validators; every error names the request
field (``ResourceConfig.InstanceType``), the value and what is allowed:

- :class:`~mlopskit.errors.ValidationError`: the request is malformed (a wrong type, a
  required field missing, a value outside the API's enum or the spec's limits);
- :class:`~mlopskit.errors.CapabilityError`: a valid request the local backend cannot run as
  asked (listed below), or a field this module does not know.

Resource names come from the ``name`` argument: the engine names every job and model, as
the pipeline service does. ``None`` values count as absent.

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

**CreateModel**. Read: ``PrimaryContainer`` or a one-element ``Containers`` (``Image``,
``ModelDataUrl``, ``Environment`` kept whole, ``SAGEMAKER_PROGRAM`` and
``SAGEMAKER_SUBMIT_DIRECTORY`` included, as the local endpoints read them; ``Mode``).
Refused: several containers, no ``ModelDataUrl``, ``ModelDataSource``,
``AdditionalModelDataSources``, ``ModelPackageName``, ``MultiModelConfig``, ``Mode``
``MultiModel``, a ``SAGEMAKER_SUBMIT_DIRECTORY`` that is not an ``s3://`` URI (code repacked
into the artifact). Ignored: ``ModelName``, ``ExecutionRoleArn``, ``Tags``, ``VpcConfig``,
``EnableNetworkIsolation``, ``InferenceExecutionConfig``; ``ContainerHostname``,
``ImageConfig``, ``ContainerMetricsConfig``, ``InferenceSpecificationName``. The artifact's
SHA-256 (``sha256``) is not in a request, so a model made this way is not tamper-checked.

**CreateTransformJob**. Read: ``ModelName``, ``TransformInput`` (S3 prefix, ``ContentType``:
absent means ``application/json``, as the serving container reads a request without one;
``SplitType``: absent means ``None``), ``TransformOutput`` (``S3OutputPath``, ``Accept``,
``AssembleWith``: absent means ``None``), ``TransformResources``, ``BatchStrategy`` (absent:
``MultiRecord``, mlopskit's default, where SageMaker would ask the container),
``MaxPayloadInMB``, ``MaxConcurrentTransforms`` (``0`` means unset), ``DataProcessing``.
Refused: ``RecordIO``/``TFRecord`` splits (the ``recordio-split`` capability), ``Gzip``
input, manifest data types, a non-empty ``Environment`` (locally a transform runs with its
model's environment), ``DataCaptureConfig``. Ignored: ``TransformJobName``, ``Tags``,
``ExperimentConfig``, ``ModelClientConfig``, ``KmsKeyId``, ``VolumeKmsKeyId``,
``TransformAmiVersion``. JSONPath filters the local runner does not know fail when the job
runs, as a bad filter does on SageMaker.

**CreateModelPackage**. Read: ``ModelPackageGroupName``, ``ModelPackageDescription``,
``ModelApprovalStatus`` (absent: ``PendingManualApproval``), ``CustomerMetadataProperties``,
``Tags``, ``InferenceSpecification`` (one container: ``Image``, ``ModelDataUrl``,
``Environment`` less ``SAGEMAKER_PROGRAM`` -> entry_point and ``SAGEMAKER_SUBMIT_DIRECTORY``
-> source_uri, ``Framework`` lower-cased, ``FrameworkVersion``; ``SupportedContentTypes``,
``SupportedResponseMIMETypes``, ``SupportedRealtimeInferenceInstanceTypes``,
``SupportedTransformInstanceTypes``), and the report
URIs of ``ModelMetrics``. Refused: no group (an unversioned ``ModelPackageName``), no
``InferenceSpecification``, several containers, no ``ModelDataUrl``, ``ModelDataSource``,
``ProductId``, ``AdditionalModelDataSources``, ``AdditionalS3DataSource``,
``ValidationSpecification``, ``SourceAlgorithmSpecification``, a true
``CertifyForMarketplace``, a model quality statistics report that is not
``application/json``. Ignored: ``ClientToken``, ``MetadataProperties``,
``DriftCheckBaselines``, ``Domain``, ``Task``, ``SamplePayloadUrl``, ``SkipModelValidation``,
``ModelCard``, ``ModelLifeCycle``, ``SecurityConfig``, ``ManagedStorageType``,
``ModelPackageRegistrationType``, ``SourceUri``, ``AdditionalInferenceSpecifications``;
``ContainerHostname``, ``ImageDigest``, ``ModelInput``,
``NearestModelName``, ``ModelDataETag``, ``IsCheckpoint``, ``BaseModel``; ``ContentDigest``.

Example:
    >>> spec = model_spec_from_request({"PrimaryContainer": {
    ...     "Image": "img:1", "ModelDataUrl": "s3://bkt/m/model.tar.gz"}}, name="m-1")
    >>> spec.name, spec.model_data
    ('m-1', 's3://bkt/m/model.tar.gz')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import pydantic

from ...errors import CapabilityError, ValidationError
from ...specs._common import build, check_s3_uri, hides_values
from ...specs.registry import ApprovalStatus, ModelPackageSpec
from ...specs.serving import DeployedModelSpec, TransformJobSpec
from ...specs.training import TrainingJobSpec, decode_hyperparameter

__all__ = [
    "MODEL_DIR",
    "PackageRegistration",
    "check_runnable",
    "model_package_spec_from_request",
    "model_spec_from_request",
    "training_spec_from_request",
    "transform_spec_from_request",
]

_M = TypeVar("_M", bound=pydantic.BaseModel)

# Where an inference container finds the extracted model artifact.
MODEL_DIR = "/opt/ml/model"

# -- shared reading helpers ---------------------------------------------------------------

_S3_DATA_TYPES = ("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse")
_S3_PREFIX_ONLY = ("the local backend reads S3 prefixes only; a manifest lists objects "
                   "it does not resolve")


def _request_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _request_shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _request_unset(value: Any) -> bool:
    """Whether a refused field asks for nothing (absent, off or empty)."""
    return value is None or value is False or (
        isinstance(value, (str, list, tuple, dict)) and not value)


def _request_object(value: Any, path: str, *, read: Collection[str],
                    ignored: Collection[str] = (), refused: Mapping[str, str] | None = None,
                    required: bool = False) -> dict[str, Any]:
    """``value`` as a JSON object with only known keys (``None`` values dropped).

    A key in ``refused`` that asks for something raises CapabilityError with its reason;
    an unknown key raises CapabilityError naming what is read and ignored.
    """
    label = path or "request"
    if value is None:
        if required:
            raise ValidationError(f"{label}: required", field=label)
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{label}: expected an object, got {_request_shown(value)}",
                              field=label)
    for key, inner in value.items():
        if key in read or key in ignored:
            continue
        where = _request_path(path, str(key))
        if refused is not None and key in refused:
            if _request_unset(inner):
                continue
            raise CapabilityError(f"{where}: {refused[key]}")
        known = f"it reads {', '.join(sorted(read))}"
        if ignored:
            known += f" and ignores {', '.join(sorted(ignored))}"
        raise CapabilityError(f"{where}: not a field the local backend knows; {known}")
    return {str(k): v for k, v in value.items() if v is not None}


def _request_list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"{path}: expected a list, got {_request_shown(value)}",
                              field=path)
    return list(value)


def _request_text(obj: Mapping[str, Any], key: str, path: str, *,
                  required: bool = False) -> str | None:
    value = obj.get(key)
    where = _request_path(path, key)
    if value is None:
        if required:
            raise ValidationError(f"{where}: required", field=where)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: expected a string, got {_request_shown(value)}",
                              field=where)
    return value


def _request_whole(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    where = _request_path(path, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{where}: expected a whole number, got {_request_shown(value)}",
                              field=where)
    return value


def _request_choice(obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...], *,
                    default: str | None, local: tuple[str, ...] | None = None,
                    why: str = "") -> str:
    """One of the API's enum values; a value the local backend cannot honour is refused."""
    where = _request_path(path, key)
    value = _request_text(obj, key, path, required=default is None) or default
    assert value is not None
    if value not in allowed:
        raise ValidationError(f"{where}: {value!r} is not allowed; allowed: "
                              f"{', '.join(allowed)}", field=where)
    if local is not None and value not in local:
        reason = f" ({why})" if why else ""
        raise CapabilityError(f"{where}: {value!r} cannot run on the local backend{reason}; "
                              f"it supports {', '.join(local)}")
    return value


def _request_strings(value: Any, path: str) -> dict[str, str]:
    """A string -> string map (Environment, HyperParameters). Errors name the key and the
    type received, never a value: these maps may hold secrets."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{path}: expected an object of strings, got "
                              f"{type(value).__name__}", field=path)
    for key, inner in value.items():
        if not isinstance(inner, str):
            where = _request_path(path, str(key))
            raise ValidationError(f"{where}: expected a string, got {type(inner).__name__}",
                                  field=where)
    return {str(k): v for k, v in value.items()}


def _request_tags(value: Any, path: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for index, item in enumerate(_request_list(value, path)):
        where = _request_path(path, index)
        tag = _request_object(item, where, read=("Key", "Value"))
        key = _request_text(tag, "Key", where, required=True)
        text = _request_text(tag, "Value", where, required=True)
        assert key is not None and text is not None
        tags[key] = text
    return tags


def _request_code_uri(environment: Mapping[str, str], path: str) -> None:
    """Where the inference code is: an S3 archive the local endpoints download, a folder
    inside the model artifact (``/opt/ml/model/code``, where the SDK repacks it), or nothing
    (an empty value, as SDK v3's ``ModelBuilder`` writes it: no custom script)."""
    uri = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not uri:
        return
    where = _request_path(path, "SAGEMAKER_SUBMIT_DIRECTORY")
    if uri.startswith(MODEL_DIR + "/") or uri == MODEL_DIR:
        if ".." in uri.split("/"):
            raise ValidationError(f"{where}: {uri!r} climbs out of {MODEL_DIR} with '..'",
                                  field=where)
        return
    if not uri.startswith("s3://"):
        raise CapabilityError(
            f"{where}: {uri!r} is neither an S3 URI nor a folder in {MODEL_DIR}; the local "
            "backend reads inference code from the s3:// URI of a sourcedir.tar.gz or from "
            f"the model artifact ({MODEL_DIR}/code, where the SDK repacks it)")
    try:
        check_s3_uri(uri)
    except ValueError as exc:
        raise ValidationError(f"{where}: {exc}", field=where) from None


def _request_compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the values given, so the spec's defaults apply to the rest."""
    return {k: v for k, v in values.items() if v is not None}


_Locator = Callable[[tuple[Any, ...], str], tuple[str, str]]


def _request_locator(fields: Mapping[str, str],
                     items: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
                     whole: Mapping[str, str] | None = None) -> _Locator:
    """Where a spec's error is in the request.

    ``fields`` maps spec fields to request paths (deeper parts, such as an environment key,
    are appended); ``items`` maps a list field to its request list and the item's fields;
    ``whole`` renames the spec fields that a model-level message starts with.
    """
    def locate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
        if not loc:
            for spec_name, request_path in (whole or {}).items():
                if message.startswith(spec_name):
                    text = message.removeprefix(f"{spec_name}:").strip()
                    for other, renamed in (whole or {}).items():
                        text = text.replace(other, renamed.rsplit(".", 1)[-1])
                    return request_path, text
            return "request", message
        head, rest = str(loc[0]), loc[1:]
        if items and head in items and rest and isinstance(rest[0], int):
            base, inner = items[head]
            path = _request_path(base, rest[0])
            for part in rest[1:]:
                path = _request_path(path, inner.get(str(part), str(part)))
            return path, message
        path = fields.get(head, head)
        for part in rest:
            path = _request_path(path, part)
        return path, message

    return locate


def _request_validate(model: type[_M], data: dict[str, Any], locate: _Locator) -> _M:
    """Validate ``data`` with the spec's own rules; errors name the request's fields."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        parts: list[str] = []
        first: str | None = None
        for err in exc.errors(include_url=False):
            message = str(err["msg"]).removeprefix("Value error, ")
            field, message = locate(tuple(err["loc"]), message)
            first = first or field
            if err["type"] == "missing":
                parts.append(f"{field}: required")
            elif not err["loc"] or hides_values([field, *err["loc"]]):
                # a whole-request check, or a field whose values may be secrets
                # (Environment, HyperParameters): named, never echoed
                parts.append(f"{field}: {message}")
            else:
                parts.append(f"{field}: {message} (got {_request_shown(err.get('input'))})")
        error = ValidationError("; ".join(parts), field=first)
    # Raised outside the except block: pydantic's error, whose text holds every input
    # value (secrets included), is not kept as its __context__ either.
    raise error


# -- CreateTrainingJob ----------------------------------------------------------------------

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
_TRAINING_ALGORITHM_REFUSED = {
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

_training_locate = _request_locator(
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
    for key, text in _request_strings(value, "HyperParameters").items():
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
    channel = _request_object(
        value, path, ignored=("ShuffleConfig",),
        read=("ChannelName", "DataSource", "ContentType", "CompressionType",
              "RecordWrapperType", "InputMode"))
    source_path = f"{path}.DataSource"
    source = _request_object(channel.get("DataSource"), source_path, read=("S3DataSource",),
                             required=True, refused={
        "FileSystemDataSource": "the local backend reads channels from S3 only, not from "
                                "EFS or FSx for Lustre",
        "DatasetSource": "the local backend reads channels from S3 only"})
    s3_path = f"{source_path}.S3DataSource"
    s3 = _request_object(source.get("S3DataSource"), s3_path,
                         read=("S3DataType", "S3Uri", "S3DataDistributionType"),
                         ignored=("ModelAccessConfig",), required=True, refused={
        "AttributeNames": "augmented manifests are not read locally",
        "InstanceGroupNames": "instance groups (heterogeneous clusters) do not exist locally",
        "HubAccessConfig": "hub content is not read locally"})
    _request_choice(s3, "S3DataType", s3_path, _S3_DATA_TYPES, default=None,
                    local=("S3Prefix",), why=_S3_PREFIX_ONLY)
    distribution = _request_choice(s3, "S3DataDistributionType", s3_path,
                                   ("FullyReplicated", "ShardedByS3Key"),
                                   default="FullyReplicated")
    _request_choice(channel, "CompressionType", path, ("None", "Gzip"), default="None",
                    local=("None",), why="objects are copied as they are, not decompressed")
    _request_choice(channel, "RecordWrapperType", path, ("None", "RecordIO"), default="None",
                    local=("None",), why="records are not wrapped locally")
    if channel.get("InputMode") is None and default_mode == "Pipe":
        raise CapabilityError(f"AlgorithmSpecification.TrainingInputMode: 'Pipe' cannot run on "
                              f"the local backend ({_TRAINING_PIPE}), and channel {path} "
                              "does not override it; use File or FastFile")
    mode = _request_choice(channel, "InputMode", path, _TRAINING_INPUT_MODES,
                           default=default_mode, local=_TRAINING_LOCAL_MODES,
                           why=_TRAINING_PIPE)
    return _request_compact({
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
    top = _request_object(request, "", read=_TRAINING_READ, ignored=_TRAINING_IGNORED,
                          refused=_TRAINING_REFUSED)
    algorithm = _request_object(top.get("AlgorithmSpecification"), "AlgorithmSpecification",
                                read=_TRAINING_ALGORITHM_READ, required=True,
                                ignored=_TRAINING_ALGORITHM_IGNORED,
                                refused=_TRAINING_ALGORITHM_REFUSED)
    image = _request_text(algorithm, "TrainingImage", "AlgorithmSpecification", required=True)
    assert image is not None
    default_mode = _request_choice(algorithm, "TrainingInputMode", "AlgorithmSpecification",
                                   _TRAINING_INPUT_MODES, default="File")
    metrics = []
    metrics_path = "AlgorithmSpecification.MetricDefinitions"
    for index, item in enumerate(_request_list(algorithm.get("MetricDefinitions"),
                                               metrics_path)):
        metric = _request_object(item, _request_path(metrics_path, index),
                                 read=("Name", "Regex"))
        metrics.append(_request_compact({"name": metric.get("Name"),
                                         "regex": metric.get("Regex")}))
    hyperparameters, framework = _training_hyperparameters(top.get("HyperParameters"), image)
    channels = [_training_channel(item, _request_path("InputDataConfig", index), default_mode)
                for index, item in enumerate(_request_list(top.get("InputDataConfig"),
                                                           "InputDataConfig"))]
    output = _request_object(top.get("OutputDataConfig"), "OutputDataConfig", required=True,
                             read=("S3OutputPath", "CompressionType"), ignored=("KmsKeyId",))
    _request_choice(output, "CompressionType", "OutputDataConfig", ("GZIP", "NONE"),
                    default="GZIP", local=("GZIP",),
                    why="the local backend always writes model.tar.gz and output.tar.gz")
    resources = _request_object(
        top.get("ResourceConfig"), "ResourceConfig", read=_TRAINING_RESOURCES_READ,
        ignored=_TRAINING_RESOURCES_IGNORED, required=True, refused={
            "InstanceGroups": "heterogeneous clusters (instance groups) cannot run locally; "
                              "give InstanceType and InstanceCount"})
    stopping = _request_object(top.get("StoppingCondition"), "StoppingCondition",
                               read=("MaxRuntimeInSeconds",),
                               ignored=("MaxWaitTimeInSeconds", "MaxPendingTimeInSeconds"))
    data = _request_compact({
        "name": name,
        "entry_point": framework["sagemaker_program"],
        "source_uri": framework["sagemaker_submit_directory"],
        "container_log_level": framework.get("sagemaker_container_log_level"),
        "image_uri": image,
        "instance_type": resources.get("InstanceType"),
        "instance_count": _request_whole(resources, "InstanceCount", "ResourceConfig"),
        "volume_size_gb": _request_whole(resources, "VolumeSizeInGB", "ResourceConfig"),
        "hyperparameters": hyperparameters,
        "environment": _request_strings(top.get("Environment"), "Environment"),
        "metric_definitions": metrics,
        "output_path": output.get("S3OutputPath"),
        "max_run": _request_whole(stopping, "MaxRuntimeInSeconds", "StoppingCondition"),
        "tags": _request_tags(top.get("Tags"), "Tags"),
        "channels": channels,
    })
    return _request_validate(TrainingJobSpec, data, _training_locate)


# -- CreateModel ----------------------------------------------------------------------------

_MODEL_IGNORED = frozenset({"ModelName", "ExecutionRoleArn", "Tags", "VpcConfig",
                            "EnableNetworkIsolation", "InferenceExecutionConfig"})
_MODEL_CONTAINER_READ = frozenset({"Image", "ModelDataUrl", "Environment", "Mode"})
_MODEL_CONTAINER_IGNORED = frozenset({"ContainerHostname", "ImageConfig",
                                      "ContainerMetricsConfig", "InferenceSpecificationName"})
_MODEL_ARTIFACT = ("the local backend serves a model.tar.gz from S3, named by ModelDataUrl "
                   "(the local backend runs no images, so a model inside one cannot run)")
_MODEL_CONTAINER_REFUSED = {
    "ModelDataSource": f"uncompressed model data is not read locally; {_MODEL_ARTIFACT}",
    "AdditionalModelDataSources": "extra model data sources are not read locally",
    "ModelPackageName": "a model made from a model package is not resolved locally; give "
                        "Image and ModelDataUrl",
    "MultiModelConfig": "multi-model endpoints cannot run locally",
}


def _model_container(top: Mapping[str, Any]) -> tuple[str, Any]:
    primary, containers = top.get("PrimaryContainer"), top.get("Containers")
    if primary is not None and containers is not None:
        raise ValidationError("PrimaryContainer: give PrimaryContainer or Containers, not "
                              "both", field="PrimaryContainer")
    if primary is not None:
        return "PrimaryContainer", primary
    if containers is None:
        raise ValidationError("PrimaryContainer: required (or a one-element Containers)",
                              field="PrimaryContainer")
    listed = _request_list(containers, "Containers")
    if not listed:
        raise ValidationError("Containers: at least one container is needed",
                              field="Containers")
    if len(listed) > 1:
        raise CapabilityError(f"Containers: {len(listed)} containers make an inference "
                              "pipeline, which cannot run locally; the local backend serves "
                              "one container")
    return "Containers[0]", listed[0]


def model_spec_from_request(request: Mapping[str, Any], *, name: str) -> DeployedModelSpec:
    """The :class:`~mlopskit.specs.serving.DeployedModelSpec` a resolved ``CreateModel`` asks
    for; ``name`` names the model (the request's ``ModelName`` is ignored).

    The container's environment is kept whole: the local endpoints read
    ``SAGEMAKER_PROGRAM`` and ``SAGEMAKER_SUBMIT_DIRECTORY`` from it, as the serving
    container does.
    """
    top = _request_object(request, "", read=("PrimaryContainer", "Containers"),
                          ignored=_MODEL_IGNORED)
    path, value = _model_container(top)
    container = _request_object(value, path, read=_MODEL_CONTAINER_READ,
                                ignored=_MODEL_CONTAINER_IGNORED,
                                refused=_MODEL_CONTAINER_REFUSED)
    _request_choice(container, "Mode", path, ("SingleModel", "MultiModel"),
                    default="SingleModel", local=("SingleModel",),
                    why="multi-model endpoints cannot run locally")
    if container.get("ModelDataUrl") is None:
        raise CapabilityError(f"{path}.ModelDataUrl: missing; {_MODEL_ARTIFACT}")
    environment = _request_strings(container.get("Environment"), f"{path}.Environment")
    _request_code_uri(environment, f"{path}.Environment")
    data = _request_compact({"name": name, "image_uri": container.get("Image"),
                             "model_data": container.get("ModelDataUrl"),
                             "environment": environment})
    locate = _request_locator({"image_uri": f"{path}.Image",
                               "model_data": f"{path}.ModelDataUrl",
                               "environment": f"{path}.Environment"})
    return _request_validate(DeployedModelSpec, data, locate)


# -- CreateTransformJob ---------------------------------------------------------------------

_TRANSFORM_READ = frozenset({
    "ModelName", "MaxConcurrentTransforms", "MaxPayloadInMB", "BatchStrategy", "Environment",
    "TransformInput", "TransformOutput", "TransformResources", "DataProcessing"})
_TRANSFORM_IGNORED = frozenset({"TransformJobName", "Tags", "ExperimentConfig",
                                "ModelClientConfig"})
_TRANSFORM_REFUSED = {
    "DataCaptureConfig": "the local backend does not capture a transform's inputs and "
                         "outputs; remove it",
}

_transform_locate = _request_locator(
    fields={"model_name": "ModelName",
            "input_uri": "TransformInput.DataSource.S3DataSource.S3Uri",
            "content_type": "TransformInput.ContentType",
            "split_type": "TransformInput.SplitType",
            "output_path": "TransformOutput.S3OutputPath",
            "accept": "TransformOutput.Accept",
            "assemble_with": "TransformOutput.AssembleWith",
            "strategy": "BatchStrategy", "max_payload_mb": "MaxPayloadInMB",
            "max_concurrent_transforms": "MaxConcurrentTransforms",
            "instance_type": "TransformResources.InstanceType",
            "instance_count": "TransformResources.InstanceCount",
            "input_filter": "DataProcessing.InputFilter",
            "output_filter": "DataProcessing.OutputFilter",
            "join_source": "DataProcessing.JoinSource"},
    whole={"max_concurrent_transforms": "MaxConcurrentTransforms",
           "max_payload_mb": "MaxPayloadInMB",
           "input_filter": "DataProcessing.InputFilter",
           "output_filter": "DataProcessing.OutputFilter"})


def transform_spec_from_request(request: Mapping[str, Any], *, name: str) -> TransformJobSpec:
    """The :class:`~mlopskit.specs.serving.TransformJobSpec` a resolved ``CreateTransformJob``
    asks for; ``name`` names the job (the request's ``TransformJobName`` is ignored).

    Absent fields take SageMaker's defaults (``SplitType`` and ``AssembleWith`` ``None``,
    ``MaxPayloadInMB`` 6); an absent ``ContentType`` is ``application/json``, what the
    serving container assumes, and an absent ``BatchStrategy`` is ``MultiRecord``.
    """
    top = _request_object(request, "", read=_TRANSFORM_READ, ignored=_TRANSFORM_IGNORED,
                          refused=_TRANSFORM_REFUSED)
    if _request_strings(top.get("Environment"), "Environment"):
        raise CapabilityError("Environment: a transform job's own environment variables are "
                              "not passed locally (the model's environment is); set them on "
                              "the model (CreateModel's container Environment) instead")
    given = _request_object(top.get("TransformInput"), "TransformInput", required=True,
                            read=("DataSource", "ContentType", "CompressionType", "SplitType"))
    source = _request_object(given.get("DataSource"), "TransformInput.DataSource",
                             read=("S3DataSource",), required=True)
    s3_path = "TransformInput.DataSource.S3DataSource"
    s3 = _request_object(source.get("S3DataSource"), s3_path, read=("S3DataType", "S3Uri"),
                         required=True)
    _request_choice(s3, "S3DataType", s3_path, _S3_DATA_TYPES, default=None,
                    local=("S3Prefix",), why=_S3_PREFIX_ONLY)
    _request_choice(given, "CompressionType", "TransformInput", ("None", "Gzip"),
                    default="None", local=("None",), why="input is not decompressed locally")
    split = _request_choice(given, "SplitType", "TransformInput",
                            ("None", "Line", "RecordIO", "TFRecord"), default="None",
                            local=("None", "Line"),
                            why="the local backend lacks the 'recordio-split' capability")
    content_type = _request_text(given, "ContentType", "TransformInput") or "application/json"
    output = _request_object(top.get("TransformOutput"), "TransformOutput", required=True,
                             read=("S3OutputPath", "Accept", "AssembleWith"),
                             ignored=("KmsKeyId",))
    assemble = _request_choice(output, "AssembleWith", "TransformOutput", ("None", "Line"),
                               default="None")
    resources = _request_object(top.get("TransformResources"), "TransformResources",
                                read=("InstanceType", "InstanceCount"), required=True,
                                ignored=("VolumeKmsKeyId", "TransformAmiVersion"))
    processing = _request_object(top.get("DataProcessing"), "DataProcessing",
                                 read=("InputFilter", "OutputFilter", "JoinSource"))
    concurrent = _request_whole(top, "MaxConcurrentTransforms", "")
    data = _request_compact({
        "name": name, "model_name": top.get("ModelName"),
        "input_uri": s3.get("S3Uri"), "content_type": content_type, "split_type": split,
        "output_path": output.get("S3OutputPath"), "accept": output.get("Accept"),
        "assemble_with": assemble,
        "strategy": _request_choice(top, "BatchStrategy", "", ("MultiRecord", "SingleRecord"),
                                    default="MultiRecord"),
        "max_payload_mb": _request_whole(top, "MaxPayloadInMB", ""),
        # 0 asks SageMaker for the container's own setting: unset, here.
        "max_concurrent_transforms": concurrent or None,
        "instance_type": resources.get("InstanceType"),
        "instance_count": _request_whole(resources, "InstanceCount", "TransformResources"),
        "input_filter": processing.get("InputFilter"),
        "output_filter": processing.get("OutputFilter"),
        "join_source": _request_choice(processing, "JoinSource", "DataProcessing",
                                       ("Input", "None"), default="None"),
    })
    return _request_validate(TransformJobSpec, data, _transform_locate)


# -- CreateModelPackage ---------------------------------------------------------------------

_PACKAGE_READ = frozenset({
    "ModelPackageGroupName", "ModelPackageDescription", "InferenceSpecification",
    "ModelApprovalStatus", "ModelMetrics", "CustomerMetadataProperties", "Tags"})
_PACKAGE_IGNORED = frozenset({
    "ClientToken", "MetadataProperties", "DriftCheckBaselines", "Domain", "Task",
    "SamplePayloadUrl", "SkipModelValidation", "ModelCard", "ModelLifeCycle",
    "SecurityConfig", "ManagedStorageType", "ModelPackageRegistrationType", "SourceUri",
    "AdditionalInferenceSpecifications"})
_PACKAGE_UNVERSIONED = ("an unversioned model package cannot be registered locally: the "
                        "local registry keeps numbered versions in groups; give "
                        "ModelPackageGroupName")
_PACKAGE_REFUSED = {
    "ModelPackageName": _PACKAGE_UNVERSIONED,
    "ValidationSpecification": "validation transform jobs are not run locally; remove it",
    "SourceAlgorithmSpecification": "a package of an algorithm resource has no container "
                                    "the local backend can serve",
    "CertifyForMarketplace": "AWS Marketplace listing does not exist locally",
}
_PACKAGE_CONTAINER_READ = frozenset({"Image", "ModelDataUrl", "Environment", "Framework",
                                     "FrameworkVersion"})
_PACKAGE_CONTAINER_IGNORED = frozenset({
    "ContainerHostname", "ImageDigest", "ModelInput", "NearestModelName", "ModelDataETag",
    "IsCheckpoint", "BaseModel"})
_PACKAGE_CONTAINER_REFUSED = {
    "ModelDataSource": f"uncompressed model data is not read locally; {_MODEL_ARTIFACT}",
    "ProductId": "AWS Marketplace model packages cannot run locally",
    "AdditionalModelDataSources": "extra model data sources are not read locally",
    "AdditionalS3DataSource": "extra model data sources are not read locally",
}
# Where each report of ModelMetrics sits: section -> report names.
_PACKAGE_REPORTS = {
    "ModelQuality": ("Statistics", "Constraints"),
    "ModelDataQuality": ("Statistics", "Constraints"),
    "Bias": ("Report", "PreTrainingReport", "PostTrainingReport"),
    "Explainability": ("Report",),
}
_PACKAGE_METRICS_REPORT = "ModelQuality.Statistics"
_PACKAGE_CONTAINER = "InferenceSpecification.Containers[0]"

_package_locate = _request_locator(
    fields={"group": "ModelPackageGroupName", "approval_status": "ModelApprovalStatus",
            "description": "ModelPackageDescription", "metadata": "CustomerMetadataProperties",
            "tags": "Tags",
            "content_types": "InferenceSpecification.SupportedContentTypes",
            "response_types": "InferenceSpecification.SupportedResponseMIMETypes",
            "inference_instance_types":
                "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes",
            "transform_instance_types":
                "InferenceSpecification.SupportedTransformInstanceTypes"},
    items={"content_types": ("InferenceSpecification.SupportedContentTypes", {}),
           "response_types": ("InferenceSpecification.SupportedResponseMIMETypes", {}),
           "inference_instance_types": (
               "InferenceSpecification.SupportedRealtimeInferenceInstanceTypes", {}),
           "transform_instance_types": (
               "InferenceSpecification.SupportedTransformInstanceTypes", {})},
)


def _package_model_locate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
    if len(loc) >= 2 and loc[0] == "model":
        inner = {"model_data": "ModelDataUrl", "image_uri": "Image", "framework": "Framework",
                 "framework_version": "FrameworkVersion",
                 "entry_point": "Environment.SAGEMAKER_PROGRAM",
                 "source_uri": "Environment.SAGEMAKER_SUBMIT_DIRECTORY",
                 "environment": "Environment"}
        path = _request_path(_PACKAGE_CONTAINER, inner.get(str(loc[1]), str(loc[1])))
        for part in loc[2:]:
            path = _request_path(path, part)
        return path, message
    return _package_locate(loc, message)


@dataclasses.dataclass(frozen=True)
class PackageRegistration:
    """What a ``CreateModelPackage`` request asks the local registry to record.

    ``spec`` holds everything the request states, with empty ``metrics`` and ``lineage``:
    a request only says where the metrics report is (``metrics_uri``, the
    ``ModelMetrics.ModelQuality.Statistics`` JSON), and lineage (the artifact's SHA-256, the
    training job) is the engine's to find. ``reports`` maps every report the request names
    (``"ModelQuality.Statistics"``, ``"Bias.Report"``, ...) to its URI. The engine reads the
    metrics report, calls :meth:`complete`, then registers the result with
    ``backend.registry.register(spec, history_entry)`` in a group that exists.
    """

    spec: ModelPackageSpec
    metrics_uri: str | None = None
    reports: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def complete(self, *, metrics: Mapping[str, float] | None = None,
                 lineage: Mapping[str, Any] | None = None) -> ModelPackageSpec:
        """The spec with the metric values read from the report and the lineage found."""
        values = self.spec.model_dump()
        values.update(metrics=dict(metrics or {}), lineage=dict(lineage or {}))
        return build(ModelPackageSpec, "", **values)


def _package_reports(value: Any) -> dict[str, str]:
    metrics = _request_object(value, "ModelMetrics", read=tuple(_PACKAGE_REPORTS))
    reports: dict[str, str] = {}
    for section, names in _PACKAGE_REPORTS.items():
        section_path = f"ModelMetrics.{section}"
        part = _request_object(metrics.get(section), section_path, read=names)
        for report in names:
            where = f"{section_path}.{report}"
            source = _request_object(part.get(report), where, read=("ContentType", "S3Uri"),
                                     ignored=("ContentDigest",))
            if not source:
                continue
            uri = _request_text(source, "S3Uri", where, required=True)
            content_type = _request_text(source, "ContentType", where, required=True)
            assert uri is not None
            try:
                check_s3_uri(uri)
            except ValueError as exc:
                raise ValidationError(f"{where}.S3Uri: {exc}", field=f"{where}.S3Uri") from None
            key = f"{section}.{report}"
            if key == _PACKAGE_METRICS_REPORT and content_type != "application/json":
                raise CapabilityError(f"{where}.ContentType: {content_type!r}; mlopskit reads "
                                      "metric values from a report of 'application/json'")
            reports[key] = uri
    return reports


def _package_model(inference: Mapping[str, Any]) -> dict[str, Any]:
    containers = _request_list(inference.get("Containers"), "InferenceSpecification.Containers")
    if not containers:
        raise ValidationError("InferenceSpecification.Containers: at least one container is "
                              "needed", field="InferenceSpecification.Containers")
    if len(containers) > 1:
        raise CapabilityError(f"InferenceSpecification.Containers: {len(containers)} "
                              "containers make an inference pipeline, which cannot run "
                              "locally; the local registry keeps one container per package")
    container = _request_object(containers[0], _PACKAGE_CONTAINER, read=_PACKAGE_CONTAINER_READ,
                                ignored=_PACKAGE_CONTAINER_IGNORED,
                                refused=_PACKAGE_CONTAINER_REFUSED)
    if container.get("ModelDataUrl") is None:
        raise CapabilityError(f"{_PACKAGE_CONTAINER}.ModelDataUrl: missing; {_MODEL_ARTIFACT}")
    environment_path = f"{_PACKAGE_CONTAINER}.Environment"
    environment = _request_strings(container.get("Environment"), environment_path)
    _request_code_uri(environment, environment_path)
    framework = _request_text(container, "Framework", _PACKAGE_CONTAINER)
    return _request_compact({
        "model_data": container.get("ModelDataUrl"), "image_uri": container.get("Image"),
        # The API spells frameworks in capitals (SKLEARN); mlopskit as the SDK's image
        # lookup does (sklearn).
        "framework": framework.lower() if framework else None,
        "framework_version": container.get("FrameworkVersion"),
        # Empty values (SDK v3's ModelBuilder) mean no custom script; code repacked into
        # the artifact stays in the environment, as the endpoint reads it from there.
        "entry_point": environment.pop("SAGEMAKER_PROGRAM", None) or None,
        "source_uri": _package_source(environment),
        "environment": environment,
    })


def _package_source(environment: dict[str, str]) -> str | None:
    """Take ``SAGEMAKER_SUBMIT_DIRECTORY`` out of ``environment`` when it is an S3 archive
    (the package's ``source_uri``); leave a folder inside the artifact where it is."""
    value = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if value is not None and (not value or value.startswith("s3://")):
        del environment["SAGEMAKER_SUBMIT_DIRECTORY"]
        return value or None
    return None


def model_package_spec_from_request(request: Mapping[str, Any]) -> PackageRegistration:
    """What a resolved ``CreateModelPackage`` asks the local registry to record.

    See :class:`PackageRegistration`: the spec (metrics and lineage empty) and the URIs of
    the reports in ``ModelMetrics``.
    """
    top = _request_object(request, "", read=_PACKAGE_READ, ignored=_PACKAGE_IGNORED,
                          refused=_PACKAGE_REFUSED)
    if top.get("ModelPackageGroupName") is None:
        raise CapabilityError(f"ModelPackageGroupName: missing; {_PACKAGE_UNVERSIONED}")
    inference = _request_object(
        top.get("InferenceSpecification"), "InferenceSpecification",
        read=("Containers", "SupportedContentTypes", "SupportedResponseMIMETypes",
              "SupportedRealtimeInferenceInstanceTypes", "SupportedTransformInstanceTypes"))
    if not inference:
        raise CapabilityError("InferenceSpecification: missing; the local registry keeps "
                              "packages of a model (a container with ModelDataUrl)")
    reports = _package_reports(top.get("ModelMetrics"))
    lists = {spec_field: inference.get(request_field) for spec_field, request_field in (
        ("content_types", "SupportedContentTypes"),
        ("response_types", "SupportedResponseMIMETypes"),
        ("inference_instance_types", "SupportedRealtimeInferenceInstanceTypes"),
        ("transform_instance_types", "SupportedTransformInstanceTypes"))}
    for spec_field, value in lists.items():
        if value is not None:
            lists[spec_field] = _request_list(value, _package_locate((spec_field,), "")[0])
    statuses = tuple(status.value for status in ApprovalStatus)
    data = _request_compact({
        "group": top.get("ModelPackageGroupName"),
        "model": _package_model(inference),
        "approval_status": _request_choice(top, "ModelApprovalStatus", "", statuses,
                                           default=ApprovalStatus.PENDING.value),
        "description": top.get("ModelPackageDescription"),
        "metadata": top.get("CustomerMetadataProperties"),
        "tags": _request_tags(top.get("Tags"), "Tags"),
        **lists,
    })
    spec = _request_validate(ModelPackageSpec, data, _package_model_locate)
    return PackageRegistration(spec=spec, metrics_uri=reports.get(_PACKAGE_METRICS_REPORT),
                               reports=reports)


# -- CreateProcessingJob --------------------------------------------------------------------
# Appended after the other request kinds; its imports sit here so the module's header
# stays as it was.

from ...specs.processing import CODE_DIR, CODE_INPUT_NAME, ProcessingJobSpec  # noqa: E402
from .processing import python_options  # noqa: E402

__all__ += ["processing_spec_from_request"]

_PROCESSING_READ = frozenset({
    "ProcessingResources", "AppSpecification", "ProcessingInputs", "ProcessingOutputConfig",
    "StoppingCondition", "Environment", "Tags"})
_PROCESSING_IGNORED = frozenset({"ProcessingJobName", "RoleArn", "NetworkConfig",
                                 "ExperimentConfig"})
_PROCESSING_APP_MANAGED = ("app-managed inputs and outputs are handled by the container's "
                           "own application, which does not run locally; use S3 inputs and "
                           "outputs the job downloads and uploads")
_PROCESSING_INPUT_REFUSED = {
    "DatasetDefinition": "Athena and Redshift dataset definitions are not queried locally; "
                         "run the query first and give its S3 output as an S3Input",
    "AppManaged": _PROCESSING_APP_MANAGED,
}
_PROCESSING_OUTPUT_REFUSED = {
    "FeatureStoreOutput": "Feature Store does not exist locally; write to an S3Output",
    "AppManaged": _PROCESSING_APP_MANAGED,
}
_PROCESSING_CLUSTER_REFUSED = {
    "InstancePreferences": "instance preferences (a list of instance types to pick from) "
                           "are not chosen locally; give InstanceType and InstanceCount",
}
_PROCESSING_PIPE = "Pipe mode streams through a FIFO the local backend does not provide"


def _processing_input(value: Any, path: str) -> tuple[str, dict[str, Any]]:
    """(input name, the ``ProcessingInputSpec`` fields) of one ``ProcessingInputs`` entry."""
    entry = _request_object(value, path, read=("InputName", "S3Input"),
                            refused=_PROCESSING_INPUT_REFUSED)
    name = _request_text(entry, "InputName", path, required=True)
    assert name is not None
    s3_path = f"{path}.S3Input"
    s3 = _request_object(
        entry.get("S3Input"), s3_path, required=True,
        read=("S3Uri", "LocalPath", "S3DataType", "S3InputMode", "S3DataDistributionType",
              "S3CompressionType"))
    _request_choice(s3, "S3DataType", s3_path, ("ManifestFile", "S3Prefix"), default=None,
                    local=("S3Prefix",), why=_S3_PREFIX_ONLY)
    _request_choice(s3, "S3InputMode", s3_path, ("Pipe", "File"), default="File",
                    local=("File",), why=_PROCESSING_PIPE)
    _request_choice(s3, "S3CompressionType", s3_path, ("None", "Gzip"), default="None",
                    local=("None",), why="objects are copied as they are, not decompressed")
    distribution = _request_choice(s3, "S3DataDistributionType", s3_path,
                                   ("FullyReplicated", "ShardedByS3Key"),
                                   default="FullyReplicated")
    return name, _request_compact({
        "name": name, "distribution": distribution,
        "s3_uri": _request_text(s3, "S3Uri", s3_path, required=True),
        "local_path": _request_text(s3, "LocalPath", s3_path, required=True)})


def _processing_output(value: Any, path: str) -> dict[str, Any]:
    entry = _request_object(value, path, read=("OutputName", "S3Output"),
                            refused=_PROCESSING_OUTPUT_REFUSED)
    s3_path = f"{path}.S3Output"
    s3 = _request_object(entry.get("S3Output"), s3_path, required=True,
                         read=("S3Uri", "LocalPath", "S3UploadMode"))
    _request_choice(s3, "S3UploadMode", s3_path, ("Continuous", "EndOfJob"), default=None,
                    local=("EndOfJob",),
                    why="the local backend uploads outputs once, when the job completes")
    return _request_compact({
        "name": _request_text(entry, "OutputName", path, required=True),
        "s3_uri": _request_text(s3, "S3Uri", s3_path, required=True),
        "local_path": _request_text(s3, "LocalPath", s3_path, required=True)})


def _processing_entrypoint(app: Mapping[str, Any]) -> tuple[list[str], str]:
    """(command, script inside the code folder) of ``AppSpecification.ContainerEntrypoint``."""
    where = "AppSpecification.ContainerEntrypoint"
    if app.get("ContainerEntrypoint") is None:
        raise CapabilityError(
            f"{where}: missing, so the image's own entry point would run, and the local "
            "backend runs no images; it runs [python3, /opt/ml/processing/input/code/<script>]"
            " as the SDK's ScriptProcessor writes it")
    entrypoint = _request_list(app.get("ContainerEntrypoint"), where)
    for index, item in enumerate(entrypoint):
        if not isinstance(item, str):
            raise ValidationError(f"{where}[{index}]: expected a string, got "
                                  f"{_request_shown(item)}", field=f"{where}[{index}]")
    script_path = entrypoint[-1] if entrypoint else ""
    if len(entrypoint) < 2 or not script_path.startswith(CODE_DIR + "/"):
        raise CapabilityError(
            f"{where}: {entrypoint!r} does not end with a script in {CODE_DIR}/ run by an "
            "interpreter; the local backend runs processing scripts as [python3, "
            f"{CODE_DIR}/<script>] (a FrameworkProcessor's runproc.sh under "
            "/opt/ml/processing/input/entrypoint is not run locally)")
    try:
        python_options(entrypoint[:-1])
    except CapabilityError as exc:
        raise CapabilityError(f"{where}: {exc}") from None
    return entrypoint[:-1], script_path[len(CODE_DIR) + 1:]


def _processing_locator(positions: list[int]) -> _Locator:
    """Where a spec error is in the request; ``positions[i]`` is the request index of the
    spec's input ``i`` (the code input is not among the spec's inputs)."""
    locate = _request_locator(
        fields={"name": "ProcessingJobName", "script": "AppSpecification.ContainerEntrypoint",
                "command": "AppSpecification.ContainerEntrypoint",
                "arguments": "AppSpecification.ContainerArguments",
                "image_uri": "AppSpecification.ImageUri",
                "instance_type": "ProcessingResources.ClusterConfig.InstanceType",
                "instance_count": "ProcessingResources.ClusterConfig.InstanceCount",
                "volume_size_gb": "ProcessingResources.ClusterConfig.VolumeSizeInGB",
                "max_runtime": "StoppingCondition.MaxRuntimeInSeconds",
                "environment": "Environment", "tags": "Tags",
                "inputs": "ProcessingInputs", "outputs": "ProcessingOutputConfig.Outputs"},
        items={"inputs": ("ProcessingInputs", {
                   "name": "InputName", "s3_uri": "S3Input.S3Uri",
                   "local_path": "S3Input.LocalPath",
                   "distribution": "S3Input.S3DataDistributionType"}),
               "outputs": ("ProcessingOutputConfig.Outputs", {
                   "name": "OutputName", "s3_uri": "S3Output.S3Uri",
                   "local_path": "S3Output.LocalPath"})},
        whole={"inputs": "ProcessingInputs", "outputs": "ProcessingOutputConfig.Outputs"})

    def translate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
        if len(loc) >= 2 and loc[0] == "inputs" and isinstance(loc[1], int) \
                and loc[1] < len(positions):
            loc = ("inputs", positions[loc[1]], *loc[2:])
        return locate(loc, message)

    return translate


def processing_spec_from_request(request: Mapping[str, Any], *,
                                 name: str) -> ProcessingJobSpec:
    """The :class:`~mlopskit.specs.processing.ProcessingJobSpec` a resolved
    ``CreateProcessingJob`` asks for.

    ``name`` names the job (the request's ``ProcessingJobName`` is ignored). The script is
    the input named ``code`` at ``/opt/ml/processing/input/code``, and
    ``AppSpecification.ContainerEntrypoint`` must be a Python interpreter (with options, if
    any) followed by that script, as the SDK's ``ScriptProcessor`` (and ``SKLearnProcessor``)
    writes it. Read: ``ProcessingResources.ClusterConfig`` (``InstanceType``,
    ``InstanceCount``, ``VolumeSizeInGB``), ``AppSpecification`` (``ImageUri``,
    ``ContainerEntrypoint``, ``ContainerArguments``), ``ProcessingInputs[].S3Input``,
    ``ProcessingOutputConfig.Outputs[].S3Output``, ``StoppingCondition``, ``Environment``,
    ``Tags``. Refused (CapabilityError): no entry point, an entry point that is not Python
    running a script in the code folder (``bash``, a FrameworkProcessor's ``runproc.sh``),
    no ``code`` input or one elsewhere than ``/opt/ml/processing/input/code``,
    ``DatasetDefinition`` inputs, ``FeatureStoreOutput``, ``AppManaged`` true, ``Pipe``
    input mode, ``ManifestFile`` data, ``Gzip`` compression, ``Continuous`` upload mode,
    ``InstancePreferences``. Ignored: ``ProcessingJobName``, ``RoleArn``, ``NetworkConfig``,
    ``ExperimentConfig``, ``ProcessingOutputConfig.KmsKeyId``,
    ``ClusterConfig.VolumeKmsKeyId``, ``SelectedInstanceType``, ``SelectedInstanceCount``.
    Not recoverable: ``framework``/``framework_version`` (a request holds only the image).

    Example:
        >>> spec = processing_spec_from_request({
        ...     "ProcessingResources": {"ClusterConfig": {
        ...         "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
        ...     "AppSpecification": {"ImageUri": "img:1", "ContainerEntrypoint": [
        ...         "python3", "/opt/ml/processing/input/code/prep.py"]},
        ...     "ProcessingInputs": [{"InputName": "code", "S3Input": {
        ...         "S3Uri": "s3://bkt/code/prep.py", "LocalPath": "/opt/ml/processing/input/code",
        ...         "S3DataType": "S3Prefix", "S3InputMode": "File"}}]}, name="prep-1")
        >>> spec.script, spec.command, spec.code_uri
        ('prep.py', ('python3',), 's3://bkt/code/prep.py')
    """
    top = _request_object(request, "", read=_PROCESSING_READ, ignored=_PROCESSING_IGNORED)
    resources = _request_object(top.get("ProcessingResources"), "ProcessingResources",
                                read=("ClusterConfig",), required=True)
    cluster_path = "ProcessingResources.ClusterConfig"
    cluster = _request_object(
        resources.get("ClusterConfig"), cluster_path, required=True,
        read=("InstanceType", "InstanceCount", "VolumeSizeInGB"),
        ignored=("VolumeKmsKeyId", "SelectedInstanceType", "SelectedInstanceCount"),
        refused=_PROCESSING_CLUSTER_REFUSED)
    app = _request_object(top.get("AppSpecification"), "AppSpecification", required=True,
                          read=("ImageUri", "ContainerEntrypoint", "ContainerArguments"))
    command, script = _processing_entrypoint(app)
    arguments = _request_list(app.get("ContainerArguments"),
                              "AppSpecification.ContainerArguments")
    for index, item in enumerate(arguments):
        if not isinstance(item, str):
            where = f"AppSpecification.ContainerArguments[{index}]"
            raise ValidationError(f"{where}: expected a string, got {_request_shown(item)}",
                                  field=where)
    code: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = []
    positions: list[int] = []
    for index, item in enumerate(_request_list(top.get("ProcessingInputs"),
                                               "ProcessingInputs")):
        path = _request_path("ProcessingInputs", index)
        input_name, fields = _processing_input(item, path)
        if input_name != CODE_INPUT_NAME:
            inputs.append(fields)
            positions.append(index)
            continue
        if fields.get("local_path", "").rstrip("/") != CODE_DIR:
            raise CapabilityError(f"{path}.S3Input.LocalPath: the input 'code' must be at "
                                  f"{CODE_DIR} (got {fields.get('local_path')!r}), where the "
                                  "entry point's script is")
        code = fields
    if code is None:
        raise CapabilityError(f"ProcessingInputs: no input named {CODE_INPUT_NAME!r}; the "
                              f"local backend runs the script that input puts in {CODE_DIR}")
    config = _request_object(top.get("ProcessingOutputConfig"), "ProcessingOutputConfig",
                             read=("Outputs",), ignored=("KmsKeyId",))
    outputs = [_processing_output(item, _request_path("ProcessingOutputConfig.Outputs", index))
               for index, item in enumerate(_request_list(
                   config.get("Outputs"), "ProcessingOutputConfig.Outputs"))]
    stopping = _request_object(top.get("StoppingCondition"), "StoppingCondition",
                               read=("MaxRuntimeInSeconds",))
    data = _request_compact({
        "name": name, "code_uri": code.get("s3_uri"), "script": script,
        "command": tuple(command), "arguments": tuple(arguments),
        "image_uri": _request_text(app, "ImageUri", "AppSpecification"),
        "instance_type": cluster.get("InstanceType"),
        "instance_count": _request_whole(cluster, "InstanceCount", cluster_path),
        "volume_size_gb": _request_whole(cluster, "VolumeSizeInGB", cluster_path),
        "environment": _request_strings(top.get("Environment"), "Environment"),
        "inputs": tuple(inputs), "outputs": tuple(outputs),
        "max_runtime": _request_whole(stopping, "MaxRuntimeInSeconds", "StoppingCondition"),
        "tags": _request_tags(top.get("Tags"), "Tags"),
    })
    return _request_validate(ProcessingJobSpec, data, _processing_locator(positions))


# -- before an execution starts ---------------------------------------------------------------

def _literal(value: Any) -> bool:
    """True when ``value`` holds no pipeline expression (``{"Get": ...}``, ``Std:*``)."""
    if isinstance(value, dict):
        return not any(key == "Get" or key.startswith("Std:") for key in value) and all(
            _literal(item) for item in value.values())
    if isinstance(value, list):
        return all(_literal(item) for item in value)
    return True


def check_runnable(step: str, kind: str, arguments: Mapping[str, Any]) -> None:
    """Refuse, before any step of an execution runs, a step the local backend can never
    run whatever its expressions resolve to: a training step without script mode (a
    built-in algorithm image), a training job on an algorithm resource or with its own
    entry point, a processing step whose entry point is not a Python script.

    Raises :class:`~mlopskit.errors.CapabilityError` naming the step, what it asks for and
    what to do instead. Everything else is checked when the step runs, with its values.

    Example:
        >>> check_runnable("Train", "Training", {
        ...     "AlgorithmSpecification": {"TrainingImage": "img:1"}, "HyperParameters": {
        ...         "sagemaker_program": '"train.py"',
        ...         "sagemaker_submit_directory": '"s3://b/src.tar.gz"'}})
        >>> check_runnable("Train", "Training", {
        ...     "AlgorithmSpecification": {"TrainingImage": "xgboost:1"},
        ...     "HyperParameters": {"num_round": "10"}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.CapabilityError: step 'Train': training image 'xgboost:1' would run ...
    """
    if kind == "Training":
        algorithm = arguments.get("AlgorithmSpecification")
        algorithm = algorithm if isinstance(algorithm, Mapping) else {}
        for key, why in _TRAINING_ALGORITHM_REFUSED.items():
            if algorithm.get(key) is not None:
                raise CapabilityError(f"step {step!r}: AlgorithmSpecification.{key} is set; "
                                      f"{why}")
        image = algorithm.get("TrainingImage")
        shown = image if isinstance(image, str) else _request_shown(image)
        hyperparameters = arguments.get("HyperParameters")
        keys = set(hyperparameters) if isinstance(hyperparameters, Mapping) else set()
        missing = [k for k in ("sagemaker_program", "sagemaker_submit_directory")
                   if k not in keys]
        if missing:
            raise CapabilityError(
                f"step {step!r}: training image {shown!r} would run its own built-in "
                f"algorithm (the step has no {' or '.join(missing)} hyperparameter, so it is "
                "not script mode), and the local backend runs no images. Train with a "
                "script instead (mlopskit.Estimator(entry_point=..., framework=...), or the "
                "SDK's framework estimators such as SKLearn or XGBoost with entry_point=), "
                "or run this pipeline on the aws backend")
    elif kind == "Processing":
        app = arguments.get("AppSpecification")
        if isinstance(app, Mapping) and _literal(app.get("ContainerEntrypoint")):
            try:
                _processing_entrypoint(app)
            except CapabilityError as exc:
                image = app.get("ImageUri")
                shown = image if isinstance(image, str) else _request_shown(image)
                raise CapabilityError(f"step {step!r} (image {shown!r}): {exc}") from None
