"""Local realtime endpoints: deploy, predict, find again by name, delete, fail cleanly."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.errors import (
    ConflictError,
    DeploymentFailedError,
    InvocationError,
    NotFoundError,
)
from mlopskit.serializers import CSVSerializer, IdentitySerializer, JSONDeserializer

SCRIPTS = Path(__file__).parent.parent / "scripts" / "inference"
X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5], [-1.0, -2.0, 0.0]])


def _artifact(session: mlopskit.Session, tmp_path: Path) -> tuple[str, LogisticRegression]:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(100, 3))
    model = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    folder = tmp_path / "artifact"
    folder.mkdir()
    joblib.dump(model, folder / "model.joblib")
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder / "model.joblib", arcname="model.joblib")
    uri = f"s3://{session.default_bucket}/models/model.tar.gz"
    session.backend.objects.put_file(archive, uri)
    return uri, model


def _code(tmp_path: Path, script: str = "only_model_fn.py") -> Path:
    code = tmp_path / "inference"
    code.mkdir(exist_ok=True)
    shutil.copy(SCRIPTS / script, code / script)
    return code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def _pids(session: mlopskit.LocalSession, name: str) -> list[int]:
    row = session.backend.store.query_one("SELECT servers FROM endpoints WHERE name = ?", (name,))
    return [int(s["pid"]) for s in json.loads(row["servers"]).values()] if row else []


def _nothing_left(session: mlopskit.LocalSession) -> None:
    store = session.backend.store
    for table in ("endpoints", "endpoint_configs", "models"):
        assert store.query_all(f"SELECT name FROM {table}") == [], table


def test_deploy_predict_and_delete(local_session, tmp_path):
    uri, reference = _artifact(local_session, tmp_path)
    model = mlopskit.Model(uri, entry_point="only_model_fn.py", source_dir=_code(tmp_path),
                           framework="sklearn", framework_version="1.2-1", session=local_session)
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="churn-ep")
    assert predictor.predict(X).tolist() == reference.predict(X).tolist()
    assert predictor.last_variant == "AllTraffic"
    csv = mlopskit.Predictor("churn-ep", session=local_session, serializer=CSVSerializer(),
                             deserializer=JSONDeserializer())
    assert csv.predict(X) == reference.predict(X.astype("float32")).tolist()
    endpoint = mlopskit.Endpoint("churn-ep", session=local_session)
    described = endpoint.describe()
    assert described.status == "InService"
    assert [(v.name, v.weight) for v in described.variants] == [("AllTraffic", 1.0)]
    pids = _pids(local_session, "churn-ep")
    endpoint.delete()
    assert not any(_alive(p) for p in pids)
    _nothing_left(local_session)
    with pytest.raises(NotFoundError, match="churn-ep"):
        endpoint.describe()


def test_model_errors_surface_as_invocation_errors(local_session, tmp_path):
    uri, _ = _artifact(local_session, tmp_path)
    predictor = mlopskit.Model(uri, entry_point="only_model_fn.py", source_dir=_code(tmp_path),
                               session=local_session).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="errors-ep")
    plain = mlopskit.Predictor("errors-ep", session=local_session,
                               serializer=IdentitySerializer("text/plain"))
    with pytest.raises(InvocationError, match="answered 415") as info:
        plain.predict(b"1,2,3")
    assert info.value.status == 415
    assert predictor.predict(X).shape == (3,)  # still serving
    predictor.delete_endpoint()


def test_endpoint_outlives_the_process_that_made_it(tmp_path):
    root = tmp_path / "root"
    session = mlopskit.LocalSession(root=root)
    uri, reference = _artifact(session, tmp_path)
    code = _code(tmp_path)
    script = (
        "import sys, mlopskit\n"
        "s = mlopskit.LocalSession(root=sys.argv[1])\n"
        "mlopskit.Model(sys.argv[2], entry_point='only_model_fn.py', source_dir=sys.argv[3],"
        " session=s).deploy(mlopskit.RealtimeConfig('ml.m5.large'), endpoint_name='kept')\n"
        "import os; os._exit(0)  # a kernel that dies: no close, no cleanup\n")
    subprocess.run([sys.executable, "-c", script, str(root), uri, str(code)], check=True,
                   timeout=120)
    again = mlopskit.Predictor("kept", session=mlopskit.LocalSession(root=root))
    assert again.predict(X).tolist() == reference.predict(X).tolist()
    pids = _pids(session, "kept")
    again.delete_endpoint()
    assert not any(_alive(p) for p in pids)


def test_closing_the_session_stops_its_endpoints(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "root")
    uri, _ = _artifact(session, tmp_path)
    mlopskit.Model(uri, entry_point="only_model_fn.py", source_dir=_code(tmp_path),
                   session=session).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                           endpoint_name="closing")
    pids = _pids(session, "closing")
    assert all(_alive(p) for p in pids)
    session.close()
    assert not any(_alive(p) for p in pids)
    assert mlopskit.Endpoint.list(session=mlopskit.LocalSession(root=tmp_path / "root")) == []


def test_a_failing_model_fn_fails_the_deployment_and_leaves_nothing(local_session, tmp_path):
    uri, _ = _artifact(local_session, tmp_path)
    code = tmp_path / "broken"
    code.mkdir()
    (code / "broken.py").write_text("def model_fn(model_dir):\n"
                                    "    raise RuntimeError('cannot load weights')\n")
    model = mlopskit.Model(uri, entry_point="broken.py", source_dir=code, session=local_session)
    with pytest.raises(DeploymentFailedError, match="RuntimeError: cannot load weights"):
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="broken-ep")
    _nothing_left(local_session)


def test_package_deploy_needs_approval_and_an_untouched_artifact(local_session, tmp_path):
    uri, reference = _artifact(local_session, tmp_path)
    group = mlopskit.ModelPackageGroup("serve-me", session=local_session).create()
    package = group.register(mlopskit.Model(uri, entry_point="only_model_fn.py",
                                            source_dir=_code(tmp_path)))
    config = mlopskit.RealtimeConfig("ml.m5.large")
    with pytest.raises(ConflictError, match="only Approved packages deploy"):
        package.deploy(config, endpoint_name="pkg-ep")
    _nothing_left(local_session)
    forced = package.deploy(config, endpoint_name="forced-ep", force=True)
    assert forced.predict(X).tolist() == reference.predict(X).tolist()
    forced.delete_endpoint()
    package.approve(by="alice")
    # Someone overwrites the registered artifact: the deployment must refuse it.
    local_session.backend.objects.put_bytes(b"not the registered model", uri)
    with pytest.raises(DeploymentFailedError, match="refusing to load a changed artifact"):
        package.deploy(config, endpoint_name="pkg-ep")
    _nothing_left(local_session)


def test_bad_deploy_input(local_session, tmp_path):
    uri, _ = _artifact(local_session, tmp_path)
    model = mlopskit.Model(uri, entry_point="only_model_fn.py", source_dir=_code(tmp_path),
                           session=local_session)
    with pytest.raises(mlopskit.errors.ValidationError, match="instance_type"):
        mlopskit.RealtimeConfig("m5.large")
    with pytest.raises(mlopskit.errors.ValidationError, match="initial_instance_count"):
        mlopskit.RealtimeConfig("ml.m5.large", initial_instance_count=0)
    with pytest.raises(mlopskit.errors.ValidationError, match="endpoint_name"):
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="bad_name")
    with pytest.raises(mlopskit.errors.ValidationError, match="config"):
        model.deploy("ml.m5.large", endpoint_name="x")  # type: ignore[arg-type]
    _nothing_left(local_session)


def test_npy_round_trip_of_the_default_predictor(local_session, tmp_path):
    uri, reference = _artifact(local_session, tmp_path)
    predictor = mlopskit.Model(uri, entry_point="only_model_fn.py", source_dir=_code(tmp_path),
                               session=local_session).deploy(
        mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="npy-ep")
    buffer = io.BytesIO()
    np.save(buffer, X)
    result = predictor.endpoint.invoke(buffer.getvalue(), content_type="application/x-npy",
                                       accept="application/x-npy")
    assert np.load(io.BytesIO(result.body)).tolist() == reference.predict(X).tolist()
    predictor.delete_endpoint()
