"""The caller's side of a local endpoint's HTTP: one kept-alive connection per thread and
server, and the rule that a request is sent at most once.
"""

from __future__ import annotations

import http.client
import select
import time
from typing import Any

from ...errors import InvocationError
from ...specs.serving import DEFAULT_INVOCATION_TIMEOUT
from ._server_process import gone

__all__ = ["Pool", "post"]

Pool = dict[int, tuple[http.client.HTTPConnection, float]]  # port -> connection, last used
# The client waits this much longer than a variant's invocation_timeout for an answer: the
# server answers 504 itself at the timeout, so the margin only covers the wire.
_READ_MARGIN = 5.0
# A kept-alive connection idle longer than this is replaced rather than reused: the server
# closes connections idle for its read timeout (60 s), and a request written into one it is
# closing could not be told apart from one it received, so it could not be sent again.
_POOL_IDLE = 20.0


def post(pool: Pool, port: int, body: bytes, content_type: str, accept: str | None, *,
         timeout: float | None = None, pid: int | None = None) -> tuple[int, bytes, str]:
    """POST ``body`` to the server on ``port`` over the kept-alive connection in ``pool``
    (one pool per thread).

    The request is sent at most once. It goes again, once, on a new connection only when
    it provably never reached the server: the kept-alive connection was found closed
    before it was used, or writing the request failed (a server that closed the
    connection cannot have read all of it). Once it is written, any failure (no answer
    within ``timeout`` plus a margin, a dropped connection) is an
    :class:`~mlopskit.errors.InvocationError`: 504 for a timeout, 503 otherwise. ``pid``
    is the server's: a new connection is only opened while it runs (its port could
    otherwise belong to another process by now).
    """
    headers = {"Content-Type": content_type}
    if accept:
        headers["Accept"] = accept
    wait = float(timeout or DEFAULT_INVOCATION_TIMEOUT) + _READ_MARGIN
    for attempt in (1, 2):
        conn, fresh = _connection(pool, port, wait, pid)
        try:
            conn.request("POST", "/invocations", body=body, headers=headers)
        except OSError as exc:  # not written whole: the server cannot have run it
            conn.close()
            pool.pop(port, None)
            if fresh or attempt == 2:
                raise InvocationError(f"the server on port {port} is unreachable: {exc}",
                                      status=503) from None
            continue
        try:
            response = conn.getresponse()
            data = response.read()
        except TimeoutError:
            conn.close()
            pool.pop(port, None)
            raise InvocationError(f"no answer from the server on port {port} within "
                                  f"{wait:g} s", status=504) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            pool.pop(port, None)
            raise InvocationError(
                f"the server on port {port} closed the connection without an answer "
                f"({type(exc).__name__}: {exc}); the request was not sent again, as it "
                "may have been processed", status=503) from None
        if response.will_close:
            conn.close()
            pool.pop(port, None)
        else:
            pool[port] = (conn, time.monotonic())
        return response.status, data, response.getheader("Content-Type") or ""
    raise AssertionError("unreachable")  # pragma: no cover


def _connection(pool: Pool, port: int, wait: float,
                pid: int | None) -> tuple[http.client.HTTPConnection, bool]:
    """A connection to ``port`` and whether it is new: the pooled one when it was used
    recently and the server has not closed it, else a new one."""
    pooled = pool.pop(port, None)
    if pooled is not None:
        conn, used = pooled
        if conn.sock is not None and time.monotonic() - used < _POOL_IDLE and \
                not _readable(conn.sock):
            conn.timeout = wait
            conn.sock.settimeout(wait)
            pool[port] = (conn, used)
            return conn, False
        conn.close()  # closed by the server (EOF is readable), or about to be
    if pid is not None and gone(pid):
        raise InvocationError(f"the server on port {port} (pid {pid}) has exited",
                              status=503)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=wait)
    try:
        conn.connect()
    except OSError as exc:
        conn.close()
        raise InvocationError(f"the server on port {port} is unreachable: {exc}",
                              status=503) from None
    pool[port] = (conn, time.monotonic())
    return conn, True


def _readable(sock: Any) -> bool:
    """Whether an idle kept-alive socket has something to read: the server's EOF (it closed
    the connection), which must be found before a request is written into it."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
