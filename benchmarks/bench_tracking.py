"""What MLflow experiment tracking costs a local job, beside the same bookkeeping done by hand.

Run it from the repository root with the project's interpreter (needs MLflow:
``pip install -e ".[tracking]"``)::

    .venv/bin/python benchmarks/bench_tracking.py            # about a minute on 2 CPUs
    .venv/bin/python benchmarks/bench_tracking.py --quick    # 3 rounds, 1,000 points
    .venv/bin/python benchmarks/bench_tracking.py --only points --fluent-points 10000

Everything runs on the local backend, in one ``LocalSession`` in a temporary folder whose
tracking store is MLflow's SQLite store (``<root>/mlflow.db``); the peers use a SQLite store
of their own, migrated before anything is timed.

* (a) overhead per job: a trivial training script (two hyperparameters, prints two metric
  lines) fitted with ``Estimator(...).fit(logs=False)`` with ``experiment=`` and without,
  interleaved round by round in this one process (30 rounds), after a warm-up round that
  pays MLflow's import and the stores' creation. Overhead = the median over rounds of
  (tracked - untracked) within a round, which the machine's other work disturbs less
  than a difference of two medians (also written to the JSON). The peer
  is the same bookkeeping by hand around ``subprocess.run`` of the same script:
  ``MlflowClient.create_run``, ``log_batch`` of the params, the run, ``log_batch`` of the
  metric values read from its output, ``set_terminated``; its cost is measured against
  ``subprocess.run`` alone.
* (b) 10,000 metric points from one script: inside a tracked job, with MLflow's fluent
  ``mlflow.log_metric`` per point, with ``MlflowClient.log_batch`` (1,000 per call), and by
  printing ``loss=...`` lines that the estimator's metric definition reads (mlopskit records
  the series when the wait sees the job end); beside them the two MLflow scripts run by
  ``subprocess.run`` against a fresh copy of a migrated SQLite store, without mlopskit.
  One run of each; every row checks that the run holds all the points. Net per point =
  (wall - the same case with 0 points) / points. The fluent rows cost 10-20 ms a point on
  SQLite (one transaction each), so by default they log 2,000 points (``--fluent-points``)
  and their 10,000-point figure is extrapolated from the net per point (marked ``~``).

The script exits 0 whatever the figures are (aims are printed, not enforced); it exits 1 only
when a measurement could not be taken.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    environment,
    ms,
    summary,
    table,
    timed,
    verdict,
    version_of,
    write_json,
)

OVERHEAD_AIM_MS = 30.0
DEFAULT_RUNS, QUICK_RUNS = 30, 3
DEFAULT_POINTS, QUICK_POINTS = 10_000, 1_000
DEFAULT_FLUENT_POINTS = 2_000  # ~10-20 ms each: 10,000 of them take minutes
BATCH = 1000  # MLflow's limit of metrics per log_batch call
HYPERPARAMETERS = {"epochs": 2, "learning_rate": 0.1}
METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"},
           {"Name": "loss", "Regex": r"loss=([0-9.eE+-]+)"}]

TRIVIAL_SCRIPT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--learning_rate", type=float, default=0.1)
args, _ = parser.parse_known_args()
for epoch in range(1, args.epochs + 1):
    print(f"epoch {epoch}: loss={args.learning_rate / epoch:.4f} "
          f"validation:auc={0.5 + epoch / 100:.3f}")
"""

# One script for the MLflow rows, inside a job and out: start_run() resumes the job's run
# when MLFLOW_RUN_ID is set, and starts a run of the Default experiment otherwise.
MLFLOW_SCRIPT = """\
import argparse, time
import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
parser = argparse.ArgumentParser()
parser.add_argument("--mode", choices=["fluent", "batch"])
parser.add_argument("--points", type=int)
args, _ = parser.parse_known_args()
with mlflow.start_run() as run:
    if args.mode == "fluent":
        for step in range(args.points):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    else:
        now = int(time.time() * 1000)
        metrics = [Metric("loss", 1.0 / (step + 1), now, step) for step in range(args.points)]
        client = MlflowClient()
        for start in range(0, len(metrics), BATCH):
            client.log_batch(run.info.run_id, metrics=metrics[start:start + BATCH])
""".replace("BATCH", str(BATCH))

PRINT_SCRIPT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--points", type=int)
args, _ = parser.parse_known_args()
print("\\n".join(f"step={step} loss={1.0 / (step + 1):.6g}" for step in range(args.points)))
"""


class _Bench:
    """The session, scripts and peer store shared by both parts, in one temporary folder."""

    def __init__(self, work: Path) -> None:
        import mlopskit

        self.work = work
        self.session = mlopskit.LocalSession(root=work / "store")
        self.code = work / "code"
        self.code.mkdir()
        for name, text in (("train.py", TRIVIAL_SCRIPT), ("log_mlflow.py", MLFLOW_SCRIPT),
                           ("print_points.py", PRINT_SCRIPT)):
            (self.code / name).write_text(text, encoding="utf-8")
        self.template = work / "peer-template.db"  # a migrated, empty MLflow store
        self._copies = 0

    def estimator(self, entry_point: str, hyperparameters: dict[str, Any]) -> Any:
        import mlopskit

        return mlopskit.Estimator(entry_point=entry_point, source_dir=str(self.code),
                                  instance_type="ml.m5.large", metric_definitions=METRICS,
                                  hyperparameters=hyperparameters, session=self.session)

    def fresh_store(self) -> str:
        """A new SQLite tracking store for a peer: a copy of the migrated template (MLflow
        makes a new one by running all its migrations, seconds that are not the peer's)."""
        if not self.template.exists():
            from mlflow.tracking import MlflowClient

            MlflowClient(tracking_uri=f"sqlite:///{self.template}").search_experiments()
        self._copies += 1
        copy = self.work / f"peer-{self._copies}.db"
        shutil.copyfile(self.template, copy)
        return f"sqlite:///{copy}"

    def script(self, name: str, hyperparameters: dict[str, Any]) -> list[str]:
        """The command line script mode gives the script: ``--name value`` per
        hyperparameter."""
        arguments = [str(part) for key, value in hyperparameters.items()
                     for part in (f"--{key}", value)]
        return [sys.executable, str(self.code / name), *arguments]

    def close(self) -> None:
        self.session.close()


def _checked(job: Any) -> Any:
    if job.status != "Completed":
        raise RuntimeError(f"job {job.name} ended {job.status}: {job.failure_reason}")
    return job


# -- (a) overhead per job ---------------------------------------------------------------------


def bench_overhead(bench: _Bench, runs: int) -> dict[str, Any]:
    """Untracked and tracked fits, the plain script and the hand-rolled MLflow peer,
    interleaved round by round after a warm-up round."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    estimator = bench.estimator("train.py", HYPERPARAMETERS)
    command = bench.script("train.py", HYPERPARAMETERS)
    peer: dict[str, Any] = {}

    def plain() -> None:
        subprocess.run(command, cwd=bench.work, check=True, capture_output=True)

    def by_hand() -> None:
        if not peer:  # the peer's store and experiment, made in its warm-up run
            peer["client"] = client = MlflowClient(tracking_uri=bench.fresh_store())
            peer["experiment"] = client.create_experiment("bench-overhead-peer")
        client = peer["client"]
        run = client.create_run(peer["experiment"], run_name="by-hand")
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in HYPERPARAMETERS.items()])
        done = subprocess.run(command, cwd=bench.work, capture_output=True, text=True,
                              check=False)
        now = int(time.time() * 1000)
        values: dict[str, int] = {}
        metrics = []
        for definition in METRICS:
            for found in re.findall(definition["Regex"], done.stdout):
                step = values[definition["Name"]] = values.get(definition["Name"], 0) + 1
                metrics.append(Metric(definition["Name"], float(found), now, step))
        client.log_batch(run_id, metrics=metrics)
        client.set_terminated(run_id, "FINISHED" if done.returncode == 0 else "FAILED")
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} failed: {done.stderr}")

    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("plain", "python train.py (subprocess.run)", plain),
        ("untracked", "fit(logs=False)", lambda: _checked(estimator.fit(logs=False))),
        ("tracked", 'fit(logs=False, experiment="bench-overhead")',
         lambda: _checked(estimator.fit(logs=False, experiment="bench-overhead"))),
        ("mlflow_by_hand", "MLflow by hand around subprocess.run", by_hand),
    ]
    # The warm-up round, in this order: the tracked fit pays the MLflow import and the
    # migration of mlopskit's template store, the peer the migration of its own store.
    warm_up = {key: ms(timed(action)) for key, _, action in cases}
    samples: dict[str, list[float]] = {key: [] for key, _, _ in cases}
    for round_index in range(runs):
        shift = round_index % len(cases)
        for key, _, action in cases[shift:] + cases[:shift]:
            samples[key].append(timed(action))

    stats = {key: summary(values) for key, values in samples.items()}
    rows = [{"case": key, "label": label, "warm_up_ms": warm_up[key], **stats[key]}
            for key, label, _ in cases]
    # Paired within each round: a round's two fits ran a moment apart, so what the machine's
    # other work adds to one it mostly adds to the other.
    tracked_overhead = _paired_median(samples["tracked"], samples["untracked"])
    peer_overhead = _paired_median(samples["mlflow_by_hand"], samples["plain"])
    tracked_runs = bench.session.tracker().runs("bench-overhead")
    if len(tracked_runs) != runs + 1 or any(r.info.status != "FINISHED" for r in tracked_runs):
        raise RuntimeError(f"expected {runs + 1} finished runs, found "
                           f"{[r.info.status for r in tracked_runs]}")
    return {
        "method": f"{runs} interleaved rounds after a warm-up round, one process; overhead = "
                  "the median over rounds of (tracked - untracked) in the same round",
        "runs": runs,
        "rows": rows,
        "tracking_overhead_ms": tracked_overhead,
        "mlflow_by_hand_overhead_ms": peer_overhead,
        "difference_of_medians_ms": {
            "tracking": round(stats["tracked"]["median_ms"] - stats["untracked"]["median_ms"], 2),
            "mlflow_by_hand": round(stats["mlflow_by_hand"]["median_ms"]
                                    - stats["plain"]["median_ms"], 2)},
        "verdict": verdict(tracked_overhead, OVERHEAD_AIM_MS),
    }


def _paired_median(cases: list[float], bases: list[float]) -> float:
    """The median of each round's difference, in ms (samples are in seconds)."""
    return round(statistics.median(ms(c) - ms(b) for c, b in zip(cases, bases, strict=True)), 2)


def print_overhead(result: dict[str, Any]) -> None:
    print(f"(a) Tracking overhead per local training job: {result['runs']} interleaved "
          "rounds after a warm-up round; overhead = median of each round's difference")
    print(table(["case", "median ms", "min", "max", "warm-up ms"],
                [(r["label"], r["median_ms"], r["min_ms"], r["max_ms"], r["warm_up_ms"])
                 for r in result["rows"]]))
    print(f"{result['verdict']}  tracked - untracked fit: {result['tracking_overhead_ms']:.1f} ms "
          f"per job (aim < {OVERHEAD_AIM_MS:.0f} ms)")
    print(f"      MLflow by hand - plain subprocess.run: "
          f"{result['mlflow_by_hand_overhead_ms']:.1f} ms per job")


# -- (b) many metric points -------------------------------------------------------------------


def bench_points(bench: _Bench, points: int, fluent_points: int) -> dict[str, Any]:
    """Each way of logging ``points`` values of one metric (the fluent cases:
    ``fluent_points``), once, and once with 0 points."""
    from mlflow.tracking import MlflowClient

    def in_job(script: str, mode: str | None) -> Callable[[int], tuple[float, int]]:
        def run(count: int) -> tuple[float, int]:
            hyperparameters: dict[str, Any] = {"points": count}
            if mode is not None:
                hyperparameters["mode"] = mode
            estimator = bench.estimator(script, hyperparameters)
            start = time.perf_counter()
            job = _checked(estimator.fit(logs=False, experiment="bench-points"))
            elapsed = time.perf_counter() - start
            history = bench.session.tracker().metric_history(job.run_id, "loss")
            return elapsed, len(history)
        return run

    def plain(mode: str) -> Callable[[int], tuple[float, int]]:
        def run(count: int) -> tuple[float, int]:
            uri = bench.fresh_store()
            env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
            command = bench.script("log_mlflow.py", {"mode": mode, "points": count})
            start = time.perf_counter()
            subprocess.run(command, cwd=bench.work, env=env, check=True, capture_output=True)
            elapsed = time.perf_counter() - start
            client = MlflowClient(tracking_uri=uri)
            [run_found] = client.search_runs(["0"])
            return elapsed, len(client.get_metric_history(run_found.info.run_id, "loss"))
        return run

    cases = [
        ("job_fluent", "mlopskit job: mlflow.log_metric per point", in_job("log_mlflow.py",
                                                                             "fluent")),
        ("job_batch", f"mlopskit job: MlflowClient.log_batch, {BATCH:,} per call",
         in_job("log_mlflow.py", "batch")),
        ("job_regex", "mlopskit job: print loss=..., metric definition",
         in_job("print_points.py", None)),
        ("plain_fluent", "MLflow alone: mlflow.log_metric per point", plain("fluent")),
        ("plain_batch", f"MLflow alone: MlflowClient.log_batch, {BATCH:,} per call",
         plain("batch")),
    ]
    rows = []
    for key, label, run in cases:
        count = fluent_points if key.endswith("fluent") else points
        empty_s, _ = run(0)
        wall_s, recorded = run(count)
        if recorded != count:
            raise RuntimeError(f"{label}: the run holds {recorded} points, expected {count}")
        net = (ms(wall_s) - ms(empty_s)) / count
        rows.append({"case": key, "label": label, "points": count, "wall_ms": ms(wall_s),
                     "zero_points_ms": ms(empty_s),
                     "per_point_ms": round(ms(wall_s) / count, 4),
                     "net_per_point_ms": round(net, 4),
                     "wall_at_points_ms": ms(wall_s) if count == points
                     else round(ms(empty_s) + net * points, 2),
                     "extrapolated": count != points})
    return {"method": "one run of each case with the points and one with 0 points; net per "
                      "point = (wall - wall with 0 points) / points; a case run with fewer "
                      "points is extrapolated to `points` as wall(0) + net per point * points",
            "points": points, "rows": rows}


def print_points(result: dict[str, Any]) -> None:
    points = result["points"]
    print(f"(b) Logging {points:,} points of one metric from a training script (one run each; "
          "~ = extrapolated from fewer points)")
    print(table(["case", "points", "wall s", "0 points s", "net ms/point",
                 f"{points:,} points s"],
                [(r["label"], f"{r['points']:,}", f"{r['wall_ms'] / 1000:.2f}",
                  f"{r['zero_points_ms'] / 1000:.2f}", f"{r['net_per_point_ms']:.3f}",
                  ("~" if r["extrapolated"] else "") + f"{r['wall_at_points_ms'] / 1000:.2f}")
                 for r in result["rows"]]))


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_RUNS} rounds and {QUICK_POINTS:,} points")
    parser.add_argument("--runs", type=int, help=f"rounds for (a) (default {DEFAULT_RUNS})")
    parser.add_argument("--points", type=int,
                        help=f"points for (b) (default {DEFAULT_POINTS:,})")
    parser.add_argument("--fluent-points", type=int,
                        help="points for the fluent mlflow.log_metric cases of (b) (default "
                             f"{DEFAULT_FLUENT_POINTS:,}; --quick: as --points)")
    parser.add_argument("--only", choices=["overhead", "points"], help="one part only")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_tracking.json")
    args = parser.parse_args(argv)
    runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    points = args.points or (QUICK_POINTS if args.quick else DEFAULT_POINTS)
    fluent_points = args.fluent_points or min(points, QUICK_POINTS if args.quick
                                              else DEFAULT_FLUENT_POINTS)
    if importlib.util.find_spec("mlflow") is None:
        print('MLflow is not installed: pip install -e ".[tracking]"')
        return 1

    started = time.perf_counter()
    payload: dict[str, Any] = {"environment": {**environment(),
                                               "mlflow": version_of("mlflow")},
                               "errors": {}}
    parts: list[tuple[str, Callable[[_Bench], dict[str, Any]],
                      Callable[[dict[str, Any]], None]]] = [
        ("overhead", lambda bench: bench_overhead(bench, runs), print_overhead),
        ("points", lambda bench: bench_points(bench, points, fluent_points), print_points),
    ]
    work = Path(tempfile.mkdtemp(prefix="mlopskit-bench-tracking-"))
    bench = _Bench(work)
    try:
        for name, measure, show in parts:
            if args.only not in (None, name):
                continue
            try:
                payload[name] = measure(bench)
            except Exception:  # report what broke, carry on with the other part
                payload["errors"][name] = traceback.format_exc()
                print(f"{name}: could not be measured:\n{payload['errors'][name]}")
                continue
            show(payload[name])
            print()
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)
    if "overhead" in payload:
        payload["aims"] = {f"tracking_overhead_under_{OVERHEAD_AIM_MS:.0f}ms":
                           payload["overhead"]["verdict"]}
    return _saved(payload, args.json, time.perf_counter() - started)


def _saved(payload: dict[str, Any], path: Path, elapsed_s: float) -> int:
    """Write the results with the run's duration; the exit status (1: a part broke)."""
    payload["elapsed_s"] = round(elapsed_s, 1)
    print(f"Took {payload['elapsed_s']} s; results in "
          f"{os.path.relpath(write_json(path, payload))}")
    return 1 if payload["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
