"""The local backend's data capture writer: SageMaker's JSON lines files in the object store
(the format: :mod:`mlopskit.sagemaker_api.capture`).

Capture happens in the caller, beside the routing, so every record carries the session
clock's time (a ``FakeClock`` in tests) and the servers stay unaware of it.

Concurrency: each process writes its own files, one per endpoint, variant and hour (the
name ends in a fresh UUID, as SageMaker's do), opened with ``O_APPEND``. Each record is
one complete line written by one ``write`` call under a per-process lock, so threads never
interleave and processes never share a file: no line is torn or lost. A file is visible
(and readable) from its first record on; a reader that meets a last line still being
written skips it (see :func:`mlopskit.sagemaker_api.capture.parse_capture_file`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import threading
from typing import TYPE_CHECKING

from ...sagemaker_api.capture import capture_key, capture_line, event_id

if TYPE_CHECKING:
    from ...specs.serving import DataCaptureSpec
    from .objectstore import LocalObjectStore

__all__ = ["CaptureWriter"]

log = logging.getLogger(__name__)


class CaptureWriter:
    """Appends capture records to this process's current file for each variant and hour."""

    def __init__(self, objects: LocalObjectStore) -> None:
        self.objects = objects
        self._lock = threading.Lock()
        self._pid = os.getpid()
        # (destination, endpoint, variant) -> (UTC hour, open file descriptor)
        self._files: dict[tuple[str, str, str], tuple[tuple[int, int, int, int], int]] = {}

    def write(self, spec: DataCaptureSpec, endpoint: str, variant: str,
              moment: _dt.datetime, body: bytes, content_type: str, reply: bytes,
              reply_type: str, inference_id: str | None) -> None:
        """Capture one invocation. Never raises: a failed capture must not fail the request
        (SageMaker drops captures rather than requests, too); it is logged instead."""
        line = capture_line(spec, event_id=event_id(), moment=moment, body=body,
                            content_type=content_type, reply=reply, reply_type=reply_type,
                            inference_id=inference_id)
        try:
            with self._lock:
                fd = self._file(spec.destination_s3_uri, endpoint, variant, moment)
                view = memoryview(line)
                while view:  # a regular file takes it whole; loop in case it does not
                    view = view[os.write(fd, view):]
        except OSError as exc:
            log.warning("data capture for endpoint %r variant %r failed: %s", endpoint,
                        variant, exc)

    def _file(self, destination: str, endpoint: str, variant: str,
              moment: _dt.datetime) -> int:
        if os.getpid() != self._pid:  # a forked child writes its own files
            self._files = {}
            self._pid = os.getpid()
        key = (destination, endpoint, variant)
        utc = moment if moment.tzinfo is _dt.timezone.utc else \
            moment.astimezone(_dt.timezone.utc)
        hour = (utc.year, utc.month, utc.day, utc.hour)
        current = self._files.get(key)
        if current is not None:
            current_hour, fd = current
            # Same hour and the file still there (someone may have deleted the captures).
            if current_hour == hour and os.fstat(fd).st_nlink > 0:
                return fd
            os.close(fd)
            del self._files[key]
        path = self.objects.path_for(capture_key(destination, endpoint, variant, utc,
                                                 event_id()))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        self._files[key] = (hour, fd)
        return fd

    def close(self) -> None:
        with self._lock:
            if os.getpid() == self._pid:
                for _, fd in self._files.values():
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._files = {}
