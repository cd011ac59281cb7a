"""Processing jobs: :class:`Processor`, :class:`ProcessingInput`, :class:`ProcessingOutput`
and :class:`ProcessingJob`.

A processing job runs one script over data: its inputs are downloaded into folders under
``/opt/ml/processing/``, it writes its results into other folders there, and those are
uploaded to S3 when it completes. Scripts may hard-code those paths; on the local backend
they run unmodified (see ``docs/processing.md``).

Example:
    >>> import mlopskit, pathlib, tempfile
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (work / "count.py").write_text(
    ...     "import os\\n"
    ...     "rows = open('/opt/ml/processing/input/data/rows.csv').read().splitlines()\\n"
    ...     "open('/opt/ml/processing/out/n.txt', 'w').write(str(len(rows)))\\n")
    >>> _ = (work / "rows.csv").write_text("1\\n2\\n3\\n")
    >>> processor = mlopskit.Processor(instance_type="local",
    ...                                session=mlopskit.LocalSession(root=work / "store"))
    >>> job = processor.run(work / "count.py", logs=False,
    ...     inputs=[mlopskit.ProcessingInput(work / "rows.csv", "/opt/ml/processing/input/data")],
    ...     outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="n")])
    >>> job.status, job.outputs["n"].endswith("/output/n")
    ('Completed', True)
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from . import _display
from ._data import local_path as _local_path
from ._data import upload_path as _upload_path
from ._display import WaitProgress
from ._waiting import JOB_WAIT_MARGIN, job_wait_timeout, poll_until, wait_timeout
from .backends.base import Capability, ProcessingJobDescription
from .clock import SystemClock
from .errors import ConflictError, JobFailedError, ValidationError
from .session import Session, resolve_session
from .specs._common import (
    S3Uri,
    Spec,
    build,
    check_name,
    check_s3_uri,
    is_variable,
    refuse_variables,
    with_tokens,
)
from .specs.processing import (
    CODE_INPUT_NAME,
    DEFAULT_MAX_RUNTIME,
    IoName,
    ProcessingJobSpec,
    ProcessingPath,
)
from .training import _print_line

if TYPE_CHECKING:
    from .pipeline.variables import PipelineVariable

__all__ = ["ProcessingInput", "ProcessingJob", "ProcessingOutput", "Processor"]

_STAMP_LENGTH = len("-2026-01-01-00-00-00-000")


class _InputModel(Spec):
    source: str = Field(min_length=1)
    destination: ProcessingPath
    input_name: IoName | None = None
    s3_data_distribution_type: Literal["FullyReplicated", "ShardedByS3Key"] = "FullyReplicated"


class ProcessingInput:
    """Data a processing job reads: ``source`` (an S3 URI, or a local file or folder that
    is uploaded for you) is downloaded into ``destination`` under ``/opt/ml/processing/``.

    ``s3_data_distribution_type`` is ``"FullyReplicated"`` (every instance gets every
    object) or ``"ShardedByS3Key"`` (objects dealt out across instances).

    Example:
        >>> ProcessingInput("s3://my-bucket/raw/", "/opt/ml/processing/input/raw")
        ProcessingInput('s3://my-bucket/raw/', '/opt/ml/processing/input/raw', input_name=None)
    """

    def __init__(self, source: str | os.PathLike[str] | PipelineVariable, destination: str,
                 input_name: str | None = None,
                 s3_data_distribution_type: str = "FullyReplicated") -> None:
        self._model = build(
            _InputModel, "",
            source=os.fspath(source) if isinstance(source, os.PathLike) else source,
            destination=destination, input_name=input_name,
            s3_data_distribution_type=s3_data_distribution_type)
        if self._model.source.startswith("s3://"):
            try:
                check_s3_uri(self._model.source)
            except ValueError as exc:
                raise ValidationError(f"source: {exc}", field="source") from None
        elif not _local_path(self._model.source).exists():
            raise ValidationError(
                f"source: {self._model.source!r} is neither an s3:// URI nor an existing "
                "local file or folder", field="source")

    @property
    def source(self) -> str:
        return self._model.source

    @property
    def destination(self) -> str:
        return self._model.destination

    @property
    def input_name(self) -> str | None:
        return self._model.input_name

    @property
    def s3_data_distribution_type(self) -> str:
        return self._model.s3_data_distribution_type

    @property
    def is_local(self) -> bool:
        """True when the source is a local path that ``run`` uploads first."""
        return not self._model.source.startswith("s3://")

    def __repr__(self) -> str:
        return (f"ProcessingInput({self.source!r}, {self.destination!r}, "
                f"input_name={self.input_name!r})")


class _OutputModel(Spec):
    source: ProcessingPath
    destination: S3Uri | None = None
    output_name: IoName | None = None


class ProcessingOutput:
    """A folder the script fills (``source``, under ``/opt/ml/processing/``), uploaded to
    ``destination`` when the job completes.

    ``destination`` defaults to ``s3://<bucket>/<job>/output/<output_name>``.

    Example:
        >>> ProcessingOutput("/opt/ml/processing/train", output_name="train")
        ProcessingOutput('/opt/ml/processing/train', destination=None, output_name='train')
    """

    def __init__(self, source: str, destination: str | PipelineVariable | None = None,
                 output_name: str | None = None) -> None:
        self._model = build(_OutputModel, "", source=source, destination=destination,
                            output_name=output_name)

    @property
    def source(self) -> str:
        return self._model.source

    @property
    def destination(self) -> str | None:
        return self._model.destination

    @property
    def output_name(self) -> str | None:
        return self._model.output_name

    def __repr__(self) -> str:
        return (f"ProcessingOutput({self.source!r}, destination={self.destination!r}, "
                f"output_name={self.output_name!r})")


def _entries(kind: str, values: Any, cls: type[Any]) -> list[Any]:
    """``inputs``/``outputs``: a list of ``cls`` (or mappings of its arguments)."""
    if values is None:
        return []
    if isinstance(values, (str, bytes, Mapping, cls)) or not isinstance(values, Iterable):
        raise ValidationError(f"{kind}: expected a list of {cls.__name__}, got "
                              f"{type(values).__name__}", field=kind)
    entries: list[Any] = []
    for index, value in enumerate(values):
        where = f"{kind}[{index}]"
        if isinstance(value, cls):
            entries.append(value)
        elif isinstance(value, Mapping):
            try:
                entries.append(cls(**value))
            except TypeError as exc:
                raise ValidationError(f"{where}: {exc}", field=where) from None
            except ValidationError as exc:
                raise ValidationError(f"{where}.{exc}", field=f"{where}.{exc.field}") \
                    from None
        else:
            raise ValidationError(f"{where}: expected a {cls.__name__}, got "
                                  f"{type(value).__name__}", field=where)
    return entries


class Processor:
    """Runs a script as a SageMaker processing job, locally or on AWS.

    ``command`` is what runs the script (``ContainerEntrypoint`` without the script);
    locally it must be a Python interpreter, optionally with options (``["python3", "-u"]``).
    The constructor checks every argument, so mistakes surface where they were made.

    Example:
        >>> processor = Processor(image_uri="my-image:1", instance_type="ml.m5.xlarge",
        ...                       instance_count=2, environment={"MODE": "full"})
        >>> processor.command, processor.instance_count
        (['python3'], 2)
    """

    def __init__(
        self,
        image_uri: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        command: Sequence[str] = ("python3",),
        *,
        instance_type: str,
        instance_count: int | Any = 1,
        environment: Mapping[str, str] | None = None,
        max_runtime: int | None = None,
        base_job_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        session: Session | None = None,
    ) -> None:
        if isinstance(command, (str, bytes)) or not isinstance(command, Sequence):
            raise ValidationError(f"command: expected a list such as ['python3'], got "
                                  f"{command!r}", field="command")
        for index, item in enumerate(command):
            if not isinstance(item, str):
                raise ValidationError(f"command[{index}]: must be a string, got "
                                      f"{type(item).__name__}", field="command")
        if base_job_name is not None:
            try:
                check_name(base_job_name, kind="base_job_name")
            except ValueError as exc:
                raise ValidationError(f"base_job_name: {exc}", field="base_job_name") from None
            if len(base_job_name) > 63 - _STAMP_LENGTH:
                raise ValidationError(
                    f"base_job_name: {base_job_name!r} leaves no room for the timestamp; at "
                    f"most {63 - _STAMP_LENGTH} characters", field="base_job_name")
        self.image_uri = image_uri
        self.framework = framework
        self.framework_version = framework_version
        self.command = list(command)
        self.instance_type = instance_type
        # A pipeline variable as the count: checked as 1 now, a value when the pipeline runs.
        self.instance_count_variable = instance_count if is_variable(instance_count) else None
        self.instance_count = 1 if self.instance_count_variable is not None else instance_count
        self.environment = dict(environment or {})
        self.max_runtime = max_runtime
        self.base_job_name = base_job_name
        self.tags = dict(tags or {})
        self.session = session
        self.latest_job: ProcessingJob | None = None
        # Run the full spec checks now, with stand-in values, so mistakes surface here.
        self._spec("validation-probe", "s3://probe-bucket/p/probe.py", "probe.py", [], [], [])

    def _spec(self, name: str, code_uri: str, script: str, inputs: list[dict[str, Any]],
              outputs: list[dict[str, Any]], arguments: list[str]) -> ProcessingJobSpec:
        return build(
            ProcessingJobSpec, "",
            name=name, code_uri=code_uri, script=script, command=tuple(self.command),
            arguments=tuple(arguments), image_uri=self.image_uri, framework=self.framework,
            framework_version=self.framework_version, instance_type=self.instance_type,
            instance_count=self.instance_count, environment=self.environment,
            inputs=tuple(inputs), outputs=tuple(outputs), max_runtime=self.max_runtime,
            tags=self.tags)

    def _job_name(self, session: Session, script: str) -> str:
        """``<base>-YYYY-MM-DD-HH-MM-SS-mmm`` on the session clock, unique on the backend."""
        base = self.base_job_name or re.sub(r"[^a-zA-Z0-9-]+", "-",
                                            Path(script).stem).strip("-") or "processing"
        moment = session.clock.now()
        name = base
        for _ in range(1000):
            stamp = moment.strftime("%Y-%m-%d-%H-%M-%S-%f")[:-3]
            name = f"{base[: 63 - len(stamp) - 1].rstrip('-')}-{stamp}"
            if not session.backend.processing_job_exists(name):
                return name
            moment += _dt.timedelta(milliseconds=1)
        return name  # the create call will report the conflict

    @staticmethod
    def _code(code: Any) -> tuple[str | None, Path | None, str]:
        """(S3 URI, local file, script name) of ``code``; exactly one of the first two."""
        if isinstance(code, os.PathLike):
            code = os.fspath(code)
        if not isinstance(code, str) or not code:
            raise ValidationError(f"code: expected the script's local path or s3:// URI, got "
                                  f"{code!r}", field="code")
        if code.startswith("s3://"):
            try:
                check_s3_uri(code)
            except ValueError as exc:
                raise ValidationError(f"code: {exc}", field="code") from None
            script = code.rsplit("/", 1)[-1]
            if code.endswith("/") or "/" not in code[len("s3://"):] or not script:
                raise ValidationError(f"code: {code!r} names a prefix, not the script's "
                                      "object; give s3://bucket/key/script.py", field="code")
            return code, None, script
        path = _local_path(code)
        if not path.is_file():
            raise ValidationError(f"code: {code!r} does not exist or is not a file",
                                  field="code")
        return None, path, path.name

    @staticmethod
    def _arguments(arguments: Any) -> list[str]:
        if arguments is None:
            return []
        if isinstance(arguments, (str, bytes)) or not isinstance(arguments, Sequence):
            raise ValidationError(f"arguments: expected a list of strings, got "
                                  f"{arguments!r}", field="arguments")
        for index, item in enumerate(arguments):
            if not isinstance(item, str):
                raise ValidationError(
                    f"arguments[{index}]: must be a string (arguments reach the script "
                    f"verbatim), got {type(item).__name__} {item!r}", field="arguments")
        return list(arguments)

    def run(self, code: str | os.PathLike[str], inputs: Sequence[ProcessingInput] | None = None,
            outputs: Sequence[ProcessingOutput] | None = None,
            arguments: Sequence[str] | None = None, wait: bool = True, logs: bool = True,
            job_name: str | None = None) -> ProcessingJob:
        """Start a processing job running ``code``; with ``wait`` (default) block until it ends.

        ``code`` is a local script (uploaded to ``s3://<bucket>/<job>/input/code/``) or the
        S3 URI of one. Local input sources are uploaded to ``s3://<bucket>/<job>/input/
        <input name>/``. Raises :class:`~mlopskit.errors.JobFailedError` when a waited-on
        job fails; bad input raises :class:`~mlopskit.errors.ValidationError` (a command
        this backend cannot run, :class:`~mlopskit.errors.CapabilityError`) and creates
        nothing.
        """
        session = resolve_session(self.session)
        backend = session.backend
        session.require(Capability.PROCESSING, "a processing job")
        code_uri, code_path, script = self._code(code)
        input_entries: list[ProcessingInput] = _entries("inputs", inputs, ProcessingInput)
        output_entries: list[ProcessingOutput] = _entries("outputs", outputs, ProcessingOutput)
        argument_list = self._arguments(arguments)
        if job_name is not None:
            try:
                check_name(job_name, kind="job_name")
            except ValueError as exc:
                raise ValidationError(f"job_name: {exc}", field="job_name") from None
        bucket = session.default_bucket
        name = job_name if job_name is not None else self._job_name(session, script)
        prefix = f"s3://{bucket}/{name}"
        input_specs = []
        for index, entry in enumerate(input_entries):
            input_name = entry.input_name or f"input-{index + 1}"
            input_specs.append({
                "name": input_name, "local_path": entry.destination,
                "s3_uri": f"{prefix}/input/{input_name}/" if entry.is_local else entry.source,
                "distribution": entry.s3_data_distribution_type})
        output_specs = []
        for index, out in enumerate(output_entries):
            output_name = out.output_name or f"output-{index + 1}"
            output_specs.append({
                "name": output_name, "local_path": out.source,
                "s3_uri": out.destination or f"{prefix}/output/{output_name}"})
        spec = self._spec(name, code_uri or f"{prefix}/input/{CODE_INPUT_NAME}/{script}",
                          script, input_specs, output_specs, argument_list)
        if self.instance_count_variable is not None:
            refuse_variables({"instance_count": with_tokens(self.instance_count_variable)},
                             "processor")
        refuse_variables(spec, "processor")
        if spec.instance_count > 1:
            session.require(Capability.MULTI_HOST, "instance_count > 1")
        backend.check_processing_job(spec)
        # A generated name was checked free already; a given one is checked here, before
        # any upload could overwrite the existing job's inputs.
        if job_name is not None and backend.processing_job_exists(name):
            raise ConflictError(f"processing job {name!r} already exists; job names are "
                                "unique")
        uploaded: list[str] = []
        in_process = wait and Capability.IN_PROCESS_WAIT in backend.capabilities
        try:
            if code_path is not None:
                backend.objects.put_file(code_path, spec.code_uri)
                uploaded.append(spec.code_uri)
            for entry, input_spec in zip(input_entries, spec.inputs, strict=True):
                if entry.is_local:
                    uploaded.extend(_upload_path(backend.objects, _local_path(entry.source),
                                                 input_spec.s3_uri))
            backend.create_processing_job(spec, wait=in_process,
                                          on_log=_print_line if logs else None)
        except BaseException:
            if not backend.processing_job_exists(name):
                for uri in uploaded:
                    backend.objects.delete(uri)
            raise
        job = ProcessingJob(name, session=session)
        self.latest_job = job
        if wait:
            job.wait(logs=logs and not in_process)
        return job


class ProcessingJob:
    """A handle on one processing job; state is read from the backend on demand.

    Example:
        >>> import tempfile, mlopskit
        >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> ProcessingJob.attach("no-such-job", session=s)
        Traceback (most recent call last):
        ...
        mlopskit.errors.NotFoundError: processing job 'no-such-job' does not exist ...
    """

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)
        self._description: ProcessingJobDescription | None = None

    @classmethod
    def attach(cls, name: str, session: Session | None = None) -> ProcessingJob:
        """Find an existing job by name (it may have been started by another process)."""
        job = cls(name, session=session)
        job.describe()
        return job

    def describe(self) -> ProcessingJobDescription:
        """Fresh state from the backend."""
        self._description = self.session.backend.describe_processing_job(self.name)
        return self._description

    def _current(self) -> ProcessingJobDescription:
        if self._description is None or not self._description.is_terminal:
            return self.describe()
        return self._description

    @property
    def arn(self) -> str:
        return self._current().arn

    @property
    def status(self) -> str:
        """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
        return self._current().status

    @property
    def failure_reason(self) -> str | None:
        return self._current().failure_reason

    @property
    def exit_message(self) -> str | None:
        """What the script wrote to ``/opt/ml/output/message`` (first 1 KB)."""
        return self._current().exit_message

    @property
    def outputs(self) -> dict[str, str]:
        """Output name -> S3 URI it is uploaded to (only a Completed job uploads)."""
        return dict(self._current().outputs)

    @property
    def inputs(self) -> dict[str, str]:
        """Input name -> S3 URI it was downloaded from (``code`` is the script)."""
        return dict(self._current().inputs)

    @property
    def arguments(self) -> list[str]:
        """The arguments the script got, verbatim."""
        return list(self._current().arguments)

    def wait(self, timeout: float | None = None, *, logs: bool = False,
             raise_on_failure: bool = True, progress: bool | None = None) -> ProcessingJob:
        """Block until the job ends; stream its log when ``logs``.

        Raises :class:`~mlopskit.errors.WaitTimeoutError` after ``timeout`` seconds and
        :class:`~mlopskit.errors.JobFailedError` when the job ends ``Failed`` or
        ``Stopped`` (unless ``raise_on_failure=False``). ``progress`` shows a status bar
        while waiting (default: in notebooks and terminals, see docs/notebooks.md).

        ``timeout=None`` (the default) is the job's ``max_runtime`` (24 hours when it has
        none) plus :data:`~mlopskit._waiting.JOB_WAIT_MARGIN` (one hour, for instances
        starting and outputs uploading). ``math.inf`` waits without limit.

        Example:
            >>> import mlopskit, tempfile
            >>> s = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> ProcessingJob("no-such-job", session=s).wait(timeout=-1)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -1
        """
        if timeout is not None:
            wait_timeout(timeout, JOB_WAIT_MARGIN)  # a bad timeout is refused before any call
        backend = self.session.backend
        cursor: list[Any] = [None]
        # The first describe gives the job's max_runtime, which sets the default timeout;
        # it is also the first poll.
        first = [self.describe()]
        limit = wait_timeout(timeout, job_wait_timeout(first[0].max_runtime,
                                                       DEFAULT_MAX_RUNTIME))

        def fetch() -> ProcessingJobDescription:
            return first.pop() if first else self.describe()

        def stream(_: ProcessingJobDescription) -> None:
            if logs:
                lines, cursor[0] = backend.read_processing_logs(self.name, cursor[0])
                for line in lines:
                    _print_line(line)

        # Local jobs are real processes running in real time; remote ones are polled on the
        # session clock (a FakeClock in tests).
        fast = Capability.IN_PROCESS_WAIT in backend.capabilities
        clock = SystemClock() if fast else self.session.clock
        description = poll_until(
            fetch, lambda d: d.is_terminal, clock=clock, timeout=limit,
            initial=0.05 if fast else 2.0, maximum=1.0 if fast else 30.0,
            describe=lambda d: f"processing job {self.name!r} is still {d.status}",
            on_poll=stream,
            progress=None if logs and not progress else WaitProgress.create(
                f"processing {self.name}", lambda d: (d.status, None, None),
                progress=progress))
        if raise_on_failure and description.status != "Completed":
            reason = description.failure_reason or description.status
            raise JobFailedError(f"processing job {self.name!r} ended {description.status}: "
                                 f"{reason}", job=self, status=description.status)
        return self

    def logs(self) -> str:
        """The whole log so far, as one string."""
        lines, _ = self.session.backend.read_processing_logs(self.name, None)
        return "\n".join(lines)

    def stop(self) -> None:
        """Ask the backend to stop the job (SIGTERM, then SIGKILL after a grace period)."""
        self.session.backend.stop_processing_job(self.name)
        self._description = None

    @classmethod
    def list(cls, session: Session | None = None, *, name_contains: str | None = None
             ) -> list[ProcessingJob]:
        """Every processing job on the session's backend, newest first."""
        resolved = resolve_session(session)
        names = resolved.backend.list_processing_jobs(name_contains=name_contains)
        return [cls(name, session=resolved) for name in names]

    def __repr__(self) -> str:
        status = self._description.status if self._description else "?"
        return f"ProcessingJob(name={self.name!r}, status={status!r})"

    @_display.safe_html("Processing job", lambda self: self.name)
    def _repr_html_(self) -> str:
        """Status, timings, inputs, outputs and arguments (one describe at most; the job's
        environment values are never shown)."""
        try:
            d = self._current()
        except Exception as exc:
            return _display.card("Processing job", self.name, None,
                                 parts=[_display.unavailable("state", exc)])
        end = d.end_time or (None if d.start_time is None
                             else _dt.datetime.now(d.start_time.tzinfo))
        rows: list[tuple[str, object]] = [
            ("failure reason", d.failure_reason),
            ("exit message", d.exit_message),
            ("created", _display.time_text(d.creation_time)),
            ("started", _display.time_text(d.start_time)),
            ("ended", _display.time_text(d.end_time)),
            ("duration", _display.duration_text(d.start_time, end)),
            ("instances", f"{d.instance_count} x {d.instance_type}"),
            ("image", d.image_uri),
            ("command", " ".join(d.entrypoint)),
            ("arguments", " ".join(d.arguments)),
            ("arn", d.arn)]
        parts: list[str] = []
        if d.inputs:
            parts.append(_display.table(("input", "source"), sorted(d.inputs.items()),
                                        caption="Inputs", limit=20))
        if d.outputs:
            parts.append(_display.table(("output", "destination"), sorted(d.outputs.items()),
                                        caption="Outputs", limit=20))
        return _display.card("Processing job", d.name, d.status, rows=rows, parts=parts)
