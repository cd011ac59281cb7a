"""Hyperparameter tuning end to end on the local backend, on a real scikit-learn script
(``tests/scripts/tune_sklearn.py``) written the way SageMaker's examples write them: Random,
Grid and Bayesian search, a failing trial, the best model served by a batch transform,
Hyperband and median early stopping."""

from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification

import mlopskit
from mlopskit.testing import cli_environment
from mlopskit.testing.conformance._support import run_cli
from mlopskit.tuning import CategoricalParameter, ContinuousParameter, IntegerParameter

from ..helpers import IMAGE

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "tune_sklearn.py"
METRICS = [{"Name": "validation-auc", "Regex": r"validation-auc: ([0-9.]+)"},
           {"Name": "validation-logloss", "Regex": r"validation-logloss: ([0-9.]+)"}]
ITERATION = re.compile(r"\[iter (\d+)\] validation-auc: ([0-9.]+)")


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    return folder


@pytest.fixture
def channels(tmp_path: Path) -> dict[str, str]:
    """A noisy binary problem: 300 training rows, 100 validation rows (label first)."""
    features, labels = make_classification(n_samples=400, n_features=8, n_informative=4,
                                           flip_y=0.1, random_state=0)
    rows = np.column_stack([labels, features])
    found = {}
    for channel, part in (("train", rows[:300]), ("validation", rows[300:])):
        folder = tmp_path / channel
        folder.mkdir()
        np.savetxt(folder / f"{channel}.csv", part, delimiter=",", fmt="%.6f")
        found[channel] = str(folder)
    return found


def _tuner(session: mlopskit.LocalSession, code: Path, ranges: dict[str, Any],
           objective: str = "validation-auc", hyperparameters: dict[str, Any] | None = None,
           **settings: Any) -> mlopskit.HyperparameterTuner:
    estimator = mlopskit.Estimator(entry_point=SCRIPT.name, source_dir=code, image_uri=IMAGE,
                                   instance_type="ml.m5.large", metric_definitions=METRICS,
                                   hyperparameters=hyperparameters or {}, session=session)
    return mlopskit.HyperparameterTuner(estimator, objective, ranges, **settings)


def _reported(session: mlopskit.LocalSession, trial: str) -> list[float]:
    """The validation AUC a trial printed at each iteration, in order."""
    log = mlopskit.TrainingJob(trial, session=session).logs()
    steps = [(int(step), float(value)) for step, value in ITERATION.findall(log)]
    assert [step for step, _ in steps] == list(range(1, len(steps) + 1))
    return [value for _, value in steps]


def _check_best(session: mlopskit.LocalSession, job: mlopskit.TuningJob) -> None:
    """Each completed trial's objective is its last printed value; the job's best is the
    best of them, and training_jobs() lists them best first."""
    trials = job.describe().trials
    scored = [t for t in trials if t.status == "Completed"]
    for trial in scored:
        assert trial.objective == pytest.approx(_reported(session, trial.job)[-1])
    best = max(scored, key=lambda t: t.objective or 0.0)
    assert job.best_training_job() == best.job and job.best_objective == best.objective
    frame = job.training_jobs()
    assert frame["TrainingJobName"].iloc[0] == best.job
    values = frame["FinalObjectiveValue"].dropna().tolist()
    assert values == sorted(values, reverse=True)


def test_a_random_search_runs_the_script_and_repeats_with_its_seed(
        local_session, code, channels, monkeypatch, capsys):
    ranges = {"learning-rate": ContinuousParameter(0.01, 0.5, "Logarithmic"),
              "max-depth": IntegerParameter(1, 4)}
    tuner = _tuner(local_session, code, ranges, strategy="Random", max_jobs=4,
                   max_parallel_jobs=2, random_seed=7)
    job = tuner.fit(channels)
    assert job.status == "Completed"
    trials = job.describe().trials
    assert len(trials) == 4 and {t.status for t in trials} == {"Completed"}
    names = {t.job for t in trials}
    assert names <= {j.name for j in mlopskit.TrainingJob.list(session=local_session)}
    for key, value in cli_environment(local_session).items():
        monkeypatch.setenv(key, value)
    status, out, _ = run_cli(capsys, "jobs", "list", "--json")
    assert status == 0 and names <= {row["name"] for row in json.loads(out)}
    _check_best(local_session, job)
    frame = job.training_jobs()
    assert frame["max-depth"].between(1, 4).all()
    assert frame["learning-rate"].between(0.01, 0.5).all()
    again = _tuner(local_session, code, ranges, strategy="Random", max_jobs=4,
                   max_parallel_jobs=2, random_seed=7).fit(channels)
    assert sorted(json.dumps(t.params, sort_keys=True) for t in again.describe().trials) \
        == sorted(json.dumps(t.params, sort_keys=True) for t in trials)


def test_a_grid_search_records_a_failing_trial_and_completes(local_session, code, channels):
    # "hinge" is not a loss GradientBoostingClassifier knows: that trial's script raises.
    job = _tuner(local_session, code,
                 {"loss": CategoricalParameter(["log_loss", "exponential", "hinge"])},
                 strategy="Grid", max_parallel_jobs=2).fit(channels)
    assert job.status == "Completed"
    statuses = {t.params["loss"].strip('"'): t.status for t in job.describe().trials}
    assert statuses == {"log_loss": "Completed", "exponential": "Completed",
                        "hinge": "Failed"}
    failed = next(t.job for t in job.describe().trials if t.status == "Failed")
    assert mlopskit.TrainingJob(failed, session=local_session).status == "Failed"
    _check_best(local_session, job)
    frame = job.training_jobs()
    assert frame["TrainingJobStatus"].iloc[-1] == "Failed"
    assert np.isnan(frame["FinalObjectiveValue"].iloc[-1])


def test_a_bayesian_search_and_its_best_model_in_a_batch_transform(
        local_session, code, channels, tmp_path):
    tuner = _tuner(local_session, code,
                   {"learning-rate": ContinuousParameter(0.01, 0.5, "Logarithmic"),
                    "max-depth": IntegerParameter(1, 4)},
                   strategy="Bayesian", max_jobs=5, random_seed=3)
    job = tuner.fit(channels)
    assert job.status == "Completed" and len(job.describe().trials) == 5
    _check_best(local_session, job)
    best = tuner.best_estimator()
    assert best.name == job.best_training_job()
    validation = np.loadtxt(Path(channels["validation"]) / "validation.csv", delimiter=",")
    features = tmp_path / "features" / "rows.csv"
    features.parent.mkdir()
    np.savetxt(features, validation[:, 1:], delimiter=",", fmt="%.6f")
    model = tuner.create_model(entry_point=SCRIPT.name, source_dir=code)
    transform = model.transformer(1, "ml.m5.large").transform(str(features.parent))
    answered = local_session.read_bytes(transform.outputs[0]).decode()
    with tarfile.open(fileobj=io.BytesIO(local_session.read_bytes(best.model_data))) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        trained = joblib.load(io.BytesIO(member.read()))
    expected = trained.predict(validation[:, 1:])
    assert np.array(json.loads(answered) if answered.lstrip().startswith("[")
                    else answered.split(), dtype=float).tolist() == expected.tolist()


def test_hyperband_gives_trials_different_budgets_and_stops_the_short_ones(
        local_session, code, channels):
    job = _tuner(local_session, code,
                 {"learning-rate": ContinuousParameter(0.01, 0.5, "Logarithmic")},
                 # 13 trials: Hyperband's first bracket, 9 at 1 iteration, 3 at 3, 1 at 9
                 hyperparameters={"stage-seconds": 0.2}, strategy="Hyperband", max_jobs=13,
                 max_parallel_jobs=2, random_seed=5,
                 strategy_config={"min_resource": 1, "max_resource": 9}).fit(channels)
    assert job.status == "Completed"
    trials = job.describe().trials
    stopped = [t for t in trials if t.status == "Stopped"]
    assert stopped and all(t.objective is not None for t in stopped)
    reported = {t.job: len(_reported(local_session, t.job)) for t in trials}
    assert all(reported[t.job] < 9 for t in stopped)  # stopped before its full budget
    assert len({reported[t.job] for t in trials}) >= 2  # budgets differ
    assert any(t.status == "Completed" and reported[t.job] == 9 for t in trials)
    assert job.best_objective == max(t.objective for t in trials if t.objective is not None)


def test_median_early_stopping_stops_trials_worse_than_the_median(
        local_session, code, channels):
    # A rate of 0.0005 barely moves the log loss from 0.69; 0.3 lowers it quickly (a trial
    # at 0.3 is never worse than the running average of another at 0.3, so it completes).
    job = _tuner(local_session, code,
                 {"learning-rate": CategoricalParameter([0.3, 0.0005])},
                 objective="validation-logloss", objective_type="Minimize",
                 hyperparameters={"stage-seconds": 0.2}, strategy="Random", max_jobs=7,
                 max_parallel_jobs=1, random_seed=2, early_stopping_type="Auto"
                 ).fit(channels)
    assert job.status == "Completed"
    trials = job.describe().trials  # one at a time, in the order they ran
    slow = [t for t in trials if t.params["learning-rate"] == "0.0005"]
    assert all(t.status == "Completed" for t in trials if t not in slow), \
        [(t.params, t.status, t.objective) for t in trials]
    judged = []  # slow trials that ran after three or more completed, mostly fast, ones
    for index, trial in enumerate(trials):
        before = [t for t in trials[:index] if t.status == "Completed"]
        fast = [t for t in before if t not in slow]
        if trial in slow and len(before) >= 3 and len(fast) * 2 > len(before):
            judged.append(trial)
    assert judged, [(t.params, t.status) for t in trials]  # the seed's draws allow the check
    assert all(t.status == "Stopped" and t.objective is not None for t in judged)
    assert all(len(_reported(local_session, t.job)) < 9 for t in judged)
    assert job.best_objective == min(t.objective for t in trials if t.objective is not None)
