"""The serving defaults for ``model_fn``/``input_fn``/``predict_fn``/``output_fn``.

The local inference server calls a script's handlers itself, so :class:`Transformer` only
holds them: :meth:`Transformer.initialize` loads the model, and :meth:`Transformer.transform`
(which reads a Flask request in the original) raises :class:`NotImplementedError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from . import _encoders, _env, _errors, _functions, _worker
from ._local import not_local

__all__ = [
    "Transformer",
    "default_input_fn",
    "default_model_fn",
    "default_output_fn",
    "default_predict_fn",
]


def default_model_fn(model_dir: str) -> NoReturn:
    """There is no default way to load a model: the script must define ``model_fn``."""
    raise NotImplementedError("the inference script must define model_fn(model_dir) to load "
                              "its model")


def default_input_fn(input_data: str | bytes, content_type: str) -> Any:
    """Decode a JSON, CSV or NPY request body into a numpy array."""
    return _encoders.decode(input_data, content_type)


def default_predict_fn(data: Any, model: Any) -> NoReturn:
    """There is no default prediction here: the script must define ``predict_fn``."""
    raise NotImplementedError("the inference script must define predict_fn(data, model)")


def default_output_fn(prediction: Any, accept: str) -> _worker.Response:
    """Encode ``prediction`` as ``accept`` (JSON, CSV or NPY) in a :class:`~._worker.Response`.

    >>> reply = default_output_fn([[1, 2]], "text/csv")
    >>> reply.get_data(), reply.mimetype
    (b'1,2\\n', 'text/csv')
    """
    return _worker.Response(response=_encoders.encode(prediction, accept), mimetype=accept)


class Transformer:
    """The serving handlers: the user's where given (errors wrapped in ``error_class``), the
    defaults above otherwise."""

    def __init__(
        self,
        model_fn: Callable[[str], Any] | None = None,
        input_fn: Callable[[Any, str], Any] | None = None,
        predict_fn: Callable[[Any, Any], Any] | None = None,
        output_fn: Callable[[Any, str], Any] | None = None,
        transform_fn: Callable[[Any, Any, str, str], Any] | None = None,
        error_class: type[Exception] = _errors.ClientError,
    ) -> None:
        if transform_fn is not None and any((input_fn, predict_fn, output_fn)):
            raise ValueError("transform_fn replaces input_fn, predict_fn and output_fn; "
                             "give either transform_fn or those")

        def wrap(fn: Callable[..., Any] | None, default: Callable[..., Any]
                 ) -> Callable[..., Any]:
            return default if fn is None else _functions.error_wrapper(fn, error_class)

        self._model_fn = wrap(model_fn, default_model_fn)
        self._input_fn = wrap(input_fn, default_input_fn)
        self._predict_fn = wrap(predict_fn, default_predict_fn)
        self._output_fn = wrap(output_fn, default_output_fn)
        self._transform_fn = None if transform_fn is None \
            else _functions.error_wrapper(transform_fn, error_class)
        self._model: Any = None

    def initialize(self) -> None:
        """Load the model from the model folder with ``model_fn``."""
        self._model = self._model_fn(_env.ServingEnv().model_dir)

    def transform(self) -> NoReturn:
        """Not available locally: the local inference server calls the handlers itself."""
        not_local("transformer.Transformer.transform")
