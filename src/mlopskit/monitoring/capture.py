"""Read what an endpoint's data capture recorded, and turn it into a DataFrame.

The files are SageMaker's (``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, one
JSON record a line; :mod:`mlopskit.sagemaker_api.capture` holds the format), whether
SageMaker wrote them to S3 or the local backend to its folder store, so the same code reads
both. Only the hour folders that overlap ``[start, end)`` are opened.

Example:
    >>> import datetime as dt, json, tempfile, mlopskit
    >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
    >>> line = {"captureData": {"endpointInput": {"observedContentType": "text/csv",
    ...     "mode": "INPUT", "data": "1.5,2", "encoding": "CSV"}},
    ...     "eventMetadata": {"eventId": "e-1", "inferenceTime": "2026-01-01T10:15:00Z"},
    ...     "eventVersion": "0"}
    >>> session.backend.objects.put_bytes(json.dumps(line).encode() + b"\\n",
    ...     "s3://mlopskit-local/cap/churn/AllTraffic/2026/01/01/10/15-00-000-x.jsonl")
    >>> records = read_captures("s3://mlopskit-local/cap", session=session)
    >>> records[0].variant, records[0].input.data
    ('AllTraffic', '1.5,2')
    >>> captures_to_frame(records, columns=["age", "score"])[["age", "score"]].values.tolist()
    [[1.5, 2.0]]
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._data import checked_uri
from ..errors import ValidationError
from ..sagemaker_api.capture import (
    HOUR,
    CapturedPayload,
    CaptureRecord,
    capture_file,
    common_hour_prefix,
    parse_capture_file,
)
from ..session import Session, resolve_session

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CaptureRecord", "CapturedPayload", "captures_to_frame", "read_captures"]

_JSON_LINES = {"application/jsonlines", "application/x-jsonlines", "application/json-lines",
               "application/jsonl"}
_SUPPORTED = ("text/csv", "application/json", "application/jsonlines", "application/x-npy")


def _aware(value: Any, field: str) -> _dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, _dt.datetime) or value.tzinfo is None:
        raise ValidationError(f"{field}: expected a timezone-aware datetime, got {value!r}",
                              field=field)
    return value


def read_captures(source: str, *, endpoint_name: str | None = None,
                  variant_name: str | None = None, start: _dt.datetime | None = None,
                  end: _dt.datetime | None = None,
                  session: Session | None = None) -> list[CaptureRecord]:
    """Captured invocations in ``[start, end)``, oldest first.

    ``source`` is a capture destination (``s3://...``, the ``DataCaptureConfig``'s
    ``destination_s3_uri``, or a folder below it such as ``<destination>/<endpoint>`` or
    ``<destination>/<endpoint>/<variant>``) or the name of an endpoint with data capture,
    whose destination is then read from its description. ``endpoint_name`` (and then
    ``variant_name``) narrow a destination to the folder of one endpoint (or variant). A
    last line still being written is skipped.

    Example:
        >>> import datetime as dt, tempfile, mlopskit
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> line = (b'{"captureData": {}, "eventMetadata": {"eventId": "e-1", '
        ...         b'"inferenceTime": "2026-03-01T09:15:00Z"}, "eventVersion": "0"}\\n')
        >>> session.backend.objects.put_bytes(
        ...     line, "s3://mlopskit-local/cap/churn/AllTraffic/2026/03/01/09/15-00-000-a.jsonl")
        >>> nine = dt.datetime(2026, 3, 1, 9, tzinfo=dt.timezone.utc)
        >>> [r.event_id for r in read_captures("s3://mlopskit-local/cap", start=nine,
        ...                                    end=nine + dt.timedelta(hours=1), session=session)]
        ['e-1']
        >>> read_captures("s3://mlopskit-local/cap", endpoint_name="fraud", session=session)
        []
    """
    resolved = resolve_session(session)
    start, end = _aware(start, "start"), _aware(end, "end")
    if start is not None and end is not None and end <= start:
        raise ValidationError(f"end: {end.isoformat()} is not after start "
                              f"{start.isoformat()}", field="end")
    destination, endpoint_name = _destination(source, endpoint_name, resolved)
    prefix = f"{destination}/"
    if endpoint_name is not None:
        prefix += f"{endpoint_name}/"
        if variant_name is not None:
            prefix += f"{variant_name}/"
            prefix += common_hour_prefix(start, end)
    records: list[CaptureRecord] = []
    objects = resolved.backend.objects
    for uri in objects.list(prefix):
        # .../<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl, wherever the source stops
        found = capture_file(uri)
        if found is None:
            continue  # not a capture file (SageMaker writes nothing else here)
        endpoint, variant, hour = found
        if (variant_name is not None and variant != variant_name) or \
                (endpoint_name is not None and endpoint != endpoint_name) or \
                (end is not None and hour >= end) or \
                (start is not None and hour + HOUR <= start):
            continue
        for record in parse_capture_file(uri, objects.get_bytes(uri), endpoint, variant):
            if (start is None or record.inference_time >= start) and \
                    (end is None or record.inference_time < end):
                records.append(record)
    records.sort(key=lambda r: r.inference_time)  # stable: file and line order within a second
    return records


def _destination(source: Any, endpoint_name: str | None,
                 session: Session) -> tuple[str, str | None]:
    """The destination to list, and the endpoint to narrow it to."""
    if not isinstance(source, str) or not source:
        raise ValidationError(f"source: expected an s3:// capture destination or an endpoint "
                              f"name, got {source!r}", field="source")
    if source.startswith("s3://"):
        return checked_uri(source, "source").rstrip("/"), endpoint_name
    from ..serving.endpoint import Endpoint

    described = Endpoint(source, session=session).describe()
    if described.data_capture is None:
        raise ValidationError(f"source: endpoint {source!r} has no data capture; deploy it with "
                              "data_capture_config=DataCaptureConfig(...)", field="source")
    if endpoint_name is not None and endpoint_name != source:
        raise ValidationError(f"endpoint_name: {endpoint_name!r} differs from the endpoint "
                              f"{source!r} given as source", field="endpoint_name")
    return described.data_capture.destination_s3_uri.rstrip("/"), source


# -- DataFrames -------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _json_rows(value: Any) -> list[Any]:
    """Feature rows of a JSON body: each a list (positional) or a dict (named)."""
    if isinstance(value, dict):
        for key in ("instances", "inputs", "features"):  # TF-Serving-style envelopes
            if key in value and isinstance(value[key], list):
                return _json_rows(value[key])
        return [value]
    if isinstance(value, list):
        if value and all(isinstance(v, (list, dict)) for v in value):
            return [v if isinstance(v, dict) else list(v) for v in value]
        return [value]
    return [[value]]


def _npy(data: bytes) -> Any:
    import numpy as np

    return np.load(io.BytesIO(data), allow_pickle=False).tolist()


def _input_rows(payload: CapturedPayload, event_id: str) -> list[Any]:
    media = payload.media_type
    try:
        if media == "text/csv":
            return [row for row in csv.reader(io.StringIO(payload.text())) if row]
        if media == "application/json":
            return _json_rows(json.loads(payload.text()))
        if media in _JSON_LINES:
            return [row for line in payload.text().splitlines() if line.strip()
                    for row in _json_rows(json.loads(line))]
        if media == "application/x-npy":
            value = _npy(payload.data if isinstance(payload.data, bytes)
                         else payload.data.encode("utf-8"))
            return _json_rows(value)
    except ValueError as exc:
        raise ValidationError(f"records: event {event_id!r}: its {media} input does not "
                              f"decode: {exc}", field="records") from None
    raise ValidationError(f"records: event {event_id!r} has input of content type "
                          f"{payload.content_type!r}; captures_to_frame reads "
                          f"{', '.join(_SUPPORTED)}", field="records")


def _output_values(payload: CapturedPayload) -> list[Any]:
    """One value per answered row where the body says so; else the whole answer."""
    media = payload.media_type
    try:
        if media == "text/csv":
            return [_scalar(row) for row in csv.reader(io.StringIO(payload.text())) if row]
        if media in _JSON_LINES:
            return [json.loads(line) for line in payload.text().splitlines() if line.strip()]
        if media == "application/json":
            value = json.loads(payload.text())
        elif media == "application/x-npy":
            value = _npy(payload.data if isinstance(payload.data, bytes)
                         else payload.data.encode("utf-8"))
        else:
            return [payload.data]
    except ValueError:
        return [payload.data]
    if isinstance(value, dict) and isinstance(value.get("predictions"), list):
        value = value["predictions"]
    return [_scalar(v) for v in value] if isinstance(value, list) else [value]


def _named(row: Any, columns: Sequence[str] | None, event_id: str) -> dict[str, Any]:
    if isinstance(row, dict):
        return {c: row.get(c) for c in columns} if columns is not None else dict(row)
    if columns is not None:
        if len(columns) != len(row):
            raise ValidationError(f"columns: {len(columns)} names given, but event "
                                  f"{event_id!r} has rows of {len(row)} values",
                                  field="columns")
        return dict(zip(columns, row, strict=True))
    return {f"_c{i}": value for i, value in enumerate(row)}


def _numeric(column: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    cleaned = column.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
    try:
        converted: pd.Series = pd.to_numeric(cleaned)
    except (ValueError, TypeError):
        return column
    return converted


def captures_to_frame(records: Sequence[CaptureRecord], *, columns: Sequence[str] | None = None,
                      include_output: bool = True) -> pd.DataFrame:
    """The captured inputs as feature rows, with ``prediction``, ``inference_id`` and
    ``inference_time`` columns.

    A request of several rows gives several rows (they share the record's id and time).
    CSV has no header, so its columns are ``_c0``, ``_c1``, ... unless ``columns`` names
    them; JSON objects give their keys (``columns`` then picks and orders them). CSV, JSON,
    JSON lines and NPY inputs are read. The answer goes row by row into ``prediction`` when
    it has one value per row, else whole into each row of its request. Numeric-looking
    columns become numbers.

    Example:
        >>> import datetime as dt
        >>> record = CaptureRecord(
        ...     "e-1", "order-1017", dt.datetime(2026, 3, 1, 9, 15, tzinfo=dt.timezone.utc),
        ...     "churn", "AllTraffic", CapturedPayload("text/csv", "CSV", "42,51000\\n37,64000"),
        ...     CapturedPayload("text/csv", "CSV", "1\\n0"), uri="s3://bkt/capture/e-1.jsonl")
        >>> frame = captures_to_frame([record], columns=["age", "income"])
        >>> frame[["age", "income", "prediction", "inference_id"]].to_dict("list")
        {'age': [42, 37], 'income': [51000, 64000], 'prediction': [1, 0], \
'inference_id': ['order-1017', 'order-1017']}
    """
    import pandas as pd

    if isinstance(columns, str):
        raise ValidationError("columns: a list of column names, not one string",
                              field="columns")
    rows: list[dict[str, Any]] = []
    for record in records:
        features = ([_named(r, columns, record.event_id)
                     for r in _input_rows(record.input, record.event_id)]
                    if record.input is not None else [])
        predictions = (_output_values(record.output)
                       if include_output and record.output is not None else None)
        if not features:  # output-only capture: a row per answered value
            features = [{} for _ in (predictions or [None])]
        if predictions is not None and len(predictions) != len(features):
            whole = predictions[0] if len(predictions) == 1 else predictions
            predictions = [whole] * len(features)
        for index, row in enumerate(features):
            if include_output:
                row["prediction"] = predictions[index] if predictions is not None else None
            row["inference_id"] = record.inference_id
            row["inference_time"] = record.inference_time
            rows.append(row)
    meta = ["inference_id", "inference_time"]
    tail = (["prediction"] if include_output else []) + meta
    frame: pd.DataFrame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=[*(columns or []), *tail])
        return frame
    names = [c for c in frame.columns if c not in tail]
    frame = frame[[*names, *tail]].copy()
    for name in [*names, *(["prediction"] if include_output else [])]:
        frame[name] = _numeric(frame[name])
    frame["inference_time"] = pd.to_datetime(frame["inference_time"], utc=True)
    return frame
