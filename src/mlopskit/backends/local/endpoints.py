"""Local endpoints: one inference server process per variant, on 127.0.0.1.

Servers run in their own sessions, so they outlive the notebook kernel that started them;
their ports and pids are in the store, so any process finds them again by endpoint name.
Requests are routed by the caller: a variant is drawn by weight (or pinned with
``target_variant``) and the request goes straight to its server over a kept-alive
connection, with no router hop in between. Data capture happens there too, in the caller
(see :mod:`.capture`), so records carry the session clock's time.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import http.client
import json
import os
import random
import select
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._archive import safe_extract
from ..._data import sha256_file
from ..._display import WaitProgress
from ...errors import (
    CapabilityError,
    ConflictError,
    DeploymentFailedError,
    InvocationError,
    NotFoundError,
    ThrottledError,
)
from ...serving.frameworks import serving_framework
from ...serving.rollout import FleetStats, RolloutReport, Strategy
from ...specs.serving import (
    DataCaptureDescription,
    DataCaptureSpec,
    DeployedModelSpec,
    EndpointConfigSpec,
    EndpointDescription,
    InvokeResult,
    ServerlessSpec,
    TransformJobDescription,
    TransformJobSpec,
    VariantDescription,
    VariantSpec,
)
from .capture import CaptureWriter
from .environments import python_path
from .store import dumps

if TYPE_CHECKING:
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

    def create_model(self, spec: DeployedModelSpec) -> None:
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM models WHERE name = ?", (spec.name,)).fetchone():
                raise ConflictError(f"model {spec.name!r} already exists")
            db.execute("INSERT INTO models VALUES (?, ?, ?)",
                       (spec.name, spec.model_dump_json(), self.backend.clock.now().isoformat()))

    def _model(self, name: str) -> DeployedModelSpec:
        row = self.store.query_one("SELECT spec FROM models WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"model {name!r} does not exist")
        return DeployedModelSpec.model_validate_json(row["spec"])

    def create_endpoint_config(self, spec: EndpointConfigSpec) -> None:
        for variant in spec.variants:
            self._model(variant.model_name)
        with self.store.transaction() as db:
            if db.execute("SELECT 1 FROM endpoint_configs WHERE name = ?",
                          (spec.name,)).fetchone():
                raise ConflictError(f"endpoint config {spec.name!r} already exists")
            db.execute("INSERT INTO endpoint_configs VALUES (?, ?, ?)",
                       (spec.name, spec.model_dump_json(),
                        self.backend.clock.now().isoformat()))

    def _config(self, name: str) -> EndpointConfigSpec:
        row = self.store.query_one("SELECT spec FROM endpoint_configs WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"endpoint config {name!r} does not exist")
        return EndpointConfigSpec.model_validate_json(row["spec"])

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
                        tags: dict[str, str] | None = None) -> None:
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
            db.execute("INSERT INTO endpoints (name, config_name, status, weights, created) "
                       "VALUES (?, ?, 'Creating', ?, ?)",
                       (name, config_name, dumps(weights),
                        self.backend.clock.now().isoformat()))
        self.started_here.add(name)
        servers: dict[str, dict[str, Any]] = {}
        # Starting a variant's server takes a second or more: a bar by variants when on.
        bar = WaitProgress[tuple[str, int | None, int | None]].create(
            f"endpoint {name}", lambda state: state, unit="variant")
        try:
            for index, variant in enumerate(config.variants):
                if bar is not None:
                    bar.update((f"Creating: starting {variant.name}", index,
                                len(config.variants)))
                servers[variant.name] = self._start(name, variant,
                                                    self._model(variant.model_name))
            if bar is not None:
                bar.update(("InService", len(config.variants), len(config.variants)))
        except DeploymentFailedError as exc:
            self._stop(servers)
            with self.store.transaction() as db:
                db.execute("UPDATE endpoints SET status = 'Failed', failure_reason = ? "
                           "WHERE name = ?", (str(exc), name))
            raise
        finally:
            if bar is not None:
                bar.close()
        with self.store.transaction() as db:
            db.execute("UPDATE endpoints SET status = 'InService', servers = ? WHERE name = ?",
                       (dumps(servers), name))

    def _start(self, endpoint: str, spec: VariantSpec,
               model: DeployedModelSpec) -> dict[str, Any]:
        """Prepare a variant's folder; launch its server unless it is serverless and cold."""
        entry = self._prepare(endpoint, spec.name, model, spec.serverless)
        if spec.serverless is None or spec.serverless.provisioned_concurrency:
            entry.update(self._launch(entry))
        return entry

    def _prepare(self, endpoint: str, variant: str, model: DeployedModelSpec,
                 serverless: ServerlessSpec | None) -> dict[str, Any]:
        instance = f"{variant}-{os.urandom(4).hex()}"
        folder = self.root / endpoint / instance
        model_dir, code_dir = folder / "model", folder / "code"
        model_dir.mkdir(parents=True)
        archive = folder / "model.tar.gz"
        objects = self.backend.objects
        try:
            objects.download(model.model_data, archive)
        except NotFoundError as exc:
            raise DeploymentFailedError(f"variant {variant!r}: {exc}") from None
        if model.sha256 is not None:
            # The downloaded file, not the store's digest: what is checked is what loads.
            actual = sha256_file(archive)
            if actual != model.sha256:
                raise DeploymentFailedError(
                    f"variant {variant!r}: artifact {model.model_data!r} has SHA-256 "
                    f"{actual[:12]}..., not the {model.sha256[:12]}... recorded for model "
                    f"{model.name!r}; refusing to load a changed artifact")
        safe_extract(archive, model_dir)
        archive.unlink()
        source = model.environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
        if source and (source == _MODEL_DIR or source.startswith(_MODEL_DIR + "/")):
            # Code the SDK repacked into the artifact (/opt/ml/model/code): already here.
            inside = source[len(_MODEL_DIR):].strip("/")
            if ".." in inside.split("/"):
                raise DeploymentFailedError(f"variant {variant!r}: SAGEMAKER_SUBMIT_DIRECTORY "
                                            f"{source!r} climbs out of {_MODEL_DIR}")
            code_dir = model_dir / inside
        elif source:
            objects.download(source, folder / "sourcedir.tar.gz")
            safe_extract(folder / "sourcedir.tar.gz", code_dir)
        config: dict[str, Any] = {"variant": variant, "model_dir": str(model_dir),
                  "code_dir": str(code_dir) if source else None,
                  "program": model.environment.get("SAGEMAKER_PROGRAM") or None,
                  "default_accept": model.environment.get(
                      "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"),
                  "framework": model.framework, "image_uri": model.image_uri,
                  "max_payload_bytes": MAX_PAYLOAD_BYTES}
        # Logs live outside the variant's folder, which goes when the server stops: a log
        # is most wanted after a server failed to start and its endpoint was removed.
        log = self.backend.root / "logs" / "endpoints" / endpoint / f"{instance}.log"
        entry: dict[str, Any] = {"port": None, "pid": None, "dir": str(folder),
                                 "model": model.name, "variant": variant, "log": str(log)}
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
        finally:
            os.close(ready)
        if not answer.startswith("READY "):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            reason = answer.removeprefix("FAILED ").strip()
            raise DeploymentFailedError(f"variant {variant!r} did not start: {reason}; its "
                                        f"log is {log}{_log_tail(log)}")
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
        for server in servers.values():
            shutil.rmtree(server["dir"], ignore_errors=True)

    def _row(self, name: str) -> Any:
        row = self.store.query_one("SELECT * FROM endpoints WHERE name = ?", (name,))
        if row is None:
            raise NotFoundError(f"endpoint {name!r} does not exist on the local backend")
        return row

    def describe_endpoint(self, name: str) -> EndpointDescription:
        row = self._row(name)
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
                                              if ports.get(v.name) else None)
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
        try:
            for variant in config.variants:
                new_servers[variant.name] = self._start(name, variant,
                                                        self._model(variant.model_name))
        except DeploymentFailedError:
            self._stop(new_servers)
            raise
        pending = {"config": config_name, "servers": new_servers, "share": 0.0,
                   "weights": {v.name: v.initial_weight for v in config.variants}}
        self._set(name, status="Updating", pending=dumps(pending))
        steps: list[dict[str, Any]] = []
        clock = self.backend.clock
        for share, bake in strategy.steps():
            pending["share"] = share
            self._set(name, pending=dumps(pending))
            clock.sleep(bake)
            stats = self._fleet_stats(new_servers)
            reason = next((r for r in (alarm(stats) for alarm in strategy.rollback_on
                                       if callable(alarm)) if r), None)
            steps.append({"share": share, "bake_seconds": bake, "at": clock.now().isoformat(),
                          "requests": stats.requests, "errors_5xx": stats.errors_5xx,
                          "alarm": reason})
            if reason:
                self._set(name, status="InService", pending=None)
                self._stop(new_servers)
                return RolloutReport(name, type(strategy).__name__, completed=False,
                                     rolled_back=True, reason=reason, steps=tuple(steps))
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
        status, reply, reply_type = self._post(port, body, content_type, accept)
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

    def _post(self, port: int, body: bytes, content_type: str,
              accept: str | None) -> tuple[int, bytes, str]:
        pool: dict[int, http.client.HTTPConnection] = getattr(self._local, "pool", None) or {}
        self._local.pool = pool
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        for attempt in range(2):  # a kept-alive connection the server closed: retry once
            conn = pool.get(port)
            if conn is None:
                conn = pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                conn.request("POST", "/invocations", body=body, headers=headers)
                response = conn.getresponse()
                return (response.status, response.read(),
                        response.getheader("Content-Type") or "")
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                conn.close()
                pool.pop(port, None)
                if attempt == 1:
                    raise InvocationError(f"the server on port {port} is unreachable: {exc}",
                                          status=503) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def create_transform_job(self, spec: TransformJobSpec) -> None:
        """Run the job to its end (locally a transform job always runs in this process)."""
        from .transform import run_transform_job

        run_transform_job(self, spec)

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
        for conn in (getattr(self._local, "pool", None) or {}).values():
            conn.close()
        self._writer.close()


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (reaping it when it is our child)."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text()
    except OSError:
        return False


def _read_answer(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The server's line on its readiness pipe; if none comes, why (``FAILED ...``)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"FAILED no answer within {timeout:g} s"
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # the server closed the pipe without a word: it has exited
            try:
                code = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return "FAILED the server closed its readiness pipe without an answer"
            return f"FAILED the server exited with code {code} before it was ready"
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace")


def _log_tail(log: Path, lines: int = 8) -> str:
    """The last lines of a server log, to quote in an error (empty when there are none)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace").rstrip()
    except OSError:
        return ""
    tail = text.splitlines()[-lines:]
    return (", which ends with:\n" + "\n".join(tail)) if tail else ""
