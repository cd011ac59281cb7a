"""Polling a resource until it settles: capped exponential backoff with jitter, on the
session's clock, with a timeout. Shared by every ``wait()`` in the package."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .clock import Clock
from .errors import WaitTimeoutError

if TYPE_CHECKING:
    from tenacity import RetryCallState

    from ._display import WaitProgress

__all__ = ["poll_until"]

T = TypeVar("T")


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
