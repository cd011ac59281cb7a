"""The scikit-learn inference container's contract, without the container.

A user module is *imported* (its ``__main__`` block does not run) and its handlers wrapped:
``model_fn(model_dir)`` is required; then either ``transform_fn(model, body, content_type,
accept)`` or any of ``input_fn(body, content_type)``, ``predict_fn(data, model)`` and
``output_fn(prediction, accept)``, with the container's defaults for the missing ones.
Bodies of ``text/csv`` and ``application/json`` reach the handlers as ``str``, others as
``bytes``; CSV and JSON input decode to float32 arrays, as in the container.
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

from . import codecs

__all__ = ["HandlerError", "InferenceHandler", "Reply", "load_handler"]

TEXT_TYPES = frozenset({"text/csv", "application/json"})


class HandlerError(Exception):
    """A request the contract refuses: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Reply:
    body: bytes
    content_type: str


def _default_model_fn(model_dir: str) -> Any:
    raise HandlerError(500, "no model_fn: the inference script must define "
                            "model_fn(model_dir) to load the model")


def _default_input_fn(body: str | bytes, content_type: str) -> Any:
    array = codecs.decode(body, content_type)
    return array.astype("float32") if content_type in TEXT_TYPES else array


def _default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def _default_output_fn(prediction: Any, accept: str) -> bytes:
    return codecs.encode(prediction, accept)


def _as_reply(result: Any, accept: str) -> Reply:
    """Whatever a handler returned, as bytes and a content type."""
    if isinstance(result, Reply):
        return result
    if isinstance(result, tuple) and len(result) == 2:
        body, content_type = result
        return Reply(_bytes(body), str(content_type))
    if isinstance(result, dict):
        return Reply(json.dumps(result).encode(), "application/json")
    return Reply(_bytes(result), accept)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise HandlerError(500, f"the handler returned {type(value).__name__}; expected bytes, "
                            "str, a (body, content_type) pair or a dict")


class InferenceHandler:
    """The loaded model and its handlers; ``invoke`` is one ``/invocations`` request."""

    def __init__(self, module: types.ModuleType | None, model_dir: Path,
                 default_accept: str = "application/json") -> None:
        get: Callable[[str], Any] = (lambda name: getattr(module, name, None)) \
            if module is not None else (lambda name: None)
        self.transform_fn = get("transform_fn")
        custom = [n for n in ("input_fn", "predict_fn", "output_fn") if get(n) is not None]
        if self.transform_fn is not None and custom:
            raise HandlerError(500, "the inference script defines transform_fn together with "
                                    f"{', '.join(custom)}; use one or the other")
        self.input_fn = get("input_fn") or _default_input_fn
        self.predict_fn = get("predict_fn") or _default_predict_fn
        self.output_fn = get("output_fn") or _default_output_fn
        self.default_accept = default_accept
        self.model = (get("model_fn") or _default_model_fn)(str(model_dir))

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


def load_handler(code_dir: Path | None, program: str | None, model_dir: Path,
                 default_accept: str = "application/json") -> InferenceHandler:
    """Import ``program`` from ``code_dir`` (on ``sys.path``) and build the handler."""
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
    return InferenceHandler(module, model_dir, default_accept)
