"""Models and endpoints: CreateModel, CreateEndpointConfig (with its DataCaptureConfig) and
UpdateEndpoint's DeploymentConfig built from specs (pure; checked against botocore's
validator in tests), DescribeEndpointConfig's capture settings read back, and a resolved
CreateModel read back into a spec (``model_spec_from_request``, what the local pipeline
engine runs; the rules shared by every reader are in :mod:`._reading`).

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

Example:
    >>> spec = model_spec_from_request({"PrimaryContainer": {
    ...     "Image": "img:1", "ModelDataUrl": "s3://bkt/m/model.tar.gz"}}, name="m-1")
    >>> spec.name, spec.model_data
    ('m-1', 's3://bkt/m/model.tar.gz')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import CapabilityError, ValidationError
from ..specs.serving import (
    DataCaptureDescription,
    DataCaptureSpec,
    DeployedModelSpec,
    EndpointConfigSpec,
)
from . import _reading as _r
from ._reading import MODEL_ARTIFACT
from .rollout import Canary, Linear, Strategy

__all__ = [
    "create_endpoint_config_request",
    "create_model_request",
    "data_capture_config",
    "data_capture_description",
    "deployment_config",
    "model_spec_from_request",
    "tag_list",
]


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as every Create* request takes them (``[{"Key": ..., "Value": ...}]``)."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def create_model_request(spec: DeployedModelSpec, *, role_arn: str,
                         image_uri: str | None = None) -> dict[str, Any]:
    """``CreateModel`` for ``spec`` (pure; tests check it with botocore's validator).

    ``image_uri`` is the image to use when the spec names none (the backend resolves the
    framework's inference image).
    """
    image = spec.image_uri or image_uri
    if not image:
        raise ValidationError("image_uri: a SageMaker model needs an image; give the Model "
                              "image_uri= (or framework= with the mlopskit[sagemaker] extra)",
                              field="image_uri")
    container: dict[str, Any] = {"Image": image, "ModelDataUrl": spec.model_data}
    if spec.environment:
        container["Environment"] = dict(spec.environment)
    request: dict[str, Any] = {"ModelName": spec.name, "PrimaryContainer": container,
                               "ExecutionRoleArn": role_arn}
    if spec.tags:
        request["Tags"] = tag_list(spec.tags)
    return request


def create_endpoint_config_request(spec: EndpointConfigSpec) -> dict[str, Any]:
    """``CreateEndpointConfig`` for ``spec``."""
    variants = []
    for v in spec.variants:
        variant: dict[str, Any] = {"VariantName": v.name, "ModelName": v.model_name,
                                   "InitialVariantWeight": v.initial_weight}
        if v.serverless is not None:
            serverless: dict[str, Any] = {"MemorySizeInMB": v.serverless.memory_size_mb,
                                          "MaxConcurrency": v.serverless.max_concurrency}
            if v.serverless.provisioned_concurrency:
                serverless["ProvisionedConcurrency"] = v.serverless.provisioned_concurrency
            variant["ServerlessConfig"] = serverless
        else:
            variant.update(InstanceType=v.instance_type,
                           InitialInstanceCount=v.initial_instance_count)
        variants.append(variant)
    request: dict[str, Any] = {"EndpointConfigName": spec.name, "ProductionVariants": variants}
    if spec.data_capture is not None:
        request["DataCaptureConfig"] = data_capture_config(spec.data_capture)
    if spec.tags:
        request["Tags"] = tag_list(spec.tags)
    return request


def data_capture_config(spec: DataCaptureSpec) -> dict[str, Any]:
    """CreateEndpointConfig's ``DataCaptureConfig`` for ``spec``."""
    config: dict[str, Any] = {
        "EnableCapture": spec.enabled, "InitialSamplingPercentage": spec.sampling_percent,
        "DestinationS3Uri": spec.destination_s3_uri,
        "CaptureOptions": [{"CaptureMode": mode} for mode in spec.capture]}
    if spec.kms_key_id:
        config["KmsKeyId"] = spec.kms_key_id
    header = {key: list(types) for key, types in (("CsvContentTypes", spec.csv_content_types),
                                                  ("JsonContentTypes", spec.json_content_types))
              if types}
    if header:
        config["CaptureContentTypeHeader"] = header
    return config


def data_capture_description(config: dict[str, Any] | None,
                             summary: dict[str, Any] | None) -> DataCaptureDescription | None:
    """The endpoint config's DataCaptureConfig (``config``, from DescribeEndpointConfig),
    with DescribeEndpoint's live status (``summary``); None when capture is not set up."""
    if not config or "DestinationS3Uri" not in config:
        return None
    summary = summary or {}
    enabled = bool(config.get("EnableCapture", True))
    header = config.get("CaptureContentTypeHeader") or {}
    modes: list[str] = []
    for option in config.get("CaptureOptions", []):
        mode = option.get("CaptureMode")
        # InputAndOutput is in the API's enum; it means both.
        for one in (("Input", "Output") if mode == "InputAndOutput" else (mode,)):
            if one not in modes:
                modes.append(one)
    return DataCaptureDescription(
        enabled=bool(summary.get("EnableCapture", enabled)),
        sampling_percent=int(summary.get("CurrentSamplingPercentage",
                                         config.get("InitialSamplingPercentage", 0))),
        destination_s3_uri=str(summary.get("DestinationS3Uri") or config["DestinationS3Uri"]),
        status=str(summary.get("CaptureStatus") or ("Started" if enabled else "Stopped")),
        capture=tuple(modes), csv_content_types=tuple(header.get("CsvContentTypes", ())),
        json_content_types=tuple(header.get("JsonContentTypes", ())),
        kms_key_id=config.get("KmsKeyId"))


def deployment_config(strategy: Strategy) -> dict[str, Any]:
    """The ``DeploymentConfig`` of UpdateEndpoint for a rollout strategy."""
    alarms = list(strategy.rollback_on)
    if any(not isinstance(a, str) for a in alarms):
        raise CapabilityError("rollback_on: on AWS, alarms are CloudWatch alarm names; a "
                              "callable only works on the local backend")
    routing: dict[str, Any]
    if isinstance(strategy, Canary):
        routing = {"Type": "CANARY", "WaitIntervalInSeconds": int(strategy.wait),
                   "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": int(strategy.percent)}}
    elif isinstance(strategy, Linear):
        routing = {"Type": "LINEAR", "WaitIntervalInSeconds": int(strategy.interval),
                   "LinearStepSize": {"Type": "CAPACITY_PERCENT",
                                      "Value": int(strategy.step_percent)}}
    else:
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": int(strategy.wait)}
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": routing, "TerminationWaitInSeconds": 0}}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": str(a)}
                                                          for a in alarms]}
    return config


# -- reading CreateModel back: request -> DeployedModelSpec --------------------------------

_MODEL_IGNORED = frozenset({"ModelName", "ExecutionRoleArn", "Tags", "VpcConfig",
                            "EnableNetworkIsolation", "InferenceExecutionConfig"})
_MODEL_CONTAINER_READ = frozenset({"Image", "ModelDataUrl", "Environment", "Mode"})
_MODEL_CONTAINER_IGNORED = frozenset({"ContainerHostname", "ImageConfig",
                                      "ContainerMetricsConfig", "InferenceSpecificationName"})
_MODEL_CONTAINER_REFUSED = {
    "ModelDataSource": f"uncompressed model data is not read locally; {MODEL_ARTIFACT}",
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
    listed = _r.request_list(containers, "Containers")
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
    top = _r.request_object(request, "", read=("PrimaryContainer", "Containers"),
                          ignored=_MODEL_IGNORED)
    path, value = _model_container(top)
    container = _r.request_object(value, path, read=_MODEL_CONTAINER_READ,
                                ignored=_MODEL_CONTAINER_IGNORED,
                                refused=_MODEL_CONTAINER_REFUSED)
    _r.request_choice(container, "Mode", path, ("SingleModel", "MultiModel"),
                    default="SingleModel", local=("SingleModel",),
                    why="multi-model endpoints cannot run locally")
    if container.get("ModelDataUrl") is None:
        raise CapabilityError(f"{path}.ModelDataUrl: missing; {MODEL_ARTIFACT}")
    environment = _r.request_strings(container.get("Environment"), f"{path}.Environment")
    _r.request_code_uri(environment, f"{path}.Environment")
    data = _r.request_compact({"name": name, "image_uri": container.get("Image"),
                             "model_data": container.get("ModelDataUrl"),
                             "environment": environment})
    locate = _r.request_locator({"image_uri": f"{path}.Image",
                               "model_data": f"{path}.ModelDataUrl",
                               "environment": f"{path}.Environment"})
    return _r.request_validate(DeployedModelSpec, data, locate)

