"""Specs of deployable models, endpoint configs and endpoints."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from ._common import Environment, InstanceType, ResourceName, S3Uri, Spec, check_name

__all__ = [
    "DeployedModelSpec",
    "EndpointConfigSpec",
    "EndpointDescription",
    "InvokeResult",
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


class VariantSpec(Spec):
    """One production variant: a model on instances, with a traffic weight."""

    name: VariantName = "AllTraffic"
    model_name: ResourceName
    instance_type: InstanceType
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    initial_weight: float = Field(default=1.0, ge=0.0)


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


@dataclasses.dataclass(frozen=True)
class VariantDescription:
    name: str
    model_name: str
    weight: float
    instance_type: str
    instance_count: int


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
