"""What the local pipeline engine costs per step, and what 2 workers buy.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_pipeline.py            # 50 steps per pipeline
    .venv/bin/python benchmarks/bench_pipeline.py --steps 20 # quicker

One run prints a table and writes every figure to ``benchmarks/results/bench_pipeline.json``.

Pipelines of N trivial steps, each measured once in this process:

* ``chain`` and ``fan-out`` of N condition steps (``Equals(1, 1)``): no job at all, so the
  wall time per step is the engine's own cost (scheduling, resolving, store rows).
* ``chain`` of N training steps running a no-op script (each ``DependsOn`` the previous):
  engine overhead per step = (pipeline wall time - the N jobs' own run time, from their
  start/end times) / N. Beside it, the peer available offline: the same N scripts run by
  ``subprocess.run`` one after the other (the SageMaker SDK's local mode needs Docker,
  which this machine lacks; ZenML and Kubeflow are not installed).
* ``fan-out`` of N independent training steps with ``workers=1`` and ``workers=2``, for the
  no-op script and for a job that waits 0.2 s, and the same N scripts through 1- and
  2-thread pools of ``subprocess.run`` (the speed-up the machine allows). The no-op case is
  bound by starting processes; the speed-up aim is judged on the 0.2 s job.
* the fan-out again with every step cached (``CacheConfig``): no job starts.

Aims: engine overhead under 50 ms per step; fan-out with 2 workers near 2x faster than
with 1. The script exits 0 whatever the figures are; 1 only when a measurement failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, environment, table, write_json

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
OVERHEAD_AIM_MS = 50.0
SPEEDUP_AIM = 1.8  # "near 2x" on 2 cores


def _conditions(session: Any, steps: int, chain: bool) -> Any:
    from mlopskit.pipeline import ConditionStep, Equals, Pipeline

    made: list[Any] = []
    for index in range(steps):
        depends = [made[-1]] if chain and made else None
        made.append(ConditionStep(f"C{index}", [Equals(1, 1)], depends_on=depends))
    return Pipeline(f"bench-conditions-{'chain' if chain else 'fan'}", steps=made,
                    session=session)


def _trainings(session: Any, script: Path, steps: int, chain: bool, name: str,
               cached: bool = False) -> Any:
    import mlopskit
    from mlopskit.pipeline import CacheConfig, Pipeline, TrainingStep

    estimator = mlopskit.Estimator(str(script), image_uri=IMAGE, instance_type="ml.m5.large")
    made: list[Any] = []
    for index in range(steps):
        depends = [made[-1]] if chain and made else None
        made.append(TrainingStep(f"T{index}", estimator, depends_on=depends,
                                 cache_config=CacheConfig() if cached else None,
                                 # distinct argument per step: each is its own cache entry
                                 display_name=f"step {index}"))
        estimator = mlopskit.Estimator(str(script), image_uri=IMAGE,
                                       instance_type="ml.m5.large",
                                       hyperparameters={"index": index + 1})
    return Pipeline(name, steps=made, session=session)


def _run(pipeline: Any, workers: int) -> tuple[float, Any]:
    pipeline.upsert()
    start = time.perf_counter()
    execution = pipeline.start(workers=workers).wait(timeout=3600)
    return time.perf_counter() - start, execution


def _job_seconds(session: Any, execution: Any) -> float:
    total = 0.0
    for step in execution.steps():
        if step.job and not step.cache_hit:
            found = session.backend.training.describe(step.job)
            if found.start_time and found.end_time:
                total += (found.end_time - found.start_time).total_seconds()
    return total


def _plain(script: Path, steps: int, workers: int) -> float:
    def once(_: int) -> None:
        subprocess.run([sys.executable, str(script)], check=True, capture_output=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(once, range(steps)))
    return time.perf_counter() - start


def measure(steps: int, work: Path) -> dict[str, Any]:
    import mlopskit

    session = mlopskit.LocalSession(root=work / "root")
    script = work / "noop.py"
    script.write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    waiting = work / "wait.py"  # a job that spends 0.2 s waiting (I/O, a remote call...)
    waiting.write_text("import threading\nthreading.Event().wait(0.2)\n", encoding="utf-8")
    rows: dict[str, Any] = {}

    # warm-up: imports, the store, one job
    _run(_trainings(session, script, 1, True, "bench-warmup"), 1)

    for chain in (True, False):
        wall, _ = _run(_conditions(session, steps, chain), 2)
        rows[f"conditions {'chain' if chain else 'fan-out'}"] = {
            "wall_s": wall, "per_step_ms": 1000 * wall / steps}

    wall, execution = _run(_trainings(session, script, steps, True, "bench-chain"), 1)
    jobs = _job_seconds(session, execution)
    plain_chain = _plain(script, steps, 1)
    rows["training chain (workers=1)"] = {
        "wall_s": wall, "jobs_s": jobs, "per_step_ms": 1000 * wall / steps,
        "engine_overhead_ms": 1000 * (wall - jobs) / steps,
        "plain_subprocess_s": plain_chain,
        "vs_plain_per_step_ms": 1000 * (wall - plain_chain) / steps}

    for label, job in (("no-op", script), ("0.2 s job", waiting)):
        one, _ = _run(_trainings(session, job, steps, False, f"bench-fan-1-{job.stem}"), 1)
        two, _ = _run(_trainings(session, job, steps, False, f"bench-fan-2-{job.stem}"), 2)
        plain_one, plain_two = _plain(job, steps, 1), _plain(job, steps, 2)
        rows[f"training fan-out, {label} (workers=1)"] = {
            "wall_s": one, "per_step_ms": 1000 * one / steps}
        rows[f"training fan-out, {label} (workers=2)"] = {
            "wall_s": two, "per_step_ms": 1000 * two / steps, "speedup_vs_1": one / two}
        rows[f"plain subprocess, {label}, 1 thread"] = {
            "wall_s": plain_one, "per_step_ms": 1000 * plain_one / steps}
        rows[f"plain subprocess, {label}, 2 threads"] = {
            "wall_s": plain_two, "per_step_ms": 1000 * plain_two / steps,
            "speedup_vs_1": plain_one / plain_two}

    _run(_trainings(session, script, steps, False, "bench-cached", cached=True), 2)
    cached_wall, cached = _run(_trainings(session, script, steps, False, "bench-cached",
                                          cached=True), 2)
    hits = sum(1 for step in cached.steps() if step.cache_hit)
    rows["training fan-out, all cached (workers=2)"] = {
        "wall_s": cached_wall, "per_step_ms": 1000 * cached_wall / steps,
        "cache_hits": hits}
    session.close()

    overhead = rows["training chain (workers=1)"]["engine_overhead_ms"]
    speedup = rows["training fan-out, 0.2 s job (workers=2)"]["speedup_vs_1"]
    return {"steps": steps, "rows": rows, "aims": {
        "engine_overhead_under_50ms": {
            "value_ms": round(overhead, 1), "aim_ms": OVERHEAD_AIM_MS,
            "verdict": "PASS" if overhead < OVERHEAD_AIM_MS else "MISS"},
        "fan_out_speedup_near_2x": {
            "value": round(speedup, 2), "aim": SPEEDUP_AIM,
            "plain_speedup": round(
                rows["plain subprocess, 0.2 s job, 2 threads"]["speedup_vs_1"], 2),
            "verdict": "PASS" if speedup >= SPEEDUP_AIM else "MISS"}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_pipeline.json")
    args = parser.parse_args(argv)
    env = environment()
    print(f"mlopskit pipeline benchmark: mlopskit {env['mlopskit']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs, {env['platform']}")
    payload: dict[str, Any] = {"environment": env}
    try:
        with tempfile.TemporaryDirectory(prefix="mlopskit-bench-") as tmp:
            result = measure(args.steps, Path(tmp))
    except Exception:
        payload["error"] = traceback.format_exc()
        write_json(args.json, payload)
        print(payload["error"])
        return 1
    payload.update(result)
    rows = [(label, round(r["wall_s"], 2), round(r["per_step_ms"], 1),
             None if r.get("engine_overhead_ms") is None else round(r["engine_overhead_ms"], 1),
             None if r.get("speedup_vs_1") is None else f"{r['speedup_vs_1']:.2f}x",
             r.get("cache_hits"))
            for label, r in result["rows"].items()]
    print(f"\n{result['steps']} trivial steps per pipeline (no-op script for training steps)")
    print(table(["pipeline", "wall s", "per step ms", "engine overhead ms", "speed-up",
                 "cache hits"], rows))
    chain = result["rows"]["training chain (workers=1)"]
    print(f"  training chain: the {result['steps']} jobs ran {chain['jobs_s']:.2f} s in all; "
          f"plain subprocess.run of the same script {chain['plain_subprocess_s']:.2f} s "
          f"({chain['vs_plain_per_step_ms']:.1f} ms a step more through the pipeline)")
    aims = result["aims"]
    o, s = aims["engine_overhead_under_50ms"], aims["fan_out_speedup_near_2x"]
    print(f"{o['verdict']}  engine overhead per step < {OVERHEAD_AIM_MS:g} ms "
          f"(got {o['value_ms']} ms)")
    print(f"{s['verdict']}  fan-out of 0.2 s jobs with 2 workers >= {SPEEDUP_AIM:g}x workers=1 "
          f"(got {s['value']}x; plain subprocess pool: {s['plain_speedup']}x)")
    write_json(args.json, payload)
    print(f"results in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
