"""What local hyperparameter tuning costs and what it finds, beside running the trials directly.

Run it from the repository root with the project's interpreter (Bayesian and the Optuna peer
need optuna: ``pip install -e ".[tuning]"``)::

    .venv/bin/python benchmarks/bench_tuning.py            # about 7 minutes on 2 CPUs
    .venv/bin/python benchmarks/bench_tuning.py --quick    # fewer trials and seeds, about 75 s
    .venv/bin/python benchmarks/bench_tuning.py --only overhead,parallel

Every trial script runs the SageMaker training contract: hyperparameters as ``--name value``
arguments, data under ``SM_CHANNEL_TRAIN``, the metric printed to stdout and read back with
the estimator's regex. The "direct" figures run the same script with the same interpreter and
the same ``SM_*`` variables (``backends.local.toolkit.training_environment``, which the local
runner uses) through ``subprocess.run``, without mlopskit. ``OMP_NUM_THREADS=1`` is set for
every run, ours and the peer's, so two trials on two CPUs do not fight over threads.

* (a) overhead: a Random tuning job of N trials of a trivial script, one at a time, against
  N direct runs of it; the per-trial difference (median of interleaved rounds, after a
  warm-up job).
* (b) parallel: 8 trials of a CPU-bound script of about 1 s, ``max_parallel_jobs`` 1 and 2;
  beside them, the 8 runs made directly, one then two at a time (median of 3 interleaved
  rounds).
* (c) search quality: the best validation AUC of a HistGradientBoostingClassifier after 20
  trials, per seed, for Random, Bayesian, and Optuna's TPE sampler (the same seed, the same
  ranges) driving the script directly; two trials at a time for all three.
* (d) Hyperband against Random on the same model, which reports its metric once per epoch
  (``epochs`` fixed at the maximum resource, 27; Hyperband's whole search, 69 trials,
  against 12 Random trials): best objective, the sum of the trials' durations (creation to
  end, from their descriptions), that sum up to the first trial reaching the lower of the
  two best objectives, and the wall time.

The script exits 0 whatever the figures are (aims are printed, not enforced); it exits 1 only
when a measurement could not be taken. A part the backend cannot run (CapabilityError) is
reported as "not available: <reason>".
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, environment, ms, table, write_json

OVERHEAD_AIM_MS = 50.0
SPEEDUP_AIM = 1.8
METRIC = "validation:auc"
METRIC_REGEX = r"validation:auc=([0-9.]+)"
HYPERBAND = {"min_resource": 1, "max_resource": 27}
SEARCH_FIXED = {"epochs": 1, "iterations_per_epoch": 50}  # (c): one fit of 50 iterations

TRIVIAL_SCRIPT = """\
import json, os
offset = float(json.loads(os.environ["SM_HP_OFFSET"]))
print(f"validation:auc={1 - (offset - 0.3) ** 2:.6f}")
"""

CPU_SCRIPT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--offset", type=float)
parser.add_argument("--work", type=int)
args, _ = parser.parse_known_args()
total = 0
for i in range(args.work):
    total += i * i % 7
print(f"validation:auc={1 - (args.offset - 0.3) ** 2:.6f}")
"""

GBM_SCRIPT = """\
import argparse, os
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--max_depth", type=int, default=3)
parser.add_argument("--min_samples_leaf", type=int, default=20)
parser.add_argument("--l2_regularization", type=float, default=0.0)
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--iterations_per_epoch", type=int, default=5)
args, _ = parser.parse_known_args()
folder = os.environ["SM_CHANNEL_TRAIN"]
train = np.loadtxt(os.path.join(folder, "train.csv"), delimiter=",")
valid = np.loadtxt(os.path.join(folder, "validation.csv"), delimiter=",")
model = HistGradientBoostingClassifier(
    learning_rate=args.learning_rate, max_depth=args.max_depth,
    min_samples_leaf=args.min_samples_leaf, l2_regularization=args.l2_regularization,
    early_stopping=False, warm_start=True, random_state=0)
for epoch in range(1, args.epochs + 1):  # one metric line per epoch (Hyperband's resource)
    model.set_params(max_iter=epoch * args.iterations_per_epoch)
    model.fit(train[:, 1:], train[:, 0])
    auc = roc_auc_score(valid[:, 0], model.predict_proba(valid[:, 1:])[:, 1])
    print(f"epoch={epoch} validation:auc={auc:.6f}", flush=True)
"""


def _settings(quick: bool) -> dict[str, int]:
    if quick:
        return {"overhead_trials": 5, "overhead_rounds": 2, "parallel_trials": 4,
                "parallel_rounds": 1,
                "seeds": 2, "search_trials": 5, "hyperband_jobs": 10, "random_jobs": 3}
    return {"overhead_trials": 10, "overhead_rounds": 3, "parallel_trials": 8,
            "parallel_rounds": 3,
            "seeds": 5, "search_trials": 20, "hyperband_jobs": 69, "random_jobs": 12}


# -- the work folder: scripts, data, a session, the direct runner -----------------------------


class Bench:
    """Scripts, data and one local session in a temporary folder, and the direct runner."""

    def __init__(self, work: Path) -> None:
        import mlopskit

        self.work = work
        self.scripts = work / "scripts"
        self.scripts.mkdir()
        for name, text in (("trivial.py", TRIVIAL_SCRIPT), ("cpu.py", CPU_SCRIPT),
                           ("gbm.py", GBM_SCRIPT)):
            (self.scripts / name).write_text(text, encoding="utf-8")
        self.data = work / "data"
        self._write_data()
        self.session = mlopskit.LocalSession(root=work / "store")
        self._runs = itertools.count(1)  # next() is atomic: direct runs come from threads

    def _write_data(self) -> None:
        import numpy as np
        from sklearn.datasets import make_classification

        features, labels = make_classification(
            n_samples=6000, n_features=20, n_informative=6, n_redundant=4, flip_y=0.08,
            class_sep=0.7, random_state=0)
        rows = np.column_stack([labels, features])
        self.data.mkdir()
        np.savetxt(self.data / "train.csv", rows[:4000], delimiter=",", fmt="%.6g")
        np.savetxt(self.data / "validation.csv", rows[4000:], delimiter=",", fmt="%.6g")

    def estimator(self, script: str, hyperparameters: Mapping[str, Any] | None = None) -> Any:
        import mlopskit

        return mlopskit.Estimator(
            entry_point=str(self.scripts / script), instance_type="ml.m5.large",
            session=self.session, hyperparameters=dict(hyperparameters or {}),
            metric_definitions=[{"Name": METRIC, "Regex": METRIC_REGEX}])

    def tune(self, script: str, ranges: Mapping[str, Any], *, strategy: str, max_jobs: int,
             parallel: int, seed: int, fixed: Mapping[str, Any] | None = None,
             data: bool = False, **options: Any) -> tuple[Any, float]:
        """Run one tuning job to its end; (the job, wall seconds of ``fit``)."""
        import mlopskit

        tuner = mlopskit.HyperparameterTuner(
            self.estimator(script, fixed), METRIC, ranges, strategy=strategy,
            max_jobs=max_jobs, max_parallel_jobs=parallel, random_seed=seed, **options)
        start = time.perf_counter()
        job = tuner.fit({"train": str(self.data)} if data else None, progress=False)
        return job, time.perf_counter() - start

    def direct(self, script: str, hyperparameters: Mapping[str, Any], *,
               data: bool = False) -> tuple[float | None, float]:
        """Run ``script`` as a trial would, without mlopskit: (final metric, seconds)."""
        from mlopskit.backends.local.toolkit import (
            ContainerPaths,
            to_cmd_args,
            training_environment,
        )

        paths = ContainerPaths(self.work / "direct" / f"run-{next(self._runs)}")
        paths.make([])
        channels: dict[str, dict[str, str]] = {}
        if data:
            paths.input_data.mkdir(parents=True, exist_ok=True)
            paths.channel("train").symlink_to(self.data, target_is_directory=True)
            channels = {"train": {"TrainingInputMode": "File"}}
        shutil.copy(self.scripts / script, paths.code / script)
        encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
        encoded["sagemaker_program"] = json.dumps(script)
        env = dict(os.environ)
        env.update(training_environment(
            paths=paths, encoded_hyperparameters=encoded, input_data_config=channels,
            resource_config={"current_host": "algo-1", "hosts": ["algo-1"],
                             "current_instance_type": "ml.m5.large"}))
        env["PYTHONUNBUFFERED"] = "1"
        start = time.perf_counter()
        result = subprocess.run([sys.executable, script, *to_cmd_args(dict(hyperparameters))],
                                cwd=paths.code, env=env, capture_output=True, text=True,
                                check=False)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"direct run of {script} failed: {result.stderr[-2000:]}")
        values = re.findall(METRIC_REGEX, result.stdout)
        return (float(values[-1]) if values else None), elapsed

    def close(self) -> None:
        self.session.close()


def _trials(bench: Bench, job: Any) -> list[tuple[float | None, float]]:
    """Each trial in start order: (its objective if it counts for the best, its duration
    from creation to end in its training job's description)."""
    import mlopskit

    found = []
    for trial in job.describe().trials:
        described = mlopskit.TrainingJob(trial.job, session=bench.session).describe()
        end = described.end_time or described.creation_time
        counts = trial.status in ("Completed", "Stopped")  # as tuning_search.best_trial
        found.append((trial.objective if counts else None,
                      (end - described.creation_time).total_seconds()))
    return found


def _time_to_reach(trials: list[tuple[float | None, float]], target: float) -> float | None:
    """Trial seconds spent up to the first trial whose objective reaches ``target``."""
    spent = 0.0
    for objective, seconds in trials:
        spent += seconds
        if objective is not None and objective >= target:
            return round(spent, 1)
    return None


def _completed(job: Any) -> None:
    described = job.describe()
    if described.status != "Completed":
        raise RuntimeError(f"tuning job {job.name} ended {described.status}: "
                           f"{described.failure_reason}")


# -- (a) overhead per trial -------------------------------------------------------------------


def bench_overhead(bench: Bench, settings: Mapping[str, int]) -> dict[str, Any]:
    from mlopskit.tuning import ContinuousParameter

    trials, rounds = settings["overhead_trials"], settings["overhead_rounds"]
    ranges = {"offset": ContinuousParameter(0.0, 1.0)}

    def ours(seed: int) -> float:
        job, wall = bench.tune("trivial.py", ranges, strategy="Random", max_jobs=trials,
                               parallel=1, seed=seed)
        _completed(job)
        return wall

    def direct(seed: int) -> float:
        return sum(bench.direct("trivial.py", {"offset": 0.1 + 0.8 * i / trials})[1]
                   for i in range(trials))

    warm_up = ours(0)  # first-use imports, the store, the supervisor server
    direct(0)
    tuned, plain = [], []
    for round_index in range(rounds):
        pair = [(tuned, ours), (plain, direct)]
        for samples, run in pair if round_index % 2 == 0 else pair[::-1]:
            samples.append(run(round_index + 1))
    per_trial = [(t - p) / trials for t, p in zip(tuned, plain, strict=True)]
    overhead = statistics.median(per_trial)
    return {
        "method": f"wall time of fit() of a Random tuning job of {trials} trials of a trivial "
                  f"script, max_parallel_jobs=1, against {trials} direct runs; {rounds} "
                  "interleaved rounds after a warm-up job; per-trial overhead = "
                  "(tuning - direct) / trials, median over rounds",
        "trials": trials, "rounds": rounds, "warm_up_job_ms": ms(warm_up),
        "tuning_job_ms": [ms(s) for s in tuned], "direct_ms": [ms(s) for s in plain],
        "per_trial_tuning_ms": ms(statistics.median(tuned) / trials),
        "per_trial_direct_ms": ms(statistics.median(plain) / trials),
        "overhead_per_trial_ms": ms(overhead),
        "aim": f"< {OVERHEAD_AIM_MS:.0f} ms per trial",
        "verdict": "PASS" if ms(overhead) < OVERHEAD_AIM_MS else "MISS",
    }


def print_overhead(result: dict[str, Any]) -> None:
    print(f"(a) Overhead per trial: {result['trials']} trials of a trivial script, one at a "
          f"time, median of {result['rounds']} rounds")
    print(table(["figure", "mlopskit tuning", "direct subprocess", "aim", "verdict"], [
        ("per trial, ms", result["per_trial_tuning_ms"], result["per_trial_direct_ms"],
         None, None),
        ("overhead per trial, ms", result["overhead_per_trial_ms"], None, result["aim"],
         result["verdict"])]))
    print(f"  the warm-up tuning job (the process's first): {result['warm_up_job_ms']:.0f} ms")


# -- (b) parallel speed-up --------------------------------------------------------------------


def _calibrated_work(bench: Bench, seconds: float) -> int:
    """Loop iterations of CPU_SCRIPT that make a direct run of it take about ``seconds``."""
    probe = 3_000_000
    empty = min(bench.direct("cpu.py", {"offset": 0.5, "work": 0})[1] for _ in range(2))
    busy = min(bench.direct("cpu.py", {"offset": 0.5, "work": probe})[1] for _ in range(2))
    return int(probe * max(seconds - empty, 0.1) / max(busy - empty, 1e-3))


def bench_parallel(bench: Bench, settings: Mapping[str, int]) -> dict[str, Any]:
    from mlopskit.tuning import ContinuousParameter

    trials, rounds = settings["parallel_trials"], settings["parallel_rounds"]
    work = _calibrated_work(bench, 1.0)
    ranges = {"offset": ContinuousParameter(0.0, 1.0)}

    def one(i: int) -> float:
        return bench.direct("cpu.py", {"offset": i / trials, "work": work})[1]

    def ours(parallel: int) -> float:
        job, wall = bench.tune("cpu.py", ranges, strategy="Random", max_jobs=trials,
                               parallel=parallel, seed=1, fixed={"work": work})
        _completed(job)
        return wall

    def direct(parallel: int) -> float:
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, range(trials)))
        return time.perf_counter() - start

    bench.tune("trivial.py", ranges, strategy="Random", max_jobs=1, parallel=1, seed=0)
    samples: dict[tuple[str, int], list[float]] = {}  # after a warm-up job, above
    cases = [("tuning", ours, 1), ("tuning", ours, 2), ("direct", direct, 1),
             ("direct", direct, 2)]
    for round_index in range(rounds):  # interleaved, so drift of the machine hits all four
        shift = round_index % len(cases)
        for kind, run, parallel in cases[shift:] + cases[:shift]:
            samples.setdefault((kind, parallel), []).append(run(parallel))
    median = {key: statistics.median(values) for key, values in samples.items()}
    speedup = median[("tuning", 1)] / median[("tuning", 2)]
    return {
        "method": f"wall time of {trials} trials of a CPU-bound script (~1 s each when run "
                  f"directly, {work} loop iterations), max_parallel_jobs 1 and 2; direct: "
                  "the same runs through subprocess.run, one then two at a time (threads); "
                  f"median of {rounds} interleaved rounds, speed-up = ratio of the medians",
        "trials": trials, "rounds": rounds, "work": work,
        "tuning_ms": {str(p): ms(median[("tuning", p)]) for p in (1, 2)},
        "direct_ms": {str(p): ms(median[("direct", p)]) for p in (1, 2)},
        "samples_ms": {f"{kind}_{p}": [ms(v) for v in values]
                       for (kind, p), values in samples.items()},
        "speedup": round(speedup, 2),
        "direct_speedup": round(median[("direct", 1)] / median[("direct", 2)], 2),
        "aim": f">= {SPEEDUP_AIM}x", "verdict": "PASS" if speedup >= SPEEDUP_AIM else "MISS",
    }


def print_parallel(result: dict[str, Any]) -> None:
    tuned, plain = result["tuning_ms"], result["direct_ms"]
    print(f"(b) Parallel trials: {result['trials']} CPU-bound trials of ~1 s, median of "
          f"{result['rounds']} rounds")
    print(table(["figure", "mlopskit tuning", "direct subprocess", "aim", "verdict"], [
        ("1 at a time, s", tuned["1"] / 1000, plain["1"] / 1000, None, None),
        ("2 at a time, s", tuned["2"] / 1000, plain["2"] / 1000, None, None),
        ("speed-up", f"{result['speedup']:.2f}x", f"{result['direct_speedup']:.2f}x",
         result["aim"], result["verdict"])]))


# -- (c) search quality -----------------------------------------------------------------------


def _gbm_ranges() -> dict[str, Any]:
    from mlopskit.tuning import ContinuousParameter, IntegerParameter

    return {"learning_rate": ContinuousParameter(0.001, 1.0, "Logarithmic"),
            "max_depth": IntegerParameter(1, 8),
            "min_samples_leaf": IntegerParameter(1, 200),
            "l2_regularization": ContinuousParameter(0.001, 100.0, "Logarithmic")}


def _optuna_best(bench: Bench, seed: int, trials: int, parallel: int) -> float:
    """Optuna's TPE sampler (seeded) driving the same script directly, same ranges."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed))

    def objective(trial: Any) -> float:
        params = {
            "learning_rate": trial.suggest_float("learning_rate", 0.001, 1.0, log=True),
            "max_depth": trial.suggest_int("max_depth", 1, 8),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 200),
            "l2_regularization": trial.suggest_float("l2_regularization", 0.001, 100.0,
                                                     log=True)}
        value, _ = bench.direct("gbm.py", {**SEARCH_FIXED, **params}, data=True)
        if value is None:
            raise RuntimeError("the script reported no metric")
        return value

    study.optimize(objective, n_trials=trials, n_jobs=parallel)
    return float(study.best_value)


def bench_search(bench: Bench, settings: Mapping[str, int]) -> dict[str, Any]:
    seeds, trials, parallel = settings["seeds"], settings["search_trials"], 2
    ranges = _gbm_ranges()
    best: dict[str, list[float | None]] = {"Random": [], "Bayesian": [], "Optuna direct": []}
    seconds: dict[str, list[float]] = {key: [] for key in best}
    for seed in range(1, seeds + 1):
        for strategy in ("Random", "Bayesian"):
            job, wall = bench.tune("gbm.py", ranges, strategy=strategy, max_jobs=trials,
                                   parallel=parallel, seed=seed, data=True, fixed=SEARCH_FIXED)
            best[strategy].append(job.describe().best_objective)
            seconds[strategy].append(wall)
        start = time.perf_counter()
        best["Optuna direct"].append(_optuna_best(bench, seed, trials, parallel))
        seconds["Optuna direct"].append(time.perf_counter() - start)
    medians = {key: statistics.median([v for v in values if v is not None])
               for key, values in best.items()}
    # "noise": the larger spread (standard deviation over seeds) of the two compared
    spread = {key: statistics.stdev([v for v in values if v is not None])
              if sum(v is not None for v in values) > 1 else 0.0
              for key, values in best.items()}
    noise = max(spread["Bayesian"], spread["Optuna direct"])
    return {
        "method": f"best validation AUC after {trials} trials, {parallel} at a time, of a "
                  "HistGradientBoostingClassifier (learning_rate log 0.001-1, max_depth 1-8, "
                  "min_samples_leaf 1-200, l2_regularization log 0.001-100; one fit of 50 "
                  f"iterations), seeds 1-{seeds}; Optuna direct: TPESampler(seed) with "
                  "study.optimize(n_jobs=2) running the script through subprocess.run",
        "trials": trials, "seeds": list(range(1, seeds + 1)), "parallel": parallel,
        "best_per_seed": best, "median_best": {k: round(v, 6) for k, v in medians.items()},
        "stdev_over_seeds": {k: round(v, 6) for k, v in spread.items()},
        "wall_s_per_seed": {k: [round(s, 1) for s in v] for k, v in seconds.items()},
        "aims": {
            "Bayesian better than Random (median)":
                "PASS" if medians["Bayesian"] > medians["Random"] else "MISS",
            "Bayesian within noise of Optuna direct (medians differ by at most the larger "
            f"standard deviation over seeds, {noise:.4f})":
                "PASS" if abs(medians["Bayesian"] - medians["Optuna direct"]) <= noise
                else "MISS"},
    }


def print_search(result: dict[str, Any]) -> None:
    print(f"(c) Best validation AUC after {result['trials']} trials "
          f"({result['parallel']} at a time), per seed and median")
    seeds = result["seeds"]
    rows = [(key, *[f"{v:.4f}" if v is not None else None for v in values],
             f"{result['median_best'][key]:.4f}",
             f"{statistics.median(result['wall_s_per_seed'][key]):.1f}")
            for key, values in result["best_per_seed"].items()]
    print(table(["search", *(f"seed {s}" for s in seeds), "median", "wall s/seed"], rows))
    for aim, outcome in result["aims"].items():
        print(f"  {outcome}  {aim}")


# -- (d) Hyperband ----------------------------------------------------------------------------


def bench_hyperband(bench: Bench, settings: Mapping[str, int]) -> dict[str, Any]:
    from mlopskit.errors import CapabilityError

    ranges = _gbm_ranges()
    fixed = {"epochs": HYPERBAND["max_resource"], "iterations_per_epoch": 8}
    runs: dict[str, Any] = {}
    for label, strategy, jobs, options in (
            ("Random", "Random", settings["random_jobs"], {}),
            ("Hyperband", "Hyperband", settings["hyperband_jobs"],
             {"strategy_config": HYPERBAND})):
        try:
            job, wall = bench.tune("gbm.py", ranges, strategy=strategy, max_jobs=jobs,
                                   parallel=2, seed=1, fixed=fixed, data=True, **options)
        except CapabilityError as exc:
            runs[label] = {"available": False, "reason": " ".join(str(exc).split())}
            continue
        described = job.describe()
        trials = _trials(bench, job)
        runs[label] = {
            "available": True, "status": described.status, "max_jobs": jobs,
            "trials": len(described.trials),
            "stopped_trials": sum(1 for t in described.trials if t.status == "Stopped"),
            "best_objective": described.best_objective,
            "trial_seconds_total": round(sum(s for _, s in trials), 1),
            "wall_s": round(wall, 1), "per_trial": trials}
    bests = [r["best_objective"] for r in runs.values()
             if r["available"] and r["best_objective"] is not None]
    if len(bests) == len(runs):  # both ran: the trial time each took to reach the lower best
        common = min(bests)
        for run in runs.values():
            run["trial_seconds_to_common_best"] = _time_to_reach(run["per_trial"], common)
    return {
        "method": "the GBM script with epochs fixed at 27 (8 boosting iterations each, one "
                  "metric line per epoch), seed 1, 2 trials at a time; Hyperband "
                  f"strategy_config={HYPERBAND}; trial time = sum over trials of "
                  "(end - creation) from their training job descriptions; 'to reach' = "
                  "trial time, in start order, until the first trial at or above the lower "
                  "of the two best objectives",
        "runs": runs}


def print_hyperband(result: dict[str, Any]) -> None:
    print("(d) Hyperband against Random (27 epochs per full trial, 2 at a time)")
    rows = []
    for label, run in result["runs"].items():
        if not run["available"]:
            rows.append((label, f"not available: {run['reason'][:90]}", None, None, None,
                         None, None))
            continue
        best = run["best_objective"]
        rows.append((label, run["trials"], run["stopped_trials"],
                     f"{best:.4f}" if best is not None else None,
                     run["trial_seconds_total"], run.get("trial_seconds_to_common_best"),
                     run["wall_s"]))
    print(table(["strategy", "trials", "stopped", "best AUC", "trial time s",
                 "to reach the lower best, s", "wall s"], rows))
    for label, run in result["runs"].items():
        if not run["available"]:
            print(f"  {label}: not available: {run['reason']}")


# -- main -------------------------------------------------------------------------------------

SECTIONS: dict[str, tuple[Callable[[Bench, Mapping[str, int]], dict[str, Any]],
                          Callable[[dict[str, Any]], None]]] = {
    "overhead": (bench_overhead, print_overhead),
    "parallel": (bench_parallel, print_parallel),
    "search": (bench_search, print_search),
    "hyperband": (bench_hyperband, print_hyperband),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer trials, rounds and seeds: a smoke check, not a measurement")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help="comma-separated parts to run (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_tuning.json",
                        help="where to write the results (default: %(default)s)")
    args = parser.parse_args(argv)
    chosen = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}; "
                     f"allowed: {', '.join(SECTIONS)}")
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by every trial and every direct run
    settings = _settings(args.quick)
    env = environment()
    print(f"mlopskit tuning benchmark: mlopskit {env['mlopskit']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs, {env['platform']}")
    print()
    started = time.perf_counter()
    payload: dict[str, Any] = {"benchmark": "bench_tuning", "quick": args.quick,
                               "settings": settings, "environment": env, "errors": {}}
    work = Path(tempfile.mkdtemp(prefix="mlopskit-bench-tuning-"))
    bench = Bench(work)
    try:
        for key in chosen:
            measure, show = SECTIONS[key]
            part_started = time.perf_counter()
            try:
                payload[key] = measure(bench, settings)
            except Exception:  # report what broke and carry on with the other parts
                payload["errors"][key] = traceback.format_exc()
                print(f"{key}: the measurement failed:\n{payload['errors'][key]}",
                      file=sys.stderr)
                continue
            payload[key]["elapsed_s"] = round(time.perf_counter() - part_started, 1)
            show(payload[key])
            print(f"  ({payload[key]['elapsed_s']} s)")
            print()
    finally:
        bench.close()
        shutil.rmtree(work, ignore_errors=True)
    payload["elapsed_s"] = round(time.perf_counter() - started, 1)
    path = write_json(args.json, payload)
    print(f"Took {payload['elapsed_s']} s; results in {os.path.relpath(path)}")
    return 1 if payload["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
