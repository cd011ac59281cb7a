"""Every AWS call goes through :class:`Caller`: retries for throttling, 5xx and network
errors on the session clock, and botocore errors mapped onto :mod:`mlopskit.errors`.

A network error is retried only when a retry cannot apply a request twice: one that never
reached AWS (could not connect, connect timeout) always is; one whose answer was lost (read
timeout, connection closed mid-answer) only when the operation is idempotent (see
:func:`is_idempotent`). Otherwise it is a :class:`~mlopskit.errors.BackendError` at once,
saying the request may have been applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
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

__all__ = ["THROTTLING_CODES", "Caller", "error_code", "is_idempotent", "is_retryable",
           "map_error"]

T = TypeVar("T")

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "ProvisionedThroughputExceededException",
    "RequestThrottled", "RequestThrottledException",
})
SERVER_CODES = frozenset({"InternalFailure", "InternalError", "InternalServerError",
                          "ServiceUnavailable", "InternalServerException"})
# The request never reached AWS: safe to send again, whatever it does.
_NOT_SENT_ERRORS = (EndpointConnectionError, ConnectTimeoutError)
# The request went out and its answer was lost: AWS may have applied it.
_ANSWER_LOST_ERRORS = (ReadTimeoutError, ConnectionClosedError, ResponseStreamingError,
                       IncompleteReadError)
# Calls that only read, by the verb their operation name starts with.
_READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Head", "Search", "BatchDescribe",
                       "BatchGet")
# Writes whose replay leaves the same state: S3 puts the same bytes under the key again,
# and deleting a missing key succeeds.
_IDEMPOTENT_WRITES = frozenset({"PutObject", "DeleteObject"})
# A token the service deduplicates on: a replay with the same one is not applied twice.
_IDEMPOTENCY_TOKENS = ("ClientRequestToken", "ClientToken")
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


def is_idempotent(operation: str, request: Mapping[str, Any] | None = None) -> bool:
    """Whether sending ``operation`` twice does no more than sending it once: read-only
    calls (Describe*, List*, Get*, Head*, Search*, ...), S3's PutObject and DeleteObject,
    and any call carrying a ``ClientRequestToken``/``ClientToken``.

    Example:
        >>> is_idempotent("DescribeTrainingJob"), is_idempotent("CreateTrainingJob")
        (True, False)
        >>> is_idempotent("StartPipelineExecution", {"ClientRequestToken": "5f0c..."})
        True
    """
    return (operation.startswith(_READ_ONLY_PREFIXES) or operation in _IDEMPOTENT_WRITES
            or any(request and request.get(token) for token in _IDEMPOTENCY_TOKENS))


def is_retryable(exc: BaseException, operation: str = "",
                 request: Mapping[str, Any] | None = None) -> bool:
    """Whether ``exc``, raised by ``operation`` sent with ``request``, is worth a retry."""
    if isinstance(exc, _NOT_SENT_ERRORS):
        return True
    if isinstance(exc, _ANSWER_LOST_ERRORS):
        return is_idempotent(operation, request)
    if isinstance(exc, ClientError):
        return is_throttling(exc) or error_code(exc) in SERVER_CODES or _status(exc) >= 500
    return False


def map_error(exc: Exception, operation: str, resource: str) -> MlopsKitError:
    """The mlopskit error for a botocore one; the message names the call and resource."""
    if isinstance(exc, ParamValidationError):
        return ValidationError(f"{operation} {resource}: {exc}")
    if isinstance(exc, _ANSWER_LOST_ERRORS):
        return BackendError(
            f"{operation} {resource}: {type(exc).__name__}: {exc}; the request may have been "
            "applied (it is not retried, so it cannot be applied twice): check the resource "
            "before trying again")
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
            retry=retry_if_exception(lambda exc: is_retryable(exc, operation, kwargs)),
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

    def collect(self, client: Any, method: str, operation: str, resource: str,
                result_key: str, **kwargs: Any) -> list[Any]:
        """Every ``result_key`` item of a paginated call, over all its pages.

        botocore's paginator for ``method`` follows the service's tokens; the whole walk is
        one retried call (a retry starts again from the first page, so nothing is counted
        twice). Meant for short listings such as a job's tags or log streams.
        """
        paginator = client.get_paginator(method)

        def walk() -> list[Any]:
            return [item for page in paginator.paginate(**kwargs)
                    for item in page.get(result_key, [])]

        return self(walk, operation, resource)
