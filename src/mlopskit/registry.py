"""The model registry: groups of versioned model packages with approval states.

Rules, the same on every backend (docs/registry.md):

- a package starts ``PendingManualApproval`` (or as registered);
- ``PendingManualApproval`` -> ``Approved`` or ``Rejected``; ``Approved`` -> ``Rejected``
  (withdrawing a model); ``Rejected`` is final: register the artifact again instead;
- asking for the state a package is already in changes nothing and records nothing;
- every change records who, when and why in the package's history;
- approval policies (``MetricThreshold`` or any callable) may refuse an approval.

Example:
    >>> import tempfile, mlopskit
    >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
    >>> session.backend.objects.put_bytes(b"model", "s3://mlopskit-local/m/model.tar.gz")
    >>> group = ModelPackageGroup("churn", session=session).create()
    >>> package = group.register(mlopskit.Model("s3://mlopskit-local/m/model.tar.gz",
    ...                                         image_uri="img:1"), metrics={"auc": 0.91})
    >>> package.version, package.approval_status.value
    (1, 'PendingManualApproval')
    >>> package.approve(by="alice", note="looks good").approval_status.value
    'Approved'
    >>> group.latest().version
    1
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import json
import operator
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from . import _display
from .errors import ConflictError, MlopsKitError, NotFoundError, ValidationError
from .models import Model, sha256_of
from .session import Session, resolve_session
from .specs._common import build, check_name
from .specs.registry import (
    ApprovalStatus,
    HistoryEntry,
    ModelPackageSpec,
    PackageRecord,
    check_metadata,
)

if TYPE_CHECKING:
    from .training import TrainingJob

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ApprovalPolicy",
    "ApprovalStatus",
    "MetricThreshold",
    "ModelPackage",
    "ModelPackageGroup",
    "PolicyViolationError",
    "TamperedArtifactError",
]

ALLOWED_TRANSITIONS: Mapping[ApprovalStatus, frozenset[ApprovalStatus]] = {
    ApprovalStatus.PENDING: frozenset({ApprovalStatus.APPROVED, ApprovalStatus.REJECTED}),
    ApprovalStatus.APPROVED: frozenset({ApprovalStatus.REJECTED}),
    ApprovalStatus.REJECTED: frozenset(),
}


class PolicyViolationError(ConflictError):
    """An approval policy refused the change; the package was left as it was."""


class TamperedArtifactError(MlopsKitError):
    """A registered artifact's bytes no longer match the SHA-256 recorded at registration."""


class ApprovalPolicy(Protocol):
    """Anything that can veto an approval: return a reason to refuse, or None to allow."""

    def __call__(self, package: ModelPackage) -> str | None: ...


_REQUIRE = re.compile(
    r"\s*([A-Za-z_][\w.:/-]*)\s*(>=|<=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}


class MetricThreshold:
    """Refuse approval unless ``metrics[name] <op> value`` (e.g. ``auc >= 0.9``).

    Example:
        >>> MetricThreshold.parse("auc>=0.9")
        MetricThreshold('auc', '>=', 0.9)
    """

    def __init__(self, metric: str, op: str, value: float) -> None:
        if op not in _OPERATORS:
            raise ValidationError(f"op: {op!r} is not allowed; allowed: {', '.join(_OPERATORS)}",
                                  field="op")
        self.metric, self.op, self.value = metric, op, float(value)

    @classmethod
    def parse(cls, text: str) -> MetricThreshold:
        """``"name>=0.9"`` and friends (the CLI's ``--require``)."""
        match = _REQUIRE.fullmatch(text)
        if match:
            with contextlib.suppress(ValueError):
                return cls(match.group(1), match.group(2), float(match.group(3)))
        raise ValidationError(f"require: {text!r} is not METRIC>=VALUE (or >, <=, <)",
                              field="require")

    def __call__(self, package: ModelPackage) -> str | None:
        metrics = package.metrics
        if self.metric not in metrics:
            return f"metric {self.metric!r} is not recorded (has: {sorted(metrics) or 'none'})"
        actual = metrics[self.metric]
        if not _OPERATORS[self.op](actual, self.value):
            return f"metric {self.metric!r} is {actual:g}, needs {self.op} {self.value:g}"
        return None

    def __repr__(self) -> str:
        return f"MetricThreshold({self.metric!r}, {self.op!r}, {self.value:g})"


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return os.environ.get("MLOPSKIT_USER") or getpass.getuser()
    except (KeyError, OSError):  # no user name on this system (some containers)
        return "unknown"


def _report_metrics(session: Session, uri: str) -> dict[str, float]:
    """The metric values of an evaluation report (``*_metrics`` sections) at ``uri``."""
    from .sagemaker_api.model_metrics import read_metrics

    try:
        report = json.loads(session.read_bytes(uri))
    except NotFoundError:
        raise ValidationError(f"metrics_report_uri: no report at {uri!r}",
                              field="metrics_report_uri") from None
    except ValueError as exc:
        raise ValidationError(f"metrics_report_uri: {uri!r} is not JSON ({exc})",
                              field="metrics_report_uri") from None
    found = read_metrics(report) if isinstance(report, dict) else {}
    if not found:
        raise ValidationError(
            f"metrics_report_uri: {uri!r} holds no metric values; expected sections whose "
            "names end in 'metrics' (e.g. binary_classification_metrics) mapping each "
            "metric to {'value': ...}", field="metrics_report_uri")
    return found


def _check_note(note: object) -> None:
    if not isinstance(note, str) or len(note) > 1024:
        raise ValidationError("note: must be text of at most 1024 characters", field="note")


def _check_by(by: object) -> None:
    if by is not None and (not isinstance(by, str) or not 1 <= len(by) <= 256):
        raise ValidationError("by: must be a name of 1 to 256 characters (or None for the "
                              "current user)", field="by")


def _invalid(field: str, exc: Exception) -> ValidationError:
    return ValidationError(f"{field}: {exc}", field=field)


class ModelPackageGroup:
    """A named, versioned collection of model packages.

    ``policies`` run on every approval made through this object (and its packages).

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> session.backend.objects.put_bytes(b"weights", "s3://models/iris/model.tar.gz")
        >>> group = ModelPackageGroup("iris-models", session=session).create()
        >>> model = mlopskit.Model("s3://models/iris/model.tar.gz", session=session)
        >>> group.register(model, metrics={"accuracy": 0.93})
        ModelPackage(group='iris-models', version=1, status='PendingManualApproval')
        >>> [package.version for package in group.versions()], group.latest()
        ([1], None)
    """

    _REPR_VERSIONS = 5  # versions a notebook display reads

    def __init__(self, name: str, description: str | None = None,
                 session: Session | None = None, *,
                 policies: Sequence[ApprovalPolicy] = ()) -> None:
        try:
            check_name(name, kind="group name")
        except ValueError as exc:
            raise _invalid("name", exc) from None
        if description is not None and len(description) > 1024:
            raise ValidationError("description: at most 1024 characters", field="description")
        self.name = name
        self.description = description
        self.session = resolve_session(session)
        self.policies = tuple(policies)

    @property
    def _registry(self) -> Any:
        return self.session.backend.registry

    def create(self, tags: Mapping[str, str] | None = None) -> ModelPackageGroup:
        """Create the group; an existing group of that name is returned as it is."""
        with contextlib.suppress(ConflictError):
            self._registry.create_group(self.name, self.description, dict(tags or {}))
        self.description = self._registry.get_group(self.name).description
        return self

    @classmethod
    def get(cls, name: str, session: Session | None = None) -> ModelPackageGroup:
        """An existing group; :class:`~mlopskit.errors.NotFoundError` otherwise."""
        group = cls(name, session=session)
        record = group._registry.get_group(name)
        group.description = record.description
        return group

    @classmethod
    def list(cls, session: Session | None = None) -> list[ModelPackageGroup]:
        resolved = resolve_session(session)
        return [cls(r.name, r.description, session=resolved)
                for r in resolved.backend.registry.list_groups()]

    def delete(self) -> None:
        self._registry.delete_group(self.name)

    @property
    def arn(self) -> str:
        return str(self._registry.get_group(self.name).arn)

    def register(
        self,
        model: Model,
        *,
        approval_status: ApprovalStatus | str = ApprovalStatus.PENDING,
        metrics: Mapping[str, float] | None = None,
        content_types: Sequence[str] = ("text/csv",),
        response_types: Sequence[str] = ("text/csv",),
        inference_instance_types: Sequence[str] | None = None,
        transform_instance_types: Sequence[str] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        source_job: TrainingJob | None = None,
        by: str | None = None,
        note: str = "registered",
        metrics_report_uri: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        copy_run_metrics: bool = False,
    ) -> ModelPackage:
        """Register ``model`` as the group's next version.

        The artifact must exist; its SHA-256 goes into the package's lineage with the
        training job (``source_job``), its hyperparameters and input data URIs, and so does
        the SHA-256 of the inference code archive (``code_data``, ``code_sha256``), so a
        deployment refuses either if it changes later.

        ``metrics`` are written as a model quality report that the package's
        ``ModelMetrics`` points to; or give ``metrics_report_uri``, the S3 URI of an
        evaluation report you already have (SageMaker's ``*_metrics`` shape, as an
        evaluation step writes it): the package points at it and its values become the
        package's metrics (not both). ``inference_instance_types`` and
        ``transform_instance_types`` are where it may serve (the first also picks a CPU or
        GPU image for a ``framework=`` model); ``tags`` go on the package.

        ``run_id`` (else the run of ``source_job``, when it was tracked) links the package to
        its MLflow run both ways: the package's metadata holds ``mlflow.run_id``, the run is
        tagged with the package's ARN and version. ``copy_run_metrics`` makes the run's
        latest metric values the package's metrics (``metrics=`` given win on a name).
        """
        if not isinstance(model, Model):
            raise ValidationError(f"model: expected a mlopskit.Model, got "
                                  f"{type(model).__name__}", field="model")
        _check_note(note)
        _check_by(by)
        try:
            status = ApprovalStatus.parse(approval_status)
        except ValueError as exc:
            raise _invalid("approval_status", exc) from None
        if metrics_report_uri is not None and metrics:
            raise ValidationError("metrics: give metrics= or metrics_report_uri=, not both (the "
                                  "package's metrics are read from the report)",
                                  field="metrics")
        if run_id is None and source_job is not None and self.session.tracking_uri:
            run_id = source_job.run_id
        run = _linked_run(self.session, run_id, copy_run_metrics)  # checked before writes
        if run is not None:
            metadata = {**(metadata or {}), RUN_METADATA: run.info.run_id}
            if copy_run_metrics:
                metrics = {**run.data.metrics, **(metrics or {})}
        spec_values: dict[str, Any] = {
            "group": self.name, "model": model._spec_values(None, probe=True),
            "approval_status": status,
            "metrics": dict(metrics or {}), "content_types": tuple(content_types),
            "response_types": tuple(response_types),
            "inference_instance_types": tuple(inference_instance_types or ()),
            "transform_instance_types": tuple(transform_instance_types or ()),
            "description": description, "metadata": dict(metadata or {}),
            "metrics_report_uri": metrics_report_uri, "tags": dict(tags or {})}
        build(ModelPackageSpec, "", **spec_values)  # every input checked before any write
        if metrics_report_uri is not None:
            spec_values["metrics"] = _report_metrics(self.session, metrics_report_uri)
        registry = self._registry
        registry.get_group(self.name)
        if model.is_local:
            model.spec(self.session)  # upload it first, so the lineage hashes the object
        lineage = _lineage(self.session, model, source_job)
        spec_values["model"] = model.spec(self.session)
        spec_values["lineage"] = lineage
        spec = build(ModelPackageSpec, "", **spec_values)
        if status is ApprovalStatus.APPROVED:
            self._check_policies(_Candidate(spec, self), ())
        entry = HistoryEntry(status=status.value, previous=None, by=_actor(by),
                             at=self.session.clock.now().isoformat(), note=note)
        package = ModelPackage(registry.register(spec, entry), self)
        if run is not None:
            from .tracking.jobs import tag_run

            tag_run(self.session, run.info.run_id, {
                "mlopskit.model_package_arn": package.arn,
                "mlopskit.model_package_version": str(package.version)})
        return package

    def _check_policies(self, package: Any, extra: Sequence[ApprovalPolicy]) -> None:
        for policy in (*self.policies, *extra):
            reason = policy(package)
            if reason:
                version = package.version if package.version is not None else "(new)"
                raise PolicyViolationError(
                    f"approval of {self.name!r} version {version} refused by "
                    f"{policy!r}: {reason}")

    def package(self, version: int) -> ModelPackage:
        """One version; :class:`~mlopskit.errors.NotFoundError` when there is none."""
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValidationError(f"version: must be a whole number >= 1, got {version!r}",
                                  field="version")
        return ModelPackage(self._registry.get_package(self.name, version), self)

    def versions(self, status: ApprovalStatus | str | None = None,
                 newest_first: bool = True) -> Iterator[ModelPackage]:
        """Every version (or those with ``status``), fetched page by page."""
        try:
            wanted = ApprovalStatus.parse(status) if status is not None else None
        except ValueError as exc:
            raise _invalid("status", exc) from None
        for record in self._registry.list_packages(self.name, wanted, newest_first):
            yield ModelPackage(record, self)

    def latest(self, status: ApprovalStatus | str | None = ApprovalStatus.APPROVED
               ) -> ModelPackage | None:
        """The newest version with ``status`` (Approved by default), or None."""
        try:
            wanted = ApprovalStatus.parse(status) if status is not None else None
        except ValueError as exc:
            raise _invalid("status", exc) from None
        record = self._registry.latest(self.name, wanted)
        return None if record is None else ModelPackage(record, self)

    def __repr__(self) -> str:
        return f"ModelPackageGroup(name={self.name!r})"

    @_display.safe_html("Model package group", lambda self: self.name)
    def _repr_html_(self) -> str:
        """Description and the newest few versions (one listing; on AWS each version shown
        costs a describe, so only ``_REPR_VERSIONS`` are read)."""
        rows: list[tuple[str, object]] = [("description", self.description)]
        shown = self._REPR_VERSIONS
        try:
            records = list(itertools.islice(
                self._registry.list_packages(self.name, None, True), shown + 1))
        except Exception as exc:
            return _display.card("Model package group", self.name, None, rows=rows,
                                 parts=[_display.unavailable("versions", exc)])
        if not records:
            parts: list[str] = [_display.note("no versions registered yet")]
        else:
            parts = [_display.table(
                ("version", "status", "created", "metrics", "description"),
                [(r.version, _display.badge(r.approval_status.value),
                  _display.time_text(r.creation_time),
                  ", ".join(f"{k}={v:g}" for k, v in sorted(r.metrics.items())),
                  r.description or "") for r in records[:shown]],
                caption="Versions (newest first)")]
            if len(records) > shown:
                parts.append(_display.note("older versions not shown"))
        return _display.card("Model package group", self.name, None, rows=rows, parts=parts)


class _Candidate:
    """What a policy sees of a package being registered as Approved: the same attributes
    as a ModelPackage, with ``version`` None (it has none yet)."""

    def __init__(self, spec: ModelPackageSpec, group: ModelPackageGroup) -> None:
        self.group, self.version, self.arn = group, None, None
        self.approval_status = spec.approval_status
        self.metrics, self.metadata = dict(spec.metrics), dict(spec.metadata)
        self.lineage, self.description = dict(spec.lineage), spec.description
        self.model = Model.from_spec(spec.model, session=group.session)
        self.history: list[HistoryEntry] = []


def _lineage(session: Session, model: Model, job: TrainingJob | None) -> dict[str, Any]:
    """What a package records of where it came from: the artifact and its SHA-256, the
    code archive and its SHA-256 (uploading the code first), and the training job."""
    from .serving.endpoint import code_uri, verified_digest

    try:
        digest = sha256_of(session, model.model_data)
    except MlopsKitError as exc:
        raise ValidationError(f"model.model_data: {model.model_data!r} is not a readable "
                              f"artifact ({exc}); register an artifact that exists",
                              field="model.model_data") from None
    lineage: dict[str, Any] = {"model_data": model.model_data, "sha256": digest}
    code = code_uri(model.spec(session))
    if code is not None:
        # Checked against its content address (mlopskit/code/<sha256>/...) on the way.
        lineage.update(code_data=code, code_sha256=verified_digest(
            session, code, None, what="code archive", recorded="when it was uploaded"))
    if job is not None:
        described = job.describe()
        lineage.update(training_job=described.name, training_job_arn=described.arn,
                       hyperparameters=described.hyperparameters,
                       inputs=dict(described.inputs))
    return lineage


RUN_METADATA = "mlflow.run_id"  # the package metadata key naming its MLflow run


def _linked_run(session: Session, run_id: str | None, copy_metrics: bool) -> Any:
    """The MLflow run a package is registered from (NotFoundError naming ``run_id`` when the
    session's store has no such run), or None without one."""
    if run_id is None:
        if copy_metrics:
            raise ValidationError("copy_run_metrics: needs run_id= or a tracked source_job "
                                  "(a job fitted with experiment=)", field="copy_run_metrics")
        return None
    if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise ValidationError(f"run_id: expected an MLflow run id (32 hex digits), got "
                              f"{run_id!r}", field="run_id")
    try:
        return session.tracker().get_run(run_id)
    except NotFoundError:
        raise NotFoundError(f"run_id: run {run_id!r} is not in the tracking store "
                            f"{session.tracker().display_uri}") from None


class ModelPackage:
    """One registered version. Read its state; change it with approve/reject/set_metadata.

    Get one from :meth:`ModelPackageGroup.register`, ``package(version)``, ``versions()``
    or ``latest()``; every change of approval state is kept in ``history``.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> session.backend.objects.put_bytes(b"weights", "s3://models/iris/model.tar.gz")
        >>> group = ModelPackageGroup("iris-models", session=session).create()
        >>> package = group.register(mlopskit.Model("s3://models/iris/model.tar.gz",
        ...                                         session=session), metrics={"acc": 0.9})
        >>> package.approve(by="alice", note="beats the baseline").approval_status.value
        'Approved'
        >>> [(entry.status, entry.note) for entry in package.history]
        [('PendingManualApproval', 'registered'), ('Approved', 'beats the baseline')]
        >>> package.metrics
        {'acc': 0.9}
    """

    def __init__(self, record: PackageRecord, group: ModelPackageGroup) -> None:
        self._record = record
        self.group = group

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def arn(self) -> str:
        return self._record.arn

    @property
    def approval_status(self) -> ApprovalStatus:
        return self._record.approval_status

    @property
    def model(self) -> Model:
        return Model.from_spec(self._record.model, session=self.group.session)

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self._record.metrics)

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._record.metadata)

    @property
    def run_id(self) -> str | None:
        """The MLflow run the package was registered from (its ``mlflow.run_id``
        metadata), or None."""
        return self._record.metadata.get(RUN_METADATA)

    @property
    def lineage(self) -> dict[str, Any]:
        return dict(self._record.lineage)

    @property
    def history(self) -> list[HistoryEntry]:
        """Every state change, oldest first: status, previous, by, at, note."""
        return list(self._record.history)

    @property
    def description(self) -> str | None:
        return self._record.description

    def refresh(self) -> ModelPackage:
        self._record = self.group._registry.get_package(self.group.name, self.version)
        return self

    def _change(self, target: ApprovalStatus, by: str | None, note: str,
                policies: Sequence[ApprovalPolicy]) -> ModelPackage:
        self.refresh()
        current = self.approval_status
        if current is target:
            return self  # asking for the state it is in changes nothing
        if target not in ALLOWED_TRANSITIONS[current]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current])) or "none"
            raise ConflictError(
                f"{self.group.name!r} version {self.version}: {current.value} -> "
                f"{target.value} is not allowed; from {current.value} allowed: {allowed}")
        if target is ApprovalStatus.APPROVED:
            self.group._check_policies(self, policies)
        _check_note(note)
        _check_by(by)
        entry = HistoryEntry(status=target.value, previous=current.value, by=_actor(by),
                             at=self.group.session.clock.now().isoformat(), note=note)
        self._record = self.group._registry.update_package(
            self.group.name, self.version, expected=current, status=target,
            metadata=self.metadata, entry=entry)
        return self

    def approve(self, by: str | None = None, note: str = "",
                policies: Sequence[ApprovalPolicy] = ()) -> ModelPackage:
        """Approve; group and given ``policies`` may refuse with PolicyViolationError."""
        return self._change(ApprovalStatus.APPROVED, by, note, policies)

    def reject(self, by: str | None = None, note: str = "") -> ModelPackage:
        return self._change(ApprovalStatus.REJECTED, by, note, ())

    def set_metadata(self, values: Mapping[str, str], remove: Sequence[str] = ()
                     ) -> ModelPackage:
        """Add or overwrite metadata entries and drop ``remove``; limits are SageMaker's."""
        if isinstance(remove, str):
            remove = [remove]  # one key, not its characters
        self.refresh()
        merged = {k: v for k, v in self.metadata.items() if k not in set(remove)}
        merged.update(values)
        try:
            check_metadata(merged)
        except ValueError as exc:
            raise _invalid("metadata", exc) from None
        self._record = self.group._registry.update_package(
            self.group.name, self.version, expected=self.approval_status,
            status=self.approval_status, metadata=merged, entry=None)
        return self

    def deploy(self, config: Any, endpoint_name: str | None = None, wait: bool = True, *,
               force: bool = False, variant_name: str = "AllTraffic", serializer: Any = None,
               deserializer: Any = None, data_capture_config: Any = None,
               timeout: float | None = None, tags: Mapping[str, str] | None = None) -> Any:
        """Serve this version. Only an Approved package deploys, unless ``force=True``; the
        artifact and the code archive must still match the SHA-256 digests recorded at
        registration (:class:`~mlopskit.errors.IntegrityError` otherwise, before anything
        is loaded).
        ``data_capture_config`` (a :class:`~mlopskit.DataCaptureConfig`) records requests;
        ``wait``, ``timeout`` and ``tags`` as in :meth:`mlopskit.Model.deploy`."""
        from .serving.endpoint import deploy_model

        self.refresh()
        if self.approval_status is not ApprovalStatus.APPROVED and not force:
            raise ConflictError(
                f"{self.group.name!r} version {self.version} is "
                f"{self.approval_status.value}; only Approved packages deploy (force=True "
                "overrides)")
        expected, code = self.lineage.get("sha256"), self.lineage.get("code_sha256")
        return deploy_model(self.model, config, endpoint_name=endpoint_name,
                            variant_name=variant_name, session=self.group.session,
                            sha256=str(expected) if expected else None,
                            code_sha256=str(code) if code else None,
                            serializer=serializer, deserializer=deserializer,
                            data_capture_config=data_capture_config, wait=wait,
                            timeout=timeout, tags=tags)

    def verified_artifact(self, directory: Path) -> Path:
        """Download the artifact into ``directory`` and check its SHA-256 against lineage.

        Deployments load artifacts only through this; a mismatch raises
        :class:`TamperedArtifactError` and the download is removed.
        """
        expected = self.lineage.get("sha256")
        if not expected:
            raise TamperedArtifactError(
                f"{self.group.name!r} version {self.version} has no SHA-256 in its lineage "
                "(registered by another tool?), so its artifact cannot be verified")
        target = directory / "model.tar.gz"
        self.group.session.backend.objects.download(self._record.model.model_data, target)
        from ._data import sha256_file

        actual = sha256_file(target)
        if expected != actual:
            target.unlink(missing_ok=True)
            raise TamperedArtifactError(
                f"{self.group.name!r} version {self.version}: artifact "
                f"{self._record.model.model_data!r} has SHA-256 {actual[:12]}..., but "
                f"{str(expected)[:12]}... was registered; refusing to load it")
        return target

    def __repr__(self) -> str:
        return (f"ModelPackage(group={self.group.name!r}, version={self.version}, "
                f"status={self.approval_status.value!r})")

    @_display.safe_html("Model package", lambda self: f"{self.group.name} v{self.version}")
    def _repr_html_(self) -> str:
        """Approval status, metrics, metadata, lineage and history; no backend call (the
        record is in hand) and never the model's environment values."""
        record = self._record
        lineage = record.lineage
        rows: list[tuple[str, object]] = [
            ("description", record.description),
            ("created", _display.time_text(record.creation_time)),
            ("model artifact", record.model.model_data),
            ("image", record.model.image_uri),
            ("framework", " ".join(filter(None, (record.model.framework,
                                                 record.model.framework_version)))),
            ("sha256", str(lineage.get("sha256") or "")[:16]),
            ("training job", lineage.get("training_job")),
            ("content types", ", ".join(record.content_types)),
            ("arn", record.arn)]
        parts: list[str] = []
        if record.metrics:
            parts.append(_display.table(("metric", "value"),
                                        [(k, f"{v:g}") for k, v in sorted(record.metrics.items())],
                                        caption="Metrics"))
        if record.metadata:
            parts.append(_display.table(("key", "value"), sorted(record.metadata.items()),
                                        caption="Metadata", limit=20))
        if record.history:
            parts.append(_display.table(
                ("status", "by", "at", "note"),
                [(_display.badge(h.status), h.by, _display.time_text(h.at), h.note)
                 for h in record.history], caption="History", limit=20))
        return _display.card("Model package", f"{self.group.name} v{record.version}",
                             record.approval_status.value, rows=rows, parts=parts)
