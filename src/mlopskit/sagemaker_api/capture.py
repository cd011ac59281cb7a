"""SageMaker's data capture format: the record of one invocation, and the files holding them.

SageMaker writes these files and Model Monitor reads them; the local backend's writer and
:func:`mlopskit.monitoring.read_captures` both go through this module, so they cannot drift
apart:

- files: ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl``
  (UTC; the minute, second and millisecond of the file's first record);
- one JSON object per line: ``captureData.endpointInput`` / ``endpointOutput``
  (``observedContentType``, ``mode``, ``data``, ``encoding``), ``eventMetadata``
  (``eventId``, optional ``inferenceId``, ``inferenceTime``) and ``eventVersion`` ``"0"``.

Example:
    >>> moment = _dt.datetime(2026, 3, 1, 9, 5, 7, 250000, tzinfo=_dt.timezone.utc)
    >>> uri = capture_key("s3://bkt/capture", "churn", "AllTraffic", moment, "u-1")
    >>> uri
    's3://bkt/capture/churn/AllTraffic/2026/03/01/09/05-07-250-u-1.jsonl'
    >>> capture_file(uri)
    ('churn', 'AllTraffic', datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import functools
import json
import os
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    from ..specs.serving import DataCaptureSpec

__all__ = [
    "HOUR",
    "CaptureRecord",
    "CapturedPayload",
    "capture_file",
    "capture_key",
    "capture_line",
    "capture_record",
    "common_hour_prefix",
    "encode_payload",
    "event_id",
    "format_inference_time",
    "hour_prefix",
    "parse_capture_file",
    "parse_inference_time",
]

HOUR = _dt.timedelta(hours=1)
"""Capture files are grouped by the UTC hour of their first record."""


# -- the record --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CapturedPayload:
    """One side of a captured invocation: its content type and body.

    ``data`` is text for bodies captured as CSV or JSON, bytes for base64-captured ones.

    Example:
        >>> payload = CapturedPayload("text/csv; charset=utf-8", "CSV", "42,51000,18")
        >>> payload.media_type, payload.text()
        ('text/csv', '42,51000,18')
        >>> CapturedPayload("application/json", "BASE64", b'{"predictions": [1]}').text()
        '{"predictions": [1]}'
    """

    content_type: str
    encoding: str
    data: str | bytes

    @property
    def media_type(self) -> str:
        """The content type without parameters, lower case (``text/csv``)."""
        return self.content_type.split(";", 1)[0].strip().lower()

    def text(self) -> str:
        """The body as text (UTF-8)."""
        return self.data if isinstance(self.data, str) else self.data.decode("utf-8")


@dataclasses.dataclass(frozen=True)
class CaptureRecord:
    """One captured invocation. ``input`` or ``output`` is None when it was not captured.

    :func:`~mlopskit.monitoring.read_captures` returns these; ``inference_time`` is aware
    (UTC).

    Example:
        >>> import datetime as dt
        >>> record = CaptureRecord(
        ...     "e-1", "order-1017", dt.datetime(2026, 3, 1, 9, 15, tzinfo=dt.timezone.utc),
        ...     "churn", "AllTraffic", CapturedPayload("text/csv", "CSV", "42,51000"),
        ...     CapturedPayload("text/csv", "CSV", "1"), uri="s3://bkt/capture/e-1.jsonl")
        >>> record.inference_id, record.input.text(), record.output.text()
        ('order-1017', '42,51000', '1')
    """

    event_id: str
    inference_id: str | None
    inference_time: _dt.datetime
    endpoint: str
    variant: str
    input: CapturedPayload | None
    output: CapturedPayload | None
    uri: str = dataclasses.field(compare=False, repr=False)


# -- times -------------------------------------------------------------------------------


def format_inference_time(moment: _dt.datetime) -> str:
    """SageMaker's ``inferenceTime``: UTC, to the second, with a ``Z``.

    Example:
        >>> format_inference_time(_dt.datetime(2026, 1, 2, 3, 4, 5, 678000,
        ...                                    tzinfo=_dt.timezone.utc))
        '2026-01-02T03:04:05Z'
    """
    u = moment if moment.tzinfo is _dt.timezone.utc else moment.astimezone(_dt.timezone.utc)
    # by hand, not strftime: this runs on every captured request
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}Z")


def parse_inference_time(text: str) -> _dt.datetime:
    """An ``inferenceTime`` (with or without fractional seconds) as an aware datetime.

    Example:
        >>> parse_inference_time("2026-01-02T03:04:05.5Z").isoformat()
        '2026-01-02T03:04:05.500000+00:00'
    """
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    head, sep, rest = value.partition(".")
    if sep:  # Python 3.10's fromisoformat wants 3 or 6 fraction digits
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[:digits].ljust(6, '0')[:6]}{rest[digits:]}"
    moment = _dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment


# -- writing -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _lowered(types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t.lower() for t in types)


def _side(body: bytes, content_type: str, mode: str, csv_types: Sequence[str],
          json_types: Sequence[str]) -> str:
    """One side of a record as JSON text (built by hand: this runs on every request)."""
    media = content_type.split(";", 1)[0].strip().lower()
    encoding = ("CSV" if media in _lowered(tuple(csv_types)) else
                "JSON" if media in _lowered(tuple(json_types)) else "BASE64")
    data = ""
    if encoding != "BASE64":
        try:
            data = body.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "BASE64"
    if encoding == "BASE64":
        data = base64.b64encode(body).decode("ascii")
    return (f'{{"observedContentType":{_json_string(content_type)},"mode":"{mode}",'
            f'"data":{_json_string(data)},"encoding":"{encoding}"}}')


def encode_payload(body: bytes, content_type: str, mode: str,
                   csv_types: Sequence[str], json_types: Sequence[str]) -> dict[str, str]:
    """One side of a record: CSV or JSON bodies as text (by media type, parameters such as
    ``; charset=utf-8`` ignored), anything else, or text that is not UTF-8, as base64.

    Example:
        >>> encode_payload(b"1,2", "text/csv", "INPUT", ["text/csv"], [])
        {'observedContentType': 'text/csv', 'mode': 'INPUT', 'data': '1,2', 'encoding': 'CSV'}
        >>> encode_payload(b"\\x93NUMPY", "application/x-npy", "OUTPUT", [], [])["encoding"]
        'BASE64'
    """
    decoded: dict[str, str] = json.loads(_side(body, content_type, mode, csv_types,
                                               json_types))
    return decoded


def event_id() -> str:
    """A fresh random (version 4) UUID as text, for ``eventMetadata.eventId``.

    Example:
        >>> import uuid
        >>> uuid.UUID(event_id()).version
        4
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def capture_line(spec: DataCaptureSpec, *, event_id: str, moment: _dt.datetime,
                 body: bytes, content_type: str, reply: bytes, reply_type: str,
                 inference_id: str | None = None) -> bytes:
    """One captured invocation as SageMaker's JSON line (compact, ``\\n``-terminated)."""
    sides = []
    if spec.captures_input:
        sides.append('"endpointInput":' + _side(body, content_type, "INPUT",
                                                spec.csv_content_types,
                                                spec.json_content_types))
    if spec.captures_output:
        sides.append('"endpointOutput":' + _side(reply, reply_type, "OUTPUT",
                                                 spec.csv_content_types,
                                                 spec.json_content_types))
    tagged = f',"inferenceId":{_json_string(inference_id)}' if inference_id is not None else ""
    return (f'{{"captureData":{{{",".join(sides)}}},"eventMetadata":{{"eventId":'
            f'{_json_string(event_id)}{tagged},"inferenceTime":'
            f'"{format_inference_time(moment)}"}},"eventVersion":"0"}}\n').encode("ascii")


def capture_record(spec: DataCaptureSpec, *, event_id: str, moment: _dt.datetime,
                   body: bytes, content_type: str, reply: bytes, reply_type: str,
                   inference_id: str | None = None) -> dict[str, Any]:
    """The JSON object SageMaker writes for one captured invocation.

    Example:
        >>> from mlopskit.specs.serving import DataCaptureSpec
        >>> spec = DataCaptureSpec(destination_s3_uri="s3://bkt/c", capture=("Input",))
        >>> record = capture_record(spec, event_id="e-1", body=b"1,2", content_type="text/csv",
        ...     reply=b"[1]", reply_type="application/json", inference_id="r-7",
        ...     moment=_dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc))
        >>> sorted(record["captureData"]), record["eventMetadata"]
        (['endpointInput'], {'eventId': 'e-1', 'inferenceId': 'r-7', 'inferenceTime': '2026-01-01T00:00:00Z'})
    """  # noqa: E501 - a doctest's expected line
    record: dict[str, Any] = json.loads(capture_line(
        spec, event_id=event_id, moment=moment, body=body, content_type=content_type,
        reply=reply, reply_type=reply_type, inference_id=inference_id))
    return record


# -- the file layout ---------------------------------------------------------------------


def hour_prefix(destination: str, endpoint: str, variant: str, moment: _dt.datetime) -> str:
    """``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`` for ``moment`` (UTC)."""
    utc = moment.astimezone(_dt.timezone.utc)
    return f"{destination.rstrip('/')}/{endpoint}/{variant}/{utc:%Y/%m/%d/%H}/"


def capture_key(destination: str, endpoint: str, variant: str, moment: _dt.datetime,
                unique: str) -> str:
    """The URI of a capture file whose first record is from ``moment``."""
    utc = moment.astimezone(_dt.timezone.utc)
    stamp = f"{utc:%M-%S}-{utc.microsecond // 1000:03d}"
    return f"{hour_prefix(destination, endpoint, variant, utc)}{stamp}-{unique}.jsonl"


def capture_file(uri: str) -> tuple[str, str, _dt.datetime] | None:
    """The endpoint, variant and UTC hour of a capture file's URI (the inverse of
    :func:`capture_key`), or None when the URI is not laid out as one.

    Example:
        >>> capture_file("s3://bkt/capture/churn/AllTraffic/2026/03/01/notes.txt") is None
        True
    """
    parts = uri.split("/")[3:]  # s3://bucket/... -> the key's parts
    if len(parts) < 7 or not parts[-1].endswith(".jsonl"):
        return None
    hour = _hour_of(parts[-5:-1])
    if hour is None:
        return None
    return parts[-7], parts[-6], hour


def _hour_of(parts: Sequence[str]) -> _dt.datetime | None:
    if [len(p) for p in parts] != [4, 2, 2, 2] or not all(p.isdigit() for p in parts):
        return None
    try:
        year, month, day, hour = (int(p) for p in parts)
        return _dt.datetime(year, month, day, hour, tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


def common_hour_prefix(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    """The ``yyyy/mm/dd/hh/`` folders every hour of ``[start, end)`` shares, as a prefix
    (below a variant's folder); empty when either bound is None.

    Example:
        >>> nine = _dt.datetime(2026, 3, 1, 9, tzinfo=_dt.timezone.utc)
        >>> common_hour_prefix(nine, nine + HOUR), common_hour_prefix(nine, nine + 2 * HOUR)
        ('2026/03/01/09/', '2026/03/01/')
    """
    if start is None or end is None:
        return ""
    first = start.astimezone(_dt.timezone.utc).strftime("%Y/%m/%d/%H/")
    last = (end - _dt.timedelta(microseconds=1)).astimezone(_dt.timezone.utc).strftime(
        "%Y/%m/%d/%H/")
    shared = ""
    for a, b in zip(first.split("/"), last.split("/"), strict=True):
        if a != b or not a:
            break
        shared += a + "/"
    return shared


# -- reading -----------------------------------------------------------------------------


def _payload(side: Any) -> CapturedPayload | None:
    if side is None:
        return None
    encoding = str(side.get("encoding", "BASE64"))
    raw = side.get("data", "")
    data: str | bytes = base64.b64decode(raw) if encoding == "BASE64" else str(raw)
    return CapturedPayload(str(side.get("observedContentType", "")), encoding, data)


def parse_capture_file(uri: str, content: bytes, endpoint: str,
                       variant: str) -> list[CaptureRecord]:
    """The records of one capture file, in line order. A last line without its ``\\n``
    that does not parse is one still being written, and is skipped; any other bad line is
    a :class:`~mlopskit.errors.ValidationError` naming ``uri`` and the line.

    Example:
        >>> line = (b'{"captureData": {"endpointInput": {"observedContentType": "text/csv", '
        ...         b'"mode": "INPUT", "data": "1,2", "encoding": "CSV"}}, "eventMetadata": '
        ...         b'{"eventId": "e-1", "inferenceTime": "2026-03-01T09:15:00Z"}, '
        ...         b'"eventVersion": "0"}\\n')
        >>> [(r.event_id, r.input.data) for r in parse_capture_file(
        ...     "s3://bkt/f.jsonl", line + b'{"captureDa', "churn", "AllTraffic")]
        [('e-1', '1,2')]
    """
    lines = content.split(b"\n")
    complete = content.endswith(b"\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            data = item["captureData"]
            metadata = item["eventMetadata"]
            records.append(CaptureRecord(
                event_id=str(metadata["eventId"]), inference_id=metadata.get("inferenceId"),
                inference_time=parse_inference_time(str(metadata["inferenceTime"])),
                endpoint=endpoint, variant=variant, input=_payload(data.get("endpointInput")),
                output=_payload(data.get("endpointOutput")), uri=uri))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            if number == len(lines) and not complete:
                break  # the last line of a file still being appended to
            raise ValidationError(f"{uri} line {number}: not a data capture record ({exc})",
                                  field="source") from None
    return records
