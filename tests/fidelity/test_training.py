"""Training scripts in the style of the public examples, run unmodified on the local backend."""

from __future__ import annotations

import io
import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

import mlopskit

from .conftest import churn_frame, code_folder, tar_members, wheel


def _model_files(session: mlopskit.LocalSession, job: mlopskit.TrainingJob,
                 tmp_path: Path) -> dict[str, bytes]:
    local = session.download(job.model_data, tmp_path / "downloaded" / "model.tar.gz")
    return tar_members(local)


def test_a_scikit_learn_script_trains_from_local_folders(local_session, tmp_path, churn_csvs):
    estimator = mlopskit.Estimator(
        entry_point="sklearn_train.py", source_dir=code_folder(tmp_path, "sklearn_train.py"),
        framework="sklearn", framework_version="1.2-1", instance_type="ml.m5.large",
        hyperparameters={"n-estimators": 25, "min-samples-leaf": 2},
        metric_definitions=[{"Name": "test:accuracy", "Regex": r"test accuracy: ([0-9.]+)"}],
        session=local_session)
    job = estimator.fit({"train": str(churn_csvs["train"]),
                         "test": f"file://{churn_csvs['test']}"}, logs=False)
    assert job.status == "Completed"
    model = joblib.load(io.BytesIO(_model_files(local_session, job, tmp_path)["model.joblib"]))
    assert model.n_estimators == 25 and model.min_samples_leaf == 2
    test = pd.read_csv(churn_csvs["test"] / "test.csv")
    accuracy = model.score(test[["a", "b", "c"]], test["label"])
    assert accuracy > 0.8
    assert job.metrics["test:accuracy"] == round(accuracy, 4)
    assert "model persisted at" in job.logs()


def test_an_xgboost_script_mode_job_makes_a_booster(local_session, tmp_path):
    frame = churn_frame(800, seed=5)
    labelled = frame[["label", "a", "b", "c"]]
    for name, part in (("train", labelled.iloc[:600]), ("validation", labelled.iloc[600:])):
        (tmp_path / name).mkdir()
        part.to_csv(tmp_path / name / f"{name}.csv", header=False, index=False)
    job = mlopskit.Estimator(
        entry_point="xgboost_train.py", source_dir=code_folder(tmp_path, "xgboost_train.py"),
        framework="xgboost", framework_version="1.7-1", instance_type="ml.m5.xlarge",
        hyperparameters={"max_depth": 3, "eta": 0.2, "num_round": 30},
        metric_definitions=[{"Name": "validation:auc", "Regex": r"validation-auc:([0-9.]+)"}],
        session=local_session,
    ).fit({"train": str(tmp_path / "train"), "validation": str(tmp_path / "validation")},
          logs=False)
    booster_file = tmp_path / "xgboost-model.ubj"  # the script saves UBJSON by default
    booster_file.write_bytes(_model_files(local_session, job, tmp_path)["xgboost-model"])
    booster = xgb.Booster()
    booster.load_model(str(booster_file))
    held_out = labelled.iloc[600:]
    scores = booster.predict(xgb.DMatrix(held_out[["a", "b", "c"]].to_numpy()))
    auc = roc_auc_score(held_out["label"], scores)
    assert auc > 0.9
    assert abs(job.metrics["validation:auc"] - auc) < 1e-4
    assert booster.num_boosted_rounds() == 30


def test_a_script_asking_sagemaker_containers_for_its_environment(local_session, tmp_path):
    data = tmp_path / "rows"
    data.mkdir()
    (data / "a.txt").write_text("1\n2\n3\n")
    (data / "b.txt").write_text("4\n\n5\n")
    job = mlopskit.Estimator(
        entry_point="legacy_env_train.py",
        source_dir=code_folder(tmp_path, "legacy_env_train.py"), framework="mxnet",
        framework_version="1.4.1", instance_type="ml.m5.large",
        hyperparameters={"scale": 2.5}, session=local_session,
    ).fit({"training": str(data)}, logs=False)
    summary = json.loads(_model_files(local_session, job, tmp_path)["summary.json"])
    assert summary == {"rows": 5, "scale": 2.5, "hosts": ["algo-1"],
                       "current_host": "algo-1", "job_name": job.name}


def test_requirements_come_after_the_standard_library(local_session, tmp_path):
    """A backport named like a standard module is installed but never imported, as in the
    containers' site-packages; the script's own dependency is imported."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    broken = "raise ImportError('the backport was imported instead of the standard library')\n"
    requirements = [
        wheel(wheels, "typing", "3.7.4.3", {"typing.py": broken}),
        wheel(wheels, "dataclasses", "0.6", {"dataclasses.py": broken}),
        wheel(wheels, "fidelity_helper", "1.0",
              {"fidelity_helper/__init__.py": "def answer():\n    return 42\n"}),
    ]
    code = code_folder(tmp_path, "uses_backport.py")
    (code / "requirements.txt").write_text("".join(f"{w}\n" for w in requirements))
    job = mlopskit.Estimator(entry_point="uses_backport.py", source_dir=code,
                             framework="sklearn", framework_version="1.2-1",
                             instance_type="ml.m5.large", session=local_session).fit(logs=False)
    assert job.status == "Completed", job.failure_reason
    value, typing_file = _model_files(local_session, job, tmp_path)["result.txt"].decode().split()
    assert value == "42"
    assert "site-packages" not in typing_file and typing_file.endswith("typing.py")
    # The environment running the tests is untouched.
    assert not any(Path(p).name.startswith("fidelity_helper")
                   for p in map(str, Path(np.__file__).parents[1].iterdir()))
