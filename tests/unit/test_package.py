"""The package surface: light import, pinned public names, sessions from the environment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import (
    BackendError,
    CapabilityError,
    ConflictError,
    JobFailedError,
    MissingDependencyError,
    MlopsKitError,
    NotFoundError,
    ThrottledError,
    ValidationError,
    WaitTimeoutError,
)

HEAVY = ("boto3", "botocore", "pandas", "sklearn", "numpy", "pydantic", "tenacity")


def test_import_mlopskit_loads_no_heavy_dependency():
    code = ("import json, sys, mlopskit; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def test_first_use_of_estimator_still_skips_boto3_pandas_and_sklearn():
    code = ("import json, sys, mlopskit; mlopskit.Estimator; mlopskit.LocalSession; "
            "mlopskit.Processor; mlopskit.ProcessingJob; "
            "print(json.dumps([m for m in ('boto3', 'botocore', 'pandas', 'sklearn') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def test_public_names_are_pinned():
    assert mlopskit.__all__ == sorted([
        "AllAtOnce", "ApprovalStatus", "AwsSession", "Canary", "DataCaptureConfig", "Endpoint",
        "ErrorRateAbove",
        "Estimator", "Experiment", "FakeClock", "HyperparameterTuner", "LatencyAbove", "Linear",
        "LocalSession",
        "MetricThreshold", "Model", "ModelPackage", "ModelPackageGroup", "Pipeline", "Predictor",
        "ProcessingInput", "ProcessingJob", "ProcessingOutput", "Processor",
        "ProductionVariant", "RealtimeConfig", "ServerlessConfig", "Session", "SystemClock",
        "TrainingInput", "TrainingJob", "TransformJob", "Transformer", "TuningJob",
        "__version__", "default_session", "errors", "pipeline", "serializers",
        "session_from_env", "set_default_session", "tuning",
    ])
    for name in mlopskit.__all__:
        assert getattr(mlopskit, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = mlopskit.Nope  # type: ignore[attr-defined]


@pytest.mark.parametrize(("error", "bases"), [
    (ValidationError, (ValueError,)),
    (NotFoundError, (LookupError,)),
    (ConflictError, ()),
    (CapabilityError, (NotImplementedError,)),
    (JobFailedError, ()),
    (WaitTimeoutError, (TimeoutError,)),
    (BackendError, ()),
    (ThrottledError, (BackendError,)),
])
def test_error_hierarchy(error, bases):
    assert issubclass(error, MlopsKitError)
    for base in bases:
        assert issubclass(error, base)
    assert issubclass(MissingDependencyError, ImportError)


def test_session_from_env_local(tmp_path):
    session = mlopskit.session_from_env({"MLOPSKIT_BACKEND": "local",
                                         "MLOPSKIT_ROOT": str(tmp_path), "MLOPSKIT_BUCKET": "bkt"})
    assert isinstance(session, mlopskit.LocalSession)
    assert session.root == tmp_path
    assert session.default_bucket == "bkt"


def test_session_from_env_aws_reads_region_role_and_bucket():
    session = mlopskit.session_from_env({
        "MLOPSKIT_BACKEND": "AWS", "MLOPSKIT_REGION": "eu-west-1",
        "MLOPSKIT_ROLE_ARN": "arn:aws:iam::111122223333:role/r", "MLOPSKIT_BUCKET": "b-1"})
    assert isinstance(session, mlopskit.AwsSession)
    assert (session.region, session.role_arn, session.default_bucket) == (
        "eu-west-1", "arn:aws:iam::111122223333:role/r", "b-1")


def test_session_from_env_rejects_unknown_backend():
    with pytest.raises(ValidationError, match=r"MLOPSKIT_BACKEND: 'gcp' .* allowed: local, aws"):
        mlopskit.session_from_env({"MLOPSKIT_BACKEND": "gcp"})


def test_default_session_comes_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPSKIT_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("MLOPSKIT_BACKEND", raising=False)
    mlopskit.set_default_session(None)
    try:
        session = mlopskit.default_session()
        assert isinstance(session, mlopskit.LocalSession)
        assert session.root == tmp_path / "root"
        assert mlopskit.default_session() is session
    finally:
        mlopskit.set_default_session(None)


def test_local_session_defaults_to_working_folder_not_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLOPSKIT_ROOT", raising=False)
    assert mlopskit.LocalSession().root == tmp_path / ".mlopskit"


def test_aws_session_repr_shows_no_credentials():
    import boto3

    boto = boto3.Session(aws_access_key_id="AKIAEXAMPLESECRET", aws_secret_access_key="s3cr3t",
                         region_name="us-west-2")
    session = mlopskit.AwsSession(boto3_session=boto, bucket="b-1")
    assert session.region == "us-west-2"
    assert "s3cr3t" not in repr(session)
    assert "AKIA" not in repr(session)


def test_readme_commands_are_the_demo_and_what_ci_runs():
    """README's two set-up commands: the first runs the demo, the second is exactly the
    test command `.ci/run` runs first (so CI proves the README); CI then runs the tests the
    README's command leaves out, `-m slow`, which the README says how to run."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    block = readme.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert commands[0].endswith(".venv/bin/mlopskit demo")
    assert commands[0].startswith("python3 -m venv .venv && ")
    assert commands[1].endswith(".venv/bin/python -m pytest")
    ci = (root / ".ci" / "run").read_text().splitlines()
    pytest_runs = [line for line in ci if " -m pytest" in line]
    assert pytest_runs == [commands[1], ".venv/bin/python -m pytest -m slow"]
    assert "python -m pytest -m slow" in readme
