"""What training, processing and transform jobs share: one handle and one submit path.

:class:`Job` is the handle (name, arn, status, describe, wait, logs, stop, attach, list);
:class:`~mlopskit.TrainingJob`, :class:`~mlopskit.ProcessingJob` and
:class:`~mlopskit.TransformJob` add what their kind reports. :func:`submit` is the one way
a job starts: check the spec, refuse a taken name, upload, create, and on any failure
remove what was uploaded for a job that never came to exist.

Policy lives here, not in the backends: a backend's :class:`~mlopskit.backends.base.JobVerbs`
return after their call, and this module waits (timeouts on the session clock, progress
bars, log printing). A backend that runs jobs in this process (``IN_PROCESS_WAIT``, the
local one) is asked to run a waited-on job *attached*: it returns when the job has ended
and hands each log line to the callback given here.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, overload

from . import _display
from ._data import local_path, upload_path
from ._display import WaitProgress, progress_sink
from ._waiting import poll_until, wait_timeout
from .backends.base import TERMINAL_STATUSES, Backend, Capability, JobVerbs, ObjectStore
from .clock import SystemClock
from .errors import CapabilityError, ConflictError, JobFailedError, MlopsKitError, ValidationError
from .session import Session, resolve_session
from .specs._common import check_name, refuse_variables, with_tokens

if TYPE_CHECKING:
    from typing_extensions import Self

    from .tracking.jobs import RunPlan

__all__ = ["Job", "check_spec", "checked_job_name", "described", "free_name", "print_line",
           "submit", "upload_local"]


class _Description(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def creation_time(self) -> _dt.datetime | None: ...

    @property
    def start_time(self) -> _dt.datetime | None: ...

    @property
    def end_time(self) -> _dt.datetime | None: ...

    @property
    def arn(self) -> str: ...

    @property
    def failure_reason(self) -> str | None: ...


DescriptionT = TypeVar("DescriptionT", bound=_Description)
Rows = Sequence[tuple[str, object]]  # an HTML card's (label, value) rows
SpecT = TypeVar("SpecT")
T = TypeVar("T")
JobT = TypeVar("JobT", bound="Job[Any]")


def print_line(line: str) -> None:
    """Write one log line of a job to stdout (the user asked for logs: that is the point)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def checked_job_name(job_name: str | None) -> str | None:
    """``job_name`` as given, after checking it is a SageMaker job name."""
    if job_name is not None:
        try:
            check_name(job_name, kind="job_name")
        except ValueError as exc:
            raise ValidationError(f"job_name: {exc}", field="job_name") from None
    return job_name


def free_name(session: Session, verbs: JobVerbs[Any, Any], base: str, *,
              limit: int = 63) -> str:
    """``<base>-YYYY-MM-DD-HH-MM-SS-mmm`` on the session clock, as the SageMaker SDK names
    jobs, unique on the backend: a clock that has not moved (a FakeClock, or two jobs in one
    millisecond) would repeat a name, so the stamp steps a millisecond until it is free.

    ``base`` is cut so the name fits ``limit`` characters (63; a tuning job's 32 take the
    short stamp ``YYMMDD-HHMMSSmmm``); the characters it may not hold become ``-``.
    """
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or verbs.kind
    moment = session.clock.now()
    name = base
    pattern = "%Y-%m-%d-%H-%M-%S-%f" if limit >= 40 else "%y%m%d-%H%M%S%f"
    for _ in range(1000):
        stamp = moment.strftime(pattern)[:-3]
        name = f"{base[: limit - len(stamp) - 1].rstrip('-')}-{stamp}"
        if not verbs.exists(name):
            return name
        moment += _dt.timedelta(milliseconds=1)
    return name  # the create call will report the conflict


class _Hosts(Protocol):
    @property
    def instance_count(self) -> int: ...


def check_spec(session: Session, spec: _Hosts, *, owner: str,
               instance_count_variable: Any = None) -> None:
    """Refuse, before anything is made, what runs only inside a pipeline (pipeline
    variables, ``owner`` naming the object in the message) and several hosts on a backend
    that runs one."""
    if instance_count_variable is not None:
        refuse_variables({"instance_count": with_tokens(instance_count_variable)}, owner)
    refuse_variables(spec, owner)
    if spec.instance_count > 1:
        session.require(Capability.MULTI_HOST, "instance_count > 1")


def upload_local(objects: ObjectStore, sources: Iterable[tuple[str, str]],
                 uploaded: list[str]) -> None:
    """Upload each local ``(path, s3 prefix)`` (a file, or a folder's files under the
    prefix), appending every URI written to ``uploaded``."""
    for source, prefix in sources:
        uploaded.extend(upload_path(objects, local_path(source), prefix))


def submit(handle: type[JobT], session: Session, spec: SpecT, name: str, *,
           name_given: bool, upload: Callable[[list[str]], None], wait: bool,
           logs: bool, progress: bool | None = None,
           started: Callable[[JobT], None] | None = None,
           tracking: RunPlan | None = None) -> JobT:
    """Start a job: the one submit path of every kind.

    ``verbs.check`` refuses a spec before anything is uploaded; a name the caller chose is
    checked free before an upload could overwrite another job's inputs (a generated one was
    picked free already). ``upload`` puts the job's local inputs in the object store and
    appends each URI it wrote; if the create fails (or anything is interrupted) and no job
    of that name exists, they are deleted, so a refused job leaves nothing behind. Work the
    backend does attached shows as a bar by ``progress`` (see docs/notebooks.md).

    Returns the job's ``handle``, after waiting for the job when ``wait``; ``started`` gets
    the handle first (an estimator's ``latest_job`` is set even when the wait raises).
    With ``tracking``, the job's experiment run is made after the checks, and deleted with
    the uploads if the job is refused (see :mod:`mlopskit.tracking.jobs`).
    """
    backend = session.backend
    verbs = handle._verbs(backend)
    verbs.check(spec)
    if name_given and verbs.exists(name):
        raise ConflictError(f"{verbs.kind} job {name!r} already exists; job names are unique")
    run_id: str | None = None
    if tracking is not None:
        from .tracking.jobs import start_job_run

        spec, run_id = start_job_run(session, tracking, verbs.kind, name, spec)
    attached = wait and Capability.IN_PROCESS_WAIT in backend.capabilities
    uploaded: list[str] = []
    try:
        upload(uploaded)
        with progress_sink(f"{verbs.kind} {name}", unit=handle._progress_unit,
                           progress=progress) as on_progress:
            verbs.create(spec, attached, print_line if logs else None, on_progress)
    except BaseException:
        if not verbs.exists(name):
            for uri in uploaded:
                try:
                    backend.objects.delete(uri)
                except MlopsKitError:
                    continue  # best effort: the first failure is the one to report
            if run_id is not None:
                from .tracking.jobs import discard_run

                discard_run(session, run_id)
        raise
    job = handle(name, session=session)
    if started is not None:
        started(job)
    if wait:  # an attached job has ended and printed its log: this reads its outcome
        job.wait(logs=logs and not attached, progress=progress)
    return job


class described(Generic[T]):
    """A job handle's read-only attribute: one field of its current description (read
    fresh until the job has ended, then kept).

    Example:
        >>> class Demo:
        ...     status = described[str](lambda d: d["status"], "Where the job is.")
        ...     def _current(self): return {"status": "Completed"}
        >>> Demo().status, Demo.status.__doc__
        ('Completed', 'Where the job is.')
    """

    def __init__(self, read: Callable[[Any], T], doc: str | None = None) -> None:
        self._read = read
        self.__doc__ = doc

    @overload
    def __get__(self, job: None, owner: type[Any]) -> described[T]: ...

    @overload
    def __get__(self, job: Any, owner: type[Any]) -> T: ...

    def __get__(self, job: Any, owner: type[Any]) -> T | described[T]:
        if job is None:
            return self
        return self._read(job._current())


class Job(Generic[DescriptionT]):
    """A handle on one job; its state is read from the backend on demand.

    Subclasses name their kind's verbs (:meth:`_verbs`), the default wait (:meth:`_limit`)
    and what a status line shows (:meth:`_state`).
    """

    _title: ClassVar[str] = "Job"  # "Training job": cards and messages
    _progress_unit: ClassVar[str] = "file"  # what an attached create counts (uploads)
    _stop_capability: ClassVar[Capability | None] = None  # what stop() needs, if anything
    _default_timeout: ClassVar[float | None] = None  # a kind without a runtime limit of its own

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)
        self._description: DescriptionT | None = None

    @classmethod
    def _verbs(cls, backend: Backend) -> JobVerbs[Any, DescriptionT]:
        raise NotImplementedError

    def _limit(self, first: DescriptionT) -> float:
        """The wait a ``timeout=None`` means, from the job's first description (by default
        the kind's fixed ``_default_timeout``)."""
        if self._default_timeout is None:
            raise NotImplementedError
        return self._default_timeout

    def _state(self, described: DescriptionT) -> str:
        return described.status

    @property
    def _kind(self) -> str:
        return self._title.split()[0].lower()

    @classmethod
    def attach(cls: type[JobT], name: str, session: Session | None = None) -> JobT:
        """Find an existing job by name (it may have been started by another process).

        Example:
            >>> import tempfile, mlopskit
            >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> mlopskit.TrainingJob.attach("no-such-job", session=s)
            Traceback (most recent call last):
            ...
            mlopskit.errors.NotFoundError: training job 'no-such-job' does not exist ...
            >>> mlopskit.ProcessingJob.attach("no-such-job", session=s)
            Traceback (most recent call last):
            ...
            mlopskit.errors.NotFoundError: processing job 'no-such-job' does not exist ...
        """
        job = cls(name, session=session)
        job.describe()
        return job

    def describe(self) -> DescriptionT:
        """Fresh state from the backend."""
        self._description = self._verbs(self.session.backend).describe(self.name)
        return self._description

    def _current(self) -> DescriptionT:
        if self._description is None or self._description.status not in TERMINAL_STATUSES:
            return self.describe()
        return self._description

    arn = described[str](lambda d: d.arn, "The job's ARN.")
    status = described[str](lambda d: d.status, "``InProgress``, ``Completed``, ``Failed``, "
                            "``Stopping`` or ``Stopped``.")
    failure_reason = described[str | None](lambda d: d.failure_reason,
                                             "Why the job failed (None unless it did).")

    def wait(self, timeout: float | None = None, *, logs: bool = False,
             raise_on_failure: bool = True, progress: bool | None = None) -> Self:
        """Block until the job ends; print its log as it comes when ``logs``.

        Raises :class:`~mlopskit.errors.WaitTimeoutError` after ``timeout`` seconds (the job
        is left running) and :class:`~mlopskit.errors.JobFailedError` when it ends
        ``Failed`` or ``Stopped`` (unless ``raise_on_failure=False``). ``timeout=None`` is
        the kind's default (see the subclass); ``0`` looks once; ``math.inf`` waits without
        limit. ``progress`` shows a status bar (default: in notebooks and terminals, see
        docs/notebooks.md).
        """
        if timeout is not None:
            wait_timeout(timeout, 0.0)  # a bad timeout is refused before any call
        verbs = self._verbs(self.session.backend)
        cursor: list[Any] = [None]
        first = [self.describe()]  # sets the default timeout; also the first poll
        limit = wait_timeout(timeout, self._limit(first[0]))

        def fetch() -> DescriptionT:
            return first.pop() if first else self.describe()

        def stream(_: DescriptionT) -> None:
            if logs:
                lines, cursor[0] = verbs.read_logs(self.name, cursor[0])
                for line in lines:
                    print_line(line)

        # Jobs of a backend that runs them here are real processes in real time; remote ones
        # are polled on the session clock (a FakeClock in tests).
        fast = Capability.IN_PROCESS_WAIT in self.session.backend.capabilities
        described = poll_until(
            fetch, lambda d: d.status in TERMINAL_STATUSES,
            clock=SystemClock() if fast else self.session.clock, timeout=limit,
            initial=0.05 if fast else 2.0, maximum=1.0 if fast else 30.0,
            describe=lambda d: f"{self._kind} job {self.name!r} is still {self._state(d)}",
            on_poll=stream,
            progress=None if logs and not progress else WaitProgress.create(
                f"{self._kind} {self.name}", lambda d: (self._state(d), None, None),
                progress=progress))
        self._record_run(described)
        if raise_on_failure and described.status != "Completed":
            reason = described.failure_reason or self._state(described)
            raise JobFailedError(f"{self._kind} job {self.name!r} ended {described.status}: "
                                 f"{reason}", job=self, status=described.status)
        return self

    @property
    def run_id(self) -> str | None:
        """The id of the job's experiment run (MLflow), or None when it was started without
        ``experiment=`` (or its tracking store could not be reached)."""
        tags: dict[str, str] = getattr(self._current(), "tags", None) or {}
        return tags.get("mlopskit:mlflow-run-id")

    @property
    def tracking_error(self) -> str | None:
        """Why the job runs without the experiment run it asked for, or None."""
        tags: dict[str, str] = getattr(self._current(), "tags", None) or {}
        return tags.get("mlopskit:tracking-error")

    def _record_run(self, described: DescriptionT) -> None:
        """Record an ended job's outcome on its experiment run, once."""
        tags = getattr(described, "tags", None) or {}
        if "mlopskit:mlflow-run-id" not in tags or getattr(self, "_run_recorded", False):
            return
        from .tracking.jobs import finish_job_run

        finish_job_run(self.session, self._kind, described,  # type: ignore[arg-type]
                       self._verbs(self.session.backend).metric_series)
        self._run_recorded = True

    def logs(self) -> str:
        """The whole log so far, as one string."""
        lines, _ = self._verbs(self.session.backend).read_logs(self.name, None)
        return "\n".join(lines)

    def stop(self) -> None:
        """Ask the backend to stop the job (locally: SIGTERM, then SIGKILL after a grace
        period)."""
        if self._stop_capability is not None:
            self.session.require(self._stop_capability, f"stopping a {self._kind} job")
        verbs = self._verbs(self.session.backend)
        if verbs.stop is None:
            raise CapabilityError(f"the {self.session.backend_name} backend cannot stop a "
                                  f"{self._kind} job")
        verbs.stop(self.name)
        self._description = None

    @classmethod
    def list(cls: type[JobT], session: Session | None = None, *,
             name_contains: str | None = None) -> list[JobT]:
        """Every job of this kind on the session's backend, newest first."""
        resolved = resolve_session(session)
        names = cls._verbs(resolved.backend).names(name_contains)
        return [cls(name, session=resolved) for name in names]

    def __repr__(self) -> str:
        status = self._description.status if self._description else "?"
        return f"{type(self).__name__}(name={self.name!r}, status={status!r})"

    def _card(self, described: DescriptionT) -> tuple[Rows, Sequence[str]]:
        """The rows and tables of the job's HTML card (the timing rows are added here)."""
        raise NotImplementedError

    def _repr_html_(self) -> str:
        """Status, timings and what the kind reports (one describe at most; a job's
        environment values are never shown)."""
        try:
            try:
                described = self._current()
            except Exception as exc:
                return _display.card(self._title, self.name, None,
                                     parts=[_display.unavailable("state", exc)])
            began = described.start_time or described.creation_time
            end = described.end_time or (None if began is None
                                         else _dt.datetime.now(began.tzinfo))
            rows, parts = self._card(described)
            timings: Rows = [
                ("created", _display.time_text(described.creation_time)),
                ("started", _display.time_text(described.start_time)),
                ("ended", _display.time_text(described.end_time)),
                ("duration", _display.duration_text(began, end))]
            at = next((i for i, row in enumerate(rows) if row[0] == "timings"), 0)
            return _display.card(self._title, described.name, described.status,
                                 rows=[*rows[:at], *timings, *rows[at + 1:]],
                                 parts=[*parts])
        except Exception as exc:  # a display problem never breaks the notebook
            return _display.card(self._title, self.name, None,
                                 parts=[_display.unavailable("details", exc)])
