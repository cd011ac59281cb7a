"""Processing scripts in the style of the public examples: fixed /opt/ml paths, a working
folder of "/" (models extracted to "..", files opened by bare name), relative writes."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.metrics import accuracy_score, roc_auc_score

import mlopskit

from .conftest import SCRIPTS, churn_frame


def _processor(session: mlopskit.Session) -> mlopskit.Processor:
    return mlopskit.Processor(framework="sklearn", framework_version="1.2-1",
                              instance_type="ml.m5.xlarge", session=session)


def _csv(session: mlopskit.Session, uri: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(session.read_bytes(uri)), header=None)


def test_a_preprocessing_script_splits_the_rows(local_session, tmp_path):
    raw = churn_frame(500, seed=11)
    raw.to_csv(tmp_path / "raw.csv", index=False)
    job = _processor(local_session).run(
        SCRIPTS / "preprocess.py",
        inputs=[mlopskit.ProcessingInput(tmp_path / "raw.csv", "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput(f"/opt/ml/processing/{name}", output_name=name)
                 for name in ("train", "validation", "test")],
        arguments=["--test-share", "0.2"], logs=False)
    parts = {name: _csv(local_session, f"{job.outputs[name]}/{name}.csv")
             for name in ("train", "validation", "test")}
    assert {name: len(part) for name, part in parts.items()} == {
        "train": 320, "validation": 80, "test": 100}
    together = pd.concat(parts.values())
    # The label moved to the first column; every raw row is in exactly one part.
    assert sorted(together[0].astype(int)) == sorted(raw["label"])
    assert sorted(together[1].round(4)) == sorted(raw["a"])


@pytest.fixture
def booster_archive(tmp_path: Path) -> tuple[Path, xgb.Booster, pd.DataFrame]:
    frame = churn_frame(700, seed=12)[["label", "a", "b", "c"]]
    train, test = frame.iloc[:500], frame.iloc[500:]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "seed": 0},
                        xgb.DMatrix(train.iloc[:, 1:].to_numpy(), label=train["label"]),
                        num_boost_round=20)
    booster.save_model(str(tmp_path / "xgboost-model.json"))
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "xgboost-model.json", arcname="xgboost-model")
    (tmp_path / "test").mkdir()
    test.to_csv(tmp_path / "test" / "test.csv", header=False, index=False)
    return archive, booster, test


def test_an_evaluation_script_extracts_to_dot_dot_and_opens_the_bare_name(
        local_session, tmp_path, booster_archive):
    archive, booster, test = booster_archive
    job = _processor(local_session).run(
        SCRIPTS / "evaluate.py",
        inputs=[mlopskit.ProcessingInput(archive, "/opt/ml/processing/model"),
                mlopskit.ProcessingInput(tmp_path / "test", "/opt/ml/processing/test")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/evaluation",
                                           output_name="evaluation")], logs=False)
    report = json.loads(local_session.read_bytes(f"{job.outputs['evaluation']}/"
                                                 "evaluation.json"))
    predictions = booster.predict(xgb.DMatrix(test.iloc[:, 1:].to_numpy()))
    metrics = report["binary_classification_metrics"]
    assert metrics["accuracy"]["value"] == pytest.approx(
        accuracy_score(test["label"], predictions.round()))
    assert metrics["auc"]["value"] == pytest.approx(roc_auc_score(test["label"], predictions))
    # Extracted into the job's stand-in for "/", not above it.
    host = local_session.root / "jobs" / "processing" / job.name / "hosts" / "algo-1"
    assert (host / "xgboost-model").is_file()
    assert not (host.parent / "xgboost-model").exists()


def test_relative_paths_start_in_the_stand_in_for_root(local_session):
    job = _processor(local_session).run(
        SCRIPTS / "relative_paths.py",
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/output", output_name="out")],
        logs=False)
    report = json.loads(local_session.read_bytes(f"{job.outputs['out']}/report.json"))
    assert report == {"same": True, "listing": ["opt", "scratch"], "sees_opt_ml": True}
    notes = local_session.read_bytes(f"{job.outputs['out']}/notes.txt")
    assert notes == b"written relative to the working folder\n"


def test_two_jobs_writing_the_same_relative_paths_do_not_collide(local_session):
    processor = _processor(local_session)
    outputs = [mlopskit.ProcessingOutput("/opt/ml/processing/output", output_name="out")]
    first = processor.run(SCRIPTS / "relative_paths.py", outputs=outputs, wait=False,
                          logs=False)
    second = processor.run(SCRIPTS / "relative_paths.py", outputs=outputs, wait=False,
                           logs=False)
    for job in (first, second):
        job.wait(timeout=120)
        report = json.loads(local_session.read_bytes(f"{job.outputs['out']}/report.json"))
        assert report["same"] is True
    assert np.unique([first.name, second.name]).size == 2
