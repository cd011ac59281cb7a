"""Arrays to and from the default request/response formats: JSON, CSV and NPY.

``decode`` and ``encode`` pick the codec by exact content type and raise
:class:`~._errors.UnsupportedFormatError` for any other. numpy is imported when a codec runs,
not when this module is imported.

>>> import numpy as np
>>> encode(np.array([[1, 2], [3, 4]]), "text/csv")
'1,2\\n3,4\\n'
>>> encode(np.array([1.5, 2.0]), "application/json")
'[1.5, 2.0]'
>>> decode("1,2,3", "text/csv")
array([1., 2., 3.])

Behaviour kept from the original package because scripts depend on it:

- a 1-D array is written to CSV as a *column* (one value per line);
- ``csv_to_numpy`` squeezes its result: one row gives a 1-D array, one value a 0-d array;
  values that are not numbers come back as an array of strings when no ``dtype`` is given;
- JSON is written with ``json.dumps`` defaults, anything with a ``tolist()`` method (numpy
  arrays and scalars) as its list.

Differences: NPY is read and written with ``allow_pickle=False`` (an object array is a
:class:`~._errors.ClientError`, never unpickled), a 0-d value is written to CSV as one cell
(the original fails), and a scipy sparse matrix is made dense before it is written as CSV, JSON
or NPY.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _content_types, _errors, _recordio

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "array_to_csv",
    "array_to_json",
    "array_to_npy",
    "array_to_recordio_protobuf",
    "csv_to_numpy",
    "decode",
    "encode",
    "json_to_numpy",
    "npy_to_numpy",
]

_NO_PICKLES = ("this package reads and writes NPY without pickles (allow_pickle=False), so "
               "object arrays cannot be sent; convert them to a numeric or string dtype")


def _dense(array_like: Any) -> Any:
    """A scipy sparse matrix as a dense array; anything else unchanged."""
    if hasattr(array_like, "toarray") and hasattr(array_like, "nnz"):
        return array_like.toarray()
    return array_like


def array_to_npy(array_like: Any) -> bytes:
    """The bytes of an ``.npy`` file holding ``array_like``.

    >>> array_to_npy([1, 2])[:6]
    b'\\x93NUMPY'
    """
    import numpy as np

    buffer = io.BytesIO()
    try:
        np.save(buffer, _dense(array_like), allow_pickle=False)
    except ValueError as error:
        raise _errors.ClientError(f"cannot write NPY: {error}; {_NO_PICKLES}") from error
    return buffer.getvalue()


def npy_to_numpy(npy_array: bytes) -> npt.NDArray[Any]:
    """The array in the bytes of an ``.npy`` file; object arrays are refused.

    >>> npy_to_numpy(array_to_npy([[1, 2]])).tolist()
    [[1, 2]]
    """
    import numpy as np

    try:
        array: npt.NDArray[Any] = np.lib.format.read_array(
            io.BytesIO(bytes(npy_array)), allow_pickle=False)
    except ValueError as error:
        raise _errors.ClientError(f"cannot read the NPY payload: {error}; {_NO_PICKLES}") \
            from error
    return array


def _jsonable(value: Any) -> Any:
    value = _dense(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def array_to_json(array_like: Any) -> str:
    """``array_like`` as JSON text; numpy arrays and scalars become lists and numbers.

    >>> import numpy as np
    >>> array_to_json({"scores": np.array([0.5, 1.0]), "n": np.int64(2)})
    '{"scores": [0.5, 1.0], "n": 2}'
    """
    return json.dumps(array_like, default=_jsonable)


def json_to_numpy(string_like: str | bytes, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """The array in a JSON document (a number or nested lists).

    >>> json_to_numpy("[[1, 2], [3, 4]]", dtype="float32").dtype
    dtype('float32')
    """
    import numpy as np

    return np.array(json.loads(string_like), dtype=dtype)


def csv_to_numpy(string_like: str | bytes, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """The array in CSV text, squeezed; numbers as float64 unless ``dtype`` says otherwise.

    >>> csv_to_numpy("1,2\\n3,4\\n").shape, csv_to_numpy("1,2,3").shape, csv_to_numpy("7").shape
    ((2, 2), (3,), ())
    >>> csv_to_numpy("a,b").tolist()
    ['a', 'b']
    """
    import numpy as np

    text = string_like.decode("utf-8") if isinstance(string_like, bytes) else string_like
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=",", quotechar='"',
                               doublequote=True, strict=True))
        strings = np.array(rows).squeeze()
    except (csv.Error, ValueError) as error:
        # numpy refuses rows of different lengths with a ValueError.
        raise _errors.ClientError(f"cannot read the CSV body: {error}") from error
    try:
        converted: npt.NDArray[Any] = strings.astype(np.float64 if dtype is None else dtype)
    except (ValueError, TypeError) as error:
        if dtype is not None:
            raise _errors.ClientError(
                f"cannot convert the CSV values to dtype {dtype!r}: {error}") from error
        return strings
    return converted


def array_to_csv(array_like: Any) -> str:
    """``array_like`` as CSV text, one line per row; a 1-D array is written as a column.

    >>> array_to_csv([1, 2])
    '1\\n2\\n'
    >>> array_to_csv([["a,b", 1.5]])
    '"a,b",1.5\\n'
    """
    import numpy as np

    array = np.array(_dense(array_like))
    if array.ndim < 2:
        array = array.reshape(-1, 1)
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n", delimiter=",", quotechar='"',
                        doublequote=True, strict=True)
    try:
        writer.writerows(array)
    except csv.Error as error:
        raise _errors.ClientError(f"cannot write the array as CSV: {error}") from error
    return stream.getvalue()


def array_to_recordio_protobuf(array_like: Any, labels: Any = None) -> bytes:
    """``application/x-recordio-protobuf`` bytes: one ``Record`` per row, optional labels.

    Accepts a 1-D or 2-D array of integers (written as int32), float32 or float64, or a scipy
    sparse matrix of those (written as sparse tensors with keys and shape); ``labels`` holds
    one value per row. Written without the protobuf library.

    >>> import numpy as np
    >>> data = array_to_recordio_protobuf(np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32"))
    >>> len(_recordio.read_recordio(data))
    2
    """
    return _recordio.write_array(array_like, labels)


_encoders_map: dict[str, Callable[[Any], str | bytes]] = {
    _content_types.NPY: array_to_npy,
    _content_types.CSV: array_to_csv,
    _content_types.JSON: array_to_json,
}
_decoders_map: dict[str, Callable[[Any], npt.NDArray[Any]]] = {
    _content_types.NPY: npy_to_numpy,
    _content_types.CSV: csv_to_numpy,
    _content_types.JSON: json_to_numpy,
}


def decode(obj: str | bytes, content_type: str) -> npt.NDArray[Any]:
    """A request body of ``content_type`` (JSON, CSV or NPY) as a numpy array."""
    decoder = _decoders_map.get(content_type)
    if decoder is None:
        raise _errors.UnsupportedFormatError(content_type)
    return decoder(obj)


def encode(array_like: Any, content_type: str) -> str | bytes:
    """``array_like`` as a response body of ``content_type``: text for JSON/CSV, bytes for NPY.

    Any other content type raises :class:`~._errors.UnsupportedFormatError`, which names it.
    """
    encoder = _encoders_map.get(content_type)
    if encoder is None:
        raise _errors.UnsupportedFormatError(content_type)
    return encoder(array_like)
