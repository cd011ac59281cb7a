"""Reading SageMaker API requests back into mlopskit specs: the rules every reader shares.

A pipeline step's ``Arguments`` is the request of a SageMaker API. Once the pipeline engine
has replaced every expression (``{"Get": ...}``, ``{"Std:Join": ...}``) by its value, the
readers turn the request into what the local backend runs:

- ``training_spec_from_request(request, *, name)`` (:mod:`.training`): CreateTrainingJob ->
  ``TrainingJobSpec``
- ``processing_spec_from_request(request, *, name)`` (:mod:`.processing`):
  CreateProcessingJob -> ``ProcessingJobSpec``
- ``model_spec_from_request(request, *, name)`` (:mod:`.serving`): CreateModel ->
  ``DeployedModelSpec``
- ``transform_spec_from_request(request, *, name)`` (:mod:`.transform`): CreateTransformJob
  -> ``TransformJobSpec``
- ``model_package_spec_from_request(request)`` (:mod:`.registry`): CreateModelPackage ->
  ``PackageRegistration`` (the ``ModelPackageSpec`` plus the URIs of the metrics reports,
  which the engine reads: a request holds no metric values, only where the reports are)

They accept what mlopskit's own request builders (the ``create_*_request`` functions beside
them) produce, so spec -> request -> spec gives the spec back, and what the SageMaker Python
SDK v2 writes into a definition. Values go through the specs' own validators; every error
names the request field (``ResourceConfig.InstanceType``), the value and what is allowed:

- :class:`~mlopskit.errors.ValidationError`: the request is malformed (a wrong type, a
  required field missing, a value outside the API's enum or the spec's limits);
- :class:`~mlopskit.errors.CapabilityError`: a valid request the local backend cannot run as
  asked (each reader's module lists what), or a field the reader does not know.

Resource names come from the ``name`` argument: the engine names every job and model, as
the pipeline service does. ``None`` values count as absent. Values of string maps
(``Environment``, ``HyperParameters``) are never echoed in an error: they may be secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import pydantic

from ..errors import CapabilityError, ValidationError
from ..specs._common import check_s3_uri, hides_values

__all__ = [
    "MODEL_ARTIFACT",
    "MODEL_DIR",
    "S3_DATA_TYPES",
    "S3_PREFIX_ONLY",
    "Locator",
    "request_choice",
    "request_code_uri",
    "request_compact",
    "request_list",
    "request_locator",
    "request_object",
    "request_path",
    "request_shown",
    "request_strings",
    "request_tags",
    "request_text",
    "request_validate",
    "request_whole",
]

_M = TypeVar("_M", bound=pydantic.BaseModel)

# Where an inference container finds the extracted model artifact.
MODEL_DIR = "/opt/ml/model"
MODEL_ARTIFACT = ("the local backend serves a model.tar.gz from S3, named by ModelDataUrl "
                  "(the local backend runs no images, so a model inside one cannot run)")
S3_DATA_TYPES = ("ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse")
S3_PREFIX_ONLY = ("the local backend reads S3 prefixes only; a manifest lists objects "
                  "it does not resolve")


def request_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def request_shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def request_unset(value: Any) -> bool:
    """Whether a refused field asks for nothing (absent, off or empty)."""
    return value is None or value is False or (
        isinstance(value, (str, list, tuple, dict)) and not value)


def request_object(value: Any, path: str, *, read: Collection[str],
                    ignored: Collection[str] = (), refused: Mapping[str, str] | None = None,
                    required: bool = False) -> dict[str, Any]:
    """``value`` as a JSON object with only known keys (``None`` values dropped).

    A key in ``refused`` that asks for something raises CapabilityError with its reason;
    an unknown key raises CapabilityError naming what is read and ignored.
    """
    label = path or "request"
    if value is None:
        if required:
            raise ValidationError(f"{label}: required", field=label)
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{label}: expected an object, got {request_shown(value)}",
                              field=label)
    for key, inner in value.items():
        if key in read or key in ignored:
            continue
        where = request_path(path, str(key))
        if refused is not None and key in refused:
            if request_unset(inner):
                continue
            raise CapabilityError(f"{where}: {refused[key]}")
        known = f"it reads {', '.join(sorted(read))}"
        if ignored:
            known += f" and ignores {', '.join(sorted(ignored))}"
        raise CapabilityError(f"{where}: not a field the local backend knows; {known}")
    return {str(k): v for k, v in value.items() if v is not None}


def request_list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"{path}: expected a list, got {request_shown(value)}",
                              field=path)
    return list(value)


def request_text(obj: Mapping[str, Any], key: str, path: str, *,
                  required: bool = False) -> str | None:
    value = obj.get(key)
    where = request_path(path, key)
    if value is None:
        if required:
            raise ValidationError(f"{where}: required", field=where)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where}: expected a string, got {request_shown(value)}",
                              field=where)
    return value


def request_whole(obj: Mapping[str, Any], key: str, path: str) -> int | None:
    value = obj.get(key)
    where = request_path(path, key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{where}: expected a whole number, got {request_shown(value)}",
                              field=where)
    return value


def request_choice(obj: Mapping[str, Any], key: str, path: str, allowed: tuple[str, ...], *,
                    default: str | None, local: tuple[str, ...] | None = None,
                    why: str = "") -> str:
    """One of the API's enum values; a value the local backend cannot honour is refused."""
    where = request_path(path, key)
    value = request_text(obj, key, path, required=default is None) or default
    assert value is not None
    if value not in allowed:
        raise ValidationError(f"{where}: {value!r} is not allowed; allowed: "
                              f"{', '.join(allowed)}", field=where)
    if local is not None and value not in local:
        reason = f" ({why})" if why else ""
        raise CapabilityError(f"{where}: {value!r} cannot run on the local backend{reason}; "
                              f"it supports {', '.join(local)}")
    return value


def request_strings(value: Any, path: str) -> dict[str, str]:
    """A string -> string map (Environment, HyperParameters). Errors name the key and the
    type received, never a value: these maps may hold secrets."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{path}: expected an object of strings, got "
                              f"{type(value).__name__}", field=path)
    for key, inner in value.items():
        if not isinstance(inner, str):
            where = request_path(path, str(key))
            raise ValidationError(f"{where}: expected a string, got {type(inner).__name__}",
                                  field=where)
    return {str(k): v for k, v in value.items()}


def request_tags(value: Any, path: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for index, item in enumerate(request_list(value, path)):
        where = request_path(path, index)
        tag = request_object(item, where, read=("Key", "Value"))
        key = request_text(tag, "Key", where, required=True)
        text = request_text(tag, "Value", where, required=True)
        assert key is not None and text is not None
        tags[key] = text
    return tags


def request_code_uri(environment: Mapping[str, str], path: str) -> None:
    """Where the inference code is: an S3 archive the local endpoints download, a folder
    inside the model artifact (``/opt/ml/model/code``, where the SDK repacks it), or nothing
    (an empty value, as SDK v3's ``ModelBuilder`` writes it: no custom script)."""
    uri = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    if not uri:
        return
    where = request_path(path, "SAGEMAKER_SUBMIT_DIRECTORY")
    if uri.startswith(MODEL_DIR + "/") or uri == MODEL_DIR:
        if ".." in uri.split("/"):
            raise ValidationError(f"{where}: {uri!r} climbs out of {MODEL_DIR} with '..'",
                                  field=where)
        return
    if not uri.startswith("s3://"):
        raise CapabilityError(
            f"{where}: {uri!r} is neither an S3 URI nor a folder in {MODEL_DIR}; the local "
            "backend reads inference code from the s3:// URI of a sourcedir.tar.gz or from "
            f"the model artifact ({MODEL_DIR}/code, where the SDK repacks it)")
    try:
        check_s3_uri(uri)
    except ValueError as exc:
        raise ValidationError(f"{where}: {exc}", field=where) from None


def request_compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the values given, so the spec's defaults apply to the rest."""
    return {k: v for k, v in values.items() if v is not None}


Locator = Callable[[tuple[Any, ...], str], tuple[str, str]]


def request_locator(fields: Mapping[str, str],
                     items: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
                     whole: Mapping[str, str] | None = None) -> Locator:
    """Where a spec's error is in the request.

    ``fields`` maps spec fields to request paths (deeper parts, such as an environment key,
    are appended); ``items`` maps a list field to its request list and the item's fields;
    ``whole`` renames the spec fields that a model-level message starts with.
    """
    def locate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
        if not loc:
            for spec_name, target in (whole or {}).items():
                if message.startswith(spec_name):
                    text = message.removeprefix(f"{spec_name}:").strip()
                    for other, renamed in (whole or {}).items():
                        text = text.replace(other, renamed.rsplit(".", 1)[-1])
                    return target, text
            return "request", message
        head, rest = str(loc[0]), loc[1:]
        if items and head in items and rest and isinstance(rest[0], int):
            base, inner = items[head]
            path = request_path(base, rest[0])
            for part in rest[1:]:
                path = request_path(path, inner.get(str(part), str(part)))
            return path, message
        path = fields.get(head, head)
        for part in rest:
            path = request_path(path, part)
        return path, message

    return locate


def request_validate(model: type[_M], data: dict[str, Any], locate: Locator) -> _M:
    """Validate ``data`` with the spec's own rules; errors name the request's fields."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        parts: list[str] = []
        first: str | None = None
        for err in exc.errors(include_url=False):
            message = str(err["msg"]).removeprefix("Value error, ")
            field, message = locate(tuple(err["loc"]), message)
            first = first or field
            if err["type"] == "missing":
                parts.append(f"{field}: required")
            elif not err["loc"] or hides_values([field, *err["loc"]]):
                # a whole-request check, or a field whose values may be secrets
                # (Environment, HyperParameters): named, never echoed
                parts.append(f"{field}: {message}")
            else:
                parts.append(f"{field}: {message} (got {request_shown(err.get('input'))})")
        error = ValidationError("; ".join(parts), field=first)
    # Raised outside the except block: pydantic's error, whose text holds every input
    # value (secrets included), is not kept as its __context__ either.
    raise error

