"""Data drift on 1,000,000 rows x 20 features: mlopskit beside Evidently, in one run.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_drift.py              # 1,000,000 current rows
    .venv/bin/python benchmarks/bench_drift.py --rows 200000

The data: a 100,000-row reference and a current window of ``--rows`` rows, 14 numeric
features (normal, uniform, log-normal, integer counts) and 6 categorical ones (3 to 50
categories); 4 numeric and 2 categorical features are shifted in the current window, and
2% of one numeric column is missing.

Measured once each, after a small warm-up of both tools:

* mlopskit: ``baseline(reference)`` (profiling), then ``compare(baseline, current)``
  (every statistic for every feature: KS, PSI, chi-squared, Jensen-Shannon, completeness,
  type and domain checks, violations) and ``to_html()``.
* Evidently: ``Report([DataDriftPreset()])`` run on the same frames, then its HTML, with
  Evidently's own defaults picking the test per column (on big data: normed Wasserstein
  distance for numeric, Jensen-Shannon for categorical). It runs in this process when it
  imports here; Evidently 0.7 does not import under pandas 3, so otherwise it runs in the
  interpreter made by ``benchmarks/peers/evidently.sh`` (``--evidently-python``), which
  rebuilds the same data from the same seed; a digest of both frames must match.

Aims: the comparison at least 5x faster than Evidently's report, and under 3 s on 2 cores.
Both tools' drifted-feature lists are printed, so a fast wrong answer would show. The
script exits 0 whatever the figures are; 1 only when a measurement failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, environment, table, version_of, write_json

SPEED_AIM = 5.0
TIME_AIM_S = 3.0
PEER_PYTHON = Path(__file__).resolve().parent.parent / ".venv-evidently" / "bin" / "python"
SHIFTED = {"n0", "n3", "n7", "n11", "c1", "c4"}


def make_data(rows: int, reference_rows: int, seed: int = 7) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    def frame(count: int, shifted: bool, rng: Any) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for i in range(14):
            move = shifted and f"n{i}" in SHIFTED
            kind = i % 4
            if kind == 0:
                columns[f"n{i}"] = rng.normal(0.3 if move else 0.0, 1.0, count)
            elif kind == 1:
                columns[f"n{i}"] = rng.uniform(0, 1.2 if move else 1.0, count)
            elif kind == 2:
                columns[f"n{i}"] = rng.lognormal(0.2 if move else 0.0, 0.5, count)
            else:
                columns[f"n{i}"] = rng.poisson(4.0 if move else 3.0, count)
        for i in range(6):
            size = (3, 5, 8, 12, 20, 50)[i]
            weights = np.linspace(1, 2, size)
            if shifted and f"c{i}" in SHIFTED:
                weights = weights[::-1] ** 2
            columns[f"c{i}"] = rng.choice([f"v{j}" for j in range(size)], count,
                                          p=weights / weights.sum())
        made = pd.DataFrame(columns)
        made.loc[rng.uniform(size=count) < 0.02, "n5"] = np.nan
        return made

    rng = np.random.default_rng(seed)
    return frame(reference_rows, False, rng), frame(rows, True, rng)


def run_ours(reference: Any, current: Any) -> dict[str, Any]:
    from mlopskit.monitoring import baseline, compare

    small = current.iloc[:2000]
    compare(baseline(reference.iloc[:2000]), small)  # warm-up: imports, code paths
    start = time.perf_counter()
    base = baseline(reference)
    profiled = time.perf_counter() - start
    start = time.perf_counter()
    report = compare(base, current)
    compared = time.perf_counter() - start
    start = time.perf_counter()
    page = report.to_html()
    rendered = time.perf_counter() - start
    return {"baseline_s": profiled, "compare_s": compared, "html_s": rendered,
            "total_s": profiled + compared + rendered, "html_bytes": len(page),
            "drifted": sorted(report.drifted_features),
            "violations": len(report.violations)}


def data_digest(reference: Any, current: Any) -> str:
    """A digest of both frames that does not depend on the pandas version (pandas 3 stores
    strings differently), so two interpreters can show they measured the same data."""
    import hashlib

    parts: list[str] = []
    for frame in (reference, current):
        for name in frame.columns:
            column = frame[name]
            if column.dtype.kind in "fiu":
                parts.append(f"{name}:{float(column.sum()):.6e}:{int(column.isna().sum())}")
            else:
                counts = column.astype(str).value_counts()
                parts.append(f"{name}:" + ",".join(f"{k}={counts[k]}"
                                                   for k in sorted(counts.index)))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def evidently_in_process(reference: Any, current: Any) -> dict[str, Any]:
    """Evidently's data drift preset on the frames, timed; raises ImportError without it."""
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no telemetry from a benchmark
    from evidently import Report
    from evidently.presets import DataDriftPreset

    Report([DataDriftPreset()]).run(current.iloc[:2000], reference.iloc[:2000])  # warm-up
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    computed = time.perf_counter() - start
    start = time.perf_counter()
    page = snapshot.get_html_str(as_iframe=False)
    rendered = time.perf_counter() - start
    drifted, methods = [], set()
    for metric in snapshot.dict().get("metrics", []):
        config, value = metric.get("config", {}), metric.get("value")
        if not str(config.get("type", "")).endswith("ValueDrift"):
            continue
        method = str(config.get("method", ""))
        methods.add(method)
        threshold = float(config.get("threshold") or 0.1)
        is_p_value = "p_value" in method or "test" in method.lower()
        if isinstance(value, (int, float)) and (
                value < threshold if is_p_value else value >= threshold):
            drifted.append(str(config.get("column")))
    return {"compare_s": computed, "html_s": rendered, "total_s": computed + rendered,
            "html_bytes": len(page), "drifted": sorted(drifted), "methods": sorted(methods),
            "version": version_of("evidently"), "digest": data_digest(reference, current),
            "pandas": version_of("pandas")}


def run_evidently(reference: Any, current: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Evidently in this process when it imports here; otherwise in the interpreter of
    ``--evidently-python`` (Evidently 0.7 does not import under pandas 3), which builds
    the same data from the same seed and proves it with a digest."""
    if args.no_evidently:
        return {"skipped": "--no-evidently"}
    try:
        return evidently_in_process(reference, current)
    except ImportError:
        pass
    python = args.evidently_python
    if python is None or not Path(python).exists():
        return {"skipped": "Evidently does not import here; make its interpreter with "
                           "benchmarks/peers/evidently.sh"}
    command = [str(python), str(Path(__file__).resolve()), "--peer-evidently",
               "--rows", str(args.rows), "--reference-rows", str(args.reference_rows)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "DO_NOT_TRACK": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"Evidently's run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    expected = data_digest(reference, current)
    if result["digest"] != expected:
        raise RuntimeError(f"Evidently saw other data (digest {result['digest']}, "
                           f"ours {expected})")
    result["interpreter"] = str(python)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_drift.json")
    parser.add_argument("--evidently-python", type=Path, default=PEER_PYTHON,
                        help="interpreter with Evidently installed, used when it does not "
                             f"import here (default: {PEER_PYTHON})")
    parser.add_argument("--no-evidently", action="store_true", help="skip the peer")
    parser.add_argument("--peer-evidently", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer_evidently:  # the child side of run_evidently: one JSON line on stdout
        reference, current = make_data(args.rows, args.reference_rows)
        print(json.dumps(evidently_in_process(reference, current)))
        return 0
    env = environment()
    print(f"mlopskit drift benchmark: mlopskit {env['mlopskit']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs, {env['platform']}")
    payload: dict[str, Any] = {"environment": env, "rows": args.rows,
                               "reference_rows": args.reference_rows}
    try:
        reference, current = make_data(args.rows, args.reference_rows)
        ours = run_ours(reference, current)
        theirs = run_evidently(reference, current, args)
    except Exception:
        payload["error"] = traceback.format_exc()
        write_json(args.json, payload)
        print(payload["error"])
        return 1
    payload.update({"mlopskit": ours, "evidently": theirs})
    rows = [("mlopskit baseline (profile the reference)", round(ours["baseline_s"], 2), "-"),
            ("mlopskit compare (all statistics)", round(ours["compare_s"], 2),
             ", ".join(ours["drifted"])),
            ("mlopskit HTML report", round(ours["html_s"], 2), f"{ours['html_bytes']} bytes")]
    if "skipped" in theirs:
        rows.append(("Evidently DataDriftPreset", "-", theirs["skipped"]))
    else:
        rows += [(f"Evidently {theirs['version']} DataDriftPreset run",
                  round(theirs["compare_s"], 2), ", ".join(theirs["drifted"])),
                 ("Evidently HTML report", round(theirs["html_s"], 2),
                  f"{theirs['html_bytes']} bytes")]
    print(f"\n{args.rows:,} current rows x 20 features against {args.reference_rows:,} "
          f"reference rows (shifted: {', '.join(sorted(SHIFTED))})")
    print(table(["step", "seconds", "drifted / notes"], rows))
    compare_s = ours["compare_s"]
    aims: dict[str, Any] = {"under_3s": {
        "value_s": round(compare_s, 2), "aim_s": TIME_AIM_S,
        "verdict": "PASS" if compare_s < TIME_AIM_S else "MISS"}}
    print(f"{aims['under_3s']['verdict']}  compare under {TIME_AIM_S:g} s on "
          f"{env['cpu_count']} cores (got {compare_s:.2f} s)")
    if "skipped" not in theirs:
        ratio = theirs["compare_s"] / compare_s
        with_html = theirs["total_s"] / (compare_s + ours["html_s"])
        with_profile = theirs["total_s"] / ours["total_s"]
        aims["5x_faster_than_evidently"] = {
            "value": round(ratio, 1), "with_html": round(with_html, 1),
            "with_baseline_and_html": round(with_profile, 1), "aim": SPEED_AIM,
            "verdict": "PASS" if ratio >= SPEED_AIM else "MISS"}
        print(f"{aims['5x_faster_than_evidently']['verdict']}  at least {SPEED_AIM:g}x faster "
              f"than Evidently (got {ratio:.1f}x; {with_html:.1f}x including both HTML "
              f"reports; {with_profile:.1f}x counting our baseline profiling too)")
        print(f"Evidently's tests: {', '.join(theirs.get('methods', []))}; "
              f"ran in {theirs.get('interpreter', 'this process')} "
              f"(pandas {theirs.get('pandas')})")
    payload["aims"] = aims
    print(f"results in {write_json(args.json, payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
