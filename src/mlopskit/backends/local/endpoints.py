"""Local endpoints: one inference server process per variant, on 127.0.0.1.

Servers run in their own sessions, so they outlive the notebook kernel that started them;
their ports and pids are in the store, so any process finds them again by endpoint name.
Requests are routed by the caller: a variant is drawn by weight (or pinned with
``target_variant``) and the request goes straight to its server over a kept-alive
connection, with no router hop in between. Data capture happens there too, in the caller
(see :mod:`.capture`), so records carry the session clock's time.

Failure paths are total: a variant's model and code archives are checked against their
recorded SHA-256 before either is extracted (:class:`~mlopskit.errors.IntegrityError`);
an archive that cannot be unpacked, or any other failure while the servers start, stops
every server started so far and ends in :class:`~mlopskit.errors.DeploymentFailedError`;
servers are recorded in the endpoint's row as soon as they run, so nothing can outlive its
row; and a realtime server that dies later turns its endpoint ``Failed`` (noticed by
``describe_endpoint`` and by a request that finds it gone). A request is sent at most once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._archive import ArchiveError, safe_extract
from ..._data import sha256_file
from ...errors import (
    CapabilityError,
    ConflictError,
    DeploymentFailedError,
    IntegrityError,
    InvocationError,
    MlopsKitError,
    NotFoundError,
    ThrottledError,
)
from ...sagemaker_api.inference.frameworks import serving_framework
from ...sagemaker_api.rollout import FleetStats, RolloutReport, Strategy
from ...specs.serving import (
    DataCaptureDescription,
    DataCaptureSpec,
    DeployedModelSpec,
    EndpointConfigSpec,
    EndpointDescription,
    InvokeResult,
    VariantDescription,
    VariantSpec,
)
from ..base import ProgressSink
from ._invoke_client import Pool, post
from ._processes import identity, processes_marked, running, stop_marked
from ._server_process import CHILDREN as _CHILDREN
from ._server_process import death as _death
from ._server_process import gone as _gone
from ._server_process import kill as _kill
from ._server_process import log_tail as _log_tail
from ._server_process import read_answer as _read_answer
from .capture import CaptureWriter
from .environments import python_path
from .store import dumps

if TYPE_CHECKING:
    from ...specs.serving import TransformJobDescription, TransformJobSpec
    from .backend import LocalBackend

__all__ = ["LocalEndpoints"]

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker's realtime request limit
_MODEL_DIR = "/opt/ml/model"  # where the container extracts model.tar.gz
START_TIMEOUT = 120.0


class LocalEndpoints:
    """Serving verbs of the local backend."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.store = backend.store
        self.root = backend.root / "endpoints"
        self._local = threading.local()
        # Traffic splitting and capture sampling, not security; a session's seed makes both
        # reproducible (two generators, so routing draws do not shift the sampling ones).
        self._rng = random.Random(backend.seed)  # noqa: S311
        self._capture_rng = random.Random(backend.seed)  # noqa: S311
        self._captures: dict[str, DataCaptureSpec | None] = {}  # config name -> capture
        self._writer = CaptureWriter(backend.objects)
        self.started_here: set[str] = set()

    def _arn(self, kind: str, name: str) -> str:
        from .backend import LOCAL_ACCOUNT

        return f"arn:aws:sagemaker:{self.backend.region}:{LOCAL_ACCOUNT}:{kind}/{name.lower()}"

    # -- models and configs ------------------------------------------------------------

    def check_model(self, spec: DeployedModelSpec) -> None:
        """Nothing to refuse before the upload: the local backend runs no images (whether
        it can serve the model is checked when an endpoint or transform starts)."""

    def _insert(self, table: str, kind: str, spec: DeployedModelSpec | EndpointConfigSpec
                ) -> None:
        with self.store.transaction() as db:
            if db.execute(f"SELECT 1 FROM {table} WHERE name = ?",  # noqa: S608
                          (spec.name,)).fetchone():
                raise ConflictError(f"{kind} {spec.name!r} already exists")
            db.execute(f"INSERT INTO {table} VALUES (?, ?, ?)",  # noqa: S608
                       (spec.name, spec.model_dump_json(),
                        self.backend.clock.now().isoformat()))

    def _stored(self, table: str, kind: str, name: str) -> str:
        row = self.store.query_one(f"SELECT spec FROM {table} WHERE name = ?",  # noqa: S608
                                   (name,))
        if row is None:
            raise NotFoundError(f"{kind} {name!r} does not exist")
        return str(row["spec"])

    def create_model(self, spec: DeployedModelSpec) -> None:
        self._insert("models", "model", spec)

    def _model(self, name: str) -> DeployedModelSpec:
        return DeployedModelSpec.model_validate_json(self._stored("models", "model", name))

    def create_endpoint_config(self, spec: EndpointConfigSpec) -> None:
        for variant in spec.variants:
            self._model(variant.model_name)
        self._insert("endpoint_configs", "endpoint config", spec)

    def _config(self, name: str) -> EndpointConfigSpec:
        return EndpointConfigSpec.model_validate_json(
            self._stored("endpoint_configs", "endpoint config", name))

    # -- endpoints -----------------------------------------------------------------------

    def servable(self, model_name: str) -> DeployedModelSpec:
        """The model, if the local backend can serve it; else a ``CapabilityError`` saying
        why, before any server starts.

        SageMaker's images serve a model with no inference script (the built-in algorithms,
        SDK v3's ``ModelBuilder`` registrations with an empty ``SAGEMAKER_PROGRAM``); the
        local backend runs no images, so it needs the script's ``model_fn``.
        """
        model = self._model(model_name)
        if not model.environment.get("SAGEMAKER_PROGRAM"):
            image = f"image {model.image_uri!r}" if model.image_uri else "its image"
            raise CapabilityError(
                f"model {model.name!r} has no inference script (SAGEMAKER_PROGRAM is empty "
                f"or missing): on SageMaker {image} would serve it with its own handler, and "
                "the local backend runs no images; give the Model an inference script "
                "(entry_point= with model_fn, and source_dir= if it needs other files)")
        if serving_framework(model.framework, model.image_uri) == "tensorflow":
            raise CapabilityError(
                f"model {model.name!r} is served by TensorFlow Serving (a SavedModel behind "
                "its REST API), which the local backend does not emulate; serve it on the "
                "aws backend, or locally through an inference script for another framework")
        return model

    def create_endpoint(self, name: str, config_name: str, *,
                        tags: dict[str, str] | None = None,
                        on_progress: ProgressSink | None = None) -> None:
        """Start every variant's servers; the endpoint is InService (or Failed) on return.

        ``tags`` are accepted for the one signature both backends share: locally the
        model's and config's tags stay in their specs, and an endpoint has none to show.
        """
        config = self._config(config_name)
        for variant in config.variants:
            self.servable(variant.model_name)
        weights = {v.name: v.initial_weight for v in config.variants}
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM endpoints WHERE name = ?", (name,)).fetchone():
                raise ConflictError(f"endpoint {name!r} already exists")
            db.execute("INSERT INTO endpoints (name, config_name, status, weights, created, "
                       "owner_pid, owner_start) VALUES (?, ?, 'Creating', ?, ?, ?, ?)",
                       (name, config_name, dumps(weights),
                        self.backend.clock.now().isoformat(), *identity()))
        self.started_here.add(name)
        servers: dict[str, dict[str, Any]] = {}
        # Starting a variant's server takes a second or more: progress by variants.
        current = None
        try:
            for index, variant in enumerate(config.variants):
                current = variant.name
                if on_progress is not None:
                    on_progress(f"Creating: starting {variant.name}", index,
                                len(config.variants))
                servers[variant.name] = self._start(name, variant,
                                                    self._model(variant.model_name))
                # In the row as soon as it runs: a delete, or close() of this session, finds
                # and stops it even if this process dies before the others start.
                with self.store.transaction() as db:
                    db.execute("UPDATE endpoints SET servers = ? WHERE name = ?",
                               (dumps(servers), name))
            if on_progress is not None:
                on_progress("InService", len(config.variants), len(config.variants))
        except BaseException as exc:  # every failure, not only ours: stop what started
            failure = _deployment_failure(exc, f"variant {current!r} could not be started")
            self._stop(servers)
            reason = str(failure) if failure is not None else \
                f"interrupted ({type(exc).__name__}) while variant {current!r} was starting"
            with contextlib.suppress(MlopsKitError), self.store.transaction() as db:
                db.execute("UPDATE endpoints SET status = 'Failed', failure_reason = ? "
                           "WHERE name = ?", (reason[:1024], name))
            if failure is not None and failure is not exc:
                raise failure from exc
            raise
        with self.store.transaction() as db:
            db.execute("UPDATE endpoints SET status = 'InService', servers = ? WHERE name = ?",
                       (dumps(servers), name))

    def _start(self, endpoint: str, spec: VariantSpec,
               model: DeployedModelSpec) -> dict[str, Any]:
        """Prepare a variant's folder; launch its server unless it is serverless and cold."""
        entry = self._prepare(endpoint, spec, model)
        if spec.serverless is None or spec.serverless.provisioned_concurrency:
            try:
                entry.update(self._launch(entry))
            except BaseException:
                shutil.rmtree(entry["dir"], ignore_errors=True)
                raise
        return entry

    def _prepare(self, endpoint: str, spec: VariantSpec,
                 model: DeployedModelSpec) -> dict[str, Any]:
        """The variant's folder (model, code, config.json); nothing is left when it fails."""
        instance = f"{spec.name}-{os.urandom(4).hex()}"
        folder = self.root / endpoint / instance
        try:
            return self._fill(folder, instance, endpoint, spec, model)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _fill(self, folder: Path, instance: str, endpoint: str, spec: VariantSpec,
              model: DeployedModelSpec) -> dict[str, Any]:
        variant = spec.name
        model_dir, code_dir = folder / "model", folder / "code"
        model_dir.mkdir(parents=True)
        source = model.environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        inside = None
        if source and (source == _MODEL_DIR or source.startswith(_MODEL_DIR + "/")):
            # Code the SDK repacked into the artifact (/opt/ml/model/code): covered by the
            # artifact's digest.
            inside = source[len(_MODEL_DIR):].strip("/")
            if ".." in inside.split("/"):
                raise DeploymentFailedError(f"variant {variant!r}: SAGEMAKER_SUBMIT_DIRECTORY "
                                            f"{source!r} climbs out of {_MODEL_DIR}")
        # Every archive is downloaded and checked before any is extracted: nothing of a
        # changed artifact (not even a tar header) is read, nothing of its code imported.
        archives = [("model artifact", model.model_data, model.sha256, folder / "model.tar.gz",
                     model_dir)]
        if source and inside is None:
            archives.append(("code archive", source, model.code_sha256,
                             folder / "sourcedir.tar.gz", code_dir))
        objects = self.backend.objects
        for what, uri, _, archive, _ in archives:
            try:
                objects.download(uri, archive)
            except NotFoundError as exc:
                raise DeploymentFailedError(f"variant {variant!r}: {what}: {exc}") from None
        for what, uri, expected, archive, _ in archives:
            if expected is not None:
                # The downloaded file, not the store's digest: what is checked is what loads.
                actual = sha256_file(archive)
                if actual != expected:
                    raise IntegrityError(
                        f"variant {variant!r}: {what} {uri!r} has SHA-256 {actual[:12]}..., "
                        f"not the {expected[:12]}... recorded for model {model.name!r}; "
                        "refusing to load a changed artifact (nothing was extracted)",
                        artifact=what, uri=uri, expected=expected, actual=actual)
        for what, uri, _, archive, target in archives:
            try:
                safe_extract(archive, target)
            except ArchiveError as exc:
                raise DeploymentFailedError(f"variant {variant!r}: {what} {uri!r} cannot be "
                                            f"unpacked: {exc}") from None
            archive.unlink()
        if inside is not None:
            code_dir = model_dir / inside
        timeout = spec.invocation_timeout
        config: dict[str, Any] = {"variant": variant, "model_dir": str(model_dir),
                  "code_dir": str(code_dir) if source else None,
                  "program": model.environment.get("SAGEMAKER_PROGRAM") or None,
                  "default_accept": model.environment.get(
                      "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"),
                  "framework": model.framework, "image_uri": model.image_uri,
                  "max_payload_bytes": MAX_PAYLOAD_BYTES, "invocation_timeout": timeout}
        # Logs live outside the variant's folder, which goes when the server stops: a log
        # is most wanted after a server failed to start and its endpoint was removed.
        log = self.backend.root / "logs" / "endpoints" / endpoint / f"{instance}.log"
        entry: dict[str, Any] = {"port": None, "pid": None, "dir": str(folder),
                                 "model": model.name, "variant": variant, "log": str(log),
                                 "invocation_timeout": timeout}
        serverless = spec.serverless
        if serverless is not None:
            config.update(max_concurrency=serverless.max_concurrency,
                          idle_seconds=None if serverless.provisioned_concurrency
                          else self.backend.serverless_idle_seconds)
            entry.update(serverless=serverless.model_dump(), cold_starts=0,
                         last_cold_start_ms=None)
        (folder / "config.json").write_text(json.dumps(config))
        return entry

    def _launch(self, entry: dict[str, Any]) -> dict[str, Any]:
        folder, variant, log = Path(entry["dir"]), entry["variant"], Path(entry["log"])
        env = dict(os.environ)
        env.update(self._model(entry["model"]).environment)
        env["PYTHONPATH"] = python_path()  # sagemaker_containers' stand-in, then yours
        log.parent.mkdir(parents=True, exist_ok=True)
        # The server's output goes to its log from its first instruction; it reports
        # readiness on a pipe of its own, so nothing the inference script prints can be
        # mistaken for the answer.
        ready, ready_w = os.pipe()
        try:
            with open(log, "ab") as output:
                proc = subprocess.Popen(
                    [self.backend.python, "-m", "mlopskit.backends.local.inference_server",
                     str(folder / "config.json"), str(ready_w)],
                    stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                    env=env, cwd=folder, start_new_session=True, pass_fds=(ready_w,))
        except BaseException:
            os.close(ready)
            raise
        finally:
            os.close(ready_w)
        try:
            answer = _read_answer(ready, proc, START_TIMEOUT)
        except BaseException:
            _kill(proc)
            raise
        finally:
            os.close(ready)
        if not answer.startswith("READY "):
            _kill(proc)
            reason = answer.removeprefix("FAILED ").strip()
            raise DeploymentFailedError(f"variant {variant!r} did not start: {reason}; its "
                                        f"log is {log}{_log_tail(log)}")
        _CHILDREN[proc.pid] = proc  # kept, so its exit code can be read when it exits
        return {"port": int(answer.split()[1]), "pid": proc.pid}

    @staticmethod
    def _stop(servers: dict[str, dict[str, Any]], grace: float = 10.0) -> None:
        """SIGTERM every server, wait for them to exit (SIGKILL after ``grace``), tidy up."""
        pids = [int(server["pid"]) for server in servers.values() if server.get("pid")]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if not _gone(pid)]
            if pids:
                time.sleep(0.02)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            child = _CHILDREN.get(pid)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)  # reaped, so no zombie stays behind
        for server in servers.values():
            shutil.rmtree(server["dir"], ignore_errors=True)
            if server.get("pid"):
                _CHILDREN.pop(int(server["pid"]), None)

    def _row(self, name: str) -> Any:
        row = self.store.query_one("SELECT * FROM endpoints WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"endpoint {name!r} does not exist on the local backend")
        return row

    def _check_servers(self, name: str, row: Any) -> Any:
        """The row, after settling what a dead process left: a ``Creating`` endpoint whose
        creator died ends ``Failed`` with its servers stopped; an update whose process died
        is rolled back (its new servers stopped, the old fleet serving); and an InService
        endpoint with a dead realtime server is marked ``Failed`` (a serverless one is
        restarted by its next request)."""
        if row["status"] == "Creating" and row["owner_pid"] is not None and \
                not running(row["owner_pid"], row["owner_start"]):
            self._settle_create(name, row)
            return self._row(name)
        pending = json.loads(row["pending"]) if row["pending"] else None
        owner = pending.get("owner") if pending else None
        if owner and not running(int(owner[0]), owner[1]):
            self._settle_update(name, row)
            return self._row(name)
        if row["status"] != "InService":
            return row
        for variant, server in json.loads(row["servers"] or "{}").items():
            if not server.get("serverless") and server.get("pid") and \
                    _gone(int(server["pid"])):
                self._mark_failed(name, _death(variant, server))
                return self._row(name)
        return row

    def _settle_create(self, name: str, row: Any) -> None:
        reason = (f"the process creating the endpoint (pid {row['owner_pid']}) exited before "
                  "it was InService; its inference servers were stopped")
        with self.store.transaction() as db:
            settled = db.execute("UPDATE endpoints SET status = 'Failed', failure_reason = ?, "
                                 "servers = '{}' WHERE name = ? AND status = 'Creating'",
                                 (reason, name)).rowcount
        if not settled:
            return  # another describe did it
        self._stop(json.loads(row["servers"] or "{}"))
        # A server still loading its model was not recorded yet: its command line names
        # its folder under endpoints/<name>/, which no other process does.
        stop_marked(str(self.root / name).encode() + b"/")
        shutil.rmtree(self.root / name, ignore_errors=True)

    def _settle_update(self, name: str, row: Any) -> None:
        pending = json.loads(row["pending"])
        with self.store.transaction() as db:
            settled = db.execute("UPDATE endpoints SET status = 'InService', pending = NULL "
                                 "WHERE name = ? AND pending = ?", (name, row["pending"])
                                 ).rowcount
        if not settled:
            return
        self._stop(pending.get("servers") or {})
        serving = {int(s["pid"]) for s in json.loads(row["servers"] or "{}").values()
                   if s.get("pid")}
        for pid in processes_marked(str(self.root / name).encode() + b"/"):
            if pid not in serving:  # a new server that was still starting
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)

    def _mark_failed(self, name: str, reason: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE endpoints SET status = 'Failed', failure_reason = ? "
                       "WHERE name = ? AND status = 'InService'", (reason[:1024], name))

    def describe_endpoint(self, name: str) -> EndpointDescription:
        row = self._check_servers(name, self._row(name))
        config = self._config(row["config_name"])
        weights = json.loads(row["weights"])
        # A serverless variant whose server idled out has no address until a request
        # starts it again.
        ports = {variant: None if server.get("serverless") and server.get("pid")
                 and _gone(int(server["pid"])) else server.get("port")
                 for variant, server in json.loads(row["servers"] or "{}").items()}
        return EndpointDescription(
            name=name, arn=self._arn("endpoint", name), status=row["status"],
            config_name=row["config_name"],
            variants=tuple(VariantDescription(v.name, v.model_name, float(weights[v.name]),
                                              v.instance_type or "serverless",
                                              v.initial_instance_count, v.serverless,
                                              f"http://127.0.0.1:{ports[v.name]}/invocations"
                                              if ports.get(v.name) else None,
                                              v.invocation_timeout)
                           for v in config.variants),
            failure_reason=row["failure_reason"],
            creation_time=_dt.datetime.fromisoformat(row["created"]),
            data_capture=DataCaptureDescription.of(config.data_capture)
            if config.data_capture else None)

    def list_endpoints(self) -> list[str]:
        return [r["name"] for r in self.store.query_all("SELECT name FROM endpoints ORDER BY "
                                                        "name")]

    def update_endpoint_weights(self, name: str, weights: dict[str, float]) -> None:
        with self.store.transaction() as db:
            row = db.execute("SELECT weights, status FROM endpoints WHERE name = ?",
                             (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"endpoint {name!r} does not exist on the local backend")
            current = json.loads(row["weights"])
            unknown = sorted(set(weights) - set(current))
            if unknown:
                raise NotFoundError(f"endpoint {name!r} has no variant {unknown[0]!r}; it has "
                                    f"{sorted(current)}")
            current.update(weights)
            if sum(current.values()) <= 0:
                raise ConflictError("at least one variant needs a weight above 0")
            db.execute("UPDATE endpoints SET weights = ? WHERE name = ?", (dumps(current), name))

    # -- blue/green updates --------------------------------------------------------------

    def update_endpoint(self, name: str, config_name: str, strategy: Strategy) -> RolloutReport:
        """Start the new fleet, shift traffic step by step on the session clock, bake, check
        the alarms; roll back on the first that fires, else retire the old fleet."""
        row = self._row(name)
        if row["status"] != "InService":
            raise ConflictError(f"endpoint {name!r} is {row['status']}; only an InService "
                                "endpoint can be updated")
        for alarm in strategy.rollback_on:
            if isinstance(alarm, str):
                raise CapabilityError(f"rollback_on: {alarm!r} names a CloudWatch alarm, which "
                                      "the local backend does not have; pass a callable such "
                                      "as ErrorRateAbove(0.01)")
        config = self._config(config_name)
        for variant in config.variants:
            self.servable(variant.model_name)
        new_servers: dict[str, dict[str, Any]] = {}
        # Recorded as they start (with no traffic yet): a delete finds and stops them.
        pending = {"config": config_name, "servers": new_servers, "share": 0.0,
                   "weights": {v.name: v.initial_weight for v in config.variants},
                   "owner": list(identity())}  # a dead updater is noticed by describe
        current = None
        try:
            for variant in config.variants:
                current = variant.name
                new_servers[variant.name] = self._start(name, variant,
                                                        self._model(variant.model_name))
                self._set(name, pending=dumps(pending))
        except BaseException as exc:  # every failure: stop what started, leave the old fleet
            self._stop(new_servers)
            with contextlib.suppress(MlopsKitError):
                self._set(name, pending=None)
            failure = _deployment_failure(exc, f"variant {current!r} of the new fleet could "
                                               "not be started")
            if failure is not None and failure is not exc:
                raise failure from exc
            raise
        self._set(name, status="Updating", pending=dumps(pending))
        steps: list[dict[str, Any]] = []
        clock = self.backend.clock
        try:
            for share, bake in strategy.steps():
                pending["share"] = share
                self._set(name, pending=dumps(pending))
                clock.sleep(bake)
                stats = self._fleet_stats(new_servers)
                reason = next((r for r in (alarm(stats) for alarm in strategy.rollback_on
                                           if callable(alarm)) if r), None)
                steps.append({"share": share, "bake_seconds": bake,
                              "at": clock.now().isoformat(), "requests": stats.requests,
                              "errors_5xx": stats.errors_5xx, "alarm": reason})
                if reason:
                    self._set(name, status="InService", pending=None)
                    self._stop(new_servers)
                    return RolloutReport(name, type(strategy).__name__, completed=False,
                                         rolled_back=True, reason=reason, steps=tuple(steps))
        except BaseException as exc:  # the rollout broke (a new server died...): roll back
            with contextlib.suppress(MlopsKitError):
                self._set(name, status="InService", pending=None)
            self._stop(new_servers)
            failure = _deployment_failure(exc, f"the rollout of endpoint {name!r} failed and "
                                               "was rolled back")
            if failure is not None and failure is not exc:
                raise failure from exc
            raise
        old = json.loads(row["servers"])
        with self.store.transaction() as db:
            db.execute("UPDATE endpoints SET status = 'InService', pending = NULL, servers = ?,"
                       " weights = ?, config_name = ? WHERE name = ?",
                       (dumps(new_servers), dumps(pending["weights"]), config_name, name))
        self._stop(old)
        return RolloutReport(name, type(strategy).__name__, completed=True, rolled_back=False,
                             reason=None, steps=tuple(steps))

    def _set(self, name: str, *, status: str | None = None, pending: Any = ...) -> None:
        with self.store.transaction() as db:
            if status is not None:
                db.execute("UPDATE endpoints SET status = ? WHERE name = ?", (status, name))
            if pending is not ...:
                db.execute("UPDATE endpoints SET pending = ? WHERE name = ?", (pending, name))

    def _fleet_stats(self, servers: dict[str, dict[str, Any]]) -> FleetStats:
        totals = {"requests": 0, "errors_4xx": 0, "errors_5xx": 0}
        latency = 0.0
        for server in servers.values():
            conn = http.client.HTTPConnection("127.0.0.1", int(server["port"]), timeout=10)
            try:
                conn.request("GET", "/mlopskit/metrics")
                data = json.loads(conn.getresponse().read())
            finally:
                conn.close()
            for key in totals:
                totals[key] += int(data[key])
            latency += float(data["mean_latency_ms"]) * int(data["requests"])
        mean = latency / totals["requests"] if totals["requests"] else 0.0
        return FleetStats(totals["requests"], totals["errors_4xx"], totals["errors_5xx"], mean)

    def delete_endpoint(self, name: str) -> None:
        row = self._row(name)
        if row["pending"]:
            self._stop(json.loads(row["pending"])["servers"])
        self._stop(json.loads(row["servers"]))
        with self.store.transaction() as db:
            db.execute("DELETE FROM endpoints WHERE name = ?", (name,))
        shutil.rmtree(self.root / name, ignore_errors=True)
        self.started_here.discard(name)

    def delete_endpoint_config(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM endpoint_configs WHERE name = ?", (name,))
        self._captures.pop(name, None)

    def switch_endpoint_config(self, name: str, config_name: str) -> None:
        """Point the endpoint at ``config_name``, which has the same variants and models as
        its current config (only settings such as data capture differ): no server restarts."""
        new = self._config(config_name)
        with self.store.transaction() as db:
            row = db.execute("SELECT config_name, status FROM endpoints WHERE name = ?",
                             (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"endpoint {name!r} does not exist on the local backend")
            if row["status"] != "InService":
                raise ConflictError(f"endpoint {name!r} is {row['status']}; only an InService "
                                    "endpoint can be updated")
            current = EndpointConfigSpec.model_validate_json(db.execute(
                "SELECT spec FROM endpoint_configs WHERE name = ?",
                (row["config_name"],)).fetchone()["spec"])
            if [(v.name, v.model_name) for v in current.variants] != \
                    [(v.name, v.model_name) for v in new.variants]:
                raise ConflictError(f"endpoint config {config_name!r} serves other models than "
                                    f"endpoint {name!r}; use update() to change models")
            db.execute("UPDATE endpoints SET config_name = ? WHERE name = ?",
                       (config_name, name))

    def delete_model(self, name: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM models WHERE name = ?", (name,))

    # -- invoking ------------------------------------------------------------------------

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str | None,
                        target_variant: str | None = None,
                        inference_id: str | None = None) -> InvokeResult:
        row = self._row(name)
        if row["status"] == "Failed":
            raise InvocationError(f"endpoint {name!r} is Failed: {row['failure_reason']}",
                                  status=503)
        if row["status"] not in {"InService", "Updating"}:  # endpoints serve while updating
            raise ConflictError(f"endpoint {name!r} is {row['status']}, not InService")
        if len(body) > MAX_PAYLOAD_BYTES:
            raise InvocationError(f"payload of {len(body)} bytes is over the "
                                  f"{MAX_PAYLOAD_BYTES} byte limit", status=413)
        servers = json.loads(row["servers"])
        weights = json.loads(row["weights"])
        in_pending = False
        config_name = row["config_name"]
        if row["pending"]:  # mid-rollout: the new fleet takes its share of the traffic
            pending = json.loads(row["pending"])
            if self._rng.random() < float(pending["share"]):
                servers, weights, in_pending = pending["servers"], pending["weights"], True
                config_name = pending["config"]
        if target_variant is not None:
            if target_variant not in servers:
                raise NotFoundError(f"endpoint {name!r} has no variant {target_variant!r}; it "
                                    f"has {sorted(servers)}")
            variant = target_variant
        else:
            names = sorted(servers)
            variant = self._rng.choices(names, [weights[n] for n in names])[0]
        entry = servers[variant]
        capture = self._capture_of(config_name)
        # Sampled when the request is made, stamped with the session clock's time then.
        captured_at = self.backend.clock.now() if capture is not None and \
            self._sampled(capture.sampling_percent) else None
        port = self._warm(name, variant, entry, pending=in_pending)
        realtime = not entry.get("serverless")
        try:
            status, reply, reply_type = self._post(
                port, body, content_type, accept, timeout=entry.get("invocation_timeout"),
                pid=int(entry["pid"]) if realtime else None)
        except InvocationError as exc:
            reason = self._died(name, variant, entry) \
                if realtime and exc.status == 503 and not in_pending else None
            if reason is not None:
                raise InvocationError(f"endpoint {name!r} is Failed: {reason}", status=503,
                                      variant=variant) from None
            raise InvocationError(f"endpoint {name!r} variant {variant!r}: {exc}",
                                  status=exc.status, variant=variant) from None
        if status == 429:
            raise ThrottledError(f"endpoint {name!r} variant {variant!r} is at its "
                                 f"max_concurrency: {reply.decode('utf-8', 'replace')}",
                                 code="ThrottlingException")
        if status != 200:
            try:
                message = json.loads(reply)["error"]
            except (ValueError, KeyError, TypeError):
                message = reply.decode("utf-8", "replace")
            raise InvocationError(f"endpoint {name!r} variant {variant!r} answered {status}: "
                                  f"{message}", status=status, variant=variant)
        if captured_at is not None and capture is not None:
            # Only answered requests are captured: a failed one has no output to record.
            self._writer.write(capture, name, variant, captured_at, body, content_type, reply,
                               reply_type, inference_id)
        return InvokeResult(reply, reply_type, variant)

    def _capture_of(self, config_name: str) -> DataCaptureSpec | None:
        """The config's data capture when enabled; configs never change, so it is cached."""
        try:
            return self._captures[config_name]
        except KeyError:
            pass
        try:
            capture = self._config(config_name).data_capture
        except NotFoundError:  # replaced by another process a moment ago: skip this one
            return None
        found = capture if capture is not None and capture.enabled else None
        self._captures[config_name] = found
        return found

    def _sampled(self, percent: int) -> bool:
        if percent >= 100:
            return True
        return percent > 0 and self._capture_rng.random() * 100 < percent

    def _warm(self, name: str, variant: str, entry: dict[str, Any], pending: bool) -> int:
        """The variant's port, cold-starting a serverless variant that is not running."""
        if entry.get("pid") and not (entry.get("serverless") and _gone(int(entry["pid"]))):
            return int(entry["port"])
        if not entry.get("serverless"):
            raise InvocationError(f"endpoint {name!r} variant {variant!r} has no server",
                                  status=503, variant=variant)
        with open(Path(entry["dir"]) / ".start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one cold start, across processes too
            fresh = json.loads(self._row(name)["servers"]).get(variant, entry)
            if fresh.get("pid") and not _gone(int(fresh["pid"])):
                entry.update(fresh)
                return int(fresh["port"])
            if fresh.get("pid"):
                _CHILDREN.pop(int(fresh["pid"]), None)  # the idled-out server: gone for good
            started = time.perf_counter()
            entry.update(self._launch(entry))
            entry["cold_starts"] = int(entry.get("cold_starts") or 0) + 1
            entry["last_cold_start_ms"] = round((time.perf_counter() - started) * 1000, 1)
            if not pending:
                with self.store.transaction() as db:
                    current = json.loads(db.execute("SELECT servers FROM endpoints WHERE name"
                                                    " = ?", (name,)).fetchone()["servers"])
                    current[variant] = entry
                    db.execute("UPDATE endpoints SET servers = ? WHERE name = ?",
                               (dumps(current), name))
        return int(entry["port"])

    def cold_starts(self, name: str) -> dict[str, Any]:
        """Per serverless variant: how many cold starts, and the last one's milliseconds."""
        servers = json.loads(self._row(name)["servers"])
        return {v: {"cold_starts": e.get("cold_starts", 0),
                    "last_cold_start_ms": e.get("last_cold_start_ms")}
                for v, e in servers.items() if e.get("serverless")}

    def _died(self, name: str, variant: str, entry: dict[str, Any]) -> str | None:
        """After a connection failure: if the variant's server has exited (it may take a
        moment to), mark the endpoint Failed and say why; else None."""
        pid = int(entry["pid"])
        deadline = time.monotonic() + 1.0
        while not _gone(pid):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)
        reason = _death(variant, entry)
        self._mark_failed(name, reason)
        return reason

    def _post(self, port: int, body: bytes, content_type: str, accept: str | None, *,
              timeout: float | None = None, pid: int | None = None) -> tuple[int, bytes, str]:
        """POST to the server on ``port`` over this thread's kept-alive connection; sent at
        most once (see :func:`._invoke_client.post`)."""
        pool: Pool = getattr(self._local, "pool", None) or {}
        self._local.pool = pool
        return post(pool, port, body, content_type, accept, timeout=timeout, pid=pid)

    def create_transform_job(self, spec: TransformJobSpec,
                             on_progress: ProgressSink | None = None) -> None:
        """Run the job to its end (locally a transform job always runs in this process),
        reporting files and records done through ``on_progress``."""
        from .transform import run_transform_job

        run_transform_job(self, spec, on_progress)

    def check_transform_job(self, spec: TransformJobSpec) -> None:
        """Every valid spec runs locally; its model is checked when the job starts."""

    def transform_job_exists(self, name: str) -> bool:
        return self.store.query_one("SELECT 1 FROM transform_jobs WHERE name = ?",
                                    (name,)) is not None

    def list_transform_jobs(self) -> list[str]:
        """Every transform job's name, oldest first."""
        return [r["name"] for r in self.store.query_all(
            "SELECT name FROM transform_jobs ORDER BY created, rowid")]

    def describe_transform_job(self, name: str) -> TransformJobDescription:
        from .transform import describe_transform_job

        return describe_transform_job(self, name)

    def close(self) -> None:
        """Stop the endpoints this process started (others keep serving)."""
        for name in list(self.started_here):
            with contextlib.suppress(NotFoundError):
                self.delete_endpoint(name)
        for conn, _ in (getattr(self._local, "pool", None) or {}).values():
            conn.close()
        self._writer.close()


def _deployment_failure(exc: BaseException, context: str) -> DeploymentFailedError | None:
    """``exc`` as the DeploymentFailedError a failed start ends in (itself when it is one);
    None for an interruption (Ctrl-C), which stays what it is."""
    if isinstance(exc, DeploymentFailedError):
        return exc
    if not isinstance(exc, Exception):
        return None
    return DeploymentFailedError(f"{context}: {type(exc).__name__}: {exc}")
