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

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from . import _display
from ._data import check_source
from ._data import local_path as _local_path
from ._jobs import Job, check_spec, checked_job_name, described, free_name, submit, upload_local
from ._waiting import job_wait_timeout
from .backends.base import Backend, Capability, JobVerbs, ProcessingJobDescription
from .errors import ValidationError
from .session import Session, resolve_session
from .specs._common import (
    S3Uri,
    Spec,
    build,
    check_items,
    check_name,
    check_s3_uri,
    is_variable,
)
from .specs.processing import (
    CODE_INPUT_NAME,
    DEFAULT_MAX_RUNTIME,
    IoName,
    ProcessingJobSpec,
    ProcessingPath,
)
from .tracking.jobs import checked_plan

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
        checked = build(
            _InputModel, "",
            source=os.fspath(source) if isinstance(source, os.PathLike) else source,
            destination=destination, input_name=input_name,
            s3_data_distribution_type=s3_data_distribution_type)
        check_source(checked.source, "source")
        self.source: str = checked.source
        self.destination: str = checked.destination
        self.input_name: str | None = checked.input_name
        self.s3_data_distribution_type: str = checked.s3_data_distribution_type

    @property
    def is_local(self) -> bool:
        """True when the source is a local path that ``run`` uploads first."""
        return not self.source.startswith("s3://")

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
        checked = build(_OutputModel, "", source=source, destination=destination,
                        output_name=output_name)
        self.source: str = checked.source
        self.destination: str | None = checked.destination
        self.output_name: str | None = checked.output_name

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
        experiment: str | None = None,
    ) -> None:
        if isinstance(command, (str, bytes)) or not isinstance(command, Sequence):
            raise ValidationError(f"command: expected a list such as ['python3'], got "
                                  f"{command!r}", field="command")
        check_items(command, str, "command", "must be a string")
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
        checked_plan(experiment, None)  # a bad name is refused here, before any run
        self.experiment = experiment
        self.latest_job: ProcessingJob | None = None
        # Run the full spec checks now, with stand-in values, so mistakes surface here.
        self._spec("validation-probe", "s3://probe-bucket/p/probe.py", "probe.py", [], [], [])

    def _started(self, job: ProcessingJob) -> None:
        self.latest_job = job

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
            job_name: str | None = None, *, experiment: str | None = None,
            run_name: str | None = None) -> ProcessingJob:
        """Start a processing job running ``code``; with ``wait`` (default) block until it ends.

        ``code`` is a local script (uploaded to ``s3://<bucket>/<job>/input/code/``) or the
        S3 URI of one. Local input sources are uploaded to ``s3://<bucket>/<job>/input/
        <input name>/``. Raises :class:`~mlopskit.errors.JobFailedError` when a waited-on
        job fails; bad input raises :class:`~mlopskit.errors.ValidationError` (a command
        this backend cannot run, :class:`~mlopskit.errors.CapabilityError`) and creates
        nothing. ``experiment`` (else the processor's) makes the job an MLflow run (see
        docs/experiments.md).
        """
        session = resolve_session(self.session)
        backend = session.backend
        session.require(Capability.PROCESSING, "a processing job")
        code_uri, code_path, script = self._code(code)
        plan = checked_plan(experiment or self.experiment, run_name,
                            code_path.parent if code_path is not None else None)
        input_entries: list[ProcessingInput] = _entries("inputs", inputs, ProcessingInput)
        output_entries: list[ProcessingOutput] = _entries("outputs", outputs, ProcessingOutput)
        argument_list = self._arguments(arguments)
        bucket = session.default_bucket
        name = checked_job_name(job_name) or free_name(
            session, backend.processing, self.base_job_name or Path(script).stem or "processing")
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
        check_spec(session, spec, owner="processor",
                   instance_count_variable=self.instance_count_variable)
        objects = backend.objects

        def upload(uploaded: list[str]) -> None:
            if code_path is not None:
                objects.put_file(code_path, spec.code_uri)
                uploaded.append(spec.code_uri)
            upload_local(objects, [(entry.source, input_spec.s3_uri) for entry, input_spec
                                   in zip(input_entries, spec.inputs, strict=True)
                                   if entry.is_local], uploaded)

        return submit(ProcessingJob, session, spec, name, name_given=job_name is not None,
                      upload=upload, wait=wait, logs=logs, started=self._started,
                      tracking=plan)


class ProcessingJob(Job[ProcessingJobDescription]):
    """``Processor.run`` returns one of these handles, and ``attach`` finds a job by name:
    the job's state, outputs and exit message, read from the backend when asked.

    ``wait(timeout=None)`` waits for the job's ``max_runtime`` (24 hours when it has none)
    plus :data:`~mlopskit._waiting.JOB_WAIT_MARGIN` (one hour, for instances starting and
    outputs uploading).

    Example:
        >>> import tempfile, mlopskit
        >>> job = ProcessingJob("x", session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> job.wait(timeout=-1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got -1
    """

    _title = "Processing job"

    @classmethod
    def _verbs(cls, backend: Backend) -> JobVerbs[Any, ProcessingJobDescription]:
        return backend.processing

    def _limit(self, first: ProcessingJobDescription) -> float:
        return job_wait_timeout(first.max_runtime, DEFAULT_MAX_RUNTIME)

    exit_message = described[str | None](
        lambda d: d.exit_message, "What the script wrote to ``/opt/ml/output/message`` "
        "(first 1 KB).")
    outputs = described[dict[str, str]](
        lambda d: dict(d.outputs),
        "Output name -> S3 URI it is uploaded to (only a Completed job uploads).")
    inputs = described[dict[str, str]](
        lambda d: dict(d.inputs),
        "Input name -> S3 URI it was downloaded from (``code`` is the script).")
    arguments = described[list[str]](lambda d: list(d.arguments),
                                       "The arguments the script got, verbatim.")

    def _card(self, d: ProcessingJobDescription
              ) -> tuple[list[tuple[str, object]], list[str]]:
        rows: list[tuple[str, object]] = [
            ("failure reason", d.failure_reason),
            ("exit message", d.exit_message),
            ("timings", None),
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
        return rows, parts
