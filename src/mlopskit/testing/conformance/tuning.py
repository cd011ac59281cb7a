"""Hyperparameter tuning behaviour that must be the same on every backend."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, JobFailedError, NotFoundError, ValidationError

from ...session import Session
from ...tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    WarmStartConfig,
)
from ..plugin import Emulation, Inventory
from ._support import IMAGE, Conformance, run_cli

__all__ = ["TuningConformance"]

# The score peaks at depth 4 and rate 0.3; a trial prints it as SageMaker scripts print
# their metrics. A trial with depth 99 fails (to see failures recorded).
SCRIPT = """\
import json, os, sys
depth = int(json.loads(os.environ["SM_HP_DEPTH"]))
rate = float(json.loads(os.environ.get("SM_HP_RATE", "0.3")))
if depth == 99:
    sys.exit("a trial that fails")
print(f"validation:score={10 - (depth - 4) ** 2 - (rate - 0.3) ** 2:.6f}")
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write(str(depth))
"""
METRICS = [{"Name": "validation:score", "Regex": r"validation:score=([-0-9.]+)"}]

# A script that trains in epochs and reports the metric after each (as Keras or XGBoost
# scripts log theirs): the score is depth * epoch, so a trial's value at any step is known.
EPOCH_SCRIPT = """\
import json, os, time
depth = int(json.loads(os.environ["SM_HP_DEPTH"]))
epochs = int(json.loads(os.environ["SM_HP_EPOCHS"]))
for epoch in range(1, epochs + 1):
    print(f"epoch {epoch}: validation:score={depth * epoch:.1f}", flush=True)
    if epoch < epochs:
        time.sleep(float(json.loads(os.environ["SM_HP_EPOCH_SECONDS"])))  # the next epoch
open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write(str(depth))
"""


def _estimator(session: Session, code: Path, **kwargs: Any) -> mlopskit.Estimator:
    return mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                              instance_type="ml.m5.large", metric_definitions=METRICS,
                              session=session, **kwargs)


def _tuner(session: Session, code: Path, ranges: dict[str, Any] | None = None,
           **kwargs: Any) -> mlopskit.HyperparameterTuner:
    kwargs.setdefault("strategy", "Random")
    if kwargs["strategy"] != "Grid":
        kwargs.setdefault("max_jobs", 4)
    return mlopskit.HyperparameterTuner(
        _estimator(session, code), "validation:score",
        ranges or {"depth": IntegerParameter(1, 8),
                   "rate": ContinuousParameter(0.01, 1.0, "Logarithmic")}, **kwargs)


def _grid_fit(session: Session, code: Path, depths: list[int],
              **kwargs: Any) -> mlopskit.TuningJob:
    """A Grid tuning job over these depths, waited for."""
    return _tuner(session, code, {"depth": CategoricalParameter(depths)}, strategy="Grid",
                  **kwargs).fit()


def _epoch_tuning(session: Session, code: Path, emulation: Emulation,
                  epochs: tuple[int, float], ranges: dict[str, Any],
                  **kwargs: Any) -> mlopskit.TuningJob:
    """Tune EPOCH_SCRIPT (``epochs``: how many, seconds each) and wait; skipped where the
    service runs the trials."""
    if not emulation.executes:
        pytest.skip("the service runs the trials and stops them; nothing runs here")
    (code / "train.py").write_text(EPOCH_SCRIPT)
    estimator = _estimator(session, code, hyperparameters={
        "epochs": epochs[0], "epoch_seconds": epochs[1]})
    return mlopskit.HyperparameterTuner(estimator, "validation:score", ranges,
                                        **kwargs).fit()


class TuningConformance(Conformance):
    """HyperparameterTuner and TuningJob: trials as training jobs, the best found, seeds,
    strategies, failures, stopping, refusals that create nothing."""

    @pytest.fixture
    def code(self, tmp_path: Path) -> Path:
        folder = tmp_path / "code"
        folder.mkdir()
        (folder / "train.py").write_text(SCRIPT)
        return folder

    def test_a_random_search_runs_its_trials_and_reports_the_best(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        job = _tuner(session, code, max_parallel_jobs=2, random_seed=7).fit(
            wait=conformance_emulation.executes)
        assert job.name.startswith("tuning-") and len(job.name) <= 32
        assert job.arn.endswith(f":hyper-parameter-tuning-job/{job.name}")
        described = job.describe()
        assert (described.strategy, described.objective_metric, described.objective_type) \
            == ("Random", "validation:score", "Maximize")
        if not conformance_emulation.executes:
            assert job.status == "InProgress"  # the service runs it; nothing ran here
            return
        assert job.status == "Completed"
        assert len(described.trials) == 4
        assert all(t.status == "Completed" for t in described.trials)
        best = max(described.trials, key=lambda t: t.objective or -1e9)
        assert job.best_training_job() == best.job == described.best_training_job
        assert job.best_objective == best.objective
        trial_names = {t.job for t in described.trials}
        assert trial_names <= {j.name for j in mlopskit.TrainingJob.list(session=session)}
        frame = job.training_jobs()
        assert frame["TrainingJobName"].iloc[0] == best.job
        assert {"depth", "rate", "TrainingJobStatus", "FinalObjectiveValue"} <= set(frame)
        assert job.best_job().model_data is not None

    def test_the_same_seed_gives_the_same_trials(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("the service draws the trials; nothing runs here")
        first = _tuner(session, code, random_seed=11).fit().describe()
        second = _tuner(session, code, random_seed=11).fit().describe()
        assert [t.params for t in first.trials] == [t.params for t in second.trials]
        third = _tuner(session, code, random_seed=12).fit().describe()
        assert [t.params for t in third.trials] != [t.params for t in first.trials]

    def test_a_grid_search_runs_every_combination(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("the service runs the grid; nothing runs here")
        job = _tuner(session, code, {"depth": CategoricalParameter([2, 4, 6])},
                     strategy="Grid", max_parallel_jobs=2).fit()
        described = job.describe()
        assert sorted(t.params["depth"] for t in described.trials) == ["2", "4", "6"]
        assert described.best_objective == pytest.approx(10.0)

    @pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                        reason="Bayesian search needs mlopskit[tuning] (optuna)")
    def test_a_bayesian_search_runs_and_finds_a_good_trial(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("the service searches; nothing runs here")
        job = _tuner(session, code, {"depth": IntegerParameter(1, 8)}, strategy="Bayesian",
                     max_jobs=6, random_seed=3).fit()
        assert job.status == "Completed" and len(job.describe().trials) == 6
        assert job.best_objective is not None and job.best_objective >= 9.0

    def test_failed_trials_are_recorded_and_only_all_failing_fails_the_job(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("the service runs the trials; nothing runs here")
        job = _grid_fit(session, code, [99, 4])
        statuses = {t.params["depth"]: t.status for t in job.describe().trials}
        assert statuses == {"99": "Failed", "4": "Completed"}
        assert job.status == "Completed"
        with pytest.raises(JobFailedError, match="every training job failed"):
            _tuner(session, code, {"depth": CategoricalParameter([99])},
                   strategy="Grid").fit()

    def test_a_tuning_job_can_be_stopped(self, session: Session, code: Path,
                                         conformance_emulation: Emulation) -> None:
        (code / "train.py").write_text("import time\ntime.sleep(60)\n")
        job = _tuner(session, code, max_jobs=3).fit(wait=False)
        if conformance_emulation.executes:  # stop it with a trial running
            deadline = time.monotonic() + 60
            while not job.describe().trials and time.monotonic() < deadline:
                time.sleep(0.05)
            assert job.describe().trials, "no trial started within a minute"
        job.stop()
        job.wait(timeout=180, raise_on_failure=False)
        assert job.status == "Stopped"
        assert all(t.status == "Stopped" for t in job.describe().trials)
        with pytest.raises(ConflictError):
            job.stop()

    def test_a_name_taken_is_refused_before_anything_is_uploaded(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        job = _tuner(session, code, max_jobs=1).fit(wait=conformance_emulation.executes,
                                                    job_name="tune-taken")
        before = session.backend.objects.list(f"s3://{session.default_bucket}/")
        with pytest.raises(ConflictError, match="already exists"):
            _tuner(session, code, max_jobs=1).fit(job_name=job.name)
        assert session.backend.objects.list(f"s3://{session.default_bucket}/") == before

    @pytest.mark.parametrize(("case", "field"), [
        ("parallel-over-max", "max_parallel_jobs"),
        ("grid-with-integers", "strategy"),
        ("no-ranges", "hyperparameter_ranges"),
        ("not-a-parameter", "hyperparameter_ranges.depth"),
    ])
    def test_bad_settings_are_refused_and_create_nothing(
            self, session: Session, code: Path, conformance_inventory: Inventory,
            case: str, field: str) -> None:
        depth = {"depth": IntegerParameter(1, 8)}
        make: Callable[[], object] = {
            "parallel-over-max": lambda: _tuner(session, code, max_jobs=2,
                                                max_parallel_jobs=5),
            "grid-with-integers": lambda: _tuner(session, code, depth, strategy="Grid"),
            "no-ranges": lambda: mlopskit.HyperparameterTuner(
                _estimator(session, code), "validation:score", {}),
            "not-a-parameter": lambda: mlopskit.HyperparameterTuner(
                _estimator(session, code), "validation:score", {"depth": "1-8"}),
        }[case]
        before = conformance_inventory(session)
        with pytest.raises(ValidationError) as info:
            make()
        assert info.value.field is not None and info.value.field.startswith(field), \
            info.value.field
        assert mlopskit.TuningJob.list(session=session) == []
        assert conformance_inventory(session) == before

    def test_an_objective_without_a_metric_definition_is_refused(
            self, session: Session, code: Path) -> None:
        with pytest.raises(ValidationError, match="auc"):
            mlopskit.HyperparameterTuner(_estimator(session, code), "auc",
                                         {"depth": IntegerParameter(1, 8)}, max_jobs=2)

    def test_hyperband_is_accepted(self, session: Session, code: Path) -> None:
        tuner = _tuner(session, code, {"depth": IntegerParameter(1, 8)},
                       strategy="Hyperband", max_jobs=4,
                       strategy_config={"min_resource": 1, "max_resource": 9})
        job = tuner.fit(wait=False)
        assert job.describe().strategy == "Hyperband"
        job.stop()

    def test_hyperband_stops_trials_at_their_budget_and_promotes_the_best(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        # min 1, max 3 epochs: bracket 1 runs 3 configurations for 1 epoch and the best
        # for 3; bracket 0 runs 2 new configurations for 3 epochs.
        job = _epoch_tuning(session, code, conformance_emulation, (3, 1.5),
                            {"depth": IntegerParameter(1, 50)}, strategy="Hyperband",
                            max_jobs=10, max_parallel_jobs=3, random_seed=5,
                            strategy_config={"min_resource": 1, "max_resource": 3})
        assert job.status == "Completed"
        trials = job.describe().trials
        depth = [int(t.params["depth"]) for t in trials]
        assert len(trials) == 6
        first, promoted, fresh = trials[:3], trials[3], trials[4:]
        # One epoch each, stopped by the tuner with the value of their first epoch.
        assert [t.status for t in first] == ["Stopped"] * 3
        assert [t.objective for t in first] == [float(d) for d in depth[:3]]
        assert depth[3] == max(depth[:3])  # the best goes on, with the full budget
        for trial, d in zip([promoted, *fresh], depth[3:], strict=True):
            assert (trial.status, trial.objective) == ("Completed", 3.0 * d)
        assert job.best_objective == max(t.objective or 0.0 for t in trials)
        assert job.best_job().model_data is not None

    def test_early_stopping_stops_a_trial_below_the_median(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        job = _epoch_tuning(session, code, conformance_emulation, (4, 0.4),
                            {"depth": CategoricalParameter([4, 5, 6, 1])}, strategy="Grid",
                            early_stopping_type="Auto")
        assert job.status == "Completed"
        ended = {t.params["depth"]: (t.status, t.objective) for t in job.describe().trials}
        # Three complete; depth 1 reports 1.0 against a median running average of 5.0 at
        # epoch 1, and is stopped there with its last value.
        assert {d: ended[d] for d in ("4", "5", "6")} == {
            "4": ("Completed", 16.0), "5": ("Completed", 20.0), "6": ("Completed", 24.0)}
        assert ended["1"][0] == "Stopped" and ended["1"][1] is not None \
            and ended["1"][1] < 4.0

    def test_a_warm_start_reports_the_best_over_its_parents(
            self, session: Session, code: Path, conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("the service runs both jobs; nothing runs here")
        parent = _grid_fit(session, code, [4, 2])
        child = _grid_fit(session, code, [6, 7], warm_start=WarmStartConfig([parent.name]))
        assert child.best_objective == pytest.approx(6.0)  # depth 6: 10 - 2 ** 2
        assert child.overall_best_training_job == parent.best_training_job()
        assert parent.overall_best_training_job is None  # no warm start

    def test_a_warm_start_from_a_missing_or_running_parent_is_refused(
            self, session: Session, code: Path, conformance_inventory: Inventory) -> None:
        before = conformance_inventory(session)
        with pytest.raises(NotFoundError, match="no-such-parent"):
            _tuner(session, code, warm_start=WarmStartConfig(["no-such-parent"])).fit()
        assert conformance_inventory(session) == before
        (code / "train.py").write_text("import time\ntime.sleep(60)\n")
        running = _tuner(session, code, max_jobs=1).fit(wait=False)
        with pytest.raises(ConflictError, match=r"warm_start\.parents"):
            _tuner(session, code, warm_start=WarmStartConfig([running.name])).fit()
        assert [j.name for j in mlopskit.TuningJob.list(session=session)] == [running.name]
        running.stop()

    def test_the_tuning_command_lists_shows_and_stops(
            self, session: Session, code: Path, conformance_emulation: Emulation,
            conformance_cli_environment: dict[str, str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> None:
        for key, value in conformance_cli_environment.items():
            monkeypatch.setenv(key, value)
        job = _tuner(session, code, {"depth": CategoricalParameter([3, 4])},
                     strategy="Grid").fit(wait=conformance_emulation.executes)
        code_, out, _ = run_cli(capsys, "tuning", "list", "--json")
        assert code_ == 0 and [j["name"] for j in json.loads(out)] == [job.name]
        code_, out, _ = run_cli(capsys, "tuning", "show", job.name)
        assert code_ == 0 and f"tuning job {job.name}" in out and "Grid" in out
        code_, out, _ = run_cli(capsys, "tuning", "jobs", job.name, "--json")
        assert code_ == 0
        rows = json.loads(out)
        if conformance_emulation.executes:
            assert [r["depth"] for r in rows] == [4, 3]  # best first
            assert rows[0]["TrainingJobName"] == job.best_training_job()
            code_, _, err = run_cli(capsys, "tuning", "stop", job.name)
            assert code_ == 1 and "Completed" in err  # an ended job cannot be stopped
        else:
            code_, out, _ = run_cli(capsys, "tuning", "stop", job.name)
            assert code_ == 0 and "Stopped" in out
        code_, _, err = run_cli(capsys, "tuning", "show", "no-such-tuning")
        assert code_ == 1 and "no-such-tuning" in err
        code_, _, err = run_cli(capsys, "tuning", "show", "x" * 33)
        assert code_ == 2 and "1 to 32" in err
