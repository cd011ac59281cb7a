"""The training job spec both backends consume, and the hyperparameter encoding they share."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ._common import Environment, InstanceType, ResourceName, S3Uri, Spec, Tags

__all__ = [
    "CHANNEL_NAME_PATTERN",
    "ChannelSpec",
    "MetricDefinition",
    "TrainingJobSpec",
    "decode_hyperparameter",
    "encode_hyperparameters",
]

CHANNEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")
# SageMaker takes 100 hyperparameters in all; the framework adds five sagemaker_* keys.
MAX_HYPERPARAMETERS = 95
MAX_HP_KEY = 256
MAX_HP_VALUE = 2500
MAX_RUN_LIMIT = 28 * 24 * 3600
DEFAULT_MAX_RUN = 24 * 3600


def _check_channel_name(value: str) -> str:
    if not CHANNEL_NAME_PATTERN.match(value):
        raise ValueError(
            f"channel name {value!r} must be 1-64 characters of letters, digits, '.', '-', '_'"
        )
    return value


class ChannelSpec(Spec):
    """One input channel: an S3 prefix made available under ``input/data/<name>``."""

    name: Annotated[str, AfterValidator(_check_channel_name)]
    s3_uri: S3Uri
    content_type: str | None = Field(default=None, max_length=256)
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    input_mode: Literal["File", "FastFile"] = "File"
    s3_data_type: Literal["S3Prefix"] = "S3Prefix"

    def data_config(self) -> dict[str, str]:
        """This channel's entry in ``inputdataconfig.json``."""
        config = {
            "TrainingInputMode": self.input_mode,
            "S3DistributionType": self.distribution,
            "RecordWrapperType": "None",
        }
        if self.content_type:
            config["ContentType"] = self.content_type
        return config


class MetricDefinition(Spec):
    """A metric scraped from the job's log: the last match of ``regex`` group 1 wins."""

    name: str = Field(min_length=1, max_length=255)
    regex: str = Field(min_length=1, max_length=500)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from None
        if compiled.groups < 1:
            raise ValueError(f"regex {value!r} needs one capture group for the metric value")
        return value


def encode_hyperparameters(values: dict[str, Any]) -> dict[str, str]:
    """JSON-encode each value, as the framework estimators of the SageMaker SDK do.

    Example:
        >>> encode_hyperparameters({"lr": 0.1, "name": "a b", "flag": True})
        {'lr': '0.1', 'name': '"a b"', 'flag': 'true'}
    """
    return {key: json.dumps(value) for key, value in values.items()}


def decode_hyperparameter(value: str) -> Any:
    """Decode one value as the training toolkit does: JSON when it parses, else the raw text.

    Example:
        >>> [decode_hyperparameter(v) for v in ('"x"', "[1, 2]", "x")]
        ['x', [1, 2], 'x']
    """
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


class TrainingJobSpec(Spec):
    """Everything needed to run one training job, on any backend.

    ``source_uri`` is where ``sourcedir.tar.gz`` was uploaded; ``hyperparameters`` holds the
    user's own values, before encoding.
    """

    name: ResourceName
    entry_point: str = Field(min_length=1, max_length=256)
    source_uri: S3Uri
    image_uri: str | None = Field(default=None, max_length=255)
    framework: str | None = None
    framework_version: str | None = None
    instance_type: InstanceType
    instance_count: int = Field(default=1, ge=1, le=100)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    environment: Environment = Field(default_factory=dict)
    metric_definitions: tuple[MetricDefinition, ...] = Field(default=(), max_length=40)
    output_path: S3Uri
    max_run: int = Field(default=DEFAULT_MAX_RUN, ge=1, le=MAX_RUN_LIMIT)
    tags: Tags = Field(default_factory=dict)
    channels: tuple[ChannelSpec, ...] = ()
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    container_log_level: int = 20

    @field_validator("hyperparameters")
    @classmethod
    def _check_hyperparameters(cls, values: dict[str, Any]) -> dict[str, Any]:
        if len(values) > MAX_HYPERPARAMETERS:
            raise ValueError(f"{len(values)} given; at most {MAX_HYPERPARAMETERS} (SageMaker's "
                             "limit of 100 less the 5 sagemaker_* keys the framework adds)")
        for key, value in values.items():
            if not isinstance(key, str) or not 1 <= len(key) <= MAX_HP_KEY:
                raise ValueError(f"key {key!r} must be a string of 1 to {MAX_HP_KEY} characters")
            if key.startswith("sagemaker_"):
                raise ValueError(f"key {key!r}: the 'sagemaker_' prefix is reserved")
            try:
                encoded = json.dumps(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{key!r}: value of type {type(value).__name__} is not JSON-serialisable"
                ) from None
            if len(encoded) > MAX_HP_VALUE:
                raise ValueError(
                    f"{key!r}: encoded value is {len(encoded)} characters; at most {MAX_HP_VALUE}"
                )
        return values

    @field_validator("entry_point")
    @classmethod
    def _relative_entry_point(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError(f"{value!r} must be a path relative to the source directory")
        return value

    @model_validator(mode="after")
    def _unique_channels(self) -> TrainingJobSpec:
        names = [c.name for c in self.channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"channels: duplicate channel names {duplicates}")
        return self

    @property
    def hosts(self) -> list[str]:
        """Host names, as SageMaker gives them: ``algo-1`` .. ``algo-N``."""
        return [f"algo-{i}" for i in range(1, self.instance_count + 1)]

    def encoded_hyperparameters(self, region: str) -> dict[str, str]:
        """The ``HyperParameters`` map sent to SageMaker, including the ``sagemaker_*`` keys."""
        encoded = encode_hyperparameters(self.hyperparameters)
        encoded.update(
            encode_hyperparameters(
                {
                    "sagemaker_program": self.entry_point,
                    "sagemaker_submit_directory": self.source_uri,
                    "sagemaker_container_log_level": self.container_log_level,
                    "sagemaker_job_name": self.name,
                    "sagemaker_region": region,
                }
            )
        )
        return encoded

    def model_data_uri(self) -> str:
        """Where SageMaker puts ``model.tar.gz`` for this job."""
        return f"{self.output_path.rstrip('/')}/{self.name}/output/model.tar.gz"

    def output_data_uri(self) -> str:
        """Where SageMaker puts ``output.tar.gz`` for this job."""
        return f"{self.output_path.rstrip('/')}/{self.name}/output/output.tar.gz"
