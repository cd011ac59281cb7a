"""Unmodified SageMaker scikit-learn inference scripts served by the local inference server."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from mlopskit.backends.local.inference_server import make_server
from mlopskit.sagemaker_api.inference.handlers import HandlerError, load_handler

SCRIPTS = Path(__file__).parent.parent / "scripts" / "inference"
X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5], [-1.0, -2.0, 0.0], [1.5, -0.5, 2.0]])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 3))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    joblib.dump(LogisticRegression().fit(features, labels), folder / "model.joblib")
    return folder


class Client:
    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, body: bytes, content_type: str | None = "text/csv",
             accept: str | None = None) -> tuple[int, bytes, str]:
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        self.conn.request("POST", "/invocations", body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        return response.status, response.read()


@pytest.fixture
def serve(model_dir: Path, tmp_path: Path) -> Iterator[object]:
    servers = []

    def start(script: str | None, max_payload: int = 6 * 1024 * 1024) -> Client:
        code = tmp_path / f"code-{len(servers)}"
        code.mkdir()
        if script:
            shutil.copy(SCRIPTS / script, code / script)
        handler = load_handler(code, script, model_dir)
        server = make_server(handler, variant="AllTraffic", max_payload=max_payload)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Client(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _model(model_dir: Path) -> LogisticRegression:
    return joblib.load(model_dir / "model.joblib")


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(str(v) for v in row) for row in rows).encode()


def test_only_model_fn_uses_the_container_defaults(serve, model_dir):
    client = serve("only_model_fn.py")
    assert client.get("/ping") == (200, b"")
    status, body, content_type = client.post(_csv(X), "text/csv", "application/json")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == _model(model_dir).predict(X.astype("float32")).tolist()
    status, body, _ = client.post(json.dumps(X.tolist()).encode(), "application/json",
                                  "text/csv")
    assert status == 200
    assert body.decode().split() == [str(v) for v in _model(model_dir).predict(X)]
    npy = io.BytesIO()
    np.save(npy, X)
    status, body, content_type = client.post(npy.getvalue(), "application/x-npy",
                                             "application/x-npy")
    assert (status, content_type) == (200, "application/x-npy")
    assert np.load(io.BytesIO(body)).tolist() == _model(model_dir).predict(X).tolist()


def test_missing_content_type_means_json_and_star_accept_means_json(serve):
    client = serve("only_model_fn.py")
    status, body, content_type = client.post(json.dumps(X.tolist()).encode(), None, "*/*")
    assert (status, content_type) == (200, "application/json")
    assert len(json.loads(body)) == len(X)


def test_one_row_csv_is_squeezed_like_the_container(serve):
    # The container decodes one CSV row to a 1-D array; scikit-learn then refuses it. We
    # keep that behaviour so a script that works here works on SageMaker (docs/serving.md).
    client = serve("only_model_fn.py")
    status, body, _ = client.post(b"0.1,0.2,0.3", "text/csv")
    assert status == 500
    assert "2D array" in json.loads(body)["error"]
    # A script that reshapes (here: dict_output.predict_fn) handles one row fine.
    ok = serve("dict_output.py")
    status, body, _ = ok.post(b"0.1,0.2,0.3", "text/csv")
    assert status == 200
    assert len(json.loads(body)["predictions"]) == 1


def test_all_four_handlers(serve, model_dir):
    client = serve("all_handlers.py")
    status, body, content_type = client.post(json.dumps({"instances": X.tolist()}).encode(),
                                             "application/json", "application/json")
    assert (status, content_type) == (200, "application/json")
    expected = _model(model_dir).predict_proba(X)
    assert np.allclose(json.loads(body)["probabilities"], expected)
    status, body, content_type = client.post(_csv(X), "text/csv", "text/csv")
    assert (status, content_type) == (200, "text/csv")
    assert np.allclose(np.genfromtxt(io.StringIO(body.decode()), delimiter=","), expected,
                       atol=1e-6)


def test_transform_fn(serve, model_dir):
    client = serve("transform.py")
    npy = io.BytesIO()
    np.save(npy, X)
    status, body, content_type = client.post(npy.getvalue(), "application/x-npy")
    assert (status, content_type) == (200, "application/x-npy")
    assert np.load(io.BytesIO(body)).tolist() == _model(model_dir).predict(X).tolist()


def test_output_fn_returning_a_dict_is_sent_as_json(serve, model_dir):
    client = serve("dict_output.py")
    status, body, content_type = client.post(_csv(X), "text/csv", "text/csv")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"predictions": _model(model_dir).predict(X).tolist()}


@pytest.mark.parametrize(("body", "content_type", "accept", "status", "text"), [
    (b"1,2,3", "text/plain", None, 415, "content type 'text/plain' is not supported"),
    (b"[[1,2,3]]", "application/json", "image/png", 406, "accept type 'image/png'"),
    (b"[[1,2,", "application/json", None, 400, "cannot decode the application/json body"),
    (b"", "text/csv", None, 400, "empty body"),
    (b"1,2,3\n4,5", "text/csv", None, 400, "cannot decode the text/csv body"),
    (b"\x93NUMPY garbage", "application/x-npy", None, 400, "cannot decode"),
    (b"\xff\xfe", "text/csv", None, 400, "not UTF-8"),
])
def test_bad_payloads_get_4xx_with_a_message(serve, body, content_type, accept, status, text):
    client = serve("only_model_fn.py")
    got, reply, _ = client.post(body, content_type, accept)
    assert got == status
    assert text in json.loads(reply)["error"]
    assert client.get("/ping")[0] == 200  # still serving


def test_oversize_body_is_413(serve):
    client = serve("only_model_fn.py", max_payload=1024)
    status, body, _ = client.post(b"1," * 1000, "text/csv")
    assert status == 413
    assert "over the 1024 byte limit" in json.loads(body)["error"]


def test_a_raising_handler_gets_500_and_the_server_keeps_serving(serve):
    client = serve("dict_output.py")
    status, body, _ = client.post(b"999,1,2", "text/csv")
    assert status == 500
    assert "RuntimeError: poison input" in json.loads(body)["error"]
    assert client.post(_csv(X), "text/csv")[0] == 200
    status, metrics = client.get("/mlopskit/metrics")
    assert json.loads(metrics)["errors_5xx"] == 1


def test_transform_fn_with_other_handlers_is_refused(model_dir, tmp_path):
    shutil.copy(SCRIPTS / "bad_mix.py", tmp_path / "bad_mix.py")
    with pytest.raises(HandlerError, match="transform_fn together with input_fn"):
        load_handler(tmp_path, "bad_mix.py", model_dir)


def test_the_server_process_reports_ready_on_its_own_pipe_and_binds_loopback(model_dir,
                                                                           tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "chatty.py").write_text(
        "import joblib, os\nprint('READY 1 (a print that looks like the answer)')\n"
        "def model_fn(model_dir):\n    print('loading model.joblib from:', model_dir)\n"
        "    return joblib.load(os.path.join(model_dir, 'model.joblib'))\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "variant": "AllTraffic", "model_dir": str(model_dir), "code_dir": str(code),
        "program": "chatty.py", "max_payload_bytes": 6 * 1024 * 1024}))
    ready, ready_w = os.pipe()
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mlopskit.backends.local.inference_server",
                                 str(config), str(ready_w)], stdout=log, stderr=log,
                                pass_fds=(ready_w,))
    os.close(ready_w)
    try:
        with os.fdopen(ready, encoding="utf-8") as answers:
            line = answers.readline().split()
            assert answers.read() == ""  # one line, then the pipe is closed
        assert line[0] == "READY" and line[1] != "1"
        client = Client(int(line[1]))
        assert client.get("/ping")[0] == 200
        assert client.post(_csv(X))[0] == 200
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    printed = (tmp_path / "server.log").read_text()
    assert "READY 1 (a print" in printed and f"loading model.joblib from: {model_dir}" in printed


def test_a_script_without_model_fn_fails_at_start(model_dir, tmp_path):
    (tmp_path / "nothing.py").write_text("X = 1\n")
    handler_error = pytest.raises(HandlerError, match="must define model_fn")
    with handler_error:
        load_handler(tmp_path, "nothing.py", model_dir)
