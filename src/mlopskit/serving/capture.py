"""Data capture: which requests an endpoint records, and SageMaker's record and file format.

:class:`DataCaptureConfig` is what users pass to ``deploy``. The rest of this module is the
format SageMaker writes and Model Monitor reads, kept in one place so the local backend's
writer and :mod:`mlopskit.monitoring.capture`'s reader cannot drift apart:

- files: ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm>-<ss>-<mmm>-<uuid>.jsonl``
  (UTC; the minute, second and millisecond of the file's first record);
- one JSON object per line: ``captureData.endpointInput`` / ``endpointOutput``
  (``observedContentType``, ``mode``, ``data``, ``encoding``), ``eventMetadata``
  (``eventId``, optional ``inferenceId``, ``inferenceTime``) and ``eventVersion`` ``"0"``.

Example:
    >>> config = DataCaptureConfig(sampling_percent=20, destination_s3_uri="s3://bkt/capture")
    >>> config.capture, config.sampling_percent
    (('Input', 'Output'), 20)
    >>> capture_key("s3://bkt/capture", "churn", "AllTraffic",
    ...             _dt.datetime(2026, 3, 1, 9, 5, 7, 250000, tzinfo=_dt.timezone.utc), "u-1")
    's3://bkt/capture/churn/AllTraffic/2026/03/01/09/05-07-250-u-1.jsonl'
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import functools
import json
import os
import re
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..specs._common import build

if TYPE_CHECKING:
    from ..session import Session
    from ..specs.serving import DataCaptureSpec

__all__ = [
    "DEFAULT_DESTINATION_KEY",
    "DataCaptureConfig",
    "capture_key",
    "capture_line",
    "capture_record",
    "check_inference_id",
    "encode_payload",
    "event_id",
    "format_inference_time",
    "hour_prefix",
    "parse_inference_time",
]

# The SageMaker SDK's default: s3://<session bucket>/model-monitor/data-capture
DEFAULT_DESTINATION_KEY = "model-monitor/data-capture"
# InvokeEndpoint's InferenceId: 1..64 characters, ``\A\S[\p{Print}]*\z`` in the service
# model (Java's \p{Print} is printable ASCII), so: printable ASCII, not starting with a space.
_INFERENCE_ID = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,63}")


@dataclasses.dataclass(frozen=True)
class DataCaptureConfig:
    """Record an endpoint's requests and answers to S3, as SageMaker's data capture does.

    ``sampling_percent`` of the requests (0..100) are captured; ``capture`` says what of
    each (``"Input"``, ``"Output"`` or both); bodies whose content type is in
    ``csv_content_types`` or ``json_content_types`` are stored as text, others base64.
    ``destination_s3_uri`` defaults to ``s3://<session bucket>/model-monitor/data-capture``.

    Example:
        >>> DataCaptureConfig(sampling_percent=101)
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: data_capture_config.sampling_percent: must be a whole number from 0 to 100 (a percentage of requests) (got 101)
    """  # noqa: E501 - a doctest's expected line

    sampling_percent: int = 100
    destination_s3_uri: str | None = None
    capture: Sequence[str] = ("Input", "Output")
    csv_content_types: Sequence[str] = ("text/csv",)
    json_content_types: Sequence[str] = ("application/json",)
    enabled: bool = True
    kms_key_id: str | None = None

    def __post_init__(self) -> None:
        spec = self._build(self.destination_s3_uri or "s3://placeholder-bucket/capture")
        # Lists become tuples, so the config stays hashable and comparable.
        for name in ("capture", "csv_content_types", "json_content_types"):
            object.__setattr__(self, name, getattr(spec, name))

    def _build(self, destination: str) -> DataCaptureSpec:
        from ..specs.serving import DataCaptureSpec

        return build(DataCaptureSpec, "data_capture_config.", enabled=self.enabled,
                     sampling_percent=self.sampling_percent, destination_s3_uri=destination,
                     capture=self.capture, csv_content_types=self.csv_content_types,
                     json_content_types=self.json_content_types, kms_key_id=self.kms_key_id)

    def spec(self, session: Session) -> DataCaptureSpec:
        """The config as a spec, the destination defaulting to the session's bucket."""
        return self._build(self.destination_s3_uri or
                           f"s3://{session.default_bucket}/{DEFAULT_DESTINATION_KEY}")


def check_inference_id(value: Any) -> str:
    """Check an ``InferenceId``: 1 to 64 printable ASCII characters, not starting with a
    space (InvokeEndpoint's pattern).

    Example:
        >>> check_inference_id("order-1234")
        'order-1234'
    """
    if not isinstance(value, str) or not _INFERENCE_ID.fullmatch(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ValidationError(
            f"inference_id: {shown} is not allowed; expected 1 to 64 printable ASCII "
            "characters, the first not a space", field="inference_id")
    return value


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
