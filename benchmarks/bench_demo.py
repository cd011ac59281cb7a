"""How long `mlopskit demo` (README's first command) takes, end to end, in a fresh process.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_demo.py            # 3 runs
    .venv/bin/python benchmarks/bench_demo.py --runs 1

Each run is ``python -m mlopskit --root <new temp folder> demo`` as a subprocess: interpreter
start-up, imports, two pipeline executions (five jobs each, the second served partly from the
cache), a deployment, predictions, a batch transform of 1,000 rows and a canary rollout with
a 3 s bake. The demo's own per-step times are parsed from its output. Aim: under 120 s on 2
cores. Writes ``benchmarks/results/bench_demo.json``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, clean_env, environment, table, write_json

AIM_S = 120.0
STEP = re.compile(r"^\[(\d)/\d\] (.+)$")
DONE = re.compile(r"^\s+done in ([0-9.]+) s$")


def one_run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "mlopskit", "--root", folder, "demo"],
                              capture_output=True, text=True, check=False, env=clean_env(),
                              cwd=folder)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"mlopskit demo failed:\n{done.stderr[-3000:]}")
    steps: dict[str, float] = {}
    current = None
    for line in done.stdout.splitlines():
        if match := STEP.match(line):
            current = match.group(2)
        elif (match := DONE.match(line)) and current:
            steps[current] = float(match.group(1))
    return {"wall_s": wall, "steps_s": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_demo.json")
    args = parser.parse_args(argv)
    env = environment()
    print(f"mlopskit demo benchmark: mlopskit {env['mlopskit']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs")
    payload: dict[str, Any] = {"environment": env}
    try:
        runs = [one_run() for _ in range(args.runs)]
    except Exception as exc:
        payload["error"] = str(exc)
        write_json(args.json, payload)
        print(exc)
        return 1
    walls = [r["wall_s"] for r in runs]
    rows = [(step, *(round(r["steps_s"].get(step, float("nan")), 1) for r in runs))
            for step in runs[0]["steps_s"]]
    rows.append(("whole command (wall)", *(round(w, 1) for w in walls)))
    print(table(["step", *(f"run {i + 1} (s)" for i in range(len(runs)))], rows))
    median = statistics.median(walls)
    verdict = "PASS" if median < AIM_S else "MISS"
    print(f"{verdict}  demo under {AIM_S:g} s on {env['cpu_count']} cores "
          f"(median {median:.1f} s)")
    payload.update(runs=runs, aims={"under_120s": {"median_s": round(median, 1),
                                                   "aim_s": AIM_S, "verdict": verdict}})
    print(f"results in {write_json(args.json, payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
