"""CreateModelPackage both ways: a spec to the request (``create_model_package_request``,
the container as SageMaker's SDK registers a framework model; pure, checked against
botocore's validator in tests) and a resolved request back to what the local registry
records (``model_package_spec_from_request``, what the local pipeline engine runs; the
rules shared by every reader are in :mod:`._reading`).

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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..errors import CapabilityError, ValidationError
from ..specs._common import build, check_s3_uri
from ..specs.registry import ApprovalStatus, ModelPackageSpec, ModelSpec
from . import _reading as _r
from ._reading import MODEL_ARTIFACT

__all__ = [
    "PackageRegistration",
    "create_model_package_request",
    "model_package_spec_from_request",
    "serving_environment",
]


def create_model_package_request(spec: ModelPackageSpec, *, image_uri: str, metrics_uri: str,
                                 region: str, record_uri: str | None = None
                                 ) -> dict[str, Any]:
    """The ``CreateModelPackage`` request for ``spec`` (pure; validated by botocore in tests).

    The container is the one SageMaker's SDK registers for a framework model: the serving
    variables (``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, ``SAGEMAKER_REGION``,
    ``SAGEMAKER_CONTAINER_LOG_LEVEL``) when there is an inference script, and ``Framework``
    (upper-cased, as the SDK sends it) and ``FrameworkVersion``. ``ModelMetrics`` points to
    ``metrics_uri``; ``record_uri`` (mlopskit's lineage and history file) goes in
    ``MetadataProperties.GeneratedBy``.
    """
    model = spec.model
    container: dict[str, Any] = {"Image": image_uri, "ModelDataUrl": model.model_data}
    container["Environment"] = serving_environment(model, region)
    if not container["Environment"]:
        del container["Environment"]
    if model.framework:
        container["Framework"] = model.framework.upper()
    if model.framework_version:
        container["FrameworkVersion"] = model.framework_version
    inference: dict[str, Any] = {
        "Containers": [container],
        "SupportedContentTypes": list(spec.content_types),
        "SupportedResponseMIMETypes": list(spec.response_types),
    }
    if spec.inference_instance_types:
        inference["SupportedRealtimeInferenceInstanceTypes"] = list(
            spec.inference_instance_types)
    if spec.transform_instance_types:
        inference["SupportedTransformInstanceTypes"] = list(spec.transform_instance_types)
    request: dict[str, Any] = {
        "ModelPackageGroupName": spec.group,
        "InferenceSpecification": inference,
        "ModelApprovalStatus": spec.approval_status.value,
        "ModelMetrics": {"ModelQuality": {"Statistics": {
            "ContentType": "application/json", "S3Uri": metrics_uri}}},
    }
    if spec.description:
        request["ModelPackageDescription"] = spec.description
    if spec.metadata:
        request["CustomerMetadataProperties"] = dict(spec.metadata)
    if record_uri is not None:
        request["MetadataProperties"] = {"GeneratedBy": record_uri}
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


def serving_environment(model: ModelSpec, region: str) -> dict[str, str]:
    """A model container's environment as the SDK's framework models set it: the user's,
    plus the four serving variables when there is an inference script.

    Example:
        >>> spec = ModelSpec(model_data="s3://bkt/model.tar.gz", entry_point="inference.py",
        ...                  source_uri="s3://bkt/code/sourcedir.tar.gz")
        >>> sorted(serving_environment(spec, "eu-west-1").items())  # doctest: +NORMALIZE_WHITESPACE
        [('SAGEMAKER_CONTAINER_LOG_LEVEL', '20'), ('SAGEMAKER_PROGRAM', 'inference.py'),
         ('SAGEMAKER_REGION', 'eu-west-1'),
         ('SAGEMAKER_SUBMIT_DIRECTORY', 's3://bkt/code/sourcedir.tar.gz')]
    """
    environment = dict(model.environment)
    if model.entry_point:
        environment.setdefault("SAGEMAKER_PROGRAM", model.entry_point)
        if model.source_uri:
            environment.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", model.source_uri)
        environment.setdefault("SAGEMAKER_CONTAINER_LOG_LEVEL", "20")
        environment.setdefault("SAGEMAKER_REGION", region)
    return environment


# -- reading CreateModelPackage back: request -> PackageRegistration -----------------------

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
    "ModelDataSource": f"uncompressed model data is not read locally; {MODEL_ARTIFACT}",
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

_package_locate = _r.request_locator(
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
        path = _r.request_path(_PACKAGE_CONTAINER, inner.get(str(loc[1]), str(loc[1])))
        for part in loc[2:]:
            path = _r.request_path(path, part)
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
    metrics = _r.request_object(value, "ModelMetrics", read=tuple(_PACKAGE_REPORTS))
    reports: dict[str, str] = {}
    for section, names in _PACKAGE_REPORTS.items():
        section_path = f"ModelMetrics.{section}"
        part = _r.request_object(metrics.get(section), section_path, read=names)
        for report in names:
            where = f"{section_path}.{report}"
            source = _r.request_object(part.get(report), where, read=("ContentType", "S3Uri"),
                                     ignored=("ContentDigest",))
            if not source:
                continue
            uri = _r.request_text(source, "S3Uri", where, required=True)
            content_type = _r.request_text(source, "ContentType", where, required=True)
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
    containers = _r.request_list(inference.get("Containers"), "InferenceSpecification.Containers")
    if not containers:
        raise ValidationError("InferenceSpecification.Containers: at least one container is "
                              "needed", field="InferenceSpecification.Containers")
    if len(containers) > 1:
        raise CapabilityError(f"InferenceSpecification.Containers: {len(containers)} "
                              "containers make an inference pipeline, which cannot run "
                              "locally; the local registry keeps one container per package")
    container = _r.request_object(containers[0], _PACKAGE_CONTAINER, read=_PACKAGE_CONTAINER_READ,
                                ignored=_PACKAGE_CONTAINER_IGNORED,
                                refused=_PACKAGE_CONTAINER_REFUSED)
    if container.get("ModelDataUrl") is None:
        raise CapabilityError(f"{_PACKAGE_CONTAINER}.ModelDataUrl: missing; {MODEL_ARTIFACT}")
    environment_path = f"{_PACKAGE_CONTAINER}.Environment"
    environment = _r.request_strings(container.get("Environment"), environment_path)
    _r.request_code_uri(environment, environment_path)
    framework = _r.request_text(container, "Framework", _PACKAGE_CONTAINER)
    return _r.request_compact({
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
    top = _r.request_object(request, "", read=_PACKAGE_READ, ignored=_PACKAGE_IGNORED,
                          refused=_PACKAGE_REFUSED)
    if top.get("ModelPackageGroupName") is None:
        raise CapabilityError(f"ModelPackageGroupName: missing; {_PACKAGE_UNVERSIONED}")
    inference = _r.request_object(
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
            lists[spec_field] = _r.request_list(value, _package_locate((spec_field,), "")[0])
    statuses = tuple(status.value for status in ApprovalStatus)
    data = _r.request_compact({
        "group": top.get("ModelPackageGroupName"),
        "model": _package_model(inference),
        "approval_status": _r.request_choice(top, "ModelApprovalStatus", "", statuses,
                                           default=ApprovalStatus.PENDING.value),
        "description": top.get("ModelPackageDescription"),
        "metadata": top.get("CustomerMetadataProperties"),
        "tags": _r.request_tags(top.get("Tags"), "Tags"),
        **lists,
    })
    spec = _r.request_validate(ModelPackageSpec, data, _package_model_locate)
    return PackageRegistration(spec=spec, metrics_uri=reports.get(_PACKAGE_METRICS_REPORT),
                               reports=reports)

