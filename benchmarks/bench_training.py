"""How much mlopskit costs on top of the work it runs: import time and local fit() overhead.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_training.py            # default: 7 runs per figure
    .venv/bin/python benchmarks/bench_training.py --quick    # 3 runs, for a smoke check
    .venv/bin/python benchmarks/bench_training.py --runs 15 --json /tmp/bench.json

One run prints two tables and writes every sample to ``benchmarks/results/bench_training.json``.

* Import time: each statement runs in a fresh interpreter (``python -c "..."``), timed from
  outside; the median of ``python -c pass`` is subtracted, so the figure is what the import
  adds to a script's start-up. ``sagemaker`` is measured only when it is installed.
* fit() overhead: a no-op script trained with ``Estimator(...).fit(logs=False)`` on a
  ``LocalSession`` in a temporary folder, timed in this one long-lived process after a
  warm-up, against ``subprocess.run([python, "noop.py"])``. The overhead of a case is
  ``median(case) - median(plain)``. Cases: in-process (``wait=True``), the same with one
  channel of 10 small CSV files uploaded on every fit, and detached (``wait=False`` then
  ``job.wait()``). The cases run interleaved, round by round, so drift hits them all alike.
  The warm-up's detached fit (the process's first, whose supervisor is a new interpreter;
  from the second on, a pre-started supervisor server forks them) is reported beside the
  table.

The script exits 0 whatever the figures are (PASS/MISS is printed, not enforced); it exits 1
only when a measurement could not be taken, after printing what it could.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
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
    clean_env,
    environment,
    loaded_modules,
    module_available,
    ms,
    run_python,
    summary,
    table,
    verdict,
    write_json,
)

FIT_OVERHEAD_AIM_MS = 150.0
DEFAULT_RUNS = 7
QUICK_RUNS = 3
CSV_FILES = 10

# (label, statement, module that must be importable for the row to be measured)
IMPORT_CASES: list[tuple[str, str, str]] = [
    ("import mlopskit", "import mlopskit", "mlopskit"),
    ("import mlopskit; mlopskit.Estimator", "import mlopskit; mlopskit.Estimator", "mlopskit"),
    ("import boto3", "import boto3", "boto3"),
    ("import sagemaker", "import sagemaker", "sagemaker"),
]

# Modules that `import mlopskit` must not load (ARCHITECTURE.md, "Lazy heavy imports").
HEAVY_MODULES = ["boto3", "botocore", "pandas", "numpy", "sklearn"]
# Also reported after first use of Estimator, to show what that first use pulls in.
WATCHED_MODULES = [*HEAVY_MODULES, "pydantic", "tenacity", "asyncio", "tornado", "sqlite3"]


# -- import time ------------------------------------------------------------------------------


def bench_imports(runs: int) -> dict[str, Any]:
    """Median wall time of each import statement in a fresh interpreter, minus an empty one."""
    env = clean_env()
    with tempfile.TemporaryDirectory(prefix="mlopskit-bench-imports-") as tmp:
        cwd = Path(tmp)  # not the repo root, so `import X` cannot pick up a local folder
        cases = [(label, stmt) for label, stmt, module in IMPORT_CASES
                 if module_available(module, cwd=cwd, env=env)]
        missing = [label for label, _, module in IMPORT_CASES
                   if not module_available(module, cwd=cwd, env=env)]
        statements = [("python -c pass", "pass"), *cases]
        samples: dict[str, list[float]] = {label: [] for label, _ in statements}
        # One discarded round first: it fills the OS file cache and writes .pyc files.
        for round_index in range(runs + 1):
            shift = round_index % len(statements)
            for label, stmt in statements[shift:] + statements[:shift]:
                elapsed = run_python(stmt, cwd=cwd, env=env)
                if round_index > 0:
                    samples[label].append(elapsed)
        lazy_after_import = loaded_modules("import mlopskit", WATCHED_MODULES, cwd=cwd, env=env)
        lazy_after_estimator = loaded_modules("import mlopskit; mlopskit.Estimator",
                                              WATCHED_MODULES, cwd=cwd, env=env)

    baseline = statistics.median(samples["python -c pass"])
    rows = []
    for label, _ in cases:
        stats = summary(samples[label])
        rows.append({
            "statement": label,
            "net_median_ms": round(stats["median_ms"] - ms(baseline), 2),
            **stats,
        })
    heavy_loaded = [m for m in lazy_after_import if m in HEAVY_MODULES]
    return {
        "method": "wall time of `python -c STATEMENT` in a fresh interpreter, median of "
                  f"{runs} after one discarded round, minus the median of `python -c pass`",
        "runs": runs,
        "baseline": {"statement": "python -c pass", **summary(samples["python -c pass"])},
        "rows": rows,
        "not_installed": missing,
        "modules_after_import": lazy_after_import,
        "modules_after_estimator": lazy_after_estimator,
        "lazy_import_check": {
            "aim": f"`import mlopskit` loads none of {', '.join(HEAVY_MODULES)}",
            "loaded": heavy_loaded,
            "verdict": "PASS" if not heavy_loaded else "MISS",
        },
    }


def print_imports(result: dict[str, Any]) -> None:
    runs = result["runs"]
    base = result["baseline"]["median_ms"]
    print(f"Import time: fresh interpreter, median of {runs} runs "
          f"(`python -c pass` = {base:.1f} ms, subtracted)")
    rows = [(r["statement"], r["net_median_ms"], r["median_ms"], r["min_ms"], r["max_ms"])
            for r in result["rows"]]
    rows += [(label, "not installed", None, None, None) for label in result["not_installed"]]
    print(table(["statement", "added ms", "raw median", "raw min", "raw max"], rows))
    check = result["lazy_import_check"]
    loaded = ", ".join(check["loaded"]) or "none of them"
    print(f"{check['verdict']}  {check['aim']} (loaded: {loaded})")
    after = ", ".join(result["modules_after_estimator"]) or "none"
    print(f"      first use of mlopskit.Estimator loads: {after}")


# -- fit() overhead ---------------------------------------------------------------------------


def _write_inputs(work: Path) -> tuple[Path, Path]:
    """A no-op script and a folder of small CSV files."""
    script = work / "noop.py"
    script.write_text("pass\n", encoding="utf-8")
    data = work / "data"
    data.mkdir()
    for index in range(CSV_FILES):
        rows = "\n".join(f"{index},{row},{row * 0.5:.2f},{(row * 7) % 3}" for row in range(50))
        (data / f"part-{index:02d}.csv").write_text(rows + "\n", encoding="utf-8")
    return script, data


def _wall(value: _dt.datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


class _FitCase:
    """One timed case: a callable that runs one job and the timings collected from it."""

    def __init__(self, key: str, label: str, run: Callable[[], Any]) -> None:
        self.key = key
        self.label = label
        self.run = run
        self.samples: list[float] = []
        self.phases: dict[str, list[float]] = {}
        self.first: float | None = None  # the warm-up run: the first of its kind here

    def once(self, record: bool) -> None:
        started_wall = time.time()
        start = time.perf_counter()
        job = self.run()
        elapsed = time.perf_counter() - start
        returned_wall = time.time()
        if not record:
            self.first = elapsed
            return
        self.samples.append(elapsed)
        if job is None:  # the plain subprocess baseline has no job to describe
            return
        description = job.describe()
        if description.status != "Completed":
            raise RuntimeError(f"{self.label}: job {job.name} ended {description.status}: "
                               f"{description.failure_reason}")
        phases: dict[str, float] = {}
        created = _wall(description.creation_time)
        ended = _wall(description.end_time)
        if created is not None:
            phases["client: before the job exists"] = created - started_wall
        for transition in description.raw.get("SecondaryStatusTransitions", []):
            if transition.get("EndTime"):
                span = (_dt.datetime.fromisoformat(transition["EndTime"])
                        - _dt.datetime.fromisoformat(transition["StartTime"]))
                phases[f"job: {transition['Status']}"] = span.total_seconds()
        if ended is not None:
            phases["client: job ended -> call returned"] = returned_wall - ended
        for name, seconds in phases.items():
            self.phases.setdefault(name, []).append(seconds)


def bench_fit(runs: int) -> dict[str, Any]:
    """Median time of local fits of a no-op script against running the script directly."""
    import mlopskit  # imported here so the import benchmark above is not affected

    work = Path(tempfile.mkdtemp(prefix="mlopskit-bench-fit-"))
    session = mlopskit.LocalSession(root=work / "store")
    try:
        script, data = _write_inputs(work)
        estimator = mlopskit.Estimator(entry_point=str(script), instance_type="ml.m5.large",
                                       session=session)

        def plain() -> None:
            subprocess.run([sys.executable, str(script)], cwd=work, check=True)

        cases = [
            _FitCase("plain", "python noop.py (subprocess.run)", plain),
            _FitCase("fit", "fit(logs=False), wait=True, in-process",
                     lambda: estimator.fit(logs=False)),
            _FitCase("fit_input", f"fit({{'train': <{CSV_FILES} CSV files>}}), in-process",
                     lambda: estimator.fit({"train": str(data)}, logs=False)),
            _FitCase("fit_detached", "fit(wait=False) + job.wait(), detached",
                     lambda: estimator.fit(wait=False, logs=False).wait()),
        ]
        for case in cases:  # warm-up: first-use imports, SQLite file, OS caches
            case.once(record=False)
        for round_index in range(runs):
            shift = round_index % len(cases)
            for case in cases[shift:] + cases[:shift]:
                case.once(record=True)
        jobs = len(mlopskit.TrainingJob.list(session=session))
    finally:
        session.close()
        # A detached supervisor tidies its input folders just after it records the end.
        time.sleep(0.3)
        shutil.rmtree(work, ignore_errors=True)

    plain_median = statistics.median(cases[0].samples)
    rows = []
    for case in cases:
        stats = summary(case.samples)
        row: dict[str, Any] = {"case": case.key, "label": case.label, **stats,
                               "warm_up_ms": None if case.first is None else ms(case.first)}
        if case.key != "plain":
            overhead = round(stats["median_ms"] - ms(plain_median), 2)
            row.update({
                "overhead_ms": overhead,
                "aim_ms": FIT_OVERHEAD_AIM_MS,
                "verdict": verdict(overhead, FIT_OVERHEAD_AIM_MS),
                "phases_median_ms": {name: ms(statistics.median(values))
                                     for name, values in case.phases.items()},
            })
        rows.append(row)
    return {
        "method": f"median of {runs} interleaved rounds after one warm-up round, in one "
                  "process; overhead = median(case) - median(plain)",
        "runs": runs,
        "jobs_created": jobs,
        "csv_files": CSV_FILES,
        "rows": rows,
    }


def print_fit(result: dict[str, Any]) -> None:
    runs = result["runs"]
    plain = result["rows"][0]
    print(f"Local fit() of a no-op script: median of {runs} runs after a warm-up "
          f"(plain `python noop.py` = {plain['median_ms']:.1f} ms)")
    rows = [(r["label"], r["median_ms"], r["min_ms"], r["max_ms"], r.get("overhead_ms"),
             f"< {FIT_OVERHEAD_AIM_MS:.0f}" if "aim_ms" in r else None, r.get("verdict"))
            for r in result["rows"]]
    print(table(["case", "median ms", "min", "max", "overhead ms", "aim", "verdict"], rows))
    detached = next((r for r in result["rows"] if r["case"] == "fit_detached"), None)
    if detached is not None and detached.get("warm_up_ms") is not None:
        print(f"  the warm-up's detached fit, this process's first: "
              f"{detached['warm_up_ms']:.1f} ms (a new supervisor interpreter; from the "
              "second on, a pre-started server forks them)")
    print()
    print("Where a fit's time goes (median ms per phase; job phases are the secondary statuses)")
    fit_rows = [r for r in result["rows"] if "phases_median_ms" in r]
    names: list[str] = []  # first seen first: client, then job phases in order, then client
    for r in fit_rows:
        names += [n for n in r["phases_median_ms"] if n not in names]
    phase_rows = [(name, *(r["phases_median_ms"].get(name) for r in fit_rows)) for name in names]
    print(table(["phase", *(r["case"] for r in fit_rows)], phase_rows))


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None,
                        help=f"runs per figure (default {DEFAULT_RUNS}; {QUICK_RUNS} with --quick)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_training.json",
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_RUNS} runs per figure: a smoke check, not a measurement")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    if runs < 1:
        parser.error("--runs must be at least 1")

    env = environment()
    print(f"mlopskit training benchmark: mlopskit {env['mlopskit']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs, {env['platform']}")
    print()
    started = time.perf_counter()
    payload: dict[str, Any] = {"benchmark": "bench_training", "runs": runs, "quick": args.quick,
                               "environment": env, "aims": {}, "errors": {}}
    sections: list[tuple[str, Callable[[int], dict[str, Any]],
                         Callable[[dict[str, Any]], None]]] = [
        ("import_time", bench_imports, print_imports),
        ("fit_overhead", bench_fit, print_fit),
    ]
    for key, measure, show in sections:
        try:
            payload[key] = measure(runs)
        except Exception:  # report what broke and carry on with the other section
            payload["errors"][key] = traceback.format_exc()
            print(f"{key}: the measurement failed:\n{payload['errors'][key]}", file=sys.stderr)
            continue
        show(payload[key])
        print()

    if "import_time" in payload:
        payload["aims"]["lazy_import"] = payload["import_time"]["lazy_import_check"]["verdict"]
    for row in payload.get("fit_overhead", {}).get("rows", []):
        if "verdict" in row:
            payload["aims"][f"{row['case']}_overhead_under_{FIT_OVERHEAD_AIM_MS:.0f}ms"] = \
                row["verdict"]
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
