"""The ``sagemaker_containers`` stand-in: imported as a job imports it, and module by module."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlopskit._compat
from mlopskit._compat.sagemaker_containers import _recordio, training_env
from mlopskit._compat.sagemaker_containers.beta.framework import (
    content_types,
    encoders,
    entry_point,
    env,
    errors,
    functions,
    mapping,
    modules,
    server,
    transformer,
    worker,
)

COMPAT = Path(mlopskit._compat.__file__).parent
JOB_VARIABLES = ("CURRENT_HOST", "TRAINING_JOB_NAME")


def _job_environ(**extra: str) -> dict[str, str]:
    """This process's environment without job variables, with the stand-in importable."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("SM_", "SAGEMAKER_")) and k not in JOB_VARIABLES}
    environ["PYTHONPATH"] = str(COMPAT)
    environ.update(extra)
    return environ


def _run(args: list[str], cwd: Path, **extra: str) -> Any:
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=_job_environ(**extra),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _write_config(base: Path, hyperparameters: dict[str, str],
                  input_data_config: dict[str, Any], resource_config: dict[str, Any]) -> None:
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(json.dumps(input_data_config))
    (config / "resourceconfig.json").write_text(json.dumps(resource_config))


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean job environment whose ``SAGEMAKER_BASE_DIR`` is an empty folder."""
    for key in list(os.environ):
        if key.startswith(("SM_", "SAGEMAKER_")) or key in JOB_VARIABLES:
            monkeypatch.delenv(key)
    root = tmp_path / "opt_ml"
    root.mkdir()
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(root))
    return root


# --- as a job imports it ---------------------------------------------------------------------

FEATURIZER = '''
import json

import numpy as np
from sagemaker_containers.beta.framework import (
    content_types, encoders, env, modules, transformer, worker)


def model_fn(model_dir):
    return {"scale": 2.0}


def input_fn(request_body, request_content_type):
    if request_content_type == content_types.CSV:
        return encoders.decode(request_body, request_content_type)
    raise ValueError("featurizer only reads CSV, not " + request_content_type)


def predict_fn(features, model):
    return np.atleast_2d(features) * model["scale"]


def output_fn(prediction, accept):
    if accept == content_types.JSON:
        rows = [{"features": row} for row in prediction.tolist()]
        return worker.Response(json.dumps({"instances": rows}), mimetype=accept)
    if accept == content_types.CSV:
        return worker.Response(encoders.encode(prediction, accept), mimetype=accept)
    raise RuntimeError("featurizer cannot answer " + accept)
'''

SERVE_FEATURIZER = '''
import json
import sagemaker_containers
import featurizer

model = featurizer.model_fn("/unused")
answers = {}
for accept in ("text/csv", "application/json"):
    features = featurizer.input_fn("1,2\\n3,4\\n", "text/csv")
    reply = featurizer.output_fn(featurizer.predict_fn(features, model), accept)
    answers[accept] = [reply.status_code, reply.mimetype, reply.get_data().decode()]
print(json.dumps({"package": sagemaker_containers.__file__, "answers": answers}))
'''


def test_featurizer_script_answers_with_worker_responses(tmp_path: Path) -> None:
    (tmp_path / "featurizer.py").write_text(FEATURIZER)
    out = _run(["-c", SERVE_FEATURIZER], cwd=tmp_path)
    assert Path(out["package"]).parent.parent == COMPAT
    assert out["answers"]["text/csv"] == [200, "text/csv", "2.0,4.0\n6.0,8.0\n"]
    status, mimetype, body = out["answers"]["application/json"]
    assert (status, mimetype) == (200, "application/json")
    assert json.loads(body) == {"instances": [{"features": [2.0, 4.0]},
                                              {"features": [6.0, 8.0]}]}


def test_importing_the_package_loads_neither_numpy_nor_mlopskit(tmp_path: Path) -> None:
    code = textwrap.dedent("""
        import json, sys
        from sagemaker_containers.beta.framework import (
            content_types, encoders, env, errors, functions, mapping, modules, transformer,
            worker)
        from sagemaker_containers import _content_types, _errors
        import sagemaker_containers
        loaded = [m for m in sys.modules if m.split(".")[0] in ("numpy", "mlopskit", "scipy")]
        print(json.dumps({"loaded": loaded, "csv": _content_types.CSV,
                          "client_error": _errors.ClientError.__name__,
                          "has_training_env": callable(sagemaker_containers.training_env)}))
    """)
    out = _run(["-c", code], cwd=tmp_path)
    assert out == {"loaded": [], "csv": "text/csv", "client_error": "ClientError",
                   "has_training_env": True}


TRAIN = '''
import json
import os

import sagemaker_containers
from sagemaker_containers.beta.framework import env as sm_env

if __name__ == "__main__":
    env = sagemaker_containers.training_env()
    with open(os.path.join(env.channel_input_dirs["train"], "rows.csv")) as f:
        rows = f.read().splitlines()
    with open(os.path.join(env.model_dir, "model.json"), "w") as f:
        json.dump({"rows": len(rows), "epochs": env.hyperparameters["epochs"]}, f)
    summary = {name: getattr(env, name) for name in (
        "hyperparameters", "additional_framework_parameters", "hosts", "current_host",
        "is_master", "master_hostname", "network_interface_name", "module_name",
        "user_entry_point", "module_dir", "job_name", "log_level", "model_dir",
        "output_data_dir", "input_dir", "input_config_dir", "output_dir", "channel_input_dirs",
        "input_data_config", "resource_config")}
    summary["cmd_args"] = env.to_cmd_args()
    summary["env_vars"] = env.to_env_vars()
    summary["as_dict_has_hyperparameters"] = "hyperparameters" in dict(env)
    summary["module_model_dir"] = sm_env.model_dir
    print(json.dumps(summary))
'''


def test_training_script_reads_its_job_through_training_env(tmp_path: Path) -> None:
    root = tmp_path / "opt_ml"
    _write_config(
        root,
        hyperparameters={
            "epochs": "5", "learning-rate": "0.01", "optimizer": '"adam"', "note": "not json",
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"s3://bucket/job-7/source/sourcedir.tar.gz"',
            "sagemaker_container_log_level": "10", "sagemaker_job_name": '"job-7"',
            "sagemaker_distributed_dataparallel_enabled": "false",
        },
        input_data_config={"train": {"ContentType": "text/csv", "TrainingInputMode": "File",
                                     "S3DistributionType": "FullyReplicated"}},
        resource_config={"current_host": "algo-2", "hosts": ["algo-1", "algo-2"],
                         "network_interface_name": "eth1"},
    )
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "rows.csv").write_text("1,2\n3,4\n")
    (root / "model").mkdir()
    (tmp_path / "train.py").write_text(TRAIN)

    out = _run(["train.py"], cwd=tmp_path, SAGEMAKER_BASE_DIR=str(root))

    assert json.loads((root / "model" / "model.json").read_text()) == {"rows": 2, "epochs": 5}
    assert out["hyperparameters"] == {"epochs": 5, "learning-rate": 0.01, "optimizer": "adam",
                                      "note": "not json"}
    assert out["additional_framework_parameters"] == {
        "sagemaker_distributed_dataparallel_enabled": False}
    assert (out["hosts"], out["current_host"], out["is_master"], out["master_hostname"]) == (
        ["algo-1", "algo-2"], "algo-2", False, "algo-1")
    assert out["network_interface_name"] == "eth1"
    assert (out["module_name"], out["user_entry_point"]) == ("train", "train.py")
    assert out["module_dir"] == "s3://bucket/job-7/source/sourcedir.tar.gz"
    assert (out["job_name"], out["log_level"]) == ("job-7", 10)
    assert out["model_dir"] == out["module_model_dir"] == str(root / "model")
    assert out["output_data_dir"] == str(root / "output" / "data")
    assert out["input_config_dir"] == str(root / "input" / "config")
    assert out["channel_input_dirs"] == {"train": str(root / "input" / "data" / "train")}
    assert out["input_data_config"]["train"]["ContentType"] == "text/csv"
    assert out["cmd_args"] == ["--epochs", "5", "--learning-rate", "0.01", "--note", "not json",
                               "--optimizer", "adam"]
    variables = out["env_vars"]
    assert variables["SM_HP_EPOCHS"] == "5"
    assert variables["SM_HP_OPTIMIZER"] == "adam"
    assert variables["SM_CHANNELS"] == '["train"]'
    assert variables["SM_CHANNEL_TRAIN"] == str(root / "input" / "data" / "train")
    assert json.loads(variables["SM_HPS"])["learning-rate"] == 0.01
    assert out["as_dict_has_hyperparameters"] is True


# --- environment -----------------------------------------------------------------------------

def test_hyperparameter_values_that_are_not_json_stay_strings(base: Path) -> None:
    _write_config(base, {"a": "[1, 2]", "b": "{oops", "c": '"x"'}, {}, {})
    assert env.read_hyperparameters() == {"a": [1, 2], "b": "{oops", "c": "x"}


def test_missing_config_files_give_a_single_host_job(base: Path) -> None:
    job = training_env()
    assert (job.hosts, job.current_host, job.is_master) == (["algo-1"], "algo-1", True)
    assert job.hyperparameters == {}
    assert job.channel_input_dirs == {}
    assert not (base / "code").exists()


def test_sm_variables_fill_in_for_missing_files_without_decoding_twice(
        base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SM_HPS", json.dumps({"depth": 3, "code": "1"}))
    monkeypatch.setenv("SM_CURRENT_HOST", "algo-3")
    monkeypatch.setenv("SM_HOSTS", '["algo-1", "algo-2", "algo-3"]')
    monkeypatch.setenv("SM_INPUT_DATA_CONFIG", '{"test": {}}')
    monkeypatch.setenv("SM_CHANNEL_TEST", "/data/test")
    job = training_env()
    assert job.hyperparameters == {"depth": 3, "code": "1"}
    assert (job.current_host, job.hosts[-1]) == ("algo-3", "algo-3")
    assert job.channel_input_dirs == {"test": "/data/test"}


def test_module_folders_follow_the_environment_when_read(
        base: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert env.model_dir == str(base / "model")
    assert env.hyperparameters_file_dir == str(base / "input" / "config" / "hyperparameters.json")
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(tmp_path / "other"))
    assert env.output_data_dir == str(tmp_path / "other" / "output" / "data")
    monkeypatch.setenv("SM_MODEL_DIR", "/models/here")
    assert env.model_dir == "/models/here"
    with pytest.raises(AttributeError, match="no_such_dir"):
        _ = env.no_such_dir


def test_serving_env_reads_the_container_variables(
        base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert env.ServingEnv().default_accept == "application/json"
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "inference.py")
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "text/csv")
    monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_WORKERS", "3")
    monkeypatch.setenv("SAGEMAKER_USE_NGINX", "false")
    serving = env.ServingEnv()
    assert (serving.module_name, serving.user_entry_point) == ("inference", "inference.py")
    assert (serving.default_accept, serving.model_server_workers) == ("text/csv", 3)
    assert (serving.use_nginx, serving.http_port, serving.model_server_timeout) == (
        False, "8080", 60)
    assert dict(serving)["default_accept"] == "text/csv"


# --- encoders --------------------------------------------------------------------------------

@pytest.mark.parametrize(("array", "expected"), [
    (np.array([1, 2]), "1\n2\n"),
    (np.array([[1, 2], [3, 4]]), "1,2\n3,4\n"),
    (np.array([[0.5, 1.5]], dtype="float32"), "0.5,1.5\n"),
    (np.float64(7.25), "7.25\n"),
    ([["a,b", "c"]], '"a,b",c\n'),
], ids=["1-D is a column", "2-D", "float32", "0-d", "quoted text"])
def test_csv_encoding(array: Any, expected: str) -> None:
    assert encoders.encode(array, content_types.CSV) == expected


def test_json_encoding_turns_numpy_values_into_lists_and_numbers() -> None:
    assert encoders.encode(np.array([1, 2]), content_types.JSON) == "[1, 2]"
    body = encoders.array_to_json({"p": np.array([[0.25]], dtype="float32"), "n": np.int32(4)})
    assert json.loads(body) == {"p": [[0.25]], "n": 4}
    with pytest.raises(TypeError, match="object"):
        encoders.array_to_json(object())


def test_npy_round_trip_keeps_dtype_and_shape() -> None:
    array = np.arange(6, dtype="float32").reshape(2, 3)
    payload = encoders.encode(array, content_types.NPY)
    assert isinstance(payload, bytes)
    back = encoders.decode(payload, content_types.NPY)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, array)


def test_npy_never_unpickles() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(errors.ClientError, match="allow_pickle=False"):
        encoders.npy_to_numpy(buffer.getvalue())
    with pytest.raises(errors.ClientError, match="object arrays"):
        encoders.array_to_npy(np.array([{"a": 1}], dtype=object))


@pytest.mark.parametrize(("body", "shape"), [
    ("1,2\n3,4\n", (2, 2)),
    ("1,2,3", (3,)),
    ("1\n2\n3\n", (3,)),
    ("7", ()),
], ids=["rows", "one row", "one column", "one value"])
def test_csv_decoding_squeezes_like_the_container(body: str, shape: tuple[int, ...]) -> None:
    array = encoders.decode(body, content_types.CSV)
    assert array.shape == shape
    assert array.dtype == np.float64


def test_csv_decoding_of_text_and_bad_input() -> None:
    assert encoders.csv_to_numpy('a,"b,c"').tolist() == ["a", "b,c"]
    assert encoders.csv_to_numpy("1,2", dtype="int32").dtype == np.int32
    with pytest.raises(errors.ClientError, match="float32"):
        encoders.csv_to_numpy("1,x", dtype="float32")
    with pytest.raises(errors.ClientError, match="CSV"):
        encoders.csv_to_numpy("1,2\n3\n")


def test_json_decoding() -> None:
    array = encoders.decode("[[1, 2], [3, 4.5]]", content_types.JSON)
    assert array.tolist() == [[1.0, 2.0], [3.0, 4.5]]


@pytest.mark.parametrize("content_type", ["image/png", "text/csv; charset=utf-8", ""])
def test_unsupported_content_types_are_named(content_type: str) -> None:
    with pytest.raises(errors.UnsupportedFormatError) as decoding:
        encoders.decode("1", content_type)
    with pytest.raises(errors.UnsupportedFormatError) as encoding:
        encoders.encode([1], content_type)
    for caught in (decoding.value, encoding.value):
        assert caught.content_type == content_type
        assert repr(content_type) in str(caught)


def test_sparse_matrices_are_written_dense() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    matrix = sparse.csr_matrix(np.array([[0.0, 1.5], [2.0, 0.0]]))
    assert encoders.encode(matrix, content_types.CSV) == "0.0,1.5\n2.0,0.0\n"
    assert json.loads(encoders.encode(matrix, content_types.JSON)) == [[0.0, 1.5], [2.0, 0.0]]


# --- recordio-protobuf -----------------------------------------------------------------------

def _record_class() -> Any:
    """The ``aialgs.data.Record`` message class, declared here for an independent parser."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    package = "mlopskit_test.aialgs"
    proto = descriptor_pb2.FileDescriptorProto(name="mlopskit_test_record.proto",
                                               package=package, syntax="proto2")
    packed = descriptor_pb2.FieldOptions(packed=True)
    for name, kind in (("Float32Tensor", field.TYPE_FLOAT), ("Float64Tensor", field.TYPE_DOUBLE),
                       ("Int32Tensor", field.TYPE_INT32)):
        tensor = proto.message_type.add(name=name)
        tensor.field.add(name="values", number=1, label=field.LABEL_REPEATED, type=kind,
                         options=packed)
        for number, part in ((2, "keys"), (3, "shape")):
            tensor.field.add(name=part, number=number, label=field.LABEL_REPEATED,
                             type=field.TYPE_UINT64, options=packed)
    value = proto.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    for name, number, kind_name in (("float32_tensor", 2, "Float32Tensor"),
                                    ("float64_tensor", 3, "Float64Tensor"),
                                    ("int32_tensor", 7, "Int32Tensor")):
        value.field.add(name=name, number=number, label=field.LABEL_OPTIONAL,
                        type=field.TYPE_MESSAGE, type_name=f".{package}.{kind_name}",
                        oneof_index=0)
    record = proto.message_type.add(name="Record")
    for name, number in (("features", 1), ("label", 2)):
        entry_name = f"{name.capitalize()}Entry"
        entry = record.nested_type.add(name=entry_name,
                                       options=descriptor_pb2.MessageOptions(map_entry=True))
        entry.field.add(name="key", number=1, label=field.LABEL_OPTIONAL,
                        type=field.TYPE_STRING)
        entry.field.add(name="value", number=2, label=field.LABEL_OPTIONAL,
                        type=field.TYPE_MESSAGE, type_name=f".{package}.Value")
        record.field.add(name=name, number=number, label=field.LABEL_REPEATED,
                         type=field.TYPE_MESSAGE, type_name=f".{package}.Record.{entry_name}")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Record"))


def _records(payload: bytes) -> list[Any]:
    assert len(payload) % 4 == 0
    record_class = _record_class()
    parsed = []
    for message in _recordio.read_recordio(payload):
        record = record_class()
        record.ParseFromString(message)
        parsed.append(record)
    return parsed


def test_recordio_dense_rows_with_labels() -> None:
    features = np.array([[1.5, -2.0, 0.0], [4.0, 5.0, 6.25]], dtype="float32")
    records = _records(encoders.array_to_recordio_protobuf(features, np.array([1, -3])))
    assert len(records) == 2
    assert list(records[1].features["values"].float32_tensor.values) == [4.0, 5.0, 6.25]
    assert [list(r.label["values"].int32_tensor.values) for r in records] == [[1], [-3]]
    assert not records[0].features["values"].float32_tensor.keys


def test_recordio_types_follow_the_dtype() -> None:
    (as_double,) = _records(encoders.array_to_recordio_protobuf(np.array([0.1, 0.2])))
    assert list(as_double.features["values"].float64_tensor.values) == [0.1, 0.2]
    (as_int,) = _records(encoders.array_to_recordio_protobuf(np.array([[-1, 300]])))
    assert list(as_int.features["values"].int32_tensor.values) == [-1, 300]


def test_recordio_sparse_rows_carry_keys_and_shape() -> None:
    sparse = pytest.importorskip("scipy.sparse")
    matrix = sparse.csr_matrix(np.array([[0.0, 2.5, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]))
    first, empty = _records(encoders.array_to_recordio_protobuf(matrix))
    tensor = first.features["values"].float64_tensor
    assert (list(tensor.values), list(tensor.keys), list(tensor.shape)) == ([2.5, 1.0], [1, 3],
                                                                            [4])
    assert list(empty.features["values"].float64_tensor.shape) == [4]


@pytest.mark.parametrize(("array", "labels", "message"), [
    (np.array([[True, False]]), None, "unsupported dtype bool"),
    (np.zeros((2, 2)), np.array([1.0, 2.0, 3.0]), "one value per row"),
    (np.zeros((2, 2, 2)), None, "1-D or 2-D"),
    (np.array([[2**40]]), None, "int32"),
])
def test_recordio_refusals(array: Any, labels: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encoders.array_to_recordio_protobuf(array, labels)


# --- worker.Response -------------------------------------------------------------------------

def test_response_like_an_output_fn_builds_it() -> None:
    reply = worker.Response(encoders.encode(np.array([[1, 2]]), "text/csv"), mimetype="text/csv")
    assert (reply.status_code, reply.status) == (200, "200 OK")
    assert (reply.mimetype, reply.content_type) == ("text/csv", "text/csv; charset=utf-8")
    assert reply.get_data() == reply.data == b"1,2\n"
    assert reply.get_data(as_text=True) == "1,2\n"
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"


def test_response_keywords_status_and_defaults() -> None:
    reply = worker.Response(response=b"\x93NUMPY", status=415, mimetype=content_types.NPY)
    assert (reply.status_code, reply.status, reply.mimetype) == (
        415, "415 UNSUPPORTED MEDIA TYPE", "application/x-npy")
    plain = worker.Response()
    assert (plain.get_data(), plain.mimetype, plain.status_code) == (b"", "application/json", 200)
    assert worker.Response("x", status="404 NOT FOUND").status_code == 404
    assert worker.Response(["a", b"b"]).get_data() == b"ab"


def test_response_content_type_and_headers() -> None:
    given = worker.Response("{}", content_type="application/json; charset=latin-1")
    assert given.content_type == "application/json; charset=latin-1"
    assert given.mimetype == "application/json"
    from_headers = worker.Response("a", headers={"content-type": "text/plain", "X-Id": "7"})
    assert (from_headers.mimetype, from_headers.headers["X-Id"]) == ("text/plain", "7")


def test_response_accept_is_deprecated_and_ignored() -> None:
    with pytest.warns(DeprecationWarning, match="accept"):
        reply = worker.Response("1", "text/csv")
    assert reply.mimetype == "application/json"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        worker.Response("1", mimetype="text/csv")


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"response": np.array([1.0])}, TypeError, "ndarray.*encoders.encode"),
    ({"response": [1, 2]}, TypeError, "int"),
    ({"status": "OK"}, ValueError, "'OK'"),
    ({"status": 42}, ValueError, "42"),
])
def test_response_refusals(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        worker.Response(**kwargs)


# --- the rest --------------------------------------------------------------------------------

def test_mapping_and_functions_helpers() -> None:
    assert mapping.to_cmd_args({"x": None, "depth": 2, "opts": {"b": 1, "a": True}}) == [
        "--depth", "2", "--opts", "a=True,b=1", "-x", ""]
    assert mapping.to_env_vars({"hosts": ["algo-1"], "raw": b"\xe9", "hp_lr": 0.5}) == {
        "SM_HOSTS": '["algo-1"]', "SM_RAW": "\xe9", "SM_HP_LR": "0.5"}

    def train(model_dir: str, epochs: int = 1) -> None: ...

    assert functions.matching_args(train, {"model_dir": "/m", "other": 1}) == {"model_dir": "/m"}
    wrapped = functions.error_wrapper(lambda: 1 / 0, errors.ClientError)
    with pytest.raises(errors.ClientError, match="division"):
        wrapped()


def test_error_classes() -> None:
    assert issubclass(errors.ExecuteUserScriptError, errors.ClientError)
    assert issubclass(errors.ImportModuleError, errors.ClientError)
    assert not issubclass(errors.UnsupportedFormatError, errors.ClientError)
    assert "'validation'" in str(errors.ChannelDoesNotExistException("validation"))
    failed = errors.ExecuteUserScriptError(["python", "train.py"], 2, b"boom")
    assert "python train.py" in str(failed) and "status 2" in str(failed) and "boom" in str(failed)


@pytest.mark.parametrize("call", [
    lambda: modules.run_module("s3://bucket/code.tar.gz", []),
    lambda: modules.import_module("s3://bucket/code.tar.gz"),
    lambda: server.start("app:app"),
    lambda: entry_point.run("s3://bucket/code.tar.gz", "train.py", []),
    lambda: transformer.Transformer().transform(),
])
def test_container_only_functions_say_the_backend_runs_the_script(call: Any) -> None:
    with pytest.raises(NotImplementedError, match="local backend"):
        call()


def test_local_stand_ins_that_do_work() -> None:
    assert entry_point._wait_hostname_resolution() is None
    assert modules.exists("json") and not modules.exists("surely_not_a_module_xyz")
    reply = transformer.default_output_fn(np.array([0.5]), "application/json")
    assert (reply.get_data(), reply.mimetype) == (b"[0.5]", "application/json")
    with pytest.raises(errors.UnsupportedFormatError, match="text/html"):
        transformer.default_input_fn("<p>", "text/html")
