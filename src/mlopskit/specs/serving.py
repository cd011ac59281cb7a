"""Specs of deployable models, endpoint configs and endpoints."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ._common import (
    Environment,
    InstanceType,
    ResourceName,
    S3Uri,
    Spec,
    Tags,
    check_name,
    check_s3_uri,
)

__all__ = [
    "CAPTURE_MODES",
    "DEFAULT_INVOCATION_TIMEOUT",
    "MAX_INVOCATION_TIMEOUT",
    "DataCaptureDescription",
    "DataCaptureSpec",
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
    """A SageMaker Model resource: image, artifact and environment (CreateModel).

    ``framework``/``framework_version`` say which serving container the model is meant for
    when no image is given: the local backend emulates that container's default handlers,
    and AWS looks its inference image up (for ``instance_type``).

    ``sha256`` and ``code_sha256`` are the SHA-256 digests of the model artifact and of the
    code archive (``SAGEMAKER_SUBMIT_DIRECTORY`` when it is an ``s3://`` URI) as recorded
    when the model was registered or deployed; the local backend checks both files against
    them before it extracts either (``None``: not checked). Neither is part of CreateModel.
    """

    name: ResourceName
    image_uri: str | None = Field(default=None, max_length=255)
    model_data: S3Uri
    environment: Environment = Field(default_factory=dict)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    code_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    framework: str | None = Field(default=None, max_length=64)
    framework_version: str | None = Field(default=None, max_length=64)
    # Where the model will be served, when known: a GPU type picks the framework's GPU
    # image. Not part of CreateModel.
    instance_type: InstanceType | None = None
    tags: Tags = Field(default_factory=dict)


SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
# SageMaker answers a realtime request the model has not answered within 60 s with an error.
DEFAULT_INVOCATION_TIMEOUT = 60
MAX_INVOCATION_TIMEOUT = 3600


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
    """One production variant: a model on instances (or serverless), with a weight.

    ``invocation_timeout`` (seconds) is how long a request may take before it is answered
    with an error: SageMaker's is 60 s; the local backend honours other values, the AWS
    backend sends none (SageMaker's limit applies).
    """

    name: VariantName = "AllTraffic"
    model_name: ResourceName
    instance_type: InstanceType | None = None
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    initial_weight: float = Field(default=1.0, ge=0.0)
    serverless: ServerlessSpec | None = None
    invocation_timeout: int = Field(default=DEFAULT_INVOCATION_TIMEOUT, ge=1,
                                    le=MAX_INVOCATION_TIMEOUT)

    @model_validator(mode="after")
    def _one_kind(self) -> VariantSpec:
        if (self.instance_type is None) == (self.serverless is None):
            raise ValueError(f"variant {self.name!r}: give either an instance type or a "
                             "serverless config, not both or neither")
        return self


CaptureMode = Literal["Input", "Output"]
CAPTURE_MODES: tuple[CaptureMode, ...] = ("Input", "Output")
# CreateEndpointConfig's CsvContentType/JsonContentType pattern (botocore does not check it).
_CONTENT_TYPE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*/[a-zA-Z0-9](-*[a-zA-Z0-9.])*")
_KMS_KEY = re.compile(r"[a-zA-Z0-9:/_-]*")


def _content_types(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)  # one content type, not its characters
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of content types such as ['text/csv'], got "
                         f"{type(value).__name__}")
    if len(value) > 10:
        raise ValueError(f"{len(value)} content types given; at most 10")
    for item in value:
        if not isinstance(item, str) or len(item) > 256 or not _CONTENT_TYPE.fullmatch(item):
            raise ValueError(f"{item!r} is not a content type; expected type/subtype such as "
                             "'text/csv' (letters, digits, hyphens and dots, at most 256 "
                             "characters, no parameters)")
    return tuple(value)


class DataCaptureSpec(Spec):
    """Data capture on an endpoint (CreateEndpointConfig's ``DataCaptureConfig``)."""

    enabled: bool = True
    sampling_percent: int = 100
    destination_s3_uri: str
    capture: tuple[CaptureMode, ...] = CAPTURE_MODES
    csv_content_types: tuple[str, ...] = ("text/csv",)
    json_content_types: tuple[str, ...] = ("application/json",)
    kms_key_id: str | None = None

    @field_validator("enabled", mode="before")
    @classmethod
    def _enabled(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("must be True or False")
        return value

    @field_validator("sampling_percent", mode="before")
    @classmethod
    def _sampling(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError("must be a whole number from 0 to 100 (a percentage of requests)")
        return value

    @field_validator("destination_s3_uri", mode="before")
    @classmethod
    def _destination(cls, value: Any) -> str:
        check_s3_uri(value)
        if len(value) > 512:
            raise ValueError(f"is {len(value)} characters; at most 512")
        return str(value)

    @field_validator("capture", mode="before")
    @classmethod
    def _capture(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = (value,)
        allowed = " and/or ".join(repr(m) for m in CAPTURE_MODES)
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"must name at least one of {allowed}")
        for mode in value:
            if mode not in CAPTURE_MODES:
                raise ValueError(f"{mode!r} is not a capture mode; allowed: {allowed}")
        if len(set(value)) != len(value):
            raise ValueError(f"{list(value)} names a mode twice")
        return tuple(value)

    @field_validator("csv_content_types", "json_content_types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> tuple[str, ...]:
        return _content_types(value)

    @field_validator("kms_key_id", mode="before")
    @classmethod
    def _kms(cls, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > 2048 or not _KMS_KEY.fullmatch(value):
            raise ValueError("expected a KMS key id, key ARN, alias or alias ARN (letters, "
                             "digits, ':', '/', '_' and '-', at most 2048 characters)")
        return value

    @property
    def captures_input(self) -> bool:
        return "Input" in self.capture

    @property
    def captures_output(self) -> bool:
        return "Output" in self.capture


@dataclasses.dataclass(frozen=True)
class DataCaptureDescription:
    """An endpoint's data capture as the backend reports it.

    ``status`` is SageMaker's ``CaptureStatus``: ``Started`` while records are being
    captured, ``Stopped`` when capture is disabled.
    """

    enabled: bool
    sampling_percent: int
    destination_s3_uri: str
    status: str
    capture: tuple[str, ...]
    csv_content_types: tuple[str, ...] = ()
    json_content_types: tuple[str, ...] = ()
    kms_key_id: str | None = None

    @classmethod
    def of(cls, spec: DataCaptureSpec, status: str | None = None) -> DataCaptureDescription:
        return cls(spec.enabled, spec.sampling_percent, spec.destination_s3_uri,
                   status or ("Started" if spec.enabled else "Stopped"), tuple(spec.capture),
                   spec.csv_content_types, spec.json_content_types, spec.kms_key_id)

    def spec(self) -> DataCaptureSpec:
        """The spec that would configure this capture again (for a new endpoint config)."""
        return DataCaptureSpec.model_validate({
            "enabled": self.enabled, "sampling_percent": self.sampling_percent,
            "destination_s3_uri": self.destination_s3_uri, "capture": self.capture,
            "csv_content_types": self.csv_content_types,
            "json_content_types": self.json_content_types, "kms_key_id": self.kms_key_id})


class EndpointConfigSpec(Spec):
    """An endpoint config: its production variants (1 to 10, unique names) and, optionally,
    data capture."""

    name: ResourceName
    variants: tuple[VariantSpec, ...] = Field(min_length=1, max_length=10)
    data_capture: DataCaptureSpec | None = None
    tags: Tags = Field(default_factory=dict)

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
    tags: Tags = Field(default_factory=dict)

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
    url: str | None = None  # the /invocations address (local: the variant's own server)
    invocation_timeout: int = DEFAULT_INVOCATION_TIMEOUT  # seconds a request may take


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
    data_capture: DataCaptureDescription | None = None


@dataclasses.dataclass(frozen=True)
class InvokeResult:
    """One answer: the body, its content type and the variant that served it."""

    body: bytes
    content_type: str
    variant: str | None
