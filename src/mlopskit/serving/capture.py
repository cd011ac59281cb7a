"""Data capture: which requests an endpoint records, and the ``InferenceId`` they carry.

:class:`DataCaptureConfig` is what users pass to ``deploy``. The format SageMaker writes and
Model Monitor reads (records and file layout) is in :mod:`mlopskit.sagemaker_api.capture`,
shared by the local backend's writer and :func:`mlopskit.monitoring.read_captures`.

Example:
    >>> config = DataCaptureConfig(sampling_percent=20, destination_s3_uri="s3://bkt/capture")
    >>> config.capture, config.sampling_percent
    (('Input', 'Output'), 20)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..specs._common import build

if TYPE_CHECKING:
    from ..session import Session
    from ..specs.serving import DataCaptureSpec

__all__ = ["DEFAULT_DESTINATION_KEY", "DataCaptureConfig", "check_inference_id"]

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
