"""The one door to MLflow: importing it (an optional extra), keeping its HTTP retries short
for our calls, and keeping credentials out of what we show.

Nothing here imports MLflow at module level, so ``import mlopskit.tracking`` stays light.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
from collections.abc import Iterator
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

from ..errors import MissingDependencyError

__all__ = ["INSTALL_HINT", "redact", "require_mlflow", "short_http_retries", "without_userinfo"]

INSTALL_HINT = 'pip install "mlopskit[tracking]"'

# MLflow reads these on every HTTP request; its defaults (7 retries, backoff factor 2,
# 120 s per request) make a call to a server that went away last minutes.
_RETRIES, _BACKOFF, _JITTER, _TIMEOUT = (
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "MLFLOW_HTTP_REQUEST_TIMEOUT")
_env_lock = threading.Lock()
_env_depth = 0
_env_set: list[str] = []


def require_mlflow() -> ModuleType:
    """The ``mlflow`` module, or a MissingDependencyError naming the extra to install.

    Example:
        >>> require_mlflow().__name__
        'mlflow'
    """
    try:
        import mlflow
    except ImportError as exc:
        raise MissingDependencyError(
            f"experiment tracking needs MLflow, an optional extra: {INSTALL_HINT} "
            f"({exc})", extra="tracking") from exc
    return mlflow


def without_userinfo(uri: str) -> str:
    """``uri`` with any ``user:password@`` removed from its network location.

    Example:
        >>> without_userinfo("http://user:secret@127.0.0.1:5000/mlflow")
        'http://127.0.0.1:5000/mlflow'
        >>> without_userinfo("sqlite:////tmp/mlflow.db")
        'sqlite:////tmp/mlflow.db'
    """
    parts = urlsplit(uri)
    if not parts.netloc or "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def redact(text: str) -> str:
    """``text`` (an error message from MLflow, requests or urllib) with the user part of
    every URI in it removed.

    Example:
        >>> redact("API request to http://u:pw@host:5000/api failed")
        'API request to http://host:5000/api failed'
    """
    return re.sub(r"//[^/@\s'\"]+@", "//", text)


@contextlib.contextmanager
def short_http_retries(timeout: float) -> Iterator[None]:
    """While inside, MLflow's HTTP calls retry at most twice, with a 1 s backoff and no
    jitter, and each request times out after ``timeout`` seconds (rounded up).

    MLflow reads its ``MLFLOW_HTTP_REQUEST_*`` settings from the environment on every
    request, so they are set for the duration of the block and removed after it (the
    outermost of overlapping blocks, from any thread, removes them). A setting you put in
    the environment yourself is kept as it is. Another thread calling MLflow at the same
    time sees the short settings too.
    """
    global _env_depth
    values = {_RETRIES: "2", _BACKOFF: "1", _JITTER: "0",
              _TIMEOUT: str(max(1, math.ceil(timeout)))}
    with _env_lock:
        if _env_depth == 0:
            _env_set[:] = [name for name in values if name not in os.environ]
            for name in _env_set:
                os.environ[name] = values[name]
        _env_depth += 1
    try:
        yield
    finally:
        with _env_lock:
            _env_depth -= 1
            if _env_depth == 0:
                for name in _env_set:
                    os.environ.pop(name, None)
                _env_set.clear()
