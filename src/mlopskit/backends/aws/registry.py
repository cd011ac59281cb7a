"""The model registry on SageMaker: model package groups and versioned packages.

SageMaker keeps the approval status, the user's metadata (``CustomerMetadataProperties``)
and the latest approval note (``ApprovalDescription``). What it has no field for lives in
S3 beside the metrics report that ``ModelMetrics`` points to: the package's lineage and its
full audit history (``record.json``), so none of the 50 metadata entries is taken from the
user.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

from ...errors import ConflictError, NotFoundError, ValidationError
from ...sagemaker_api.images import image_instance_type, resolve_image_uri
from ...sagemaker_api.model_metrics import metrics_report, read_metrics
from ...sagemaker_api.registry import create_model_package_request
from ...specs.registry import (
    ApprovalStatus,
    GroupRecord,
    HistoryEntry,
    ModelPackageSpec,
    ModelSpec,
    PackageRecord,
)
from .family import SageMakerFamily

__all__ = ["AwsRegistry", "package_image"]


def package_image(spec: ModelPackageSpec, region: str) -> str:
    """The inference image of a package's framework, for the first instance type it lists
    for endpoints (or transforms), as the SDK's ``register`` picks it."""
    model = spec.model
    return resolve_image_uri(model.framework, model.framework_version, region,
                             image_instance_type(*spec.inference_instance_types,
                                                 *spec.transform_instance_types),
                             scope="inference")


def _time(value: Any) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    return _dt.datetime.now(_dt.timezone.utc)


class AwsRegistry(SageMakerFamily):
    """Registry verbs on SageMaker; every call through the backend's retry policy."""

    def _bucket(self) -> str:
        return self.backend.session.default_bucket

    def get_group(self, name: str) -> GroupRecord:
        found = self.backend.call(self._sm.describe_model_package_group,
                                  "DescribeModelPackageGroup", name,
                                  ModelPackageGroupName=name)
        return GroupRecord(name=found["ModelPackageGroupName"],
                           arn=found["ModelPackageGroupArn"],
                           description=found.get("ModelPackageGroupDescription"),
                           creation_time=_time(found.get("CreationTime")))

    def create_group(self, name: str, description: str | None,
                     tags: dict[str, str]) -> GroupRecord:
        try:
            self.get_group(name)
        except NotFoundError:
            pass
        else:
            raise ConflictError(f"model package group {name!r} already exists")
        request: dict[str, Any] = {"ModelPackageGroupName": name}
        if description:
            request["ModelPackageGroupDescription"] = description
        if tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self.backend.call(self._sm.create_model_package_group, "CreateModelPackageGroup",
                          name, **request)
        return self.get_group(name)

    def list_groups(self) -> list[GroupRecord]:
        paginator = self._sm.get_paginator("list_model_package_groups")

        def pages() -> list[GroupRecord]:
            return [GroupRecord(name=g["ModelPackageGroupName"], arn=g["ModelPackageGroupArn"],
                                description=g.get("ModelPackageGroupDescription"),
                                creation_time=_time(g.get("CreationTime")))
                    for page in paginator.paginate(SortBy="Name", SortOrder="Ascending")
                    for g in page.get("ModelPackageGroupSummaryList", [])]

        return self.backend.call(pages, "ListModelPackageGroups", "*")

    def delete_group(self, name: str) -> None:
        self.get_group(name)
        self.backend.call(self._sm.delete_model_package_group, "DeleteModelPackageGroup",
                          name, ModelPackageGroupName=name)

    def _image(self, spec: ModelPackageSpec) -> str:
        model = spec.model
        if model.image_uri:
            return model.image_uri
        if not model.framework:
            raise ValidationError("model.image_uri: a package on SageMaker needs an image; "
                                  "give the Model image_uri= or framework=",
                                  field="model.image_uri")
        return package_image(spec, self.backend.region)

    def register(self, spec: ModelPackageSpec, entry: HistoryEntry) -> PackageRecord:
        self.get_group(spec.group)
        image = self._image(spec)
        prefix = f"s3://{self._bucket()}/mlopskit/registry/{spec.group}/{uuid.uuid4().hex}"
        objects = self.backend.objects
        written: list[str] = []
        metrics_uri = spec.metrics_report_uri
        if metrics_uri is None:  # no report of the user's: one written from the values
            metrics_uri = f"{prefix}/metrics.json"
            objects.put_bytes(json.dumps(metrics_report(dict(spec.metrics))).encode(),
                              metrics_uri)
            written.append(metrics_uri)
        record = {"model": spec.model.model_dump(mode="json"), "lineage": spec.lineage,
                  "history": [entry.to_dict()]}
        objects.put_bytes(json.dumps(record).encode(), f"{prefix}/record.json")
        written.append(f"{prefix}/record.json")
        request = create_model_package_request(spec, image_uri=image, metrics_uri=metrics_uri,
                                               region=self.backend.region,
                                               record_uri=f"{prefix}/record.json")
        try:
            created = self.backend.call(self._sm.create_model_package, "CreateModelPackage",
                                        spec.group, **request)
        except Exception:
            for uri in written:
                objects.delete(uri)
            raise
        return self._describe(created["ModelPackageArn"])

    def _package_arn(self, group: str, version: int) -> str:
        group_arn = self.get_group(group).arn
        head = group_arn.rsplit(":model-package-group/", 1)[0]
        return f"{head}:model-package/{group.lower()}/{version}"

    def _sidecar(self, response: dict[str, Any]) -> tuple[str | None, dict[str, Any],
                                                            dict[str, float]]:
        uri = (response.get("ModelMetrics", {}).get("ModelQuality", {})
               .get("Statistics", {}).get("S3Uri"))
        # Where mlopskit keeps lineage and history: named in GeneratedBy, or (packages
        # registered before that) beside the metrics report.
        generated_by = str((response.get("MetadataProperties") or {}).get("GeneratedBy", ""))
        record_uri = generated_by if generated_by.startswith("s3://") and \
            generated_by.endswith("/record.json") else \
            (f"{uri.rsplit('/', 1)[0]}/record.json" if uri else None)
        if record_uri is None:
            return None, {}, {}
        metrics: dict[str, float] = {}
        if uri:
            with contextlib.suppress(NotFoundError, ValueError):
                report = json.loads(self.backend.objects.get_bytes(uri))
                metrics = read_metrics(report) if isinstance(report, dict) else {}
        try:
            record = json.loads(self.backend.objects.get_bytes(record_uri))
        except NotFoundError:
            record = {}
        return record_uri.rsplit("/", 1)[0], record, metrics

    def _describe(self, arn: str) -> PackageRecord:
        response = self.backend.call(self._sm.describe_model_package, "DescribeModelPackage",
                                     arn, ModelPackageName=arn)
        _, record, metrics = self._sidecar(response)
        inference = response.get("InferenceSpecification", {})
        container = (inference.get("Containers") or [{}])[0]
        model_values = dict(record.get("model", {}))
        model_values.update(model_data=container.get("ModelDataUrl",
                                                     model_values.get("model_data")),
                            image_uri=container.get("Image"))
        history = tuple(HistoryEntry(**h) for h in record.get("history", []))
        if not history and response.get("ApprovalDescription"):
            history = (HistoryEntry(status=response["ModelApprovalStatus"], previous=None,
                                    by="unknown", at="",
                                    note=str(response["ApprovalDescription"])),)
        return PackageRecord(
            group=response["ModelPackageGroupName"],
            version=int(response["ModelPackageVersion"]),
            arn=response["ModelPackageArn"],
            approval_status=ApprovalStatus(response["ModelApprovalStatus"]),
            model=ModelSpec.model_validate(model_values),
            metrics=metrics,
            metadata=dict(response.get("CustomerMetadataProperties") or {}),
            lineage=dict(record.get("lineage", {})),
            history=history,
            description=response.get("ModelPackageDescription"),
            content_types=tuple(inference.get("SupportedContentTypes", ())),
            response_types=tuple(inference.get("SupportedResponseMIMETypes", ())),
            inference_instance_types=tuple(
                inference.get("SupportedRealtimeInferenceInstanceTypes", ())),
            creation_time=_time(response.get("CreationTime")),
            transform_instance_types=tuple(
                inference.get("SupportedTransformInstanceTypes", ())),
        )

    def get_package(self, group: str, version: int) -> PackageRecord:
        try:
            return self._describe(self._package_arn(group, version))
        except NotFoundError:
            raise NotFoundError(f"model package {group!r} version {version} does not exist"
                                ) from None

    def _summaries(self, group: str, status: ApprovalStatus | None, newest_first: bool,
                   limit: int | None = None) -> Iterator[str]:
        self.get_group(group)
        paginator = self._sm.get_paginator("list_model_packages")
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime",
                                  "SortOrder": "Descending" if newest_first else "Ascending"}
        if status is not None:
            kwargs["ModelApprovalStatus"] = status.value
        if limit is not None:
            kwargs["PaginationConfig"] = {"MaxItems": limit, "PageSize": limit}
        for page in self.backend.call(lambda: list(paginator.paginate(**kwargs)),
                                      "ListModelPackages", group):
            for summary in page.get("ModelPackageSummaryList", []):
                yield str(summary["ModelPackageArn"])

    def list_packages(self, group: str, status: ApprovalStatus | None = None,
                      newest_first: bool = True) -> Iterator[PackageRecord]:
        for arn in self._summaries(group, status, newest_first):
            yield self._describe(arn)

    def latest(self, group: str, status: ApprovalStatus | None) -> PackageRecord | None:
        for arn in self._summaries(group, status, True, limit=1):
            return self._describe(arn)
        return None

    def update_package(self, group: str, version: int, *, expected: ApprovalStatus,
                       status: ApprovalStatus, metadata: dict[str, str],
                       entry: HistoryEntry | None) -> PackageRecord:
        arn = self._package_arn(group, version)
        response = self.backend.call(self._sm.describe_model_package, "DescribeModelPackage",
                                     arn, ModelPackageName=arn)
        current = ApprovalStatus(response["ModelApprovalStatus"])
        if current != expected:
            raise ConflictError(f"model package {group!r} version {version} changed to "
                                f"{current.value} meanwhile; read it again and retry")
        old_metadata = dict(response.get("CustomerMetadataProperties") or {})
        # Always send the status and the whole metadata map: an update that omits them
        # resets them (moto does, and a partial update is ambiguous anyway).
        request: dict[str, Any] = {"ModelPackageArn": arn, "ModelApprovalStatus": status.value}
        if metadata:
            request["CustomerMetadataProperties"] = metadata
        removed = sorted(set(old_metadata) - set(metadata))
        if removed:
            request["CustomerMetadataPropertiesToRemove"] = removed
        note = entry.note if entry is not None else response.get("ApprovalDescription")
        if note:
            request["ApprovalDescription"] = note[:1024]
        self.backend.call(self._sm.update_model_package, "UpdateModelPackage", arn, **request)
        if entry is not None:
            prefix, record, _ = self._sidecar(response)
            if prefix is not None:
                record.setdefault("history", []).append(entry.to_dict())
                self.backend.objects.put_bytes(json.dumps(record).encode(),
                                               f"{prefix}/record.json")
        return self._describe(arn)
