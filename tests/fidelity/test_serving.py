"""Inference scripts in the style of the public examples, deployed unmodified on the local
backend: scripts that print, XGBoost with only model_fn, sagemaker_containers featurizers,
start-up failures that must be reported with their log."""

from __future__ import annotations

import json
import re
import tarfile
import urllib.request
from pathlib import Path

import joblib
import numpy as np
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.errors import DeploymentFailedError, InvocationError
from mlopskit.serializers import CSVSerializer, IdentitySerializer, JSONDeserializer

from .conftest import churn_frame, code_folder

FEATURES = ["a", "b", "c"]


def _artifact(tmp_path: Path, files: dict[str, Path]) -> Path:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
    return archive


@pytest.fixture
def logistic(tmp_path: Path) -> tuple[Path, LogisticRegression, np.ndarray]:
    frame = churn_frame(400, seed=21)
    model = LogisticRegression().fit(frame[FEATURES].to_numpy(), frame["label"])
    joblib.dump(model, tmp_path / "model.joblib")
    rows = churn_frame(7, seed=22)[FEATURES].to_numpy()
    return _artifact(tmp_path, {"model.joblib": tmp_path / "model.joblib"}), model, rows


def _no_endpoint_left(session: mlopskit.LocalSession) -> None:
    for table in ("endpoints", "endpoint_configs", "models"):
        assert session.backend.store.query_all(f"SELECT name FROM {table}") == [], table


def _log(session: mlopskit.LocalSession, endpoint: str) -> str:
    logs = sorted((session.root / "logs" / "endpoints" / endpoint).glob("*.log"))
    assert len(logs) == 1, logs
    return logs[0].read_text()


def test_a_script_that_prints_everywhere_deploys_and_answers(local_session, tmp_path,
                                                            logistic):
    archive, reference, rows = logistic
    model = mlopskit.Model(archive, entry_point="inference_chatty.py",
                           source_dir=code_folder(tmp_path, "inference_chatty.py"),
                           framework="sklearn", framework_version="1.2-1",
                           session=local_session)
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="chatty",
                             serializer=JSONSerializerOfInstances(),
                             deserializer=JSONDeserializer())
    try:
        answer = predictor.predict(rows)
        expected = reference.predict_proba(rows)[:, 1]
        assert np.allclose(answer["predictions"], expected, atol=1e-6)
        # Any HTTP client can call the variant's own server.
        url = predictor.endpoint.url()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with urllib.request.urlopen(url + "/ping", timeout=10) as ping:
            assert ping.status == 200
        request = urllib.request.Request(url + "/invocations", data=b"0.1,0.2,3.0",
                                         headers={"Content-Type": "text/csv",
                                                  "Accept": "text/csv"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert float(reply.read()) == pytest.approx(
                reference.predict_proba([[0.1, 0.2, 3.0]])[0, 1], abs=1e-6)
        log = _log(local_session, "chatty")
        for printed in ("inference.py imported with Python", "this goes to standard error",
                        "loading model.joblib from: ", "READY 1", "predicting 7 rows"):
            assert printed in log
    finally:
        predictor.delete_endpoint()


class JSONSerializerOfInstances:
    """Rows as ``{"instances": [...]}``, the request shape of many example notebooks."""

    content_type = "application/json"

    def serialize(self, data: np.ndarray) -> bytes:
        return json.dumps({"instances": np.asarray(data).tolist()}).encode()


def test_an_inference_script_that_fails_to_load_names_its_log(local_session, tmp_path,
                                                             logistic):
    archive, _, _ = logistic
    model = mlopskit.Model(archive, entry_point="broken_model_fn.py",
                           source_dir=code_folder(tmp_path, "broken_model_fn.py"),
                           session=local_session)
    with pytest.raises(DeploymentFailedError) as info:
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="broken")
    message = str(info.value)
    assert "did not start: FileNotFoundError" in message and "model.pth" in message
    log_path = Path(re.search(r"its log is (\S+\.log)", message).group(1))
    log = log_path.read_text()
    assert "looking for the model in" in log  # what the script printed before failing
    assert "Traceback (most recent call last)" in log and "broken_model_fn.py" in log
    assert "FileNotFoundError" in message.split("ends with:")[1]  # the log's tail is quoted
    _no_endpoint_left(local_session)


def test_an_inference_script_that_exits_is_reported_with_its_exit_code(local_session,
                                                                      tmp_path, logistic):
    archive, _, _ = logistic
    model = mlopskit.Model(archive, entry_point="exits_in_model_fn.py",
                           source_dir=code_folder(tmp_path, "exits_in_model_fn.py"),
                           session=local_session)
    with pytest.raises(DeploymentFailedError, match="exited with code 3 before it was ready"):
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="exits")
    assert "about to give up" in _log(local_session, "exits")
    _no_endpoint_left(local_session)


@pytest.fixture
def booster(tmp_path: Path) -> tuple[Path, xgb.Booster, np.ndarray]:
    frame = churn_frame(500, seed=31)
    trained = xgb.train({"objective": "binary:logistic", "max_depth": 3, "seed": 0},
                        xgb.DMatrix(frame[FEATURES].to_numpy(), label=frame["label"]),
                        num_boost_round=15)
    trained.save_model(str(tmp_path / "booster.json"))
    rows = churn_frame(5, seed=32)[FEATURES].to_numpy()
    return _artifact(tmp_path, {"xgboost-model": tmp_path / "booster.json"}), trained, rows


def test_an_xgboost_model_fn_alone_gets_the_xgboost_containers_defaults(local_session,
                                                                       tmp_path, booster):
    archive, trained, rows = booster
    model = mlopskit.Model(archive, entry_point="xgboost_inference.py",
                           source_dir=code_folder(tmp_path, "xgboost_inference.py"),
                           framework="xgboost", framework_version="1.7-1",
                           session=local_session)
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="xgb",
                             serializer=CSVSerializer(), deserializer=JSONDeserializer())
    try:
        expected = trained.predict(xgb.DMatrix(rows))
        # CSV in, a DMatrix to the booster (not scikit-learn's float array), JSON out.
        assert np.allclose(predictor.predict(rows), expected, atol=1e-6)
        libsvm = "\n".join(" ".join(f"{i + 1}:{v}" for i, v in enumerate(row)) for row in rows)
        reply = predictor.endpoint.invoke(libsvm.encode(), content_type="text/libsvm",
                                          accept="text/csv")
        assert np.allclose([float(x) for x in reply.body.decode().split()], expected,
                           atol=1e-6)
        with pytest.raises(InvocationError, match="415") as info:
            predictor.endpoint.invoke(json.dumps(rows.tolist()).encode(),
                                      content_type="application/json")
        assert "text/csv" in str(info.value)  # the supported types are named
    finally:
        predictor.delete_endpoint()


def test_a_sagemaker_containers_featurizer_trains_then_answers_with_worker_response(
        local_session, tmp_path):
    raw = churn_frame(300, seed=41)
    raw.iloc[::10, 1] = np.nan  # missing values for the imputer
    (tmp_path / "raw").mkdir()
    raw.to_csv(tmp_path / "raw" / "raw.csv", header=False, index=False)
    code = code_folder(tmp_path, "featurizer.py")
    job = mlopskit.Estimator(entry_point="featurizer.py", source_dir=code, framework="sklearn",
                             framework_version="1.2-1", instance_type="ml.m5.large",
                             session=local_session).fit({"train": str(tmp_path / "raw")},
                                                        logs=False)
    predictor = job.create_model(entry_point="featurizer.py", source_dir=str(code)).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="featurizer",
        serializer=IdentitySerializer("text/csv"))
    try:
        endpoint = predictor.endpoint
        labelled = "0.5,-0.25,3.0,1\n1.5,0.75,9.0,0"  # as in training: the label last
        reply = endpoint.invoke(labelled.encode(), content_type="text/csv", accept="text/csv")
        scaled = np.array([[float(v) for v in line.split(",")]
                           for line in reply.body.decode().splitlines()])
        assert reply.content_type.startswith("text/csv")
        imputer_median = np.nanmedian(raw["b"])
        assert np.isfinite(imputer_median)
        assert scaled[:, 0].tolist() == [1.0, 0.0]  # moved first, for the next model
        features = raw[FEATURES].fillna({"b": imputer_median})
        expected = (np.array([[0.5, -0.25, 3.0], [1.5, 0.75, 9.0]]) - features.mean().to_numpy()
                    ) / features.std(ddof=0).to_numpy()
        assert np.allclose(scaled[:, 1:], expected, atol=1e-6)
        answer = json.loads(endpoint.invoke(b"0.5,-0.25,3.0", content_type="text/csv",
                                            accept="application/json").body)
        assert np.allclose(answer["instances"][0]["features"], expected[0], atol=1e-6)
        # The script's own Response status reaches the caller.
        with pytest.raises(InvocationError) as info:
            endpoint.invoke(b"0.5,-0.25,3.0", content_type="text/csv", accept="text/html")
        assert info.value.status == 415 and "not supported" in str(info.value)
    finally:
        predictor.delete_endpoint()


def test_code_repacked_into_the_model_archive_is_served_from_there(local_session, tmp_path,
                                                                  logistic):
    """What the SDK's repack step makes: code/ inside model.tar.gz, and the container told
    so with SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code."""
    _, reference, rows = logistic
    code = code_folder(tmp_path, "inference_chatty.py")
    (tmp_path / "repacked").mkdir()
    archive = _artifact(tmp_path / "repacked", {
        "model.joblib": tmp_path / "model.joblib",
        "code/inference_chatty.py": code / "inference_chatty.py"})
    model = mlopskit.Model(archive, session=local_session, environment={
        "SAGEMAKER_PROGRAM": "inference_chatty.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"})
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="repacked",
                             serializer=CSVSerializer(), deserializer=JSONDeserializer())
    try:
        answer = predictor.predict(rows)["predictions"]
        assert np.allclose(answer, reference.predict_proba(rows)[:, 1], atol=1e-6)
    finally:
        predictor.delete_endpoint()
