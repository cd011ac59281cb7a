"""Specs and records of the model registry: models, package groups and versions."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import math
from typing import Any

from pydantic import Field, field_validator

from ._common import Environment, ResourceName, S3Uri, Spec, Tags

__all__ = [
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_KEY",
    "MAX_METADATA_VALUE",
    "ApprovalStatus",
    "GroupRecord",
    "HistoryEntry",
    "ModelPackageSpec",
    "ModelSpec",
    "PackageRecord",
    "check_metadata",
]

MAX_METADATA_ENTRIES = 50
MAX_METADATA_KEY = 128
MAX_METADATA_VALUE = 256


class ApprovalStatus(str, enum.Enum):
    """A model package's approval state, spelled as SageMaker spells it.

    Example:
        >>> ApprovalStatus("Approved") is ApprovalStatus.APPROVED
        True
    """

    PENDING = "PendingManualApproval"
    APPROVED = "Approved"
    REJECTED = "Rejected"

    @classmethod
    def parse(cls, value: ApprovalStatus | str) -> ApprovalStatus:
        """Accept the enum or its SageMaker spelling; anything else is a clear error."""
        if isinstance(value, ApprovalStatus):
            return value
        for status in cls:
            if value == status.value:
                return status
        allowed = ", ".join(s.value for s in cls)
        raise ValueError(f"{value!r} is not an approval status; allowed: {allowed}")


def check_metadata(values: dict[str, str]) -> dict[str, str]:
    """SageMaker's ``CustomerMetadataProperties`` limits: 50 entries, keys <= 128, values <= 256.

    Example:
        >>> check_metadata({"owner": "fraud-team"})
        {'owner': 'fraud-team'}
    """
    if len(values) > MAX_METADATA_ENTRIES:
        raise ValueError(f"{len(values)} entries; at most {MAX_METADATA_ENTRIES}")
    for key, value in values.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY:
            raise ValueError(f"key {str(key)[:40]!r} must be 1 to {MAX_METADATA_KEY} characters")
        if key.lower().startswith("aws:"):
            raise ValueError(f"key {key!r}: the 'aws:' prefix is reserved")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE:
            raise ValueError(f"key {key!r}: value must be a string of at most "
                             f"{MAX_METADATA_VALUE} characters")
    return dict(values)


class ModelSpec(Spec):
    """A deployable model: artifact, image or framework, and optional inference code."""

    model_data: S3Uri
    image_uri: str | None = Field(default=None, max_length=255)
    framework: str | None = None
    framework_version: str | None = None
    entry_point: str | None = None
    source_uri: S3Uri | None = None
    environment: Environment = Field(default_factory=dict)


class ModelPackageSpec(Spec):
    """One version to register into a group (the backend assigns the version number)."""

    group: ResourceName
    model: ModelSpec
    approval_status: ApprovalStatus = ApprovalStatus.PENDING
    metrics: dict[str, float] = Field(default_factory=dict)
    content_types: tuple[str, ...] = ("text/csv",)
    response_types: tuple[str, ...] = ("text/csv",)
    inference_instance_types: tuple[str, ...] = ()
    transform_instance_types: tuple[str, ...] = ()
    description: str | None = Field(default=None, max_length=1024)
    metadata: dict[str, str] = Field(default_factory=dict)
    lineage: dict[str, Any] = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)
    # An evaluation report of the user's (SageMaker's model quality statistics shape) that
    # ModelMetrics points to, instead of one written from ``metrics``.
    metrics_report_uri: S3Uri | None = None

    @field_validator("metrics")
    @classmethod
    def _finite(cls, values: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in values.items() if not math.isfinite(v))
        if bad:
            raise ValueError(f"{bad[0]!r} is not a finite number (NaN and infinity have no "
                             "JSON spelling)")
        return values

    @field_validator("metadata")
    @classmethod
    def _metadata_limits(cls, values: dict[str, str]) -> dict[str, str]:
        return check_metadata(values)

    @field_validator("content_types", "response_types")
    @classmethod
    def _mime_types(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if not values:
            raise ValueError("at least one MIME type is needed")
        for value in values:
            if "/" not in value or len(value) > 256:
                raise ValueError(f"{value!r} is not a MIME type such as 'text/csv'")
        return values


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One change of a package's approval state: who, when, why."""

    status: str
    previous: str | None
    by: str
    at: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class GroupRecord:
    """What a backend reports about a model package group."""

    name: str
    arn: str
    description: str | None
    creation_time: _dt.datetime


@dataclasses.dataclass(frozen=True)
class PackageRecord:
    """What a backend reports about one model package version."""

    group: str
    version: int
    arn: str
    approval_status: ApprovalStatus
    model: ModelSpec
    metrics: dict[str, float]
    metadata: dict[str, str]
    lineage: dict[str, Any]
    history: tuple[HistoryEntry, ...]
    description: str | None
    content_types: tuple[str, ...]
    response_types: tuple[str, ...]
    inference_instance_types: tuple[str, ...]
    creation_time: _dt.datetime
    transform_instance_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-able values; :meth:`from_dict` reads it back.

        Example:
            >>> record = PackageRecord(
            ...     group="churn", version=1, arn="arn:aws:sagemaker:r:1:model-package/churn/1",
            ...     approval_status=ApprovalStatus.APPROVED,
            ...     model=ModelSpec(model_data="s3://bkt/model.tar.gz"),
            ...     metrics={"auc": 0.9}, metadata={}, lineage={}, history=(), description=None,
            ...     content_types=(), response_types=(), inference_instance_types=(),
            ...     creation_time=_dt.datetime(2026, 3, 1, tzinfo=_dt.timezone.utc))
            >>> record.to_dict()["approval_status"], record.to_dict()["creation_time"]
            ('Approved', '2026-03-01T00:00:00+00:00')
            >>> PackageRecord.from_dict(record.to_dict()) == record
            True
        """
        data = dataclasses.asdict(self)
        data["approval_status"] = self.approval_status.value
        data["model"] = self.model.model_dump(mode="json")
        data["creation_time"] = self.creation_time.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PackageRecord:
        """The record :meth:`to_dict` gave ``data`` for."""
        return cls(
            group=data["group"], version=int(data["version"]), arn=data["arn"],
            approval_status=ApprovalStatus(data["approval_status"]),
            model=ModelSpec.model_validate(data["model"]),
            metrics={k: float(v) for k, v in data["metrics"].items()},
            metadata=dict(data["metadata"]), lineage=dict(data["lineage"]),
            history=tuple(HistoryEntry(**h) for h in data["history"]),
            description=data["description"], content_types=tuple(data["content_types"]),
            response_types=tuple(data["response_types"]),
            inference_instance_types=tuple(data["inference_instance_types"]),
            creation_time=_dt.datetime.fromisoformat(data["creation_time"]),
            transform_instance_types=tuple(data.get("transform_instance_types", ())),
        )
