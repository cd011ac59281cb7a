"""Batch transform: run a model over every record of an S3 prefix.

Example:
    >>> import mlopskit
    >>> t = Transformer(mlopskit.Model("s3://bkt-1/m/model.tar.gz", image_uri="img:1"),
    ...                 instance_count=1, instance_type="ml.m5.large", max_payload_mb=6)
    >>> t.strategy, t.split_type, t.assemble_with
    ('MultiRecord', 'Line', 'Line')
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _display
from .._data import checked_uri, local_path, path_text, put_files, upload_plan
from .._jobs import Job, checked_job_name, described, free_name, submit
from .._waiting import DEFAULT_TRANSFORM_TIMEOUT
from ..backends.base import Backend, Capability, JobVerbs
from ..errors import MlopsKitError, ValidationError
from ..session import Session, resolve_session
from ..specs._common import build
from ..specs.serving import TransformJobDescription, TransformJobSpec
from .endpoint import _config_name, _serving, _tags, deployed_model

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["TransformJob", "Transformer"]


class Transformer:
    """How to run a model over a dataset; ``transform(data)`` starts a job.

    Limits are SageMaker's: ``max_payload_mb`` 0..100 (0 means no limit), and
    ``max_concurrent_transforms * max_payload_mb <= 100``.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> model = mlopskit.Model("s3://models/iris/model.tar.gz", session=session)
        >>> model.transformer(instance_count=1, instance_type="ml.m5.large",
        ...                   max_payload_mb=60, max_concurrent_transforms=2)
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: max_concurrent_transforms x max_payload_mb is 120 MB; ...

    Scoring a folder of CSV files (this starts inference servers)::

        transformer = model.transformer(instance_count=2, instance_type="ml.m5.large",
                                        accept="text/csv", join_source="Input")
        job = transformer.transform("s3://my-bucket/scoring/", content_type="text/csv")
        job.status, job.outputs
        transformer.transform("scoring.csv")   # a local file or folder is uploaded first
    """

    def __init__(self, model: Model, instance_count: int, instance_type: str, *,
                 strategy: str = "MultiRecord", split_type: str = "Line",
                 assemble_with: str = "Line", max_payload_mb: int = 6,
                 max_concurrent_transforms: int | None = None, accept: str | None = None,
                 output_path: str | None = None, input_filter: str | None = None,
                 join_source: str | None = None, output_filter: str | None = None,
                 tags: Mapping[str, str] | None = None, session: Session | None = None
                 ) -> None:
        self.model = model
        self.tags = _tags(tags)
        self.session = session or model.session
        self.instance_count, self.instance_type = instance_count, instance_type
        self.strategy, self.split_type, self.assemble_with = strategy, split_type, assemble_with
        self.max_payload_mb = max_payload_mb
        self.max_concurrent_transforms = max_concurrent_transforms
        self.accept, self.output_path = accept, output_path
        self.input_filter, self.output_filter = input_filter, output_filter
        self.join_source = join_source or "None"
        self._spec("probe-job", "probe-model", "s3://probe-bucket/in/", "s3://probe-bucket/out/",
                   "text/csv")  # every argument is checked here, before any job exists

    def _spec(self, name: str, model_name: str, data_uri: str, output_path: str,
              content_type: str) -> TransformJobSpec:
        return build(TransformJobSpec, "", name=name, model_name=model_name,
                     input_uri=data_uri, output_path=output_path, content_type=content_type,
                     accept=self.accept, split_type=self.split_type,
                     assemble_with=self.assemble_with, strategy=self.strategy,
                     max_payload_mb=self.max_payload_mb,
                     max_concurrent_transforms=self.max_concurrent_transforms,
                     instance_type=self.instance_type, instance_count=self.instance_count,
                     input_filter=self.input_filter, output_filter=self.output_filter,
                     join_source=self.join_source, tags=self.tags)

    def transform(self, data: str | os.PathLike[str] | None = None,
                  content_type: str = "text/csv", wait: bool = True,
                  job_name: str | None = None, *, data_uri: str | None = None,
                  progress: bool | None = None) -> TransformJob:
        """Transform every object under ``data``; outputs are ``<name>.out`` files.

        ``data`` is an ``s3://`` URI (an object or a prefix), or, as in SageMaker's local
        mode, a local file, folder or ``file://`` URI: that is uploaded to
        ``s3://<default_bucket>/<job name>/input/`` (a folder's relative paths kept) before
        the job starts, and the job reads that prefix. ``data_uri=`` is the old name of
        ``data``, still accepted (deprecated; use ``data``).

        Raises :class:`~mlopskit.errors.JobFailedError` when a waited-on job fails; bad
        input raises :class:`~mlopskit.errors.ValidationError` and creates and uploads
        nothing. ``progress`` shows a bar (files and records locally, the job's status on
        AWS); by default in notebooks and terminals, see docs/notebooks.md.
        """
        if data_uri is not None:
            if data is not None:
                raise ValidationError("data_uri: the deprecated name of data; pass one of "
                                      "them, not both", field="data_uri")
            data = data_uri
        allowed = ("an s3:// URI, or a local file, folder or file:// URI (uploaded before "
                   "the job starts)")
        if data is None:
            raise ValidationError(f"data: required: {allowed}", field="data")
        text = path_text(data, "data", allowed)
        local: Path | None = None
        if text.startswith("s3://"):
            checked_uri(text, "data")
        else:
            local = local_path(text)
            if not local.is_file() and not local.is_dir():
                raise ValidationError(f"data: {text!r} is neither an s3:// URI nor an existing "
                                      "local file or folder", field="data")
        session = resolve_session(self.session)
        serving = _serving(session)
        verbs = session.backend.transforms
        if self.split_type in {"RecordIO", "TFRecord"}:
            session.require(Capability.RECORDIO_SPLIT, f"split_type={self.split_type!r}")
        name = checked_job_name(job_name) or free_name(session, verbs, "transform")
        input_uri = text if local is None else f"s3://{session.default_bucket}/{name}/input/"
        # The SDK's default: s3://<bucket>/<job name>
        output = self.output_path or f"s3://{session.default_bucket}/{name}"
        self._spec(name, "probe-model", input_uri, output, content_type)
        uploads: list[tuple[Path, str]] = []
        if local is not None:
            uploads = upload_plan(local, input_uri)
            if not uploads:
                raise ValidationError(f"data: folder {text!r} holds no files to transform",
                                      field="data")
        # CreateModel + CreateTransformJob, as the SDK does: no endpoint config, which a role
        # made for batch jobs may not be allowed to create.
        model_name = _config_name(session, name)
        created: list[str] = []

        def prepare(uploaded: list[str]) -> None:
            uploaded.extend(put_files(session.backend.objects, uploads))
            model = deployed_model(session, self.model, model_name,
                                   instance_type=self.instance_type, sha256=None,
                                   tags=self.tags)
            serving.create_model(model)
            created.append(model.name)

        try:
            return submit(TransformJob, session,
                          self._spec(name, model_name, input_uri, output, content_type), name,
                          name_given=job_name is not None, upload=prepare, wait=wait,
                          logs=False, progress=progress)
        except MlopsKitError:
            if created and not verbs.exists(name):
                with contextlib.suppress(MlopsKitError):
                    serving.delete_model(model_name)
            raise


class TransformJob(Job[TransformJobDescription]):
    """A handle on a batch transform job.

    ``Transformer.transform`` returns one; you can also find a job by name.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> TransformJob("score-2026-11-01", session=session)
        TransformJob(name='score-2026-11-01', status='?')

    Reading a finished job::

        job = TransformJob("score-2026-11-01")
        job.wait()
        job.status, job.failure_reason, job.outputs

    ``wait(timeout=None)`` waits :data:`~mlopskit._waiting.DEFAULT_TRANSFORM_TIMEOUT`, 24
    hours: a transform has no runtime limit of its own. Its bar shows the records answered
    when the backend counts them as it goes.

    Example:
        >>> TransformJob("score-1", session=session).wait(timeout="soon")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: timeout: a number of seconds, 0 or more ..., got 'soon'
    """

    _title = "Transform job"
    _default_timeout = DEFAULT_TRANSFORM_TIMEOUT
    _stop_capability = Capability.TRANSFORM_STOP

    @classmethod
    def _verbs(cls, backend: Backend) -> JobVerbs[Any, TransformJobDescription]:
        return backend.transforms


    def _state(self, described: TransformJobDescription) -> str:
        if described.records is None:
            return described.status
        return f"{described.status}, {described.records} records"

    outputs = described[tuple[str, ...]](
        lambda d: d.outputs, "The ``.out`` objects written (listed by the local backend).")

    def _card(self, d: TransformJobDescription
              ) -> tuple[list[tuple[str, object]], list[str]]:
        rows: list[tuple[str, object]] = [
            ("failure reason", d.failure_reason),
            ("timings", None),
            ("records", d.records),
            ("output path", d.output_path),
            ("arn", d.arn)]
        parts: list[str] = []
        if d.outputs:
            parts.append(_display.table(("output",), [(o,) for o in d.outputs],
                                        caption=f"Outputs ({len(d.outputs)})", limit=10))
        return rows, parts
