"""Rows of an array as RecordIO-wrapped protobuf ``Record`` messages, without protobuf.

This is the ``application/x-recordio-protobuf`` format of SageMaker's built-in algorithms: each
row becomes one ``aialgs.data.Record`` message whose ``features`` map holds, under the key
``"values"``, a ``Value`` with an ``Int32Tensor``, ``Float32Tensor`` or ``Float64Tensor``
(field 7, 2 or 3). A tensor carries packed ``values`` (field 1) and, for a sparse row, the
column ``keys`` (field 2) and the row's ``shape`` (field 3, the number of columns). A label
goes in the ``label`` map (field 2 of ``Record``) the same way. Each message is framed as
RecordIO: a little-endian ``uint32`` magic number, a ``uint32`` length, the message, and zero
padding up to a multiple of four bytes.

The messages are written by hand (the wire format of this one schema is small) so that the
package does not need the protobuf library.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

__all__ = ["RECORDIO_MAGIC", "read_recordio", "write_array"]

RECORDIO_MAGIC = 0xCED7230A

_INT32_RANGE = (-(2**31), 2**31 - 1)
_FLOAT32_FIELD, _FLOAT64_FIELD, _INT32_FIELD = 2, 3, 7


def _varint(value: int) -> bytes:
    # Negative int32 values are sent as their 64-bit two's complement, as protobuf does.
    value &= (1 << 64) - 1
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _tensor_field(dtype: Any) -> int:
    """The ``Value`` field for an array's dtype; ``ValueError`` for any other dtype."""
    if dtype.kind in "iu":
        return _INT32_FIELD
    if dtype.kind == "f" and dtype.itemsize == 8:
        return _FLOAT64_FIELD
    if dtype.kind == "f" and dtype.itemsize == 4:
        return _FLOAT32_FIELD
    raise ValueError(f"unsupported dtype {dtype} for recordio-protobuf: use integer, float32 or "
                     "float64 values")


def _packed_values(field: int, values: Any) -> bytes:
    import numpy as np

    if field == _FLOAT32_FIELD:
        return np.asarray(values, dtype="<f4").tobytes()
    if field == _FLOAT64_FIELD:
        return np.asarray(values, dtype="<f8").tobytes()
    numbers = [int(v) for v in values]
    low, high = _INT32_RANGE
    for number in numbers:
        if not low <= number <= high:
            raise ValueError(f"value {number} does not fit the int32 tensor of "
                             "recordio-protobuf; convert the array to float first")
    return b"".join(_varint(n) for n in numbers)


def _value_entry(field: int, values: Any, keys: Iterable[int] = (),
                 shape: Iterable[int] = ()) -> bytes:
    """A ``"values" -> Value`` map entry holding one tensor."""
    tensor = b""
    packed = _packed_values(field, values)
    if packed:
        tensor += _length_delimited(1, packed)
    key_bytes = b"".join(_varint(int(k)) for k in keys)
    if key_bytes:
        tensor += _length_delimited(2, key_bytes)
    shape_bytes = b"".join(_varint(int(s)) for s in shape)
    if shape_bytes:
        tensor += _length_delimited(3, shape_bytes)
    value = _length_delimited(field, tensor)
    return _length_delimited(1, b"values") + _length_delimited(2, value)


def _frame(message: bytes) -> bytes:
    padding = -len(message) % 4
    return struct.pack("<II", RECORDIO_MAGIC, len(message)) + message + b"\x00" * padding


def write_array(array_like: Any, labels: Any = None) -> bytes:
    """One framed ``Record`` per row of a 1-D/2-D array or a scipy sparse matrix."""
    import numpy as np

    sparse = hasattr(array_like, "tocsr") and hasattr(array_like, "nnz")
    matrix: Any = array_like.tocsr() if sparse else np.asarray(array_like)
    if not sparse and matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if len(matrix.shape) != 2:
        raise ValueError(f"expected a 1-D or 2-D array, got shape {tuple(matrix.shape)}")
    n_rows, n_cols = matrix.shape
    feature_field = _tensor_field(matrix.dtype)

    label_array = None
    label_field = 0
    if labels is not None:
        label_array = np.asarray(labels)
        if label_array.ndim != 1 or label_array.shape[0] != n_rows:
            raise ValueError(f"labels must be a vector with one value per row ({n_rows}), "
                             f"got shape {label_array.shape}")
        label_field = _tensor_field(label_array.dtype)

    records = []
    for row in range(n_rows):
        if sparse:
            start, end = int(matrix.indptr[row]), int(matrix.indptr[row + 1])
            message = _length_delimited(1, _value_entry(
                feature_field, matrix.data[start:end], keys=matrix.indices[start:end],
                shape=(n_cols,)))
        else:
            message = _length_delimited(1, _value_entry(feature_field, matrix[row]))
        if label_array is not None:
            message += _length_delimited(2, _value_entry(label_field, label_array[row:row + 1]))
        records.append(_frame(message))
    return b"".join(records)


def read_recordio(data: bytes) -> list[bytes]:
    """The messages inside RecordIO framing (the inverse of the framing of :func:`write_array`).

    >>> read_recordio(_frame(b"abc") + _frame(b""))
    [b'abc', b'']
    """
    messages = []
    offset = 0
    while offset < len(data):
        magic, length = struct.unpack_from("<II", data, offset)
        if magic != RECORDIO_MAGIC:
            raise ValueError(f"no RecordIO magic number at byte {offset}")
        start = offset + 8
        messages.append(data[start:start + length])
        offset = start + length + (-length % 4)
    return messages
