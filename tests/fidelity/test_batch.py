"""Batch transform with example-style scripts, scoring local files: every input row gets its
answer, in order, whatever the script prints."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

import mlopskit

from .conftest import churn_frame, code_folder

FEATURES = ["a", "b", "c"]


@pytest.fixture
def scoring_files(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A folder of two headerless CSV files of feature rows (120 rows in all)."""
    folder = tmp_path / "to-score"
    folder.mkdir()
    rows = churn_frame(120, seed=51)[FEATURES]
    rows.iloc[:70].to_csv(folder / "first.csv", header=False, index=False)
    rows.iloc[70:].to_csv(folder / "second.csv", header=False, index=False)
    return folder, rows.to_numpy()


def _outputs(session: mlopskit.Session, job: mlopskit.TransformJob) -> dict[str, list[str]]:
    return {uri.rsplit("/", 1)[1]: session.read_bytes(uri).decode().splitlines()
            for uri in job.outputs}


@pytest.fixture
def logistic_archive(tmp_path: Path) -> tuple[Path, LogisticRegression]:
    frame = churn_frame(400, seed=52)
    model = LogisticRegression().fit(frame[FEATURES].to_numpy(), frame["label"])
    joblib.dump(model, tmp_path / "model.joblib")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model.joblib", arcname="model.joblib")
    return tmp_path / "model.tar.gz", model


@pytest.mark.parametrize("script", ["inference_chatty.py", "batch_transform_fn.py"])
def test_a_local_folder_is_scored_by_a_script_that_prints(local_session, tmp_path,
                                                          scoring_files, logistic_archive,
                                                          script):
    folder, rows = scoring_files
    archive, reference = logistic_archive
    model = mlopskit.Model(archive, entry_point=script, source_dir=code_folder(tmp_path, script),
                           framework="sklearn", framework_version="1.2-1",
                           session=local_session)
    transformer = model.transformer(instance_count=2, instance_type="ml.m5.large",
                                    accept="text/csv", max_payload_mb=1)
    job = transformer.transform(folder, content_type="text/csv")
    outputs = _outputs(local_session, job)
    assert sorted(outputs) == ["first.csv.out", "second.csv.out"]
    lines = outputs["first.csv.out"] + outputs["second.csv.out"]
    assert len(lines) == len(rows) == job.describe().records
    scores = reference.predict_proba(rows)[:, 1]
    if script == "inference_chatty.py":
        assert np.allclose([float(line) for line in lines], scores, atol=1e-6)
    else:
        answers = [json.loads(line) for line in lines]
        assert [a["label"] for a in answers] == reference.predict(rows).tolist()
        assert np.allclose([a["score"] for a in answers], scores, atol=1e-6)


def test_an_xgboost_model_fn_alone_scores_csv_in_batches(local_session, tmp_path,
                                                         scoring_files):
    folder, rows = scoring_files
    frame = churn_frame(500, seed=53)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2, "seed": 0},
                        xgb.DMatrix(frame[FEATURES].to_numpy(), label=frame["label"]),
                        num_boost_round=10)
    booster.save_model(str(tmp_path / "booster.json"))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "booster.json", arcname="xgboost-model")
    model = mlopskit.Model(tmp_path / "model.tar.gz", entry_point="xgboost_inference.py",
                           source_dir=code_folder(tmp_path, "xgboost_inference.py"),
                           framework="xgboost", framework_version="1.7-1",
                           session=local_session)
    job = model.transformer(instance_count=1, instance_type="ml.m5.large",
                            accept="text/csv").transform(folder / "first.csv",
                                                         content_type="text/csv")
    lines = _outputs(local_session, job)["first.csv.out"]
    assert np.allclose([float(x) for x in lines], booster.predict(xgb.DMatrix(rows[:70])),
                       atol=1e-6)
