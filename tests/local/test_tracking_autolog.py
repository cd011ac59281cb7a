"""``mlflow.autolog()`` in a tracked local job: a scikit-learn script written for SageMaker's
container, unchanged, logs its model's params, training metrics and the model itself into
the job's own run.

MLflow turns its telemetry off under pytest and in CI; users have it on. With it on, its
telemetry thread and ``mlflow.autolog()`` could deadlock each other in the job (an
import-lock cycle), so tracked jobs run with ``MLFLOW_DISABLE_TELEMETRY=true``. This test
takes away the markers MLflow looks for, so the job runs as a user's would.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import mlopskit

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

TRAIN = """\
import argparse
import os

import joblib
import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_iter", type=int, default=100)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args, _ = parser.parse_known_args()

    mlflow.autolog()
    frame = pd.read_csv(os.path.join(args.train, "churn.csv"))
    features, label = frame[["tenure", "spend"]], frame["churned"]
    model = LogisticRegression(max_iter=args.max_iter).fit(features, label)
    print(f"train_accuracy={model.score(features, label):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
"""

# Where MLflow looks to decide it runs in CI or under a test (mlflow.telemetry.utils).
_CI_MARKERS = ("PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI",
               "JENKINS_URL", "TRAVIS", "CODEBUILD_BUILD_ARN", "BUILDKITE",
               "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION", "MLFLOW_DISABLE_TELEMETRY",
               "DO_NOT_TRACK")


@pytest.mark.slow  # MLflow, pandas and scikit-learn imported in the job: about 10 s
def test_autolog_in_a_tracked_job_logs_into_the_jobs_run(local_session: mlopskit.LocalSession,
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CI_MARKERS:
        monkeypatch.delenv(name, raising=False)
    from mlflow.telemetry.utils import _is_ci_env_or_testing

    if _is_ci_env_or_testing():
        pytest.skip("MLflow still sees a CI or test marker: its telemetry would be off")
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    rng = random.Random(7)
    rows = ["tenure,spend,churned"]
    for _ in range(200):
        tenure, spend = rng.random(), rng.random()
        rows.append(f"{tenure:.4f},{spend:.4f},{int(tenure + spend < 0.9)}")
    data = tmp_path / "churn.csv"
    data.write_text("\n".join(rows) + "\n")

    estimator = mlopskit.Estimator(
        entry_point="train.py", source_dir=code, instance_type="ml.m5.large",
        framework="sklearn", framework_version="1.2-1", hyperparameters={"max_iter": 200},
        metric_definitions=[{"Name": "train_accuracy", "Regex": r"train_accuracy=([0-9.]+)"}],
        max_run=120,  # a deadlocked job is stopped, and the test fails instead of hanging
        session=local_session)
    job = estimator.fit({"train": str(data)}, experiment="autolog", logs=False)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=local_session.tracking_uri)
    experiment = client.get_experiment_by_name("autolog")
    [run] = client.search_runs([experiment.experiment_id])  # autolog joined the job's run
    assert run.info.run_id == job.run_id and run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    assert params["max_iter"] == "200"  # ours and the model's, the same value
    assert params["solver"] == "lbfgs"  # the model's own, from autolog
    assert 0.8 < metrics["training_accuracy_score"] <= 1.0  # autolog's
    assert metrics["train_accuracy"] == pytest.approx(metrics["training_accuracy_score"],
                                                      abs=1e-4)  # the regex's
    [model] = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert model.source_run_id == job.run_id
