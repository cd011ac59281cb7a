"""Which SageMaker serving container a model runs in, and that container's default handlers.

The framework containers share one handler contract (``model_fn``, then ``transform_fn`` or
``input_fn``/``predict_fn``/``output_fn``) but fill in different defaults for the handlers a
script leaves out. Two flavours are emulated in full:

- ``sklearn``: CSV, JSON and NPY bodies decode to numpy arrays, ``model.predict(data)``
  predicts, and the prediction is encoded as JSON, CSV or NPY
  (:mod:`~mlopskit.sagemaker_api.inference.codecs`).
- ``xgboost``: CSV, LibSVM and RecordIO-protobuf bodies decode to an ``xgboost.DMatrix``
  (JSON is no input type there), ``model.predict(dmatrix, validate_features=False)``
  predicts, and the prediction is encoded as JSON, CSV or NPY.

``pytorch``, ``mxnet`` and ``huggingface`` scripts run with their own handlers; those
containers' defaults are not emulated, so a script that relies on one fails at load, naming
the handler to write. ``tensorflow`` is refused: TensorFlow Serving serves a SavedModel over
its own REST API, not through Python handlers. No flavour has a default ``model_fn``.

Example:
    >>> serving_framework("SKLEARN", None)
    'sklearn'
    >>> serving_framework(None, "123456789012.dkr.ecr.us-east-1.amazonaws.com/"
    ...                         "sagemaker-xgboost:1.7-1")
    'xgboost'
    >>> FRAMEWORKS["xgboost"].content_types
    ('text/csv', 'text/libsvm', 'text/x-libsvm', 'application/x-recordio-protobuf')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ...errors import ValidationError
from . import codecs

__all__ = [
    "FRAMEWORKS",
    "TEXT_TYPES",
    "XGBOOST_CONTENT_TYPES",
    "Flavour",
    "containers_encode",
    "csv_rows",
    "flavour",
    "libsvm_rows",
    "serving_framework",
]

ModelFn = Callable[[str], Any]
InputFn = Callable[[Any, str], Any]
PredictFn = Callable[[Any, Any], Any]
OutputFn = Callable[[Any, str], Any]

# Bodies of these types reach the handlers as str, others as bytes (every container).
TEXT_TYPES: Final = frozenset({"text/csv", "application/json"})
CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
LIBSVM, X_LIBSVM = "text/libsvm", "text/x-libsvm"
RECORDIO_PROTOBUF = "application/x-recordio-protobuf"

SIGNATURES: Final = {
    "model_fn": "model_fn(model_dir)",
    "input_fn": "input_fn(body, content_type)",
    "predict_fn": "predict_fn(data, model)",
    "output_fn": "output_fn(prediction, accept)",
}


def _handler_error(status: int, message: str) -> Exception:
    from .handlers import HandlerError  # handlers imports this module

    return HandlerError(status, message)


@dataclass(frozen=True)
class Flavour:
    """One serving container's defaults; a handler left ``None`` is not emulated, so the
    inference script has to define it.

    Example:
        >>> FRAMEWORKS["pytorch"].input_fn is None, FRAMEWORKS["pytorch"].default_accept
        (True, 'application/json')
    """

    name: str
    title: str
    model_fn: ModelFn | None = None
    input_fn: InputFn | None = None
    predict_fn: PredictFn | None = None
    output_fn: OutputFn | None = None
    default_accept: str = JSON  # SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT overrides it
    content_types: tuple[str, ...] = ()
    accept_types: tuple[str, ...] = ()
    refusal: str | None = None  # why the local backend cannot serve this flavour at all

    def check(self, defined: Collection[str], script: str) -> None:
        """Refuse, at load, a script that needs a default this flavour does not emulate.

        ``defined`` names the handlers the script defines; ``script`` names the script in
        the message.
        """
        if self.refusal:
            raise _handler_error(500, self.refusal)
        needed = ["model_fn"]
        if "transform_fn" not in defined:
            needed += ["input_fn", "predict_fn", "output_fn"]
        missing = [name for name in needed
                   if name not in defined and getattr(self, name) is None]
        if not missing:
            return
        advice = _and([SIGNATURES[name] for name in missing])
        if "transform_fn" not in defined and missing != ["model_fn"]:
            advice += (" (or transform_fn(model, body, content_type, accept) in place of "
                       "input_fn, predict_fn and output_fn)")
        raise _handler_error(500, f"the local backend does not emulate the {self.title} "
                                  f"container's default {_and(missing)}; define {advice} "
                                  f"in {script}")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def flavour(name: str) -> Flavour:
    """The :class:`Flavour` of a framework name, in any spelling :func:`serving_framework`
    knows.

    Example:
        >>> flavour("XGBoost").title
        'XGBoost'
    """
    return FRAMEWORKS[serving_framework(name, None)]


def serving_framework(framework: str | None, image_uri: str | None) -> str:
    """The serving flavour of a model: its ``framework`` when given, else the one its
    SageMaker ``image_uri`` names, else ``"sklearn"``.

    Raises :class:`~mlopskit.errors.ValidationError` for a framework name it does not know.

    Example:
        >>> serving_framework("scikit-learn", None), serving_framework("XGBOOST", None)
        ('sklearn', 'xgboost')
        >>> serving_framework(None, "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        ...                         "pytorch-inference:2.1-cpu-py310")
        'pytorch'
        >>> serving_framework(None, "my-registry.example.com/team/scorer:latest")
        'sklearn'
    """
    if framework:
        name = _ALIASES.get(framework.strip().lower())
        if name is None:
            raise ValidationError(f"framework: {framework!r} is not a serving framework "
                                  f"mlopskit knows; known: {', '.join(sorted(FRAMEWORKS))}",
                                  field="framework")
        return name
    if image_uri:
        # The repository name: after the registry and path, before the tag or digest.
        repository = image_uri.rsplit("/", 1)[-1].split("@")[0].split(":")[0].lower()
        for hint, name in _IMAGE_HINTS:
            if hint in repository:
                return name
    return "sklearn"


# --- scikit-learn: the container's defaults, via codecs ------------------------------------

def _no_model_fn(model_dir: str) -> Any:
    raise _handler_error(500, "no model_fn: the inference script must define "
                              "model_fn(model_dir) to load the model")


def _sklearn_input_fn(body: str | bytes, content_type: str) -> Any:
    array = codecs.decode(body, content_type)
    return array.astype("float32") if content_type in TEXT_TYPES else array


def _predict(data: Any, model: Any) -> Any:
    return model.predict(data)


def _sklearn_output_fn(prediction: Any, accept: str) -> bytes:
    return codecs.encode(prediction, accept)


# --- XGBoost ---------------------------------------------------------------------------------

def _no_xgboost_model_fn(model_dir: str) -> Any:
    raise _handler_error(500, "no model_fn: the inference script must define "
                              "model_fn(model_dir) to load the model (the XGBoost container "
                              "has no default model_fn, and its algorithm mode, which serves "
                              "a model without an entry point, is not emulated)")


def csv_rows(text: str) -> Any:
    """CSV text as a float64 array, read as the XGBoost container reads it.

    The delimiter is sniffed from the first line (a letter or digit means ``,``), every
    ``\\n`` ends a row and an empty field is NaN; so an empty line, such as a trailing
    newline, is a row of one NaN, which only fits one-column data. ValueError otherwise.

    Example:
        >>> csv_rows("1;2;\\n3;4;5").tolist()
        [[1.0, 2.0, nan], [3.0, 4.0, 5.0]]
    """
    import numpy as np

    if not text.strip():
        raise ValueError("empty body")
    try:
        sniffed = csv.Sniffer().sniff(text.split("\n")[0][:512]).delimiter
    except csv.Error:
        raise ValueError("no delimiter can be sniffed from the first line (a leading "
                         "newline?)") from None
    delimiter = "," if sniffed.isalnum() else sniffed
    rows = [["nan" if field == "" else field for field in line.split(delimiter)]
            for line in text.split("\n")]
    widths = sorted({len(row) for row in rows})
    if len(widths) > 1:
        raise ValueError(f"rows have {widths[0]} to {widths[-1]} fields (an empty line, such "
                         "as a trailing newline, is a row of one field)")
    return np.array(rows).astype(float)


def libsvm_rows(text: str) -> Any:
    """LibSVM text as a dense float64 array, read as the XGBoost container reads it.

    Labels (tokens without ``:``) are ignored; indices are 1-based when none is 0; the
    width is the largest index seen; absent features are 0, not missing (container
    releases before its 2026 MLIO removal parsed with XGBoost's own reader, where they are
    missing).

    Example:
        >>> libsvm_rows("1 1:0.5 3:2\\n0 2:1.5").tolist()
        [[0.5, 0.0, 2.0], [0.0, 1.5, 0.0]]
    """
    import numpy as np

    rows: list[dict[int, float]] = []
    for line in text.strip().split("\n"):
        row: dict[int, float] = {}
        for token in line.split():
            if ":" in token:
                index, _, value = token.partition(":")
                row[int(index)] = float(value)
        rows.append(row)
    indices = [index for row in rows for index in row]
    if not indices:
        return np.empty((0, 0))
    if min(indices) < 0:
        raise ValueError(f"negative feature index {min(indices)}")
    offset = 1 if min(indices) >= 1 else 0
    matrix = np.zeros((len(rows), max(indices) - offset + 1))
    for number, row in enumerate(rows):
        for column, entry in row.items():
            matrix[number, column - offset] = entry
    return matrix


XGBOOST_CONTENT_TYPES: Final = (CSV, LIBSVM, X_LIBSVM, RECORDIO_PROTOBUF)


def _xgboost_input_fn(body: str | bytes, content_type: str) -> Any:
    if content_type not in XGBOOST_CONTENT_TYPES:
        raise _handler_error(415, f"content type {content_type!r} is not supported by the "
                                  "XGBoost container's default input_fn; supported: "
                                  f"{', '.join(XGBOOST_CONTENT_TYPES)} (or decode it in "
                                  "input_fn)")
    try:
        import xgboost
    except ImportError:
        raise _handler_error(500, "the XGBoost container's default input_fn needs the xgboost "
                                  "package in the environment that serves the model") from None
    labels = None
    try:
        if content_type == RECORDIO_PROTOBUF:
            raw = body.encode("latin1") if isinstance(body, str) else body
            features, labels = codecs.read_recordio_protobuf(raw)
        else:
            text = body if isinstance(body, str) else body.decode("utf-8")
            features = csv_rows(text) if content_type == CSV else libsvm_rows(text)
    except ValueError as exc:  # UnicodeDecodeError included
        raise _handler_error(400, f"cannot decode the {content_type} body: {exc}") from None
    return xgboost.DMatrix(features, label=labels)


def _xgboost_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data, validate_features=False)


def _listed(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def containers_encode(prediction: Any, accept: str) -> bytes:
    """A prediction as the sagemaker_containers encoders write it, for the XGBoost default
    ``output_fn``: JSON (arrays as lists), CSV (a 1-D array as one value a line, numpy's
    own digits) or NPY.

    Example:
        >>> import numpy as np
        >>> containers_encode(np.array([0.25, 0.5], dtype="float32"), "text/csv")
        b'0.25\\n0.5\\n'
        >>> containers_encode({"scores": np.array([1, 2])}, "application/json")
        b'{"scores": [1, 2]}'
    """
    import numpy as np

    if accept == JSON:
        return json.dumps(prediction, default=_listed).encode()
    if accept == CSV:
        array = np.asarray(prediction)
        stream = io.StringIO()
        # Each value is written as csv writes a numpy scalar (str for float32): as there.
        csv.writer(stream, lineterminator="\n").writerows(
            array.reshape(-1, 1) if array.ndim < 2 else array)
        return stream.getvalue().encode()
    if accept == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue()
    raise _handler_error(406, f"accept type {accept!r} is not supported by the XGBoost "
                              f"container's default output_fn; supported: {JSON}, {CSV}, {NPY} "
                              "(or encode it in output_fn)")


# --- the registry ----------------------------------------------------------------------------

_TENSORFLOW_REFUSAL = (
    "the local backend cannot serve framework 'tensorflow': the TensorFlow container runs "
    "TensorFlow Serving, which serves a SavedModel over its own REST API (an inference.py "
    "there only pre- and post-processes with input_handler/output_handler), not the Python "
    "model_fn/predict_fn contract the local backend emulates; deploy TensorFlow models with "
    "the AWS backend")

FRAMEWORKS: Final[Mapping[str, Flavour]] = {
    "sklearn": Flavour("sklearn", "scikit-learn", _no_model_fn, _sklearn_input_fn, _predict,
                       _sklearn_output_fn, content_types=codecs.DECODABLE,
                       accept_types=codecs.DECODABLE),
    "xgboost": Flavour("xgboost", "XGBoost", _no_xgboost_model_fn, _xgboost_input_fn,
                       _xgboost_predict_fn, containers_encode,
                       content_types=XGBOOST_CONTENT_TYPES, accept_types=(JSON, CSV, NPY)),
    "pytorch": Flavour("pytorch", "PyTorch"),
    "mxnet": Flavour("mxnet", "MXNet"),
    "huggingface": Flavour("huggingface", "Hugging Face"),
    "tensorflow": Flavour("tensorflow", "TensorFlow", refusal=_TENSORFLOW_REFUSAL),
}

_ALIASES: Final = {
    **{name: name for name in FRAMEWORKS},
    "scikit-learn": "sklearn", "scikit_learn": "sklearn", "scikitlearn": "sklearn",
    "torch": "pytorch", "hugging-face": "huggingface", "hugging_face": "huggingface",
}

# Substrings of image repository names, in order: "huggingface-pytorch-inference" is
# Hugging Face, not PyTorch.
_IMAGE_HINTS: Final = (
    ("huggingface", "huggingface"), ("xgboost", "xgboost"), ("scikit-learn", "sklearn"),
    ("sklearn", "sklearn"), ("pytorch", "pytorch"), ("tensorflow", "tensorflow"),
    ("mxnet", "mxnet"),
)
