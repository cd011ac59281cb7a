"""The local model registry at scale: registration throughput and latest()/listing latency.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_registry.py                 # 10,000 versions
    .venv/bin/python benchmarks/bench_registry.py --quick         # 1,000 versions, fewer calls
    .venv/bin/python benchmarks/bench_registry.py --versions 3000 --json /tmp/reg.json

One run registers N versions into one group on a ``LocalSession`` in a temporary folder and,
when ``mlflow`` is importable, N versions of one registered model in MLflow's registry on its
SQLite backend, then times the same questions against both:

* Registration: ``group.register(Model(uri, image_uri="img:1"), metrics={"auc": ...},
  approval_status=...)`` N times against one artifact put once in the local store (every 7th
  version Approved, every other 5th Rejected, the rest PendingManualApproval), and
  ``MlflowClient().create_model_version(name, source=<local dir>, run_id=None,
  tags={"status": ...})`` N times with the same statuses as a tag. Throughput is N / total.
* "Newest version with a status": ``group.latest()`` (Approved) and
  ``group.latest(ApprovalStatus.PENDING)`` against ``search_model_versions("name='m' and
  tag.status='...'", order_by=["version_number DESC"], max_results=1)``. For context, MLflow's
  two other ways are timed too: ``get_latest_versions(name, stages=["Production"])`` after the
  newest Approved version was promoted to that stage, archiving the one before (deprecated
  since MLflow 2.9; skipped when the installed MLflow has no stages), and
  ``get_model_version_by_alias`` (a pointer set by hand, not a query). Median and p95 over
  ``--calls`` calls after 3 warm-up calls; a slow MLflow query stops after about 15 s once it
  has at least 20 samples.
* Filtered listing: ``list(group.versions(status=ApprovalStatus.APPROVED))`` against every
  page of ``search_model_versions("name='m' and tag.status='Approved'")``; median of ``--runs``.

The aim is ``group.latest()`` under 5 ms (median) at 10,000 versions. The script exits 0
whatever the figures are; it exits 1 only when a measurement could not be taken.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, environment, ms, table, verdict, version_of, write_json

LATEST_AIM_MS = 5.0
DEFAULT_VERSIONS = 10_000
QUICK_VERSIONS = 1_000
DEFAULT_RUNS, QUICK_RUNS = 5, 3
DEFAULT_CALLS, QUICK_CALLS = 200, 50
WARMUP_CALLS = 3
SLOW_QUERY_BUDGET_S = 15.0
SLOW_QUERY_MIN_CALLS = 20
ARTIFACT_BYTES = 64 * 1024
STAGE_PROMOTIONS = 3

APPROVED, REJECTED, PENDING = "Approved", "Rejected", "PendingManualApproval"


def status_of(i: int) -> str:
    """Every 7th version Approved, every other 5th Rejected, the rest Pending (1-based)."""
    if i % 7 == 0:
        return APPROVED
    if i % 5 == 0:
        return REJECTED
    return PENDING


def expected(n: int) -> dict[str, Any]:
    """What the queries must answer for ``n`` versions (None when there is no such version)."""
    newest: dict[str, int | None] = {APPROVED: None, REJECTED: None, PENDING: None}
    counts = {APPROVED: 0, REJECTED: 0, PENDING: 0}
    for i in range(1, n + 1):
        counts[status_of(i)] += 1
        newest[status_of(i)] = i
    return {"newest": newest, "counts": counts}


def p95(values_ms: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values_ms)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * len(ordered)) - 1))]


def stats(samples_s: list[float], *, keep_samples: bool = True) -> dict[str, Any]:
    values = [ms(s) for s in samples_s]
    result: dict[str, Any] = {
        "calls": len(values),
        "median_ms": round(statistics.median(values), 3),
        "p95_ms": p95(values),
        "min_ms": min(values),
        "max_ms": max(values),
    }
    if keep_samples:
        result["samples_ms"] = values
    return result


def sample(action: Callable[[], Any], calls: int, *, budget_s: float = SLOW_QUERY_BUDGET_S
           ) -> list[float]:
    """Seconds per call over ``calls`` calls after a warm-up; stops early when slow."""
    for _ in range(WARMUP_CALLS):
        action()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < calls:
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
        if len(samples) >= SLOW_QUERY_MIN_CALLS and time.perf_counter() - started > budget_s:
            break
    return samples


def interleaved(actions: dict[str, Callable[[], Any]], calls: int) -> dict[str, list[float]]:
    """Like :func:`sample` for several actions, called in turn so drift hits them alike."""
    for action in actions.values():
        for _ in range(WARMUP_CALLS):
            action()
    samples: dict[str, list[float]] = {key: [] for key in actions}
    started = time.perf_counter()
    for _ in range(calls):
        for key, action in actions.items():
            start = time.perf_counter()
            action()
            samples[key].append(time.perf_counter() - start)
        if (min(len(v) for v in samples.values()) >= SLOW_QUERY_MIN_CALLS
                and time.perf_counter() - started > SLOW_QUERY_BUDGET_S * len(actions)):
            break
    return samples


def check(label: str, got: Any, want: Any) -> None:
    if got != want:
        raise RuntimeError(f"{label}: expected {want!r}, got {got!r}; the measurement is wrong")


def progress(text: str) -> None:
    print(f"  ... {text}", file=sys.stderr, flush=True)


# -- mlopskit ---------------------------------------------------------------------------------


def bench_mlopskit(n: int, calls: int, runs: int, work: Path) -> dict[str, Any]:
    import mlopskit
    from mlopskit import ApprovalStatus, Model

    want = expected(n)
    session = mlopskit.LocalSession(root=work / "mlopskit")
    try:
        uri = f"s3://{session.default_bucket}/bench/model.tar.gz"
        session.backend.objects.put_bytes(os.urandom(ARTIFACT_BYTES), uri)
        group = mlopskit.ModelPackageGroup("bench", session=session).create()
        model = Model(uri, image_uri="img:1")

        per_call: list[float] = []
        started = time.perf_counter()
        for i in range(1, n + 1):
            start = time.perf_counter()
            group.register(model, metrics={"auc": 0.5 + (i % 500) / 1000},
                           approval_status=status_of(i))
            per_call.append(time.perf_counter() - start)
            if i % 2000 == 0:
                progress(f"mlopskit: {i} versions registered")
        total = time.perf_counter() - started

        check("mlopskit latest()", getattr(group.latest(), "version", None),
              want["newest"][APPROVED])
        check("mlopskit latest(PENDING)",
              getattr(group.latest(ApprovalStatus.PENDING), "version", None),
              want["newest"][PENDING])
        check("mlopskit newest version", group.latest(None).version, n)  # type: ignore[union-attr]

        queries = interleaved({
            "latest_approved": lambda: group.latest(),
            "latest_pending": lambda: group.latest(ApprovalStatus.PENDING),
        }, calls)

        listed: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            found = list(group.versions(status=ApprovalStatus.APPROVED))
            listed.append(time.perf_counter() - start)
            check("mlopskit versions(status=Approved)", len(found), want["counts"][APPROVED])
        db = work / "mlopskit"
        db_bytes = sum(p.stat().st_size for p in db.rglob("*.db*") if p.is_file())
    finally:
        session.close()

    return {
        "tool": "mlopskit",
        "version": version_of("mlopskit"),
        "versions": n,
        "counts": want["counts"],
        "artifact_bytes": ARTIFACT_BYTES,
        "register": {
            "call": "group.register(Model(uri, image_uri='img:1'), metrics={'auc': ...}, "
                    "approval_status=...)",
            "total_s": round(total, 2),
            "versions_per_s": round(n / total, 1),
            **stats(per_call, keep_samples=False),
        },
        "latest_approved": {"call": "group.latest()", **stats(queries["latest_approved"])},
        "latest_pending": {"call": "group.latest(ApprovalStatus.PENDING)",
                           **stats(queries["latest_pending"])},
        "list_approved": {"call": "list(group.versions(status=ApprovalStatus.APPROVED))",
                          "items": want["counts"][APPROVED], **stats(listed)},
        "database_bytes": db_bytes,
    }


# -- MLflow -----------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """No per-version INFO lines and no deprecation warnings about stages."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def bench_mlflow(n: int, calls: int, runs: int, work: Path) -> dict[str, Any]:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # measure, do not phone home
    with quiet_mlflow():
        import mlflow
        from mlflow import MlflowClient

    want = expected(n)
    name = "bench"
    folder = work / "mlflow"
    source = folder / "model"
    source.mkdir(parents=True)
    (source / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
    (source / "model.bin").write_bytes(os.urandom(ARTIFACT_BYTES))
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
    result: dict[str, Any] = {"tool": "mlflow", "version": mlflow.__version__, "versions": n,
                              "counts": want["counts"], "tracking_uri": "sqlite:///<tmp>/mlflow.db"}
    with quiet_mlflow():
        try:
            start = time.perf_counter()
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            client = MlflowClient()
            client.create_registered_model(name)  # first use creates and migrates the tables
            result["setup_s"] = round(time.perf_counter() - start, 2)

            per_call: list[float] = []
            started = time.perf_counter()
            for i in range(1, n + 1):
                start = time.perf_counter()
                client.create_model_version(name, source=str(source), run_id=None,
                                            tags={"status": status_of(i)})
                per_call.append(time.perf_counter() - start)
                if i % 1000 == 0:
                    progress(f"mlflow: {i} versions created")
            total = time.perf_counter() - started
            result["register"] = {
                "call": "create_model_version(name, source=<local dir>, run_id=None, "
                        "tags={'status': ...})",
                "total_s": round(total, 2),
                "versions_per_s": round(n / total, 1),
                **stats(per_call, keep_samples=False),
            }

            def newest(status: str) -> Callable[[], Any]:
                def query() -> Any:
                    return client.search_model_versions(
                        f"name='{name}' and tag.status='{status}'",
                        order_by=["version_number DESC"], max_results=1)
                return query

            for status in (APPROVED, PENDING):
                found = newest(status)()
                check(f"mlflow newest {status}", int(found[0].version) if found else None,
                      want["newest"][status])
            queries = interleaved({"latest_approved": newest(APPROVED),
                                   "latest_pending": newest(PENDING)}, calls)
            for key, status in (("latest_approved", APPROVED), ("latest_pending", PENDING)):
                result[key] = {"call": f"search_model_versions(\"name='{name}' and "
                                       f"tag.status='{status}'\", order_by=['version_number "
                                       "DESC'], max_results=1)", **stats(queries[key])}

            def list_approved() -> int:
                count, token = 0, None
                while True:
                    page = client.search_model_versions(
                        f"name='{name}' and tag.status='{APPROVED}'", page_token=token)
                    count += len(page)
                    token = page.token
                    if not token:
                        return count

            listed: list[float] = []
            for _ in range(runs):
                start = time.perf_counter()
                count = list_approved()
                listed.append(time.perf_counter() - start)
                check("mlflow filtered listing", count, want["counts"][APPROVED])
            result["list_approved"] = {
                "call": f"every page of search_model_versions(\"name='{name}' and "
                        f"tag.status='{APPROVED}'\")",
                "items": want["counts"][APPROVED], **stats(listed)}

            approved = [i for i in range(1, n + 1) if status_of(i) == APPROVED]
            if approved:
                client.set_registered_model_alias(name, "approved", str(approved[-1]))
                alias = sample(lambda: client.get_model_version_by_alias(name, "approved"),
                               calls)
                result["alias_lookup"] = {
                    "call": f"get_model_version_by_alias('{name}', 'approved')",
                    "note": "a pointer moved by hand on every approval, not a status query",
                    **stats(alias)}
            result["stages"] = _mlflow_stages(client, name, approved, calls)
        finally:
            mlflow.set_tracking_uri(previous[0])
            mlflow.set_registry_uri(previous[1])
    return result


def _mlflow_stages(client: Any, name: str, approved: list[int], calls: int) -> dict[str, Any]:
    """Promote the newest Approved versions to Production, then time get_latest_versions.

    As a stage-based workflow does it: each promotion archives the version that was in
    Production (``archive_existing_versions=True``), so one version is there at a time. Only
    the last few promotions are made; each one costs time that grows with the number of
    versions, and the query's answer does not depend on how many were promoted before.
    """
    if not approved:
        return {"available": False, "reason": "no Approved version at this N"}
    if not (hasattr(client, "transition_model_version_stage")
            and hasattr(client, "get_latest_versions")):
        return {"available": False, "reason": "this MLflow has no model version stages"}
    promoted = approved[-STAGE_PROMOTIONS:]
    try:
        durations: list[float] = []
        for version in promoted:
            start = time.perf_counter()
            client.transition_model_version_stage(name, str(version), "Production",
                                                  archive_existing_versions=True)
            durations.append(time.perf_counter() - start)
        found = client.get_latest_versions(name, stages=["Production"])
        check("mlflow get_latest_versions(Production)", [int(v.version) for v in found],
              [approved[-1]])
        samples = sample(lambda: client.get_latest_versions(name, stages=["Production"]), calls)
    except Exception as exc:  # stages removed or refused by this MLflow: report, carry on
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return {
        "available": True,
        "promotions": len(promoted),
        "promotion": {"call": f"transition_model_version_stage('{name}', v, 'Production', "
                              "archive_existing_versions=True)",
                      **stats(durations)},
        "latest_production": {
            "call": f"get_latest_versions('{name}', stages=['Production'])",
            "note": "deprecated since MLflow 2.9", **stats(samples)},
    }


# -- report -----------------------------------------------------------------------------------


def _pair(row: dict[str, Any] | None, key: str = "median_ms") -> Any:
    return None if row is None else row.get(key)


def print_report(payload: dict[str, Any]) -> None:
    ours = payload.get("mlopskit")
    peer = payload.get("mlflow") or {}
    has_peer = bool(peer.get("register"))
    n = payload["versions"]
    peer_name = f"MLflow {peer.get('version')}" if has_peer else "MLflow"

    print(f"Registration: {n:,} versions into one group/registered model, one process, "
          "SQLite on local disk")
    rows = []
    for label, data in (("mlopskit (LocalSession)", ours),
                        (f"{peer_name} (sqlite)", peer if has_peer else None)):
        reg = None if data is None else data.get("register")
        if reg is None:
            rows.append((label, None, None, None, None, None))
            continue
        rows.append((label, n, reg["total_s"], reg["versions_per_s"], reg["median_ms"],
                     reg["p95_ms"]))
    print(table(["tool", "versions", "total s", "versions/s", "median ms/call", "p95 ms/call"],
                rows))
    if has_peer:
        print(f"  ({peer_name} also spent {peer['setup_s']:.1f} s creating and migrating its "
              "database before the first version; not counted above)")
    print()

    calls = payload["calls"]
    print(f"Queries at {n:,} versions: median and p95 in ms over up to {calls} calls "
          f"(listings: median of {payload['runs']} runs)")
    counts = (ours or peer)["counts"]
    spec = [
        ("newest Approved", "latest_approved", True),
        ("newest Pending", "latest_pending", True),
        (f"list all Approved ({counts[APPROVED]:,})", "list_approved", False),
    ]
    rows = []
    for label, key, aimed in spec:
        mine = None if ours is None else ours.get(key)
        theirs = peer.get(key) if has_peer else None
        aim = f"< {LATEST_AIM_MS:g}" if aimed and key == "latest_approved" else None
        rows.append((label, _pair(mine), _pair(mine, "p95_ms"), _pair(theirs),
                     _pair(theirs, "p95_ms"), None if theirs is None else theirs["calls"],
                     aim, verdict(mine["median_ms"], LATEST_AIM_MS)
                     if aim and mine else None))
    stages = peer.get("stages", {}) if has_peer else {}
    if stages.get("available"):
        prod = stages["latest_production"]
        rows.append(("newest Approved, MLflow stage", None, None, prod["median_ms"],
                     prod["p95_ms"], prod["calls"], None, None))
    if has_peer and "alias_lookup" in peer:
        alias = peer["alias_lookup"]
        rows.append(("MLflow alias (pointer)", None, None, alias["median_ms"], alias["p95_ms"],
                     alias["calls"], None, None))
    print(table(["query", "mlopskit", "p95", peer_name, "p95", "calls", "aim ms", "verdict"],
                [tuple(f"{v:.2f}" if isinstance(v, float) else v for v in row)
                 for row in rows]))
    print("  mlopskit: group.latest() / group.latest(ApprovalStatus.PENDING) / "
          "list(group.versions(status=APPROVED))")
    if has_peer:
        print("  MLflow:   search_model_versions(\"name='bench' and tag.status='...'\", "
              "order_by=['version_number DESC'], max_results=1) / every page of the same "
              "filter")
        if stages.get("available"):
            print("            stage row: get_latest_versions(stages=['Production']) after "
                  f"promoting the newest Approved version ({stages['promotion']['median_ms']:.0f}"
                  " ms per promotion with archive_existing_versions=True); stages are "
                  "deprecated since MLflow 2.9")
        elif stages:
            print(f"            stage row: not measured ({stages.get('reason')})")
        print("            alias row: get_model_version_by_alias: a pointer someone moves by "
              "hand, not a status query")
    elif "mlflow_missing" in payload:
        print(f"  MLflow: {payload['mlflow_missing']}")


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=int, default=None,
                        help=f"versions to register per tool (default {DEFAULT_VERSIONS:,}; "
                             f"{QUICK_VERSIONS:,} with --quick)")
    parser.add_argument("--runs", type=int, default=None,
                        help=f"runs of each listing (default {DEFAULT_RUNS}; {QUICK_RUNS} with "
                             "--quick)")
    parser.add_argument("--calls", type=int, default=None,
                        help=f"calls per latest-version query (default {DEFAULT_CALLS}; "
                             f"{QUICK_CALLS} with --quick)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_registry.json",
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_VERSIONS:,} versions: a smoke check, not a measurement")
    parser.add_argument("--no-mlflow", action="store_true",
                        help="measure mlopskit only, even when mlflow is installed")
    args = parser.parse_args(argv)
    n = args.versions if args.versions is not None else (
        QUICK_VERSIONS if args.quick else DEFAULT_VERSIONS)
    runs = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    calls = args.calls if args.calls is not None else (
        QUICK_CALLS if args.quick else DEFAULT_CALLS)
    if n < 1 or runs < 1 or calls < 1:
        parser.error("--versions, --runs and --calls must be at least 1")

    env = {**environment(), "mlflow": version_of("mlflow"), "sqlalchemy": version_of("sqlalchemy")}
    import sqlite3

    env["sqlite"] = sqlite3.sqlite_version
    print(f"mlopskit registry benchmark: {n:,} versions, mlopskit {env['mlopskit']}, "
          f"Python {env['python']}, SQLite {env['sqlite']}, {env['cpu_count']} CPUs, "
          f"{env['platform']}")
    print()
    started = time.perf_counter()
    payload: dict[str, Any] = {"benchmark": "bench_registry", "versions": n, "runs": runs,
                               "calls": calls, "quick": args.quick, "environment": env,
                               "aims": {}, "errors": {}}
    work = Path(tempfile.mkdtemp(prefix="mlopskit-bench-registry-"))
    try:
        try:
            payload["mlopskit"] = bench_mlopskit(n, calls, runs, work)
        except Exception:
            payload["errors"]["mlopskit"] = traceback.format_exc()
            print(f"mlopskit: the measurement failed:\n{payload['errors']['mlopskit']}",
                  file=sys.stderr)
        if args.no_mlflow:
            payload["mlflow_missing"] = "skipped (--no-mlflow)"
        elif env["mlflow"] is None:
            payload["mlflow_missing"] = ("mlflow is not installed; only mlopskit was measured "
                                         "(.venv/bin/pip install mlflow for the comparison)")
            print(payload["mlflow_missing"])
            print()
        else:
            try:
                payload["mlflow"] = bench_mlflow(n, calls, runs, work)
            except Exception:
                payload["errors"]["mlflow"] = traceback.format_exc()
                print(f"mlflow: the measurement failed:\n{payload['errors']['mlflow']}",
                      file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_report(payload)
    print()
    ours = payload.get("mlopskit")
    if ours:
        key = f"latest_under_{LATEST_AIM_MS:g}ms_at_{n}_versions"
        payload["aims"][key] = verdict(ours["latest_approved"]["median_ms"], LATEST_AIM_MS)
    payload["elapsed_s"] = round(time.perf_counter() - started, 1)
    path = write_json(args.json, payload)
    summary_line = ", ".join(f"{k} {v}" for k, v in payload["aims"].items())
    print(f"Aims: {summary_line or 'none measured'}")
    print(f"Took {payload['elapsed_s']} s; results in {_shown(path)}")
    return 1 if payload["errors"] else 0


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
