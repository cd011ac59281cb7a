"""SageMaker's inference handler contract, without the container.

A user module is *imported* (its ``__main__`` block does not run) and its handlers wrapped:
``model_fn(model_dir)`` is required; then either ``transform_fn(model, body, content_type,
accept)`` or any of ``input_fn(body, content_type)``, ``predict_fn(data, model)`` and
``output_fn(prediction, accept)``, with the serving container's defaults for the missing ones
(:mod:`~mlopskit.sagemaker_api.inference.frameworks` holds them, per framework:
scikit-learn by default). Bodies of ``text/csv`` and ``application/json`` reach the handlers
as ``str``, others as ``bytes``. A handler's answer may be bytes or str, a ``(body,
content_type)`` pair, a dict (sent as JSON), or a Response-like object such as the
``worker.Response`` of sagemaker_containers scripts (its body, status and content type are
sent).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ValidationError
from . import frameworks
from .frameworks import TEXT_TYPES

__all__ = ["HandlerError", "InferenceHandler", "Reply", "load_handler"]


class HandlerError(Exception):
    """A request the contract refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Reply:
    """A response body, its content type and HTTP status."""

    body: bytes
    content_type: str
    status: int = 200


def _as_reply(result: Any, accept: str) -> Reply:
    """Whatever a handler returned, as bytes, a content type and a status.

    Example:
        >>> _as_reply(("1,0", "text/csv"), "application/json")
        Reply(body=b'1,0', content_type='text/csv', status=200)
        >>> class Response:  # flask's API, as a sagemaker_containers script returns it
        ...     status_code, mimetype = 400, "application/json"
        ...     def get_data(self):
        ...         return b'{"error": "bad row"}'
        >>> _as_reply(Response(), "text/csv")
        Reply(body=b'{"error": "bad row"}', content_type='application/json', status=400)
    """
    if isinstance(result, Reply):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        body, content_type = result
        return Reply(_bytes(body), str(content_type))
    if isinstance(result, dict):
        return Reply(json.dumps(result).encode(), "application/json")
    if callable(getattr(result, "get_data", None)):
        return _response_reply(result, accept)
    return Reply(_bytes(result), accept)


def _response_reply(response: Any, accept: str) -> Reply:
    """A flask-style Response: ``get_data()``, ``status_code``, ``content_type``/``mimetype``."""
    status = getattr(response, "status_code", 200)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise HandlerError(500, f"the handler's response has status_code {status!r}; expected "
                                "an HTTP status from 100 to 599")
    # content_type is what flask sends (the mimetype plus any charset); mimetype otherwise.
    content_type = getattr(response, "content_type", None) or getattr(response, "mimetype",
                                                                      None)
    return Reply(_bytes(response.get_data()), str(content_type or accept), status)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise HandlerError(500, f"the handler returned {type(value).__name__}; expected bytes, "
                            "str, a (body, content_type) pair, a dict or a Response")


class InferenceHandler:
    """The loaded model and its handlers; ``invoke`` is one ``/invocations`` request."""

    def __init__(self, module: types.ModuleType | None, model_dir: Path,
                 default_accept: str | None = None, framework: str = "sklearn") -> None:
        self.flavour = frameworks.FRAMEWORKS[_framework(framework)]
        get: Callable[[str], Any] = (lambda name: getattr(module, name, None)) \
            if module is not None else (lambda name: None)
        self.transform_fn = get("transform_fn")
        custom = [n for n in ("input_fn", "predict_fn", "output_fn") if get(n) is not None]
        if self.transform_fn is not None and custom:
            raise HandlerError(500, "the inference script defines transform_fn together with "
                                    f"{', '.join(custom)}; use one or the other")
        defined = [name for name in ("model_fn", "transform_fn", *custom) if get(name)]
        script = getattr(module, "__file__", None)
        self.flavour.check(defined, Path(script).name if script else "the inference script")
        # With transform_fn the other three never run; the flavour may have none to offer.
        self.input_fn = get("input_fn") or self.flavour.input_fn or _unused
        self.predict_fn = get("predict_fn") or self.flavour.predict_fn or _unused
        self.output_fn = get("output_fn") or self.flavour.output_fn or _unused
        self.default_accept = default_accept or self.flavour.default_accept
        self.model = (get("model_fn") or self.flavour.model_fn or _unused)(str(model_dir))

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        content_type = (content_type or "application/json").split(";")[0].strip().lower()
        if not accept or accept.strip() in {"*/*", ""}:
            accept = self.default_accept
        accept = accept.split(",")[0].split(";")[0].strip().lower()
        payload: str | bytes = body
        if content_type in TEXT_TYPES:
            try:
                payload = body.decode("utf-8")
            except UnicodeDecodeError:
                raise HandlerError(400, f"the {content_type} body is not UTF-8") from None
        if self.transform_fn is not None:
            return _as_reply(self.transform_fn(self.model, payload, content_type, accept),
                             accept)
        data = self.input_fn(payload, content_type)
        prediction = self.predict_fn(data, self.model)
        return _as_reply(self.output_fn(prediction, accept), accept)


def _framework(name: str | None) -> str:
    try:
        return frameworks.serving_framework(name, None)
    except ValidationError as exc:
        raise HandlerError(500, str(exc)) from None


def _unused(*args: Any) -> Any:
    raise HandlerError(500, "internal error: a handler the script replaced was called")


def load_handler(code_dir: Path | None, program: str | None, model_dir: Path,
                 default_accept: str | None = None,
                 framework: str | None = None) -> InferenceHandler:
    """Import ``program`` from ``code_dir`` (on ``sys.path``) and build the handler.

    ``framework`` picks the container whose defaults fill in (see
    :func:`~mlopskit.sagemaker_api.inference.frameworks.serving_framework`; None is
    scikit-learn); ``default_accept`` None is that container's default Accept.
    """
    framework = _framework(framework)  # before the import: a bad name fails fast
    module = None
    if program:
        if code_dir is None:
            raise HandlerError(500, f"entry point {program!r} given without its code")
        path = code_dir / program
        if not path.is_file():
            raise HandlerError(500, f"entry point {program!r} is not in the model's code")
        sys.path.insert(0, str(code_dir))
        name = Path(program).stem
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return InferenceHandler(module, model_dir, default_accept, framework)
