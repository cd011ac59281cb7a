"""Request and response bodies as the serving containers decode and encode them.

:func:`decode` and :func:`encode` follow the scikit-learn container's default ``input_fn``
and ``output_fn``: CSV rows become a float array (one row squeezes to 1-D, as there), JSON
becomes an array, NPY is loaded without pickles. :func:`read_recordio_protobuf` reads
SageMaker's RecordIO-protobuf bodies without the protobuf package. The client's serializers
and deserializers are public, in :mod:`mlopskit.serializers`.

Example:
    >>> decode("1,2\\n3,4", CSV).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> encode([0.5, 1.0], JSON)
    b'[0.5, 1.0]'
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator
from typing import Any

__all__ = ["CSV", "DECODABLE", "JSON", "NPY", "RECORDIO_MAGIC", "decode", "encode",
           "read_recordio_protobuf"]

CSV, JSON, NPY = "text/csv", "application/json", "application/x-npy"
DECODABLE = (CSV, JSON, NPY)


def _handler_error(status: int, message: str) -> Exception:
    from .handlers import HandlerError

    return HandlerError(status, message)


def decode(body: str | bytes, content_type: str) -> Any:
    """A request body as a numpy array (the container's default ``input_fn`` decoding)."""
    import numpy as np

    try:
        if content_type == CSV:
            text = body if isinstance(body, str) else body.decode("utf-8")
            if not text.strip():
                raise ValueError("empty body")
            try:  # numpy's C parser; the container's genfromtxt only for what it rejects
                return np.loadtxt(io.StringIO(text), delimiter=",", dtype=float)
            except ValueError:
                return np.genfromtxt(io.StringIO(text), delimiter=",", dtype=float)
        if content_type == JSON:
            return np.array(json.loads(body))
        if content_type == NPY:
            raw = body if isinstance(body, bytes) else body.encode("latin1")
            return np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, TypeError, OSError) as exc:
        raise _handler_error(400, f"cannot decode the {content_type} body: {exc}") from None
    raise _handler_error(415, f"content type {content_type!r} is not supported; supported: "
                              f"{', '.join(DECODABLE)} (or decode it in input_fn)")


def encode(value: Any, accept: str) -> bytes:
    """A prediction as a response body (the container's default ``output_fn`` encoding)."""
    import numpy as np

    if accept == JSON:
        return json.dumps(np.asarray(value).tolist()).encode()
    if accept == CSV:
        # One line per row (one value per line for 1-D), as np.savetxt(fmt="%s") writes,
        # without its per-row Python loop.
        rows = np.asarray(value)
        rows = rows.reshape(1) if rows.ndim == 0 else rows
        listed = rows.tolist()
        if rows.ndim == 1:
            return ("\n".join(map(str, listed)) + "\n").encode()
        return ("\n".join(",".join(map(str, row)) for row in listed) + "\n").encode()
    if accept == NPY:
        stream_b = io.BytesIO()
        np.save(stream_b, np.asarray(value), allow_pickle=False)
        return stream_b.getvalue()
    raise _handler_error(406, f"accept type {accept!r} is not supported; supported: "
                              f"{', '.join(DECODABLE)} (or encode it in output_fn)")


# RecordIO frames each record as: magic number, payload length (both little-endian uint32),
# payload, then zero padding to a multiple of 4 bytes.
RECORDIO_MAGIC = 0xCED7230A
# Field numbers of the tensors in SageMaker's Value message (aialgs.data, record.proto):
# number -> (numpy dtype of the values, wire type of one unpacked value).
_TENSORS = {2: ("<f4", 5), 3: ("<f8", 1), 7: ("int32", 0)}
_UINT64 = (1 << 64) - 1


def read_recordio_protobuf(body: bytes) -> tuple[Any, Any]:
    """The features and labels of a RecordIO-protobuf body, one record a row.

    Each record is a SageMaker ``Record`` message whose ``features["values"]`` is a float32,
    float64 or int32 tensor: dense (values only) or sparse (``keys`` are the column indices
    of the values, ``shape[0]`` the row's width). Rows stack into a numpy array, or a SciPy
    CSR matrix when any row is sparse; records without a ``values`` feature are skipped, as
    the XGBoost container does. Labels are the ``label["values"]`` tensors joined into one
    array, or None when no record has one. Raises ValueError on a malformed body.

    Example:
        >>> tensor = b"\\x0a\\x08" + struct.pack("<2f", 1.5, 2.0)  # values = [1.5, 2.0]
        >>> value = b"\\x12\\x0a" + tensor                          # Value.float32_tensor
        >>> record = b"\\x0a\\x16" + b"\\x0a\\x06values" + b"\\x12\\x0c" + value
        >>> body = struct.pack("<II", RECORDIO_MAGIC, len(record)) + record
        >>> features, labels = read_recordio_protobuf(body)
        >>> features.tolist(), labels
        ([[1.5, 2.0]], None)
    """
    import numpy as np

    rows: list[tuple[Any, Any, int | None]] = []  # (values, keys or None, width or None)
    labels: list[Any] = []
    for payload in _recordio_payloads(bytes(body)):
        features, label = _record_values(payload)
        if features is None:
            continue
        rows.append(features)
        if label is not None:
            labels.append(label[0])
    if not rows:
        raise ValueError("no record has a 'values' feature")
    joined_labels = np.concatenate(labels) if labels else None
    if all(keys is None for _, keys, _ in rows):
        widths = {len(values) for values, _, _ in rows}
        if len(widths) > 1:
            raise ValueError(f"dense records of different lengths: {sorted(widths)}")
        return np.vstack([values.reshape(1, -1) for values, _, _ in rows]), joined_labels
    return _csr(rows), joined_labels


def _csr(rows: list[tuple[Any, Any, int | None]]) -> Any:
    """Rows of (values, keys, width) as one CSR matrix; dense rows count as full."""
    import importlib

    import numpy as np

    csr_matrix = importlib.import_module("scipy.sparse").csr_matrix  # untyped: no stubs
    widths = {len(values) if keys is None else int(width or 0) for values, keys, width in rows}
    if len(widths) > 1:
        raise ValueError(f"records of different widths: {sorted(widths)}")
    width = widths.pop()
    columns = [np.arange(len(values)) if keys is None else keys.astype(np.int64)
               for values, keys, _ in rows]
    if any(len(index) and (index.min() < 0 or index.max() >= width) for index in columns):
        raise ValueError(f"a sparse key is outside the row width {width}")
    pointers = np.concatenate(([0], np.cumsum([len(index) for index in columns])))
    data = np.concatenate([values for values, _, _ in rows])
    return csr_matrix((data, np.concatenate(columns), pointers), shape=(len(rows), width))


def _recordio_payloads(body: bytes) -> Iterator[bytes]:
    position = 0
    # Fewer than 8 trailing bytes cannot hold a header; the XGBoost container ignores them.
    while position + 8 <= len(body):
        magic, size = struct.unpack_from("<II", body, position)
        if magic != RECORDIO_MAGIC:
            raise ValueError(f"no RecordIO magic number at byte {position}")
        start = position + 8
        if start + size > len(body):
            raise ValueError(f"the record at byte {position} is truncated")
        yield body[start:start + size]
        position = start + (size + 3) // 4 * 4


def _record_values(payload: bytes) -> tuple[Any, Any]:
    """The ``values`` entries of a Record's features (field 1) and label (field 2) maps."""
    found: dict[int, bytes] = {}
    for number, wire, chunk in _fields(payload):
        if number in (1, 2) and wire == 2:
            key, value = b"", b""
            for entry_number, entry_wire, entry_chunk in _fields(chunk):
                if entry_number == 1 and entry_wire == 2:
                    key = entry_chunk
                elif entry_number == 2 and entry_wire == 2:
                    value += entry_chunk  # repeated message fields merge
            if key == b"values":
                found[number] = value  # a map keeps the last entry of a key
    return (_tensor(found[1]) if 1 in found else None,
            _tensor(found[2]) if 2 in found else None)


def _tensor(value: bytes) -> tuple[Any, Any, int | None] | None:
    """A Value message's tensor as (values, keys or None when dense, width or None)."""
    import numpy as np

    kind, message = 0, b""
    for number, wire, chunk in _fields(value):
        if number in _TENSORS and wire == 2:
            # One field of a oneof: a different one replaces it, the same one merges.
            message = message + chunk if number == kind else chunk
            kind = number
        elif number == 9:
            raise ValueError("a record holds a Bytes value; only float32, float64 and int32 "
                             "tensors are numeric features")
    if not kind:
        return None
    dtype, single_wire = _TENSORS[kind]
    parts: dict[int, list[Any]] = {1: [], 2: [], 3: []}
    for number, wire, chunk in _fields(message):
        if number not in parts:
            continue
        if wire == 2:
            if number == 1 and dtype != "int32":
                parts[1].append(np.frombuffer(chunk, dtype=dtype))
            else:
                parts[number].append(_packed_varints(chunk))
        elif wire == (single_wire if number == 1 else 0):
            parts[number].append(np.frombuffer(chunk, dtype=dtype) if isinstance(chunk, bytes)
                                 else np.array([chunk & _UINT64], dtype=np.uint64))
        else:
            raise ValueError(f"tensor field {number} has wire type {wire}")
    values = np.concatenate(parts[1]) if parts[1] else np.zeros(0, dtype=dtype)
    if dtype == "int32":  # int32 varints are two's complement over 64 bits
        values = values.astype(np.uint64).view(np.int64).astype(np.int32)
    keys = np.concatenate(parts[2]) if parts[2] else None
    shape = np.concatenate(parts[3]) if parts[3] else None
    width = int(shape[0]) if shape is not None and len(shape) else None
    if keys is None and not len(values) and width is not None:
        # The SDK writes an all-zero sparse row as a shape alone; it is an empty sparse row.
        keys = np.zeros(0, dtype=np.uint64)
    if keys is not None and width is None:
        width = int(keys.max()) + 1 if len(keys) else 1
    if keys is not None and len(keys) != len(values):
        raise ValueError(f"a sparse tensor has {len(keys)} keys for {len(values)} values")
    return values, keys, width


def _fields(message: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a protobuf message; the value is
    an int for varints and bytes for the rest."""
    position, end = 0, len(message)
    while position < end:
        key, position = _varint(message, position)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, position = _varint(message, position)
        elif wire in (1, 2, 5):
            size = 8 if wire == 1 else 4
            if wire == 2:
                size, position = _varint(message, position)
            value, position = message[position:position + size], position + size
        else:
            raise ValueError(f"protobuf wire type {wire} (field {number}) is not supported")
        if position > end:
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while position < len(data) and shift < 70:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
    raise ValueError("truncated or overlong varint")


def _packed_varints(chunk: bytes) -> Any:
    """A packed run of varints as a uint64 array, decoded without a Python loop."""
    import numpy as np

    raw = np.frombuffer(chunk, dtype=np.uint8)
    if not raw.size:
        return np.zeros(0, dtype=np.uint64)
    last = np.flatnonzero(raw < 0x80)  # each varint ends on a byte without the high bit
    if not last.size or last[-1] != raw.size - 1:
        raise ValueError("truncated varint")
    first = np.concatenate(([0], last[:-1] + 1))
    place = np.arange(raw.size) - np.repeat(first, last - first + 1)
    if place.max() > 9:
        raise ValueError("overlong varint")
    parts = (raw & 0x7F).astype(np.uint64) << (7 * place).astype(np.uint64)
    return np.bitwise_or.reduceat(parts, first)
