"""Processing specs <-> CreateProcessingJob requests, and the pure pieces of the local
runner (the /opt/ml path map, the python command check)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlopskit.backends.local._pathmap import PathMap
from mlopskit.errors import CapabilityError, ValidationError
from mlopskit.sagemaker_api.processing import (
    create_processing_job_request,
    processing_spec_from_request,
    python_options,
)
from mlopskit.specs import build
from mlopskit.specs.processing import ProcessingJobSpec

ROLE = "arn:aws:iam::123456789012:role/mlopskit-test"
REFERENCE = Path(__file__).parent.parent / "data" / "sdk-v2-pipeline-definition.json"


def _spec(**overrides: Any) -> ProcessingJobSpec:
    values: dict[str, Any] = {"name": "prep-1", "code_uri": "s3://bkt-1/prep-1/input/code/p.py",
                              "script": "p.py", "instance_type": "ml.m5.large",
                              "image_uri": "img:1"}
    values.update(overrides)
    return build(ProcessingJobSpec, "", **values)


SPECS = {
    "minimal": _spec(),
    "everything": _spec(
        command=("python3", "-u", "-W", "ignore"), instance_count=3, volume_size_gb=100,
        arguments=("--rows", "10", "", "two words"), environment={"MODE": "full"},
        max_runtime=7200, tags={"team": "fraud"},
        inputs=({"name": "raw", "s3_uri": "s3://bkt-1/raw/", "local_path":
                 "/opt/ml/processing/input", "distribution": "ShardedByS3Key"},
                {"name": "model", "s3_uri": "s3://bkt-1/m/model.tar.gz",
                 "local_path": "/opt/ml/processing/model"}),
        outputs=({"name": "train", "s3_uri": "s3://bkt-1/out/train",
                  "local_path": "/opt/ml/processing/train"},
                 {"name": "report", "s3_uri": "s3://bkt-1/out/report/",
                  "local_path": "/opt/ml/processing/report"})),
    "code-prefix": _spec(code_uri="s3://bkt-1/code/", script="jobs/prep.py"),
}


@pytest.fixture(scope="module")
def request_shape() -> Any:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateProcessingJob").input_shape


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_requests_pass_botocore_validation(spec, request_shape):
    request = create_processing_job_request(spec, role_arn=ROLE)
    report = ParamValidator().validate(request, request_shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_spec_request_spec_round_trip(spec):
    request = create_processing_job_request(spec, role_arn=ROLE)
    assert processing_spec_from_request(request, name=spec.name) == spec
    # The engine names the job: the request's own name is ignored.
    assert processing_spec_from_request(request, name="other").name == "other"


def test_request_shape_follows_the_sdk():
    request = create_processing_job_request(SPECS["everything"], role_arn=ROLE)
    assert request["AppSpecification"] == {
        "ImageUri": "img:1",
        "ContainerEntrypoint": ["python3", "-u", "-W", "ignore",
                                "/opt/ml/processing/input/code/p.py"],
        "ContainerArguments": ["--rows", "10", "", "two words"]}
    code = request["ProcessingInputs"][-1]
    assert code == {"InputName": "code", "AppManaged": False, "S3Input": {
        "S3Uri": "s3://bkt-1/prep-1/input/code/p.py",
        "LocalPath": "/opt/ml/processing/input/code", "S3DataType": "S3Prefix",
        "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated",
        "S3CompressionType": "None"}}
    assert request["ProcessingInputs"][0]["S3Input"]["S3DataDistributionType"] == \
        "ShardedByS3Key"
    assert request["ProcessingOutputConfig"]["Outputs"][1] == {
        "OutputName": "report", "AppManaged": False, "S3Output": {
            "S3Uri": "s3://bkt-1/out/report/", "LocalPath": "/opt/ml/processing/report",
            "S3UploadMode": "EndOfJob"}}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceType": "ml.m5.large", "InstanceCount": 3, "VolumeSizeInGB": 100}
    minimal = create_processing_job_request(SPECS["minimal"], role_arn=ROLE)
    for absent in ("ProcessingOutputConfig", "StoppingCondition", "Environment", "Tags"):
        assert absent not in minimal
    assert "ContainerArguments" not in minimal["AppSpecification"]


def test_a_spec_without_an_image_needs_one_given():
    spec = _spec(image_uri=None, framework="sklearn", framework_version="1.2-1")
    with pytest.raises(ValueError, match="image_uri"):
        create_processing_job_request(spec, role_arn=ROLE)
    assert create_processing_job_request(spec, role_arn=ROLE, image_uri="resolved:1")[
        "AppSpecification"]["ImageUri"] == "resolved:1"


def _resolve(value: Any, values: dict[str, str]) -> Any:
    """What the pipeline engine does: every expression replaced by its value."""
    if isinstance(value, dict) and "Get" in value:
        return values[value["Get"]]
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        return join["On"].join(_resolve(v, values) for v in join["Values"])
    if isinstance(value, dict):
        return {k: _resolve(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, values) for v in value]
    return value


@pytest.fixture(scope="module")
def sdk_steps() -> dict[str, dict[str, Any]]:
    definition = json.loads(REFERENCE.read_text())
    values = {
        "Parameters.InputDataUrl": "s3://bkt-1/raw/",
        "Execution.PipelineExecutionId": "exec-1",
        "Steps.Train.ModelArtifacts.S3ModelArtifacts": "s3://bkt-1/train/model.tar.gz",
        "Steps.Preprocess.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri":
            "s3://dummy-mlopskit-bucket/preprocess/exec-1/test",
    }
    return {s["Name"]: _resolve(s["Arguments"], values) for s in definition["Steps"]
            if s["Type"] == "Processing"}


def test_sdk_written_requests_become_specs(sdk_steps):
    pre = processing_spec_from_request(sdk_steps["Preprocess"], name="preprocess-1")
    assert (pre.script, pre.command, pre.code_uri) == (
        "preprocess.py", ("python3",), "s3://dummy-mlopskit-bucket/code/preprocess.py")
    assert [(i.name, i.s3_uri, i.local_path) for i in pre.inputs] == [
        ("input-1", "s3://bkt-1/raw/", "/opt/ml/processing/input")]
    assert {o.name: o.s3_uri for o in pre.outputs} == {
        n: f"s3://dummy-mlopskit-bucket/preprocess/exec-1/{n}"
        for n in ("train", "validation", "test")}
    assert (pre.instance_type, pre.instance_count, pre.max_runtime) == ("ml.m5.xlarge", 1, None)
    evaluate = processing_spec_from_request(sdk_steps["Evaluate"], name="evaluate-1")
    assert [i.local_path for i in evaluate.inputs] == ["/opt/ml/processing/model",
                                                       "/opt/ml/processing/test"]
    assert evaluate.outputs[0].local_path == "/opt/ml/processing/evaluation"


def test_an_unresolved_expression_names_its_field(sdk_steps):
    request = copy.deepcopy(sdk_steps["Preprocess"])
    request["ProcessingInputs"][0]["S3Input"]["S3Uri"] = {"Get": "Parameters.InputDataUrl"}
    with pytest.raises(ValidationError) as info:
        processing_spec_from_request(request, name="p-1")
    assert info.value.field == "ProcessingInputs[0].S3Input.S3Uri"
    assert "expected a string" in str(info.value)


def _edit(request: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(request)
    target = edited
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return edited


_DELETE = object()
_BASE = create_processing_job_request(SPECS["everything"], role_arn=ROLE)

# (case id, where to change the request, new value, error type, text the message holds)
REFUSED: list[tuple[str, list[Any], Any, type[Exception], str]] = [
    ("bash-entrypoint", ["AppSpecification", "ContainerEntrypoint"],
     ["bash", "/opt/ml/processing/input/code/p.sh"], CapabilityError,
     "AppSpecification.ContainerEntrypoint: command ['bash']"),
    ("framework-runproc", ["AppSpecification", "ContainerEntrypoint"],
     ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"], CapabilityError,
     "runproc.sh"),
    ("no-entrypoint", ["AppSpecification", "ContainerEntrypoint"], _DELETE, CapabilityError,
     "the image's own entry point"),
    ("no-code-input", ["ProcessingInputs"], _BASE["ProcessingInputs"][:2], CapabilityError,
     "no input named 'code'"),
    ("code-elsewhere", ["ProcessingInputs", 2, "S3Input", "LocalPath"], "/opt/ml/code",
     CapabilityError, "ProcessingInputs[2].S3Input.LocalPath"),
    ("dataset-definition", ["ProcessingInputs", 0, "DatasetDefinition"],
     {"AthenaDatasetDefinition": {}}, CapabilityError, "ProcessingInputs[0].DatasetDefinition"),
    ("app-managed", ["ProcessingInputs", 0, "AppManaged"], True, CapabilityError,
     "ProcessingInputs[0].AppManaged"),
    ("pipe-mode", ["ProcessingInputs", 0, "S3Input", "S3InputMode"], "Pipe", CapabilityError,
     "ProcessingInputs[0].S3Input.S3InputMode: 'Pipe'"),
    ("manifest", ["ProcessingInputs", 0, "S3Input", "S3DataType"], "ManifestFile",
     CapabilityError, "S3DataType: 'ManifestFile'"),
    ("gzip", ["ProcessingInputs", 0, "S3Input", "S3CompressionType"], "Gzip", CapabilityError,
     "S3CompressionType: 'Gzip'"),
    ("continuous-upload", ["ProcessingOutputConfig", "Outputs", 0, "S3Output",
                           "S3UploadMode"], "Continuous", CapabilityError,
     "ProcessingOutputConfig.Outputs[0].S3Output.S3UploadMode: 'Continuous'"),
    ("feature-store", ["ProcessingOutputConfig", "Outputs", 0, "FeatureStoreOutput"],
     {"FeatureGroupName": "fg"}, CapabilityError, "FeatureStoreOutput"),
    ("instance-preferences", ["ProcessingResources", "ClusterConfig", "InstancePreferences"],
     [{"InstanceType": "ml.m5.large"}], CapabilityError, "InstancePreferences"),
    ("unknown-field", ["SomethingNew"], 1, CapabilityError,
     "SomethingNew: not a field the local backend knows"),
    ("bad-instance-type", ["ProcessingResources", "ClusterConfig", "InstanceType"], "m5",
     ValidationError, "ProcessingResources.ClusterConfig.InstanceType"),
    ("bad-distribution", ["ProcessingInputs", 0, "S3Input", "S3DataDistributionType"],
     "Random", ValidationError, "'Random' is not allowed"),
    ("bad-local-path", ["ProcessingInputs", 1, "S3Input", "LocalPath"], "/data",
     ValidationError, "ProcessingInputs[1].S3Input.LocalPath"),
    ("shared-destination", ["ProcessingInputs", 1, "S3Input", "LocalPath"],
     "/opt/ml/processing/input", ValidationError, "ProcessingInputs: two inputs share"),
    ("argument-not-text", ["AppSpecification", "ContainerArguments", 1], 10, ValidationError,
     "AppSpecification.ContainerArguments[1]"),
    ("max-runtime-too-long", ["StoppingCondition", "MaxRuntimeInSeconds"], 10**6,
     ValidationError, "StoppingCondition.MaxRuntimeInSeconds"),
    ("no-resources", ["ProcessingResources"], _DELETE, ValidationError,
     "ProcessingResources: required"),
]


@pytest.mark.parametrize(("path", "value", "error", "text"),
                         [pytest.param(p, v, e, t, id=i) for i, p, v, e, t in REFUSED])
def test_requests_the_local_backend_cannot_honour_are_refused(path, value, error, text):
    with pytest.raises(error) as info:
        processing_spec_from_request(_edit(_BASE, path, value), name="p-1")
    assert text in str(info.value)


def test_ignored_fields_do_not_matter():
    request = dict(_BASE, RoleArn=ROLE, NetworkConfig={"EnableNetworkIsolation": True},
                   ExperimentConfig={"ExperimentName": "e"})
    request["ProcessingOutputConfig"] = dict(request["ProcessingOutputConfig"], KmsKeyId="k")
    assert processing_spec_from_request(request, name="prep-1") == SPECS["everything"]


@pytest.mark.parametrize(("command", "options"), [
    (["python3"], []), (["python"], []), (["python3.11"], []),
    (["/usr/local/bin/python3", "-u", "-B"], ["-u", "-B"]),
    (["python3", "-W", "ignore", "-X", "dev"], ["-W", "ignore", "-X", "dev"]),
])
def test_python_commands_run_locally(command, options):
    assert python_options(command) == options


@pytest.mark.parametrize("command", [
    ["bash"], ["sh", "-c"], ["python3", "-m", "pkg"], ["python3", "-c", "print(1)"],
    ["python3", "script.py"], ["python3", "-"], ["python3", "--"], ["python3", "-W"],
    ["ruby"], ["python2"],
])
def test_other_commands_are_a_capability_error(command):
    with pytest.raises(CapabilityError, match="command"):
        python_options(command)


@pytest.mark.parametrize(("given", "real"), [
    ("/opt/ml/processing/input/a.csv", "/j/h/processing/input/a.csv"),
    ("/opt/ml", "/j/h"),
    ("/opt/ml/", "/j/h/"),
    ("/opt/ml/processing/out/", "/j/h/processing/out/"),
    ("/opt/ml/./processing//x", "/j/h/processing/x"),
    ("/opt/ml/processing/../config/c.json", "/j/h/config/c.json"),
    ("/opt/./ml/x", "/j/h/x"),
    ("/opt/ml/../../etc/hosts", "/etc/hosts"),
    ("/opt/mlflow/x", "/opt/mlflow/x"),
    ("/opt/other", "/opt/other"),
    ("relative/opt/ml/x", "relative/opt/ml/x"),
    ("opt/ml/x", "opt/ml/x"),
    (b"/opt/ml/processing/b", b"/j/h/processing/b"),
    (b"/usr/lib", b"/usr/lib"),
    (Path("/opt/ml/processing/p"), "/j/h/processing/p"),
    (7, 7),
])
def test_path_map_sends_opt_ml_paths_into_the_job_folder(given, real):
    assert PathMap("/j/h").real(given) == real


def test_path_map_leaves_other_paths_as_the_same_object():
    paths = PathMap("/j/h")
    for value in ("/usr/lib/x", b"/tmp", Path("/tmp/x"), 3):
        assert paths.real(value) is value
    assert paths.virtual("/j/h/processing/x") == "/opt/ml/processing/x"
    assert paths.virtual(b"/j/h") == b"/opt/ml"
    assert paths.virtual("/j/hx") == "/j/hx"


def test_the_bootstrap_stays_import_light(tmp_path):
    code = tmp_path / "root" / "processing" / "input" / "code"
    code.mkdir(parents=True)
    (code / "probe.py").write_text(
        "import json, sys\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'mlopskit', 'pydantic', 'numpy', 'pandas', 'boto3', 'botocore', 'tenacity'})))\n")
    out = subprocess.run(
        [sys.executable, "-m", "mlopskit.backends.local._pathmap", str(tmp_path / "root"),
         "/opt/ml/processing/input/code/probe.py"], capture_output=True, text=True, check=True)
    # Only the lazy package __init__ files on the way to the bootstrap (itself __main__).
    assert json.loads(out.stdout) == ["mlopskit", "mlopskit.backends", "mlopskit.backends.local"]


@pytest.mark.parametrize(("cwd", "given", "real"), [
    ("", "..", ""),
    ("", "../model.joblib", "/model.joblib"),
    ("", "../../a/../b", "/b"),
    ("", "./../x", "/x"),
    ("/sub", "../../x", "/x"),
    ("/sub", "../x", "../x"),  # stays inside: left to the file system
    ("", "x/../y", "x/../y"),
    ("", "plain.csv", "plain.csv"),
])
def test_dot_dot_above_the_stand_in_for_root_stays_there(tmp_path, monkeypatch, cwd, given,
                                                        real):
    fs_root = tmp_path / "host"
    (fs_root / "sub").mkdir(parents=True)
    monkeypatch.chdir(str(fs_root) + cwd)
    paths = PathMap(str(fs_root / "opt" / "ml"), str(fs_root))
    expected = str(fs_root) + real if real.startswith("/") or real == "" else real
    assert paths.real(given) == expected
    assert paths.real(given.encode()) == expected.encode()


def test_dot_dot_is_real_outside_the_stand_in_for_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = PathMap(str(tmp_path / "host" / "opt" / "ml"), str(tmp_path / "host"))
    assert paths.real("../x") == "../x"
    assert PathMap("/j/h").real("../x") == "../x"  # no stand-in for / given: nothing clamps
