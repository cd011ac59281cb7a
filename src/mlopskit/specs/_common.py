"""Shared field types and the pydantic -> :class:`~mlopskit.errors.ValidationError` bridge.

SageMaker's own limits live here once, so every spec and both backends check the same
thing. botocore checks required fields and types but not patterns, maximums or enums
(CONTRACTS.md), so these validators are the only guard the AWS backend has too.
"""

from __future__ import annotations

import os
import re
from collections.abc import ItemsView, Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "check_items",
    "PIPELINE_NAME_PATTERN",
    "NAME_PATTERN",
    "Spec",
    "build",
    "check_environment",
    "check_name",
    "check_s3_uri",
    "check_tags",
    "format_pydantic_error",
    "hides_values",
    "key_text",
    "s3_uri_problem",
]

# SageMaker's resource names (jobs, models, endpoints, groups, schedules...); pipelines and
# their executions may be longer. The one definition: everything else imports these.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_NAME_BODY = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")  # any length: checked apart
PIPELINE_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
# \Z, not $: "$" also matches before a trailing newline, which would slip into the key.
S3_URI_PATTERN = re.compile(rf"^s3://({_BUCKET})(/.*)?\Z", re.DOTALL)
# C0 controls, DEL and C1 controls: S3 takes them in keys, but they hide in logs and
# terminals, NUL cannot be in a file name, and a trailing newline is invisible.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_KEY_SEGMENT_BYTES = 255  # a file name's limit on common file systems
INSTANCE_TYPE_PATTERN = re.compile(
    r"^ml\.[a-z0-9-]+\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal[0-9a-z-]*)$"
)
ENV_KEY_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Spec(BaseModel):
    """Base of every spec: immutable, strict about unknown fields, serialisable."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, *, strict: bool | None = None,
                            **kwargs: Any) -> Self:
        """pydantic's, but a spec that does not validate (a stored one that a newer rule
        refuses) is our :class:`ValidationError`, which names fields and never echoes
        environment values; pydantic's own error text would hold the whole input."""
        try:
            return super().model_validate_json(json_data, strict=strict, **kwargs)
        except pydantic.ValidationError as exc:
            error = format_pydantic_error(exc, f"stored {cls.__name__}.")
        raise error


def check_name(value: str, *, kind: str = "name", max_length: int = 63) -> str:
    """Check a SageMaker resource name (``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$``).

    Example:
        >>> check_name("my-job-1")
        'my-job-1'
    """
    if variable_of(value) is not None:
        return value  # a pipeline variable (another step's resource name): has no value yet
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty string")
    if len(value) > max_length:
        raise ValueError(f"{kind} {value!r} is {len(value)} characters; allowed: 1 to "
                         f"{max_length}")
    if not _NAME_BODY.match(value):
        raise ValueError(
            f"{kind} {value!r} must match ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$: "
            "letters, digits and hyphens, starting and ending with a letter or digit"
        )
    return value


def s3_uri_problem(value: Any) -> str | None:
    """Why ``value`` is not an ``s3://bucket/key`` URI mlopskit accepts, or None when it is.

    The reason never repeats the value (a caller may be checking a field that must not be
    echoed, such as an environment variable), so callers add it where it is safe to show.

    Besides S3's own rules (bucket names, at most 1024 characters), mlopskit refuses keys
    that S3 would take but that would not mean the same object locally, where a key is a
    file path: control characters (NUL, newline, tab, DEL...), empty segments (``a//b``,
    a key starting with ``/``), ``.`` and ``..`` segments, and segments longer than
    255 bytes. A final ``/`` (a prefix) is allowed.

    Example:
        >>> s3_uri_problem("s3://my-bucket/data/train") is None
        True
        >>> s3_uri_problem("s3://my-bucket/data//train")
        "empty segment in the key ('//'); refused: it would name another key locally"
    """
    if not isinstance(value, str):
        return f"expected an s3://bucket/key URI, got {type(value).__name__}"
    if len(value) > 1024:
        return f"is {len(value)} characters; at most 1024"
    match = S3_URI_PATTERN.match(value)
    if match is None:
        if _CONTROL.search(value):
            return "holds a control character (such as NUL, a newline or a tab)"
        return ("is not an S3 URI; expected s3://bucket/key with a bucket name of 3-63 "
                "lowercase letters, digits, dots and hyphens")
    if _CONTROL.search(value):
        return "holds a control character (such as NUL, a newline or a tab); refused in keys"
    key = (match.group(2) or "").removeprefix("/")
    segments = key.split("/")
    for index, part in enumerate(segments):
        if part in {".", ".."}:
            return "'.' and '..' segments are not allowed in an S3 key"
        if not part and index < len(segments) - 1:
            return "empty segment in the key ('//'); refused: it would name another key locally"
        if len(part.encode("utf-8", "surrogatepass")) > MAX_KEY_SEGMENT_BYTES:
            return (f"a key segment is {len(part.encode('utf-8', 'surrogatepass'))} bytes; at "
                    f"most {MAX_KEY_SEGMENT_BYTES} between slashes")
    return None


def check_s3_uri(value: str) -> str:
    """Check an ``s3://bucket/key`` URI (see :func:`s3_uri_problem` for the rules).

    Example:
        >>> check_s3_uri("s3://my-bucket/data/train")
        's3://my-bucket/data/train'
        >>> check_s3_uri("s3://my-bucket/data/../train")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: 's3://my-bucket/data/../train': '.' and '..' segments are not allowed ...
    """
    problem = s3_uri_problem(value)
    if problem is not None:
        if not isinstance(value, str):
            raise ValueError(problem)
        shown = repr(value) if len(value) <= 200 else repr(value[:197]) + "..."
        joint = " " if problem.startswith(("is ", "holds ")) else ": "
        raise ValueError(f"{shown}{joint}{problem}")
    return value


def check_instance_type(value: str) -> str:
    """Check an instance type such as ``ml.m5.xlarge``; ``local`` is also accepted.

    Example:
        >>> check_instance_type("ml.m5.large")
        'ml.m5.large'
    """
    if value == "local" or (isinstance(value, str) and INSTANCE_TYPE_PATTERN.match(value)):
        return value
    if variable_of(value) is not None:
        return value  # a pipeline variable: checked when it has a value
    raise ValueError(
        f"{value!r} is not an instance type; expected ml.<family>.<size> such as "
        "'ml.m5.xlarge', or 'local'"
    )


def key_text(key: object, limit: int = 60) -> str:
    """``repr(key)``, shortened past ``limit`` characters: how messages name a key.

    Example:
        >>> key_text("MY_FLAG"), key_text("K" * 100)[-5:]
        ("'MY_FLAG'", 'KK...')
    """
    shown = repr(key)
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


def _entries(value: Mapping[str, str], most: int, noun: str) -> ItemsView[str, str]:
    """The entries of a map that holds at most ``most`` of them (``noun``: what they are)."""
    if len(value) > most:
        raise ValueError(f"{len(value)} {noun} given; at most {most}")
    return value.items()


def check_environment(value: Mapping[str, str], *, limit: int = 512) -> dict[str, str]:
    """Check container environment variables: at most 100, names and values of at most
    ``limit`` characters (512 for training and serving, 256 for processing).

    Messages name keys, never values (they may be secrets).

    Example:
        >>> check_environment({"MY_FLAG": "1"})
        {'MY_FLAG': '1'}
    """
    for key, val in _entries(value, 100, "variables"):
        if not isinstance(key, str) or not ENV_KEY_PATTERN.match(key) or len(key) > limit:
            raise ValueError(f"variable name {key_text(key)} must match "
                             f"[a-zA-Z_][a-zA-Z0-9_]* (at most {limit} chars)")
        if not isinstance(val, str):
            raise ValueError(f"variable {key_text(key)}: value must be a string, got "
                             f"{type(val).__name__}")
        if len(val) > limit:
            raise ValueError(f"variable {key_text(key)}: value is {len(val)} characters; "
                             f"at most {limit}")
    return dict(value)


def check_tags(value: Mapping[str, str]) -> dict[str, str]:
    """Check resource tags: at most 50, keys 1..128 chars (no ``aws:``), values <= 256.

    Example:
        >>> check_tags({"team": "fraud"})
        {'team': 'fraud'}
    """
    for key, val in _entries(value, 50, "tags"):
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValueError(f"tag key {key!r} must be 1 to 128 characters")
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the 'aws:' prefix is reserved")
        if not isinstance(val, str) or len(val) > 256:
            raise ValueError(f"tag {key!r}: value must be a string of at most 256 characters")
    return dict(value)


ResourceName = Annotated[str, AfterValidator(check_name)]
S3Uri = Annotated[str, AfterValidator(check_s3_uri)]
InstanceType = Annotated[str, AfterValidator(check_instance_type)]
# repr=False: a spec's repr (in a log line, a debugger, a test failure) never shows values
# that may be secrets.
Environment = Annotated[dict[str, str], AfterValidator(check_environment), Field(repr=False)]
Tags = Annotated[dict[str, str], AfterValidator(check_tags)]

M = TypeVar("M", bound=BaseModel)

# -- pipeline variables inside specs -------------------------------------------------------
#
# A pipeline step is built from the same objects as a direct call (an Estimator, a
# Processor...), with pipeline variables where plain values would go. Specs hold a token in
# their place: an S3-URI-shaped string that the S3 and instance type checks accept, that no
# user value can be (it is registered here, with a random part), and that the pipeline
# compiler turns back into the variable's expression. Running a spec that still holds a
# token outside a pipeline is refused (see ``refuse_variables``).

VARIABLE_PLACEHOLDER_PREFIX = "s3://mlopskit-pipeline-variable/"
_VARIABLE_TOKEN = re.compile(re.escape(VARIABLE_PLACEHOLDER_PREFIX) + r"[0-9a-f]{32}")
_TOKENS: dict[str, Any] = {}


def check_items(values: Iterable[Any], kind: type | tuple[type, ...], field: str,
                rule: str) -> None:
    """Refuse the first item of ``values`` that is not a ``kind``: a ValidationError at
    ``field[index]`` stating the ``rule`` and what came.

    Example:
        >>> check_items(["python3", 3], str, "command", "must be a string")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: command[1]: must be a string, got int
    """
    for index, item in enumerate(values):
        if not isinstance(item, kind):
            raise ValidationError(f"{field}[{index}]: {rule}, got "
                                  f"{type(item).__name__}", field=field)


def is_variable(value: Any) -> bool:
    """Whether ``value`` is a pipeline variable (duck-typed: specs never import pipeline)."""
    return bool(getattr(type(value), "__mlopskit_variable__", False))


def variable_token(variable: Any) -> str:
    """The token standing for ``variable`` inside a spec."""
    for token, known in _TOKENS.items():
        if known is variable:
            return token
    token = VARIABLE_PLACEHOLDER_PREFIX + os.urandom(16).hex()
    _TOKENS[token] = variable
    return token


def variable_of(value: Any) -> Any | None:
    """The variable ``value`` is the token of, or None."""
    return _TOKENS.get(value) if isinstance(value, str) else None


def split_tokens(text: str) -> list[Any]:
    """``text`` cut into plain strings and the variables whose tokens it holds."""
    parts: list[Any] = []
    position = 0
    for match in _VARIABLE_TOKEN.finditer(text):
        variable = _TOKENS.get(match.group(0))
        if variable is None:
            continue
        if match.start() > position:
            parts.append(text[position:match.start()])
        parts.append(variable)
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def with_tokens(value: Any) -> Any:
    """``value`` with every pipeline variable (at any depth) replaced by its token."""
    if is_variable(value):
        return variable_token(value)
    if isinstance(value, Mapping):
        return {k: with_tokens(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(with_tokens(v) for v in value)
    return value


def variable_fields(value: Any, path: str = "") -> list[str]:
    """Where (dotted paths) ``value`` holds pipeline variable tokens."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    found: list[str] = []
    if isinstance(value, str):
        if _VARIABLE_TOKEN.search(value) and any(
                variable_of(m.group(0)) is not None for m in _VARIABLE_TOKEN.finditer(value)):
            found.append(path or "value")
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            found.extend(variable_fields(inner, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, (list, tuple)):
        for index, inner in enumerate(value):
            found.extend(variable_fields(inner, f"{path}[{index}]"))
    return found


def refuse_variables(spec: Any, what: str) -> None:
    """Raise when ``spec`` holds pipeline variables: they only have values in a pipeline."""
    fields = variable_fields(spec)
    if fields:
        raise ValidationError(
            f"{fields[0]}: is a pipeline variable, which has a value only while a pipeline "
            f"runs; use this {what} in a pipeline step, or pass a plain value",
            field=fields[0])


# Fields whose values may hold secrets (tokens, passwords): errors name their keys, never
# their values. Both spellings: spec fields, and the request fields of the SageMaker API.
SECRET_FIELDS = frozenset({"environment", "hyperparameters"})


def hides_values(path: Iterable[object]) -> bool:
    """Whether a field at ``path`` (dotted parts) is, or is inside, a field whose values
    are never shown: ``environment`` or ``hyperparameters``, in either spelling.

    Example:
        >>> hides_values(["environment", "API_TOKEN"]), hides_values(["Environment"])
        (True, True)
        >>> hides_values(["inputs", "train"])
        False
    """
    for part in path:
        for piece in str(part).split("."):
            if piece.split("[", 1)[0].lower() in SECRET_FIELDS:
                return True
    return False


def format_pydantic_error(exc: pydantic.ValidationError, prefix: str = "") -> ValidationError:
    """Turn pydantic's report into one :class:`ValidationError` naming every bad field.

    The value received is shown, except in environment and hyperparameter fields, whose
    values may be secrets: there only the keys are named.
    """
    parts: list[str] = []
    first_field: str | None = None
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        field = f"{prefix}{loc}" if loc else prefix.rstrip(".") or None
        first_field = first_field or field
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        received = err.get("input")
        if err["type"] in {"missing"}:
            parts.append(f"{field}: required")
        elif err["type"] == "extra_forbidden":
            parts.append(f"{field}: unknown option")
        elif field is None:
            # a check across fields: its message names them, and the input is the whole
            # object (which may hold values that must not be echoed, like environment)
            parts.append(msg)
        elif hides_values([field]):
            kind = "" if isinstance(received, Mapping) else f" (got {type(received).__name__})"
            parts.append(f"{field}: {msg}{kind}")
        else:
            shown = repr(received)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            parts.append(f"{field}: {msg} (got {shown})")
    return ValidationError("; ".join(parts), field=first_field)


def build(model: type[M], prefix: str = "", /, **data: Any) -> M:
    """Validate ``data`` into ``model``, raising our :class:`ValidationError` on bad input.

    Example:
        >>> class Named(Spec):
        ...     name: ResourceName
        >>> build(Named, name="ok").name
        'ok'
    """
    try:
        return model.model_validate(with_tokens(data))
    except pydantic.ValidationError as exc:
        error = format_pydantic_error(exc, prefix)
    # Raised outside the except block, so pydantic's error (whose text holds every input
    # value, secrets included) is not even kept as the __context__.
    raise error
