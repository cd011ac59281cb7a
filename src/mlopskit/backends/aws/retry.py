"""Every AWS call goes through :class:`Caller`: retries for throttling and 5xx on the
session clock, and botocore errors mapped onto :mod:`mlopskit.errors`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from ...clock import Clock
from ...errors import (
    BackendError,
    ConflictError,
    MlopsKitError,
    NotFoundError,
    ThrottledError,
    ValidationError,
)

__all__ = ["THROTTLING_CODES", "Caller", "error_code", "map_error"]

T = TypeVar("T")

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "ProvisionedThroughputExceededException",
    "RequestThrottled", "RequestThrottledException",
})
SERVER_CODES = frozenset({"InternalFailure", "InternalError", "InternalServerError",
                          "ServiceUnavailable", "InternalServerException"})
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError)
_NOT_FOUND_HINTS = ("could not find", "does not exist", "not found", "cannot find")


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_throttling(exc: BaseException) -> bool:
    return error_code(exc) in THROTTLING_CODES or (
        isinstance(exc, ClientError) and _status(exc) == 429)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    if isinstance(exc, ClientError):
        return is_throttling(exc) or error_code(exc) in SERVER_CODES or _status(exc) >= 500
    return False


def map_error(exc: Exception, operation: str, resource: str) -> MlopsKitError:
    """The mlopskit error for a botocore one; the message names the call and resource."""
    if isinstance(exc, ParamValidationError):
        return ValidationError(f"{operation} {resource}: {exc}")
    if not isinstance(exc, ClientError):
        return BackendError(f"{operation} {resource}: {type(exc).__name__}: {exc}")
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    text = f"{operation} {resource}: {code}: {message}"
    lowered = message.lower()
    if code in {"ResourceNotFound", "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket",
                "NotFound", "404"} or (code == "ValidationException"
                                       and any(h in lowered for h in _NOT_FOUND_HINTS)):
        return NotFoundError(text)
    if code in {"ResourceInUse", "ResourceInUseException", "ConflictException"} or \
            "already exists" in lowered:
        return ConflictError(text)
    if code in {"ValidationException", "ValidationError", "InvalidParameterValue"}:
        return ValidationError(text)
    return BackendError(text, code=code or None)


class Caller:
    """Calls a boto3 method with retries: capped exponential backoff plus jitter.

    Sleeping goes through ``clock``, so a :class:`~mlopskit.clock.FakeClock` makes a test of
    the retry policy instant.
    """

    def __init__(self, clock: Clock, *, max_attempts: int, max_backoff: float,
                 initial_backoff: float = 0.5) -> None:
        self.clock = clock
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.initial_backoff = initial_backoff

    def _pause(self, state: RetryCallState) -> float:
        """Exponential backoff plus jitter, never above ``max_backoff``."""
        base = wait_exponential(multiplier=self.initial_backoff, max=self.max_backoff)
        jitter = wait_random(0, self.initial_backoff)
        return float(min(self.max_backoff, base(state) + jitter(state)))

    def __call__(self, method: Callable[..., T], operation: str, resource: str,
                 **kwargs: Any) -> T:
        attempts = [0]

        def once() -> T:
            attempts[0] += 1
            return method(**kwargs)

        def give_up(state: RetryCallState) -> T:
            exc = state.outcome.exception() if state.outcome else None
            assert exc is not None
            if is_throttling(exc):
                raise ThrottledError(
                    f"{operation} {resource}: still throttled after {attempts[0]} attempts "
                    f"({error_code(exc)})", code=error_code(exc)) from exc
            raise BackendError(
                f"{operation} {resource}: failed after {attempts[0]} attempts: {exc}",
                code=error_code(exc) or None) from exc

        retrying = Retrying(
            retry=retry_if_exception(is_retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._pause,
            sleep=self.clock.sleep,
            retry_error_callback=give_up,
            reraise=False,
        )
        try:
            return retrying(once)
        except MlopsKitError:
            raise
        except Exception as exc:  # a non-retryable botocore error
            raise map_error(exc, operation, resource) from exc
