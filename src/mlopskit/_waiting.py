"""Polling a resource until it settles: capped exponential backoff with jitter, on the
session's clock, with a timeout. Shared by every ``wait()`` in the package.

Every ``wait()`` has a finite default timeout, so a job that never ends (a lost instance,
a hung script on a backend that does not enforce its limit) cannot block a script or a CI
run forever. ``timeout=None`` means that default; ``math.inf`` waits without limit.

- jobs (training, processing): the job's own maximum runtime (the limit the backend
  stops it at) plus :data:`JOB_WAIT_MARGIN`, for what happens outside that limit:
  instances starting, images pulled, outputs uploaded, a stop landing.
- transform jobs, pipeline executions and endpoints have no runtime limit of their own,
  so a generous constant each (``DEFAULT_TRANSFORM_TIMEOUT``,
  ``DEFAULT_PIPELINE_TIMEOUT``, ``DEFAULT_ENDPOINT_TIMEOUT``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .clock import Clock
from .errors import ValidationError, WaitTimeoutError

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from ._display import WaitProgress

__all__ = [
    "DEFAULT_PIPELINE_TIMEOUT",
    "DEFAULT_TRANSFORM_TIMEOUT",
    "JOB_WAIT_MARGIN",
    "job_wait_timeout",
    "poll_until",
    "wait_timeout",
]

T = TypeVar("T")

# On top of a job's maximum runtime: SageMaker counts the runtime from when the container
# runs, but a wait also sees instances being provisioned (minutes, longer when capacity is
# short), the image pulled, outputs uploaded after the script ends and a stop landing. An
# hour covers those with room; a job still running then is stuck, not slow.
JOB_WAIT_MARGIN = 3600.0

# A transform job has no runtime limit: it ends when every record has been answered. A day
# is what a training job may run by default, and far more than a batch should take.
DEFAULT_TRANSFORM_TIMEOUT = 24 * 3600.0

# A pipeline runs its steps one after another where they depend on each other, each job
# bounded by its own runtime limit (24 hours by default for training and processing):
# three days cover a chain of a few default-length jobs.
DEFAULT_PIPELINE_TIMEOUT = 3 * 24 * 3600.0


def wait_timeout(timeout: float | None, default: float) -> float:
    """The timeout a ``wait()`` uses: ``timeout``, or ``default`` when it is None. ``0``
    looks once (done: return; not done: WaitTimeoutError); ``math.inf`` never gives up.

    Example:
        >>> wait_timeout(None, 3600.0), wait_timeout(60, 3600.0), wait_timeout(0, 3600.0)
        (3600.0, 60.0, 0.0)
        >>> wait_timeout(-1, 3600.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -1
    """
    limit = default if timeout is None else timeout
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or math.isnan(limit) \
            or limit < 0:
        raise ValidationError(f"timeout: a number of seconds, 0 or more (0 looks once, "
                              f"math.inf waits without limit), got {timeout!r}",
                              field="timeout")
    return float(limit)


def job_wait_timeout(max_runtime: int | None, default_runtime: float) -> float:
    """A job's default wait: its maximum runtime (``default_runtime`` when it has none)
    plus :data:`JOB_WAIT_MARGIN`.

    Example:
        >>> job_wait_timeout(3600, 86400)
        7200.0
        >>> job_wait_timeout(None, 86400)
        90000.0
    """
    runtime = default_runtime if max_runtime is None else max_runtime
    return float(runtime) + JOB_WAIT_MARGIN


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    clock: Clock,
    timeout: float | None,
    initial: float,
    maximum: float,
    describe: Callable[[T], str],
    on_poll: Callable[[T], None] | None = None,
    progress: WaitProgress[T] | None = None,
) -> T:
    """Call ``fetch`` until ``done(result)``; raise :class:`WaitTimeoutError` after ``timeout``.

    Example:
        >>> from mlopskit.clock import FakeClock
        >>> states = iter(["InProgress", "InProgress", "Completed"])
        >>> poll_until(lambda: next(states), lambda s: s == "Completed", clock=FakeClock(),
        ...            timeout=60, initial=1, maximum=10, describe=str)
        'Completed'

    ``progress`` (see :class:`mlopskit._display.WaitProgress`) is shown each poll once the
    first answer says the wait is not over, and closed when the wait ends either way.
    """
    start = clock.monotonic()
    first = fetch()
    if on_poll is not None:
        on_poll(first)
    if done(first):
        return first  # the common case after an in-process run: no need for tenacity
    if progress is None:
        return _wait(fetch, done, first, start, clock=clock, timeout=timeout,
                     initial=initial, maximum=maximum, describe=describe, on_poll=on_poll,
                     progress=None)
    try:
        progress.update(first)
        return _wait(fetch, done, first, start, clock=clock, timeout=timeout,
                     initial=initial, maximum=maximum, describe=describe, on_poll=on_poll,
                     progress=progress)
    finally:
        progress.close()


def _wait(fetch: Callable[[], T], done: Callable[[T], bool], first: T, start: float, *,
          clock: Clock, timeout: float | None, initial: float, maximum: float,
          describe: Callable[[T], str], on_poll: Callable[[T], None] | None,
          progress: WaitProgress[T] | None) -> T:
    # tenacity pulls in asyncio (and tornado when installed): load it only to really wait.
    from tenacity import Retrying, retry_if_result, wait_exponential, wait_random

    last: list[T] = [first]

    def fetch_once() -> T:
        value = fetch()
        last[:] = [value]
        if on_poll is not None:
            on_poll(value)
        if progress is not None:
            progress.update(value)
        return value

    def out_of_time(state: RetryCallState) -> bool:
        return timeout is not None and clock.monotonic() - start >= timeout

    # Capped exponential backoff plus up to `initial` seconds of jitter, never sleeping past
    # the timeout, so a wait overruns it by one fetch at most.
    backoff = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def pause(state: RetryCallState) -> float:
        seconds = float(backoff(state))
        if timeout is not None:
            seconds = min(seconds, max(0.0, timeout - (clock.monotonic() - start)))
        return seconds

    retrying = Retrying(
        retry=retry_if_result(lambda value: not done(value)),
        wait=pause,
        stop=out_of_time,
        sleep=clock.sleep,
        retry_error_callback=lambda state: None,
        reraise=True,
    )
    retrying(fetch_once)
    if last and done(last[0]):
        return last[0]
    state = describe(last[0]) if last else "no answer yet"
    raise WaitTimeoutError(
        f"{state} after waiting {timeout:g} s; it was left as it is: wait again, or stop it"
    )
