"""Serving flavours: the XGBoost container's script-mode defaults on a real Booster, the
framework registry, and Response-like answers."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import xgboost as xgb

from mlopskit.backends.local.inference_server import make_server
from mlopskit.errors import ValidationError
from mlopskit.sagemaker_api.inference.codecs import read_recordio_protobuf
from mlopskit.sagemaker_api.inference.frameworks import serving_framework
from mlopskit.sagemaker_api.inference.handlers import HandlerError, InferenceHandler, load_handler

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 4))

# In the style of the public SageMaker XGBoost script-mode examples: only model_fn.
ONLY_MODEL_FN = '''
import os

import xgboost as xgb


def model_fn(model_dir):
    """Load the Booster the training script saved."""
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "xgboost-model.ubj"))
    return booster
'''


@pytest.fixture(scope="module")
def booster(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, xgb.Booster]:
    folder = tmp_path_factory.mktemp("xgboost-model")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 4))
    labels = (features[:, 0] + features[:, 1] - features[:, 3] > 0).astype(int)
    trained = xgb.train({"objective": "binary:logistic", "max_depth": 3},
                        xgb.DMatrix(features, label=labels), num_boost_round=10)
    trained.save_model(str(folder / "xgboost-model.ubj"))
    return folder, trained


@pytest.fixture
def model_dir(booster: tuple[Path, xgb.Booster]) -> Path:
    return booster[0]


def expected(booster: tuple[Path, xgb.Booster], rows: object) -> list[float]:
    return booster[1].predict(xgb.DMatrix(rows)).tolist()


def _load(tmp_path: Path, model_dir: Path, script: str, framework: str | None = "xgboost",
          default_accept: str | None = None) -> InferenceHandler:
    (tmp_path / "inference.py").write_text(textwrap.dedent(script))
    return load_handler(tmp_path, "inference.py", model_dir, default_accept,
                        framework=framework)


@pytest.fixture
def xgb_handler(tmp_path: Path, model_dir: Path) -> InferenceHandler:
    return _load(tmp_path, model_dir, ONLY_MODEL_FN)


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def _sdk_recordio(array: object, labels: object = None) -> bytes:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker.amazon.common import (
        write_numpy_to_dense_tensor,
        write_spmatrix_to_sparse_tensor,
    )

    buffer = io.BytesIO()
    if scipy.sparse.issparse(array):
        write_spmatrix_to_sparse_tensor(buffer, array, labels)
    else:
        write_numpy_to_dense_tensor(buffer, array, labels)
    return buffer.getvalue()


# --- XGBoost: decoding ---------------------------------------------------------------------

def test_csv_rows_predict_like_the_booster(xgb_handler, booster):
    reply = xgb_handler.invoke(_csv(X), "text/csv", "application/json")
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == expected(booster, X)


def test_one_csv_row_is_one_prediction(xgb_handler, booster):
    reply = xgb_handler.invoke(_csv(X[:1]), "text/csv", "application/json")
    assert json.loads(reply.body) == expected(booster, X[:1])


def test_csv_delimiter_is_sniffed_and_empty_fields_are_missing(xgb_handler, booster):
    rows = np.array([[0.3, -0.4, 1.0, -0.2], [-0.3, 0.2, 1.0, 0.1]])
    rows[:, 0] = np.nan
    assert expected(booster, rows) != expected(booster, np.nan_to_num(rows))  # not zeros
    body = "\n".join(";".join("" if np.isnan(v) else repr(float(v)) for v in row)
                     for row in rows).encode()
    reply = xgb_handler.invoke(body, "text/csv; charset=utf-8", "application/json")
    assert json.loads(reply.body) == expected(booster, rows)


def test_the_booster_is_called_without_feature_validation(tmp_path, booster):
    # A Booster trained on named features refuses unnamed data unless, as the container
    # does, predict is told validate_features=False.
    folder = tmp_path / "model"
    folder.mkdir()
    named = xgb.train({"objective": "binary:logistic"},
                      xgb.DMatrix(X, label=[0, 1] * 3, feature_names=list("abcd")), 2)
    named.save_model(str(folder / "xgboost-model.ubj"))
    reply = _load(tmp_path, folder, ONLY_MODEL_FN).invoke(_csv(X), "text/csv", None)
    assert json.loads(reply.body) == named.predict(xgb.DMatrix(X),
                                                   validate_features=False).tolist()


def test_a_trailing_newline_in_csv_is_refused_with_the_reason(xgb_handler):
    with pytest.raises(HandlerError, match="trailing newline") as caught:
        xgb_handler.invoke(_csv(X) + b"\n", "text/csv", "application/json")
    assert caught.value.status == 400


@pytest.mark.parametrize("content_type", ["text/libsvm", "text/x-libsvm"])
def test_libsvm_rows_with_one_based_indices(xgb_handler, booster, content_type):
    body = "\n".join("0 " + " ".join(f"{i + 1}:{v!r}" for i, v in enumerate(row.tolist()))
                     for row in X).encode()
    reply = xgb_handler.invoke(body, content_type, "application/json")
    assert json.loads(reply.body) == expected(booster, X)


def test_libsvm_absent_features_are_zero_as_in_the_container(xgb_handler, booster):
    row = X[0].tolist()
    body = f"1:{row[0]!r} 2:{row[1]!r} 4:{row[3]!r}".encode()
    reply = xgb_handler.invoke(body, "text/libsvm", "application/json")
    assert json.loads(reply.body) == expected(booster, [[row[0], row[1], 0.0, row[3]]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recordio_protobuf_from_the_sdk_writer(xgb_handler, booster, dtype):
    body = _sdk_recordio(X.astype(dtype), labels=np.arange(len(X), dtype="float32"))
    reply = xgb_handler.invoke(body, "application/x-recordio-protobuf", "application/json")
    assert json.loads(reply.body) == expected(booster, X.astype(dtype))


def test_sparse_recordio_protobuf_from_the_sdk_writer(xgb_handler, booster):
    dense = np.where(np.abs(X) > 0.5, X, 0.0)
    dense[2] = 0.0  # an all-zero row: the SDK writes its shape alone
    matrix = scipy.sparse.csr_matrix(dense)
    reply = xgb_handler.invoke(_sdk_recordio(matrix), "application/x-recordio-protobuf",
                               "application/json")
    assert json.loads(reply.body) == expected(booster, matrix)


@pytest.mark.parametrize("array", [
    np.array([[1.5, -2.0, 0.0], [3.25, 4.0, -0.5]]),
    np.array([[1.5, -2.0, 0.0], [3.25, 4.0, -0.5]], dtype="float32"),
    np.array([[7, -300000, 0], [-1, 2, 2**31 - 1]]),
])
def test_the_recordio_reader_matches_the_sdk_writer_dense(array):
    labels = np.array([1.0, 0.0])
    features, read_labels = read_recordio_protobuf(_sdk_recordio(array, labels))
    assert features.tolist() == array.tolist()
    assert read_labels.tolist() == labels.tolist()


def test_the_recordio_reader_matches_the_sdk_writer_sparse():
    matrix = scipy.sparse.csr_matrix(np.array([[0.0, 2.5, 0.0, 0.0, 1.0],
                                               [0.0, 0.0, 0.0, 0.0, 0.0],
                                               [3.0, 0.0, 0.0, 7.0, 0.0]]))
    features, labels = read_recordio_protobuf(_sdk_recordio(matrix))
    assert scipy.sparse.issparse(features) and features.shape == (3, 5)
    assert features.toarray().tolist() == matrix.toarray().tolist()
    assert features.nnz == matrix.nnz  # absent stays absent (missing), not an explicit 0
    assert labels is None


@pytest.mark.parametrize("kind", ["no magic number", "truncated"])
def test_a_malformed_recordio_body_is_400(xgb_handler, kind):
    body = b"\x00" * 12 if kind == "no magic number" else _sdk_recordio(X)[:-12]
    with pytest.raises(HandlerError, match="cannot decode the application/x-recordio") as caught:
        xgb_handler.invoke(body, "application/x-recordio-protobuf", None)
    assert caught.value.status == 400


@pytest.mark.parametrize("content_type", ["application/json", None, "application/x-npy"])
def test_json_and_other_types_are_unsupported_input(xgb_handler, content_type):
    # The XGBoost container decodes only CSV, LibSVM and RecordIO-protobuf; a missing
    # Content-Type means JSON there too.
    with pytest.raises(HandlerError) as caught:
        xgb_handler.invoke(json.dumps(X.tolist()).encode(), content_type, "application/json")
    assert caught.value.status == 415
    assert ("supported: text/csv, text/libsvm, text/x-libsvm, application/x-recordio-protobuf"
            in str(caught.value))


# --- XGBoost: encoding -----------------------------------------------------------------------

def test_accept_csv_json_and_npy(xgb_handler, booster):
    want = booster[1].predict(xgb.DMatrix(X))
    reply = xgb_handler.invoke(_csv(X), "text/csv", "text/csv")
    assert reply.content_type == "text/csv"
    assert reply.body.decode().splitlines() == [str(v) for v in want]  # float32 digits
    reply = xgb_handler.invoke(_csv(X), "text/csv", "application/json")
    assert json.loads(reply.body) == want.tolist()
    reply = xgb_handler.invoke(_csv(X), "text/csv", "application/x-npy")
    assert reply.content_type == "application/x-npy"
    assert np.load(io.BytesIO(reply.body)).tolist() == want.tolist()
    with pytest.raises(HandlerError, match="accept type 'image/png'") as caught:
        xgb_handler.invoke(_csv(X), "text/csv", "image/png")
    assert caught.value.status == 406


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_missing_accept_is_json_unless_the_default_accept_says_otherwise(
        tmp_path, model_dir, booster, accept):
    reply = _load(tmp_path, model_dir, ONLY_MODEL_FN).invoke(_csv(X), "text/csv", accept)
    assert reply.content_type == "application/json"
    assert json.loads(reply.body) == expected(booster, X)
    # SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, as the model's environment passes it on.
    reply = _load(tmp_path, model_dir, ONLY_MODEL_FN, default_accept="text/csv").invoke(
        _csv(X), "text/csv", accept)
    assert reply.content_type == "text/csv"
    assert len(reply.body.decode().splitlines()) == len(X)


def test_xgboost_without_model_fn_fails_at_load(tmp_path, model_dir):
    with pytest.raises(HandlerError, match="must define model_fn") as caught:
        _load(tmp_path, model_dir, "X = 1\n")
    assert caught.value.status == 500
    with pytest.raises(HandlerError, match="algorithm mode"):
        load_handler(None, None, model_dir, framework="xgboost")


def test_xgboost_script_handlers_override_the_defaults(tmp_path, model_dir, booster):
    script = ONLY_MODEL_FN + textwrap.dedent('''
        import json
        import numpy as np

        def input_fn(body, content_type):
            return xgb.DMatrix(np.array(json.loads(body)))
    ''')
    reply = _load(tmp_path, model_dir, script).invoke(json.dumps(X.tolist()).encode(),
                                                      "application/json", None)
    assert json.loads(reply.body) == expected(booster, X)


# --- the registry ----------------------------------------------------------------------------

@pytest.mark.parametrize(("framework", "image_uri", "flavour"), [
    ("SKLEARN", None, "sklearn"),
    ("scikit-learn", None, "sklearn"),
    ("sklearn", None, "sklearn"),
    ("XGBOOST", None, "xgboost"),
    ("PyTorch", None, "pytorch"),
    ("xgboost", "1.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1", "xgboost"),
    (None, "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
     "sklearn"),
    (None, "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1", "xgboost"),
    (None, "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310",
     "pytorch"),
    (None, "763104351884.dkr.ecr.us-east-1.amazonaws.com/tensorflow-inference:2.13-cpu",
     "tensorflow"),
    (None, "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-inference:1.9-cpu-py38",
     "mxnet"),
    (None, "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.1"
     "-transformers4.37-cpu-py310-ubuntu22.04", "huggingface"),
    (None, "1.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost@sha256:" + "a" * 64,
     "xgboost"),
    (None, "localhost:5000/team/pytorch-scorer", "pytorch"),
    (None, "1.dkr.ecr.us-east-1.amazonaws.com/my-own-scorer:latest", "sklearn"),
    (None, None, "sklearn"),
])
def test_serving_framework(framework, image_uri, flavour):
    assert serving_framework(framework, image_uri) == flavour


def test_an_unknown_framework_is_refused_listing_the_known_ones(tmp_path, model_dir):
    known = "huggingface, mxnet, pytorch, sklearn, tensorflow, xgboost"
    with pytest.raises(ValidationError, match=known) as caught:
        serving_framework("catboost", None)
    assert caught.value.field == "framework"
    with pytest.raises(HandlerError, match="'catboost' is not a serving framework"):
        _load(tmp_path, model_dir, ONLY_MODEL_FN, framework="catboost")


def test_tensorflow_is_refused_at_load(tmp_path, model_dir):
    with pytest.raises(HandlerError, match="TensorFlow Serving") as caught:
        _load(tmp_path, model_dir, ONLY_MODEL_FN, framework="tensorflow")
    assert caught.value.status == 500


PLAIN_MODEL_FN = '''
def model_fn(model_dir):
    raise RuntimeError("model_fn ran: the handlers should have been checked first")
'''


def test_pytorch_without_input_fn_is_refused_before_loading(tmp_path, model_dir):
    script = PLAIN_MODEL_FN + textwrap.dedent('''
        def predict_fn(data, model):
            return data

        def output_fn(prediction, accept):
            return prediction
    ''')
    with pytest.raises(HandlerError) as caught:
        _load(tmp_path, model_dir, script, framework="pytorch")
    message = str(caught.value)
    assert caught.value.status == 500
    assert ("does not emulate the PyTorch container's default input_fn; define "
            "input_fn(body, content_type)") in message
    assert "in inference.py" in message
    assert "predict_fn(" not in message.split(";")[0]


def test_mxnet_without_model_fn_names_it(tmp_path, model_dir):
    script = "def transform_fn(model, body, content_type, accept):\n    return body\n"
    with pytest.raises(HandlerError, match=r"MXNet container's default model_fn; define "
                                           r"model_fn\(model_dir\) in inference.py"):
        _load(tmp_path, model_dir, script, framework="mxnet")


PYTORCH_ALL_HANDLERS = '''
import json


def model_fn(model_dir):
    return {"scale": 3}


def input_fn(body, content_type):
    assert content_type == "application/json" and isinstance(body, str)
    return json.loads(body)["inputs"]


def predict_fn(data, model):
    return [value * model["scale"] for value in data]


def output_fn(prediction, accept):
    return json.dumps({"outputs": prediction}), accept
'''


def test_a_pytorch_script_with_every_handler_runs(tmp_path, model_dir):
    handler = _load(tmp_path, model_dir, PYTORCH_ALL_HANDLERS, framework="pytorch")
    reply = handler.invoke(b'{"inputs": [1, 2.5]}', "application/json", None)
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"outputs": [3, 7.5]}


def test_a_huggingface_script_with_transform_fn_runs(tmp_path, model_dir):
    script = '''
        def model_fn(model_dir):
            return str.upper

        def transform_fn(model, body, content_type, accept):
            return model(body.decode()), "text/plain"
    '''
    handler = _load(tmp_path, model_dir, script, framework="huggingface")
    reply = handler.invoke(b"hello", "text/plain", None)
    assert (reply.body, reply.content_type) == (b"HELLO", "text/plain")


def test_the_sklearn_flavour_does_not_import_xgboost(tmp_path):
    (tmp_path / "inference.py").write_text(textwrap.dedent('''
        class Model:
            def predict(self, data):
                return data.sum(axis=1)

        def model_fn(model_dir):
            return Model()
    '''))
    code = textwrap.dedent(f'''
        import sys
        from pathlib import Path
        from mlopskit.sagemaker_api.inference.handlers import load_handler
        handler = load_handler(Path({str(tmp_path)!r}), "inference.py", Path("."))
        reply = handler.invoke(b"[[1, 2], [3, 4]]", "application/json", None)
        print(reply.body.decode())
        print("xgboost" in sys.modules)
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert json.loads(out[0]) == [3.0, 7.0]
    assert out[1] == "False"


# --- Response-like answers -------------------------------------------------------------------

RESPONSE_SCRIPT = '''
import json


class Response:
    """flask.Response's duck-typed API, as sagemaker_containers' worker.Response has it."""

    def __init__(self, response, status=200, mimetype=None):
        self.data = response.encode() if isinstance(response, str) else response
        self.status_code = status
        self.mimetype = mimetype

    def get_data(self):
        return self.data


def model_fn(model_dir):
    return sum


def input_fn(body, content_type):
    return json.loads(body)


def predict_fn(data, model):
    return None if not data else model(data)


def output_fn(prediction, accept):
    if prediction is None:
        return Response(json.dumps({"error": "no rows"}), status=422,
                        mimetype="application/json")
    return Response(str(prediction), mimetype="text/csv")
'''


@pytest.fixture
def serve(tmp_path: Path, model_dir: Path) -> Iterator[http.client.HTTPConnection]:
    handler = _load(tmp_path, model_dir, RESPONSE_SCRIPT, framework="sklearn")
    server = make_server(handler, variant="AllTraffic", max_payload=1024 * 1024)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
    yield conn
    conn.close()
    server.shutdown()
    server.server_close()


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes, str]:
    conn.request("POST", "/invocations", body=body,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Content-Type") or ""


def test_a_response_like_answer_sets_body_type_and_status(serve):
    assert _post(serve, b"[1, 2, 3.5]") == (200, b"6.5", "text/csv")
    status, body, content_type = _post(serve, b"[]")
    assert (status, content_type) == (422, "application/json")
    assert json.loads(body) == {"error": "no rows"}
    serve.request("GET", "/mlopskit/metrics")
    assert json.loads(serve.getresponse().read())["errors_4xx"] == 1


def test_a_response_content_type_wins_over_its_mimetype():
    from mlopskit.sagemaker_api.inference.handlers import _as_reply

    class FlaskLike:
        status_code = 200
        mimetype = "text/csv"
        content_type = "text/csv; charset=utf-8"

        def get_data(self) -> bytes:
            return b"1\n"

    reply = _as_reply(FlaskLike(), "application/json")
    assert (reply.body, reply.content_type, reply.status) == (b"1\n", "text/csv; charset=utf-8",
                                                              200)
