"""Writing and reading MLflow runs: :class:`Tracker`, the one client every part of mlopskit
records jobs, trials and pipeline executions through.

A run is made in one step (:meth:`Tracker.start_run`: name, tags, params and dataset inputs)
and finished in one (:meth:`Tracker.finish_run`: status, metric series, closing tags);
finishing twice does nothing the second time. Every MLflow failure becomes a
:class:`~mlopskit.errors.TrackingError` naming the tracking URI without its credentials, an
unknown run or experiment a :class:`~mlopskit.errors.NotFoundError`, input MLflow refuses a
:class:`~mlopskit.errors.ValidationError`.

Example (``Experiment`` shows a whole round trip):
    >>> MetricPoint("auc", 0.9, step=1, timestamp_ms=1_700_000_000_000)
    MetricPoint(name='auc', value=0.9, step=1, timestamp_ms=1700000000000)
    >>> DatasetRef("train", "s3://bucket/data/train.csv").context
    'training'
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from ..errors import ConflictError, NotFoundError, TrackingError, ValidationError
from ._mlflow import redact, require_mlflow, short_http_retries, without_userinfo

__all__ = ["FINISHED_TAG", "PARENT_TAG", "DatasetRef", "MetricPoint", "Tracker"]

T = TypeVar("T")

PARENT_TAG = "mlflow.parentRunId"
FINISHED_TAG = "mlopskit.finished"
_CONTEXT_TAG = "mlflow.data.context"
_RUN_STATUSES = ("FINISHED", "FAILED", "KILLED")
# MLflow's log_batch limits: 100 params or tags, 1,000 entities in all, per call; a
# dataset digest is at most 36 characters.
_MAX_PARAMS_TAGS, _MAX_ENTITIES, _MAX_DIGEST = 100, 1000, 36
_PAGE = 1000


@dataclass(frozen=True)
class MetricPoint:
    """One value of a metric: ``step`` orders a series (1-based for parsed job logs),
    ``timestamp_ms`` is milliseconds since the epoch.

    Example:
        >>> MetricPoint("validation:auc", 0.91, step=3, timestamp_ms=1_700_000_000_000).step
        3
    """

    name: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True)
class DatasetRef:
    """A dataset a run read: ``name`` (a channel), ``source`` (its URI), ``digest`` (the
    object store's, else a SHA-256 of the source is used; MLflow keeps at most 36
    characters) and ``context`` (``mlflow.data.context``: training, validation, ...).

    Example:
        >>> DatasetRef("train", "s3://bucket/data/train.csv", context="train").digest is None
        True
    """

    name: str
    source: str
    digest: str | None = None
    context: str = "training"


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _all_pages(fetch: Callable[[str | None], Any]) -> list[Any]:
    """Every item of a paged MLflow search: ``fetch(token)`` gives a page with ``.token``."""
    found: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        found += list(page)
        token = page.token
        if not token:
            return found


def _log_batch(run_id: str, metrics: list[Any], params: list[Any],
               tags: list[Any]) -> Callable[[Any], None]:
    def log(client: Any) -> None:
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags, synchronous=True)

    return log


def _now_ms() -> int:
    return int(time.time() * 1000)


_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: list[Path] = []  # this process's empty, migrated SQLite store


def _seed_sqlite_store(uri: str) -> None:
    """Start a new SQLite store as a copy of an empty one this process migrated once.

    MLflow builds a new SQLite store by running every schema migration (seconds, each time);
    a session per test or per notebook would pay it again and again. The copy has the same
    schema and the same empty Default experiment, so MLflow then finds nothing to do. An
    existing store, or any other kind of URI, is left to MLflow.
    """
    if not uri.startswith("sqlite:///"):
        return
    target = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    try:
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)  # as MLflow would
    except OSError:
        return  # MLflow's first call reports it, as a TrackingError
    with _TEMPLATE_LOCK:
        if not _TEMPLATE:
            from mlflow.tracking import MlflowClient

            folder = Path(tempfile.mkdtemp(prefix="mlopskit-mlflow-template-"))
            template = folder / "mlflow.db"
            store_log = logging.getLogger("mlflow.store.db.utils")
            level = store_log.level
            store_log.setLevel(logging.WARNING)  # its "Creating initial tables" notices
            try:
                MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()
            finally:
                store_log.setLevel(level)
            # Write-ahead logging: one sync per commit instead of several, and readers that
            # do not block the writer (jobs logging while the caller reads). It is a
            # property of the file, so every copy has it.
            with contextlib.closing(sqlite3.connect(template)) as db:
                db.execute("PRAGMA journal_mode=WAL")
            _TEMPLATE.append(template)
        staged = target.with_name(f".{target.name}.{os.getpid()}.seed")
        shutil.copyfile(_TEMPLATE[0], staged)
        try:
            os.link(staged, target)  # never over a store another process just made
        except FileExistsError:
            pass
        finally:
            staged.unlink(missing_ok=True)


def _wal_sync_normal(dbapi_connection: Any, _record: Any) -> None:
    """On a new SQLite connection: when the store is in write-ahead-log mode, commit with
    ``synchronous=NORMAL`` (no sync of the log on every commit)."""
    cursor = dbapi_connection.cursor()
    try:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _relax_sqlite_syncs(client: Any) -> None:
    """Let this process's connections to a WAL-mode SQLite store commit with
    ``synchronous=NORMAL``: a sync per checkpoint instead of one per commit, a few
    milliseconds of every tracked job. SQLite keeps such a store consistent through a
    crash or power loss; the commits of the last moments before a power loss may be
    lost. A store in another journal mode, or not SQLite, is left as it is.

    MLflow has no setting for it, so this reaches its store's SQLAlchemy engine
    (``test_tracking_recorder`` fails when that path changes).
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite" \
            or event.contains(engine, "connect", _wal_sync_normal):
        return
    event.listen(engine, "connect", _wal_sync_normal)
    engine.dispose()  # the connections already pooled reopen with it


class Tracker:
    """An MLflow tracking client for one tracking URI (``sqlite:///...``, ``file:...``,
    ``http(s)://...``, a SageMaker MLflow tracking server ARN).

    For an ``http(s)`` URI the server is asked for ``/health`` before the first call, with
    ``timeout`` seconds to answer: a server that is down gives a TrackingError at once
    instead of MLflow's minutes of retries. Each MLflow request then retries at most twice
    and times out after ``timeout`` seconds (see ``_mlflow.short_http_retries``; settings
    you put in the ``MLFLOW_HTTP_REQUEST_*`` environment variables win). ``artifact_root``
    is the artifact location of the experiments this tracker creates (None: the store's
    default).

    Example:
        >>> Tracker("http://user:secret@127.0.0.1:5000")
        Tracker('http://127.0.0.1:5000')
    """

    def __init__(self, tracking_uri: str, *, artifact_root: str | None = None,
                 timeout: float = 5.0) -> None:
        if not isinstance(tracking_uri, str) or not tracking_uri:
            raise ValidationError("tracking_uri: expected an MLflow tracking URI, got "
                                  f"{tracking_uri!r}", field="tracking_uri")
        if not timeout > 0:
            raise ValidationError(f"timeout: expected a number of seconds > 0, got {timeout!r}",
                                  field="timeout")
        self._uri = tracking_uri
        self._shown = without_userinfo(tracking_uri)
        self._artifact_root = artifact_root
        self._timeout = float(timeout)
        self._http = tracking_uri.lower().startswith(("http://", "https://"))
        # A database or folder store makes no HTTP calls (an ARN or databricks URI does).
        self._local = tracking_uri.lower().startswith(
            ("sqlite:", "file:", "postgresql", "mysql", "mssql", "/", "."))
        self._lock = threading.Lock()
        self._probed = False
        self._mlflow_client: Any = None
        self._experiments: dict[str, str] = {}

    @property
    def tracking_uri(self) -> str:
        """The tracking URI, as given (it may hold credentials: do not print it)."""
        return self._uri

    def __repr__(self) -> str:
        return f"Tracker({self._shown!r})"

    @property
    def display_uri(self) -> str:
        """The tracking URI without its credentials, for messages and reprs."""
        return self._shown

    # -- plumbing ----------------------------------------------------------------------

    def _probe(self) -> None:
        """Ask an HTTP server for ``/health`` once; a TrackingError if nobody answers."""
        if not self._http or self._probed:
            return
        parts = urlsplit(self._uri)
        request = urllib.request.Request(  # noqa: S310 (only http(s) URIs get here)
            without_userinfo(self._uri).rstrip("/") + "/health", method="GET")
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            request.add_header("Authorization",
                               "Basic " + base64.b64encode(pair.encode()).decode())
        try:
            with urllib.request.urlopen(  # noqa: S310 (only http(s) URIs get here)
                    request, timeout=self._timeout) as response:
                response.read(256)
        except urllib.error.HTTPError as exc:  # it answered: up, unless a proxy says not
            if exc.code >= 500:
                raise TrackingError(
                    f"tracking server {self._shown} is not available: GET /health answered "
                    f"HTTP {exc.code}", tracking_uri=self._shown) from None
        except (OSError, ValueError) as exc:  # refused, timed out, unresolvable, bad URL
            reason = redact(str(getattr(exc, "reason", exc)))
            raise TrackingError(
                f"tracking server {self._shown} is not reachable (GET /health within "
                f"{self._timeout:g} s: {reason}); is it running?",
                tracking_uri=self._shown) from None
        self._probed = True

    def _client(self) -> Any:
        with self._lock:
            if self._mlflow_client is None:
                require_mlflow()
                from mlflow.tracking import MlflowClient

                _seed_sqlite_store(self._uri)
                self._mlflow_client = MlflowClient(tracking_uri=self._uri)
                if self._uri.startswith("sqlite:"):
                    _relax_sqlite_syncs(self._mlflow_client)
            return self._mlflow_client

    def _call(self, what: str, action: Callable[[Any], T], *, missing: str | None = None,
              field: str | None = None) -> T:
        """``action(client)`` with short HTTP retries, MLflow's errors turned into ours:
        ``missing`` is the NotFoundError message for an unknown resource, ``field`` the
        argument an invalid-value error names."""
        self._probe()
        require_mlflow()
        from mlflow.exceptions import MlflowException

        try:
            client = self._client()  # MLflow opens the store here: a bad one fails now
            with (contextlib.nullcontext() if self._local
                  else short_http_retries(self._timeout)):
                return action(client)
        except MlflowException as exc:
            message = redact(exc.message if isinstance(exc.message, str) else str(exc))
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" and missing is not None:
                raise NotFoundError(missing) from None
            if exc.error_code == "INVALID_PARAMETER_VALUE" and field is not None:
                raise ValidationError(f"{field}: {message}", field=field) from None
            raise TrackingError(f"{self._shown}: {what} failed: {message}",
                                tracking_uri=self._shown) from None
        except Exception as exc:
            # A connection dropped below MLflow's own handling, or the AWS credentials of a
            # SageMaker tracking server (sagemaker-mlflow signs requests with botocore).
            if not isinstance(exc, OSError) and not type(exc).__module__.startswith(
                    ("botocore", "requests", "urllib3", "sqlalchemy")):
                raise
            # SQLAlchemy's own message adds the SQL and a link: the database's says it all.
            cause = getattr(exc, "orig", None) or exc
            raise TrackingError(f"{self._shown}: {what} failed: {redact(str(cause))}",
                                tracking_uri=self._shown) from None

    # -- experiments -------------------------------------------------------------------

    def experiment_id(self, name: str, *, create: bool = True) -> str:
        """The id of experiment ``name``, created (with this tracker's artifact root) when
        missing and ``create``; a NotFoundError naming it otherwise."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"experiment: expected a non-empty name, got {name!r}",
                                  field="experiment")
        known = self._experiments.get(name)
        if known is not None:
            return known
        found = self._call(f"reading experiment {name!r}",
                           lambda c: c.get_experiment_by_name(name))
        if found is None and create:
            found = self._create_experiment(name)
        if found is None or found.lifecycle_stage == "deleted":
            if found is not None and create:
                raise ConflictError(
                    f"experiment {name!r} was deleted in {self._shown}; restore it "
                    f"(mlflow experiments restore --experiment-id {found.experiment_id}) or "
                    "use another name")
            raise NotFoundError(f"experiment {name!r} does not exist in {self._shown}")
        self._experiments[name] = str(found.experiment_id)
        return str(found.experiment_id)

    def _create_experiment(self, name: str) -> Any:
        def create(client: Any) -> Any:
            from mlflow.exceptions import MlflowException

            try:
                client.create_experiment(name, artifact_location=self._artifact_root)
            except MlflowException as exc:  # another writer made it first
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            return client.get_experiment_by_name(name)

        return self._call(f"creating experiment {name!r}", create, field="experiment")

    def experiments(self) -> list[Any]:
        """Every active experiment (MLflow ``Experiment`` entities), all pages."""

        return self._call("listing experiments", lambda c: _all_pages(
            lambda token: c.search_experiments(max_results=_PAGE, page_token=token)))

    # -- runs --------------------------------------------------------------------------

    def start_run(self, experiment: str, run_name: str, *, tags: Mapping[str, str] = {},
                  params: Mapping[str, str] = {}, parent_run_id: str | None = None,
                  inputs: Sequence[DatasetRef] = (), start_time_ms: int | None = None) -> str:
        """Make a RUNNING run in ``experiment`` (created if missing) and return its id.

        ``tags`` (at most 100) go with the run's creation and ``params`` in one
        ``log_batch`` (more when they pass MLflow's 100 per call), a parent through the
        ``mlflow.parentRunId`` tag, ``inputs`` as MLflow datasets whose
        ``mlflow.data.context`` tag is the ref's context; ``start_time_ms`` (default: now)
        is when the work began (a trial recorded after it ended). If any of it is refused
        the run is deleted again: nothing half-made stays.
        """
        experiment_id = self.experiment_id(experiment)
        all_tags = {str(k): str(v) for k, v in tags.items()}
        if parent_run_id is not None:
            all_tags[PARENT_TAG] = parent_run_id
        first = dict(list(all_tags.items())[:_MAX_PARAMS_TAGS])
        rest = {k: v for k, v in all_tags.items() if k not in first}
        started = start_time_ms if start_time_ms is not None else _now_ms()
        run = self._call(f"starting run {run_name!r}", lambda c: c.create_run(
            experiment_id, start_time=started, run_name=run_name, tags=first),
            field="run_name")
        run_id: str = run.info.run_id
        try:
            if params or rest:
                self._log(run_id, params={str(k): str(v) for k, v in params.items()},
                          tags=rest)
            self._log_inputs(run_id, inputs)
        except BaseException:
            self._discard(run_id)
            raise
        return run_id

    def _discard(self, run_id: str) -> None:
        with contextlib.suppress(TrackingError, NotFoundError):  # the first error counts
            self.delete_run(run_id)

    def _log_inputs(self, run_id: str, inputs: Sequence[DatasetRef]) -> None:
        if inputs:
            datasets = [self._dataset_input(ref) for ref in inputs]
            self._call(f"logging the inputs of run {run_id}",
                       lambda c: c.log_inputs(run_id, datasets=datasets), field="inputs")

    @staticmethod
    def _dataset_input(ref: DatasetRef) -> Any:
        from mlflow.entities import Dataset, DatasetInput, InputTag

        scheme = urlsplit(ref.source).scheme
        digest = ref.digest or hashlib.sha256(ref.source.encode()).hexdigest()
        dataset = Dataset(name=ref.name, digest=digest[:_MAX_DIGEST],
                          source_type=scheme if scheme and scheme != "file" else "local",
                          source=json.dumps({"uri": ref.source}))
        return DatasetInput(dataset=dataset, tags=[InputTag(key=_CONTEXT_TAG,
                                                            value=ref.context)])

    def _log(self, run_id: str, *, params: Mapping[str, str] = {},
             tags: Mapping[str, str] = {}, metrics: Sequence[MetricPoint] = ()) -> None:
        """Params, tags and metrics in as few ``log_batch`` calls as MLflow's limits allow:
        params and tags first, then metrics 1,000 at a time."""
        from mlflow.entities import Metric, Param, RunTag

        param_list = [Param(k, v) for k, v in params.items()]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        batches: list[tuple[list[Any], list[Any], list[Any]]] = []
        for start in range(0, max(len(param_list), len(tag_list)), _MAX_PARAMS_TAGS):
            batches.append(([], param_list[start:start + _MAX_PARAMS_TAGS],
                            tag_list[start:start + _MAX_PARAMS_TAGS]))
        metric_list = [Metric(p.name, float(p.value), int(p.timestamp_ms), int(p.step))
                       for p in metrics]
        chunks = [list(chunk) for chunk in _chunks(metric_list, _MAX_ENTITIES)]
        if chunks and batches:  # the first metrics ride with the last params and tags
            _, last_params, last_tags = batches[-1]
            room = _MAX_ENTITIES - len(last_params) - len(last_tags)
            batches[-1] = (chunks[0][:room], last_params, last_tags)
            chunks = [chunks[0][room:], *chunks[1:]] if chunks[0][room:] else chunks[1:]
        batches += [(chunk, [], []) for chunk in chunks]
        for batch in batches:
            self._call(f"logging to run {run_id}", _log_batch(run_id, *batch),
                       missing=f"run {run_id!r} does not exist in {self._shown}",
                       field="params/tags/metrics")

    def finish_run(self, run_id: str, *,
                   status: Literal["FINISHED", "FAILED", "KILLED"],
                   metrics: Sequence[MetricPoint] = (), tags: Mapping[str, str] = {},
                   end_time_ms: int | None = None, inputs: Sequence[DatasetRef] = (),
                   check: bool = True) -> None:
        """Record a run's outcome: ``inputs`` (datasets known only now), ``metrics``
        (1,000 per call) and ``tags`` with ``mlopskit.finished=1`` in as few batches as
        MLflow allows, then the terminal ``status`` and end time. A run that carries that
        tag is left alone, so finishing is idempotent. ``check=False`` skips that look (one
        read) for a caller that knows: writing the same outcome twice changes nothing, as
        MLflow keeps a metric point and a dataset input once."""
        if status not in _RUN_STATUSES:
            raise ValidationError(f"status: {status!r} is not one of "
                                  f"{', '.join(_RUN_STATUSES)}", field="status")
        # Not the run's status: a script's own ``with mlflow.start_run():`` ends the run it
        # joined before the job has ended.
        if check and self.get_run(run_id).data.tags.get(FINISHED_TAG) == "1":
            return
        self._log_inputs(run_id, inputs)
        self._log(run_id, metrics=metrics,
                  tags={**{str(k): str(v) for k, v in tags.items()}, FINISHED_TAG: "1"})
        self._call(f"ending run {run_id}", lambda c: c.set_terminated(
            run_id, status=status, end_time=end_time_ms if end_time_ms is not None
            else _now_ms()))

    def log_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set ``tags`` on a run (100 per call)."""
        self._log(run_id, tags={str(k): str(v) for k, v in tags.items()})

    def delete_run(self, run_id: str) -> None:
        """Delete a run (MLflow keeps it, marked deleted, until garbage collection)."""
        self._call(f"deleting run {run_id}", lambda c: c.delete_run(run_id),
                   missing=f"run {run_id!r} does not exist in {self._shown}")

    def get_run(self, run_id: str) -> Any:
        """The MLflow ``Run`` (info, data.params/metrics/tags, inputs)."""
        return self._call(f"reading run {run_id}", lambda c: c.get_run(run_id),
                          missing=f"run {run_id!r} does not exist in {self._shown}")

    def runs(self, experiment: str, filter_string: str | None = None) -> list[Any]:
        """Every active run of ``experiment``, newest first, all pages; ``filter_string``
        is an MLflow filter (``"params.lr = '0.1'"``, ``"metrics.auc > 0.9"``).
        NotFoundError for an unknown experiment, ValidationError for a bad filter."""
        experiment_id = self.experiment_id(experiment, create=False)

        return self._call(f"searching the runs of {experiment!r}", lambda c: _all_pages(
            lambda token: c.search_runs([experiment_id], filter_string=filter_string or "",
                                        max_results=_PAGE, page_token=token,
                                        order_by=["attributes.start_time DESC"])),
            field="filter")

    def metric_history(self, run_id: str, metric: str) -> list[Any]:
        """Every recorded value of ``metric`` in a run (MLflow ``Metric`` entities)."""
        return list(self._call(f"reading {metric!r} of run {run_id}",
                               lambda c: c.get_metric_history(run_id, metric),
                               missing=f"run {run_id!r} does not exist in {self._shown}"))
