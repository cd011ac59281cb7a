"""Bodies on the wire, client side: the serializers and deserializers of a
:class:`~mlopskit.Predictor` (public as :mod:`mlopskit.serializers`).

Serializers turn numpy arrays, pandas DataFrames and lists into bodies, and deserializers
turn bodies back. The serving containers' own decoding and encoding, which the local
inference server uses, is in :mod:`mlopskit.sagemaker_api.inference.codecs`.

Example:
    >>> CSVSerializer().serialize([[1, 2], [3, 4]])
    b'1,2\\n3,4'
    >>> NumpyDeserializer().deserialize(b"[[0.5, 1.0]]", "application/json").shape
    (1, 2)
"""

from __future__ import annotations

import io
import json
from typing import Any

from ..sagemaker_api.inference.codecs import CSV, JSON, NPY

__all__ = [
    "BytesDeserializer",
    "CSVDeserializer",
    "CSVSerializer",
    "IdentitySerializer",
    "JSONDeserializer",
    "JSONSerializer",
    "NumpyDeserializer",
    "NumpySerializer",
    "PandasDeserializer",
]


def _plain(data: Any) -> Any:
    """numpy arrays and DataFrames as (nested) lists; any other value as it is."""
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    return data.tolist() if hasattr(data, "tolist") else data


def _rows(data: Any) -> Any:
    """numpy arrays, DataFrames and nested lists as a list of rows."""
    data = _plain(data)
    if isinstance(data, (list, tuple)) and data and not isinstance(data[0], (list, tuple)):
        return [list(data)]
    return [list(row) for row in data]


class CSVSerializer:
    """Rows as ``text/csv``; a flat list or 1-D array is one row.

    Example:
        >>> import numpy as np
        >>> body = CSVSerializer().serialize(np.array([[1.5, 2.0], [3.0, 4.0]]))
        >>> body
        b'1.5,2.0\\n3.0,4.0'
        >>> CSVDeserializer().deserialize(body, "text/csv")
        [['1.5', '2.0'], ['3.0', '4.0']]
        >>> CSVSerializer().serialize([5, 6])
        b'5,6'
    """

    content_type = CSV

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        return "\n".join(",".join(str(v) for v in row) for row in _rows(data)).encode()


class JSONSerializer:
    """Any JSON-able value (numpy arrays and DataFrames become nested lists).

    Example:
        >>> import numpy as np
        >>> JSONSerializer().serialize(np.array([[1, 3], [2, 4]]))
        b'[[1, 3], [2, 4]]'
        >>> JSONSerializer().serialize({"instances": [1.5, 2.0]})
        b'{"instances": [1.5, 2.0]}'
    """

    content_type = JSON

    def serialize(self, data: Any) -> bytes:
        if isinstance(data, (bytes, str)):
            return data.encode() if isinstance(data, str) else data
        return json.dumps(_plain(data)).encode()


class NumpySerializer:
    """An array in NPY format (no pickles).

    Example:
        >>> import numpy as np
        >>> body = NumpySerializer().serialize(np.arange(6).reshape(2, 3))
        >>> body[:6]
        b'\\x93NUMPY'
        >>> NumpyDeserializer().deserialize(body, "application/x-npy").tolist()
        [[0, 1, 2], [3, 4, 5]]
    """

    content_type = NPY

    def serialize(self, data: Any) -> bytes:
        import numpy as np

        if isinstance(data, bytes):
            return data
        stream = io.BytesIO()
        np.save(stream, np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data),
                allow_pickle=False)
        return stream.getvalue()


class IdentitySerializer:
    """Bytes as they are, with the content type you name.

    Example:
        >>> png = IdentitySerializer("image/png")
        >>> png.content_type, png.serialize(b"\\x89PNG")
        ('image/png', b'\\x89PNG')
        >>> IdentitySerializer().serialize("plain text")
        b'plain text'
    """

    def __init__(self, content_type: str = "application/octet-stream") -> None:
        self.content_type = content_type

    def serialize(self, data: Any) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


class BytesDeserializer:
    """The response body as it came, for any content type (images, archives...).

    Example:
        >>> raw = BytesDeserializer()
        >>> raw.accept, raw.deserialize(b"\\x00\\x01", "application/octet-stream")
        ('*/*', b'\\x00\\x01')
    """

    accept = "*/*"

    def deserialize(self, body: bytes, content_type: str) -> bytes:
        return body


class JSONDeserializer:
    """A JSON body as Python values (dicts, lists, numbers...).

    Example:
        >>> body = JSONSerializer().serialize({"scores": [0.1, 0.9]})
        >>> JSONDeserializer().deserialize(body, "application/json")
        {'scores': [0.1, 0.9]}
    """

    accept = JSON

    def deserialize(self, body: bytes, content_type: str) -> Any:
        return json.loads(body)


class CSVDeserializer:
    """Rows of strings, as the SageMaker SDK's CSV deserializer gives them.

    Example:
        >>> CSVDeserializer().deserialize(b"0,0.93\\n1,0.12\\n", "text/csv")
        [['0', '0.93'], ['1', '0.12']]
    """

    accept = CSV

    def deserialize(self, body: bytes, content_type: str) -> list[list[str]]:
        return [line.split(",") for line in body.decode().splitlines() if line]


class NumpyDeserializer:
    """An array from NPY, JSON or CSV bodies.

    Example:
        >>> to_array = NumpyDeserializer()
        >>> to_array.deserialize(b"1,2\\n3,4", "text/csv")
        array([[1., 2.],
               [3., 4.]])
        >>> to_array.deserialize(b"[0.2, 0.8]", "application/json; charset=utf-8").tolist()
        [0.2, 0.8]
    """

    accept = NPY

    def deserialize(self, body: bytes, content_type: str) -> Any:
        import numpy as np

        kind = content_type.split(";")[0].strip()
        if kind == NPY:
            return np.load(io.BytesIO(body), allow_pickle=False)
        if kind == JSON:
            return np.array(json.loads(body))
        return np.genfromtxt(io.StringIO(body.decode()), delimiter=",")


class PandasDeserializer:
    """A DataFrame from CSV (no header) or JSON bodies.

    Example:
        >>> frame = PandasDeserializer().deserialize(b"1,0.5\\n2,0.7", "text/csv")
        >>> frame.shape, frame[1].tolist()
        ((2, 2), [0.5, 0.7])
        >>> body = b'[{"label": 1}, {"label": 0}]'
        >>> PandasDeserializer().deserialize(body, "application/json").to_dict("list")
        {'label': [1, 0]}
    """

    accept = CSV

    def deserialize(self, body: bytes, content_type: str) -> Any:
        import pandas as pd

        if content_type.split(";")[0].strip() == JSON:
            data = json.loads(body)
            return pd.DataFrame(data if isinstance(data, list) and data
                                and isinstance(data[0], (list, dict)) else {"value": data})
        return pd.read_csv(io.BytesIO(body), header=None)
