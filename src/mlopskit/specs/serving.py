"""Specs of deployable models, endpoint configs and endpoints."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ._common import Environment, InstanceType, ResourceName, S3Uri, Spec, check_name

__all__ = [
    "DeployedModelSpec",
    "EndpointConfigSpec",
    "EndpointDescription",
    "InvokeResult",
    "ServerlessSpec",
    "TransformJobDescription",
    "TransformJobSpec",
    "VariantDescription",
    "VariantSpec",
]

VariantName = Annotated[str, AfterValidator(lambda v: check_name(v, kind="variant name"))]


class DeployedModelSpec(Spec):
    """A SageMaker Model resource: image, artifact and environment (CreateModel)."""

    name: ResourceName
    image_uri: str | None = Field(default=None, max_length=255)
    model_data: S3Uri
    environment: Environment = Field(default_factory=dict)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


class ServerlessSpec(Spec):
    """Serverless capacity: memory, concurrency limit and optional warm capacity."""

    memory_size_mb: int
    max_concurrency: int = Field(ge=1, le=200)
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)

    @model_validator(mode="after")
    def _limits(self) -> ServerlessSpec:
        if self.memory_size_mb not in SERVERLESS_MEMORY_SIZES:
            raise ValueError(f"memory_size_mb: {self.memory_size_mb} is not allowed; allowed: "
                             f"{', '.join(map(str, SERVERLESS_MEMORY_SIZES))}")
        if self.provisioned_concurrency and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError(f"provisioned_concurrency: {self.provisioned_concurrency} is over "
                             f"max_concurrency {self.max_concurrency}")
        return self


class VariantSpec(Spec):
    """One production variant: a model on instances (or serverless), with a weight."""

    name: VariantName = "AllTraffic"
    model_name: ResourceName
    instance_type: InstanceType | None = None
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    initial_weight: float = Field(default=1.0, ge=0.0)
    serverless: ServerlessSpec | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> VariantSpec:
        if (self.instance_type is None) == (self.serverless is None):
            raise ValueError(f"variant {self.name!r}: give either an instance type or a "
                             "serverless config, not both or neither")
        return self


class EndpointConfigSpec(Spec):
    """An endpoint config: its production variants (1 to 10, unique names)."""

    name: ResourceName
    variants: tuple[VariantSpec, ...] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _unique(self) -> EndpointConfigSpec:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variants: duplicate variant names in {names}")
        if sum(v.initial_weight for v in self.variants) <= 0:
            raise ValueError("variants: at least one variant needs a weight above 0")
        return self


class TransformJobSpec(Spec):
    """A batch transform job (CreateTransformJob): records from S3 through a model."""

    name: ResourceName
    model_name: ResourceName
    input_uri: S3Uri
    output_path: S3Uri
    content_type: str = Field(default="text/csv", max_length=256)
    accept: str | None = Field(default=None, max_length=256)
    split_type: Literal["None", "Line", "RecordIO", "TFRecord"] = "Line"
    assemble_with: Literal["None", "Line"] = "Line"
    strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    max_payload_mb: int = Field(default=6, ge=0, le=100)
    max_concurrent_transforms: int | None = Field(default=None, ge=1)
    instance_type: InstanceType
    instance_count: int = Field(default=1, ge=1, le=100)
    input_filter: str | None = Field(default=None, max_length=63)
    output_filter: str | None = Field(default=None, max_length=63)
    join_source: Literal["Input", "None"] = "None"

    @model_validator(mode="after")
    def _payload(self) -> TransformJobSpec:
        if self.max_concurrent_transforms and \
                self.max_concurrent_transforms * self.max_payload_mb > 100:
            raise ValueError(
                f"max_concurrent_transforms x max_payload_mb is "
                f"{self.max_concurrent_transforms * self.max_payload_mb} MB; at most 100")
        for name in ("input_filter", "output_filter"):
            value = getattr(self, name)
            if value is not None and not value.startswith("$"):
                raise ValueError(f"{name}: {value!r} is not a JSONPath (it starts with '$')")
        return self


@dataclasses.dataclass(frozen=True)
class TransformJobDescription:
    name: str
    arn: str
    status: str
    failure_reason: str | None
    output_path: str
    outputs: tuple[str, ...]
    records: int | None
    creation_time: _dt.datetime | None = None
    start_time: _dt.datetime | None = None  # instances up, first request about to go
    end_time: _dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class VariantDescription:
    name: str
    model_name: str
    weight: float
    instance_type: str
    instance_count: int
    serverless: ServerlessSpec | None = None


@dataclasses.dataclass(frozen=True)
class EndpointDescription:
    """What a backend reports about an endpoint, in one shape everywhere."""

    name: str
    arn: str
    status: str
    config_name: str
    variants: tuple[VariantDescription, ...]
    failure_reason: str | None
    creation_time: _dt.datetime


@dataclasses.dataclass(frozen=True)
class InvokeResult:
    """One answer: the body, its content type and the variant that served it."""

    body: bytes
    content_type: str
    variant: str | None
