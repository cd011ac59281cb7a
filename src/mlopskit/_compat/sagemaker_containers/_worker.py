"""``Response``: what an ``output_fn`` or ``transform_fn`` returns, without Flask.

The original ``worker.Response`` is a Flask response; this one keeps its constructor and the
part of the Flask interface a server reads (``get_data()``, ``data``, ``status_code``,
``status``, ``mimetype``, ``content_type``, ``headers``), which is all the local inference
server needs. No server lives here: the local backend serves the script itself.

>>> reply = Response('{"a": 1}')
>>> reply.status_code, reply.mimetype, reply.get_data()
(200, 'application/json', b'{"a": 1}')
>>> reply = Response("1,2\\n", mimetype="text/csv", status="201 CREATED")
>>> reply.status, reply.content_type
('201 CREATED', 'text/csv; charset=utf-8')
"""

from __future__ import annotations

import http
import warnings
from collections.abc import Iterable, Mapping
from typing import Literal, overload

from . import _content_types

__all__ = ["Response"]

Body = str | bytes | bytearray | memoryview | Iterable[str | bytes] | None
Headers = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _body_bytes(response: object) -> bytes:
    if response is None:
        return b""
    if isinstance(response, str):
        return response.encode("utf-8")
    if isinstance(response, (bytes, bytearray, memoryview)):
        return bytes(response)
    if isinstance(response, Iterable) and not hasattr(response, "dtype"):
        return b"".join(_chunk_bytes(chunk) for chunk in response)
    raise TypeError(f"a Response body must be str, bytes or an iterable of them, got "
                    f"{type(response).__name__}; encode arrays first, e.g. with "
                    "encoders.encode(prediction, accept)")


def _chunk_bytes(chunk: object) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError(f"a Response body iterable must yield str or bytes, got "
                    f"{type(chunk).__name__}")


def _status_line(status: int | str) -> tuple[int, str]:
    """``(code, "CODE REASON")`` from an int or a ``"200"``/``"200 OK"`` string."""
    if isinstance(status, int):
        code, reason = int(status), ""
    else:
        head, _, reason = str(status).strip().partition(" ")
        try:
            code = int(head)
        except ValueError:
            raise ValueError(f"status must be an int or a string such as '200 OK', got "
                             f"{status!r}") from None
    if not 100 <= code <= 999:
        raise ValueError(f"status must be an HTTP status code (100-999), got {status!r}")
    if not reason:
        try:
            reason = http.HTTPStatus(code).phrase.upper()
        except ValueError:
            reason = "UNKNOWN"
    return code, f"{code} {reason.strip()}"


def _with_charset(mimetype: str) -> str:
    # Like Flask, text types are labelled as UTF-8 (the encoding bodies are written in).
    if mimetype.startswith("text/") and "charset=" not in mimetype.lower():
        return f"{mimetype}; charset=utf-8"
    return mimetype


class Response:
    """A response body with its status and content type.

    ``response`` is ``str`` (sent as UTF-8), ``bytes`` or an iterable of those; ``status`` an
    ``int`` or a string like ``"200 OK"``; ``mimetype`` defaults to ``application/json`` and
    text types get ``; charset=utf-8`` in ``content_type``. A full ``content_type`` (or a
    ``Content-Type`` in ``headers``) is used as given. ``accept`` is deprecated and ignored, as
    in the original: pass ``mimetype=accept``.
    """

    default_mimetype = _content_types.JSON

    def __init__(
        self,
        response: Body = None,
        accept: str | None = None,
        status: int | str = http.HTTPStatus.OK,
        headers: Headers = None,
        mimetype: str | None = None,
        direct_passthrough: bool = False,
        *,
        content_type: str | None = None,
    ) -> None:
        if accept:
            warnings.warn("Response(accept=...) is deprecated and ignored: the content type "
                          "comes from mimetype or content_type", DeprecationWarning,
                          stacklevel=2)
        self._data = _body_bytes(response)
        self.status_code, self.status = _status_line(status)
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
        self.headers: dict[str, str] = {str(k): str(v) for k, v in items}
        given = next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)
        if content_type is None:
            if mimetype is None and given is None:
                mimetype = self.default_mimetype
            if mimetype is not None:
                content_type = _with_charset(mimetype)
        if content_type is not None:
            self.headers = {k: v for k, v in self.headers.items() if k.lower() != "content-type"}
            self.headers["Content-Type"] = content_type
        self.direct_passthrough = direct_passthrough

    @property
    def content_type(self) -> str | None:
        """The full ``Content-Type`` header, e.g. ``text/csv; charset=utf-8``."""
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), None)

    @property
    def mimetype(self) -> str | None:
        """The content type without parameters, e.g. ``text/csv``."""
        content_type = self.content_type
        return content_type.split(";")[0].strip() if content_type else None

    @property
    def data(self) -> bytes:
        """The body as bytes."""
        return self._data

    @overload
    def get_data(self, as_text: Literal[False] = False) -> bytes: ...

    @overload
    def get_data(self, as_text: Literal[True]) -> str: ...

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The body as bytes, or decoded from UTF-8 with ``as_text=True``."""
        return self._data.decode("utf-8") if as_text else self._data

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._data)} bytes [{self.status}]>"
