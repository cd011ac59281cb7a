"""The processing job spec both backends consume.

A processing job runs one script (``code``) in a container: its inputs are downloaded into
folders under ``/opt/ml/processing/``, its outputs are folders there that are uploaded when
it ends. The script arrives as the input ``code`` at ``/opt/ml/processing/input/code/``
and runs as ``command + [that path] + arguments`` (CONTRACTS.md, "Processing container").
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from ._common import InstanceType, ResourceName, S3Uri, Spec, Tags, check_environment

__all__ = [
    "CODE_DIR",
    "CODE_INPUT_NAME",
    "DEFAULT_MAX_RUNTIME",
    "MAX_RUNTIME_LIMIT",
    "PROCESSING_ROOT",
    "IoName",
    "ProcessingEnvironment",
    "ProcessingPath",
    "ProcessingInputSpec",
    "ProcessingJobSpec",
    "ProcessingOutputSpec",
    "check_processing_environment",
    "check_processing_path",
]

PROCESSING_ROOT = "/opt/ml/processing"
CODE_INPUT_NAME = "code"
CODE_DIR = f"{PROCESSING_ROOT}/input/{CODE_INPUT_NAME}"
MAX_RUNTIME_LIMIT = 777_600  # ProcessingMaxRuntimeInSeconds: 9 days
DEFAULT_MAX_RUNTIME = 24 * 3600  # what a job without a stopping condition gets locally
MAX_INPUTS = 10  # ProcessingInputs, the code input included
MAX_OUTPUTS = 10
MAX_COMMAND_ITEMS = 100  # ContainerEntrypoint, the script path included
MAX_ARGUMENTS = 100
MAX_ITEM_LENGTH = 256  # each ContainerEntrypoint / ContainerArguments string, each LocalPath
IO_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_processing_path(value: str) -> str:
    """Check a container path: absolute, normalised, strictly under ``/opt/ml/processing/``.

    Example:
        >>> check_processing_path("/opt/ml/processing/input/data")
        '/opt/ml/processing/input/data'
    """
    if not isinstance(value, str) or not value:
        raise ValueError("must be a path under /opt/ml/processing/")
    if len(value) > MAX_ITEM_LENGTH:
        raise ValueError(f"{value!r} is {len(value)} characters; at most {MAX_ITEM_LENGTH}")
    if posixpath.normpath(value) != value.rstrip("/") or "//" in value:
        raise ValueError(f"{value!r} must be a normalised absolute path (no '.', '..' or '//')")
    if not value.startswith(PROCESSING_ROOT + "/") or value.rstrip("/") == PROCESSING_ROOT:
        raise ValueError(f"{value!r} must be a folder under {PROCESSING_ROOT}/, such as "
                         f"'{PROCESSING_ROOT}/input/data'")
    return value.rstrip("/")


def _check_io_name(value: str) -> str:
    if not isinstance(value, str) or not IO_NAME_PATTERN.match(value):
        raise ValueError(f"name {value!r} must be 1-64 letters, digits, '.', '-' or '_', "
                         "starting with a letter or digit")
    return value


def check_processing_environment(value: Mapping[str, str]) -> dict[str, str]:
    """Check processing environment variables: at most 100, names and values <= 256 chars.

    (Processing allows shorter values than training: ProcessingEnvironmentValue.)

    Example:
        >>> check_processing_environment({"MODE": "fast"})
        {'MODE': 'fast'}
    """
    return check_environment(value, limit=256)


ProcessingPath = Annotated[str, AfterValidator(check_processing_path)]
IoName = Annotated[str, AfterValidator(_check_io_name)]
ProcessingEnvironment = Annotated[dict[str, str], AfterValidator(check_processing_environment),
                                  Field(repr=False)]  # values may be secrets


class ProcessingInputSpec(Spec):
    """One input: the objects under ``s3_uri`` downloaded into ``local_path`` before start."""

    name: IoName
    s3_uri: S3Uri
    local_path: ProcessingPath
    distribution: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"
    s3_data_type: Literal["S3Prefix"] = "S3Prefix"
    input_mode: Literal["File"] = "File"


class ProcessingOutputSpec(Spec):
    """One output: the files left in ``local_path`` uploaded under ``s3_uri`` at the end."""

    name: IoName
    s3_uri: S3Uri
    local_path: ProcessingPath
    upload_mode: Literal["EndOfJob"] = "EndOfJob"


def _check_lengths(items: tuple[str, ...], noun: str) -> tuple[str, ...]:
    """``items`` (a command's or the arguments') when none is over the API's length."""
    for item in items:
        if len(item) > MAX_ITEM_LENGTH:
            raise ValueError(f"{noun} {item[:40]!r}... is {len(item)} characters; at most "
                             f"{MAX_ITEM_LENGTH}")
    return items


def _repeated(values: Sequence[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def _check_unique_names(items: Sequence[ProcessingInputSpec | ProcessingOutputSpec],
                        kind: str) -> None:
    repeated = _repeated([item.name for item in items])
    if repeated:
        raise ValueError(f"duplicate {kind} names {repeated}")


def _check_unique_paths(items: Sequence[ProcessingInputSpec | ProcessingOutputSpec],
                        share: str) -> None:
    repeated = _repeated([item.local_path for item in items])
    if repeated:
        raise ValueError(f"two {share} {repeated[0]!r}")


def _check_script(value: str) -> str:
    if value.startswith("/") or value.endswith("/") or any(
            part in {"", ".", ".."} for part in value.split("/")):
        raise ValueError(f"{value!r} must be a file path relative to the code folder")
    if len(f"{CODE_DIR}/{value}") > MAX_ITEM_LENGTH:
        raise ValueError(f"{value!r}: {CODE_DIR}/{value} is over {MAX_ITEM_LENGTH} characters")
    return value


class ProcessingJobSpec(Spec):
    """Everything needed to run one processing job, on any backend.

    ``code_uri`` is the script's S3 object (or a prefix holding it), downloaded to
    ``/opt/ml/processing/input/code/``; ``script`` is the script's path inside that folder.
    ``max_runtime`` ``None`` sends no stopping condition (SageMaker's default applies; locally
    24 hours).
    """

    name: ResourceName
    code_uri: S3Uri
    script: Annotated[str, AfterValidator(_check_script)] = Field(min_length=1)
    command: tuple[str, ...] = Field(default=("python3",), min_length=1,
                                     max_length=MAX_COMMAND_ITEMS - 1)
    arguments: tuple[str, ...] = Field(default=(), max_length=MAX_ARGUMENTS)
    image_uri: str | None = Field(default=None, max_length=255)
    framework: str | None = None
    framework_version: str | None = None
    instance_type: InstanceType
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    environment: ProcessingEnvironment = Field(default_factory=dict)
    inputs: tuple[ProcessingInputSpec, ...] = Field(default=(), max_length=MAX_INPUTS - 1)
    outputs: tuple[ProcessingOutputSpec, ...] = Field(default=(), max_length=MAX_OUTPUTS)
    max_runtime: int | None = Field(default=None, ge=1, le=MAX_RUNTIME_LIMIT)
    tags: Tags = Field(default_factory=dict)

    @field_validator("command")
    @classmethod
    def _check_command(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value[0]:
            raise ValueError("the first item (the program) must not be empty")
        return _check_lengths(value, "item")

    @field_validator("arguments")
    @classmethod
    def _check_arguments(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_lengths(value, "argument")

    @field_validator("inputs")
    @classmethod
    def _check_inputs(cls, value: tuple[ProcessingInputSpec, ...]
                      ) -> tuple[ProcessingInputSpec, ...]:
        _check_unique_names(value, "input")
        if CODE_INPUT_NAME in (i.name for i in value):
            raise ValueError(f"the input name {CODE_INPUT_NAME!r} is reserved for the script")
        _check_unique_paths(value, "inputs share the destination")
        for path in (i.local_path for i in value):
            if path == CODE_DIR or path.startswith(CODE_DIR + "/"):
                raise ValueError(f"destination {path!r} is inside {CODE_DIR}, which holds the "
                                 "script")
        return value

    @field_validator("outputs")
    @classmethod
    def _check_outputs(cls, value: tuple[ProcessingOutputSpec, ...]
                       ) -> tuple[ProcessingOutputSpec, ...]:
        _check_unique_names(value, "output")
        _check_unique_paths(value, "outputs share the source")
        return value

    @property
    def script_path(self) -> str:
        """Where the script is inside the container: ``/opt/ml/processing/input/code/...``."""
        return f"{CODE_DIR}/{self.script}"

    @property
    def entrypoint(self) -> list[str]:
        """``ContainerEntrypoint``: the command, then the script's container path."""
        return [*self.command, self.script_path]

    @property
    def hosts(self) -> list[str]:
        """Host names, as SageMaker gives them: ``algo-1`` .. ``algo-N``."""
        return [f"algo-{i}" for i in range(1, self.instance_count + 1)]

    @property
    def runtime_limit(self) -> int:
        """Seconds the job may run: ``max_runtime``, else the 24-hour default."""
        return self.max_runtime if self.max_runtime is not None else DEFAULT_MAX_RUNTIME
