"""Environment values (and hyperparameter values, in errors) are never shown.

A secret put in ``environment=`` must not reach a ValidationError's text, a repr, an HTML
card, the CLI's output, a log line or the repr of a describe, on either backend; a secret
in ``hyperparameters=`` must not reach an error. What the local store keeps is private to
its owner (the file modes checked at the end); docs/security.md says what is kept where.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.cli import main
from mlopskit.errors import CapabilityError, MlopsKitError, ValidationError
from mlopskit.pipeline import Pipeline, ProcessingStep
from mlopskit.sagemaker_api.processing import (
    create_processing_job_request,
    processing_spec_from_request,
)
from mlopskit.sagemaker_api.registry import (
    create_model_package_request,
    model_package_spec_from_request,
)
from mlopskit.sagemaker_api.serving import create_model_request, model_spec_from_request
from mlopskit.sagemaker_api.training import (
    create_training_job_request,
    training_spec_from_request,
)
from mlopskit.sagemaker_api.transform import transform_spec_from_request
from mlopskit.specs._common import build
from mlopskit.specs.processing import ProcessingJobSpec
from mlopskit.specs.registry import ModelPackageSpec
from mlopskit.specs.serving import DeployedModelSpec
from mlopskit.specs.training import TrainingJobSpec
from mlopskit.testing import TEST_BUCKET, TEST_REGION, TEST_ROLE_ARN, MotoEmulation, emulation_of

from .. import processing_moto
from ..helpers import IMAGE

SECRET = "tok-7f3a9c-do-not-show"
ROLE = "arn:aws:iam::111122223333:role/Dummy"
BUCKET = "s3://dummy-bucket-1"


def _everything(error: BaseException) -> str:
    """All an error can show: its text, its repr and a full traceback with its chain."""
    return "".join(traceback.format_exception(error)) + repr(error) + repr(error.__context__)


def _refused(call: Callable[[], Any], *names: str,
             error: type[Exception] = ValidationError) -> str:
    with pytest.raises(error) as info:
        call()
    text = _everything(info.value)
    assert SECRET not in text, text
    for name in names:
        assert name in str(info.value), (name, str(info.value))
    return str(info.value)


# -- errors of the public constructors, on both backends ----------------------------------

def _code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(
        "import os\nprint('training without echoing its environment')\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('m')\n")
    return folder


def _estimator(session: mlopskit.Session, tmp_path: Path, **kwargs: Any) -> mlopskit.Estimator:
    return mlopskit.Estimator(entry_point="train.py", source_dir=_code(tmp_path),
                              image_uri=IMAGE, instance_type="ml.m5.large", session=session,
                              **kwargs)


# (id, keyword arguments, names the message must hold)
ENVIRONMENT_CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("bad-name", {"bad-name": SECRET, "GOOD": SECRET}, ("environment", "bad-name")),
    ("long-value", {"API_TOKEN": SECRET * 60}, ("environment", "API_TOKEN", "at most")),
    ("not-a-string", {"PORT": 8080, "API_TOKEN": SECRET}, ("environment", "PORT")),
    ("too-many", {f"K{i}": SECRET for i in range(101)}, ("environment", "at most 100")),
]
HYPERPARAMETER_CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("long-value", {"token": SECRET * 300}, ("hyperparameters", "token", "at most 2500")),
    ("reserved-key", {"sagemaker_token": SECRET}, ("hyperparameters", "sagemaker_token")),
    ("not-json", {"model": object(), "token": SECRET}, ("hyperparameters", "model")),
    ("too-many", {f"k{i}": SECRET for i in range(96)}, ("hyperparameters", "at most 95")),
]


def test_estimator_errors_name_keys_never_values(any_session, tmp_path):
    for _case, environment, names in ENVIRONMENT_CASES:
        _refused(lambda e=environment: _estimator(any_session, tmp_path, environment=e),
                 *names)
    for _case, hyperparameters, names in HYPERPARAMETER_CASES:
        _refused(lambda h=hyperparameters: _estimator(any_session, tmp_path,
                                                      hyperparameters=h), *names)


def test_processor_and_model_errors_name_keys_never_values(any_session):
    processing = [("bad-name", {"bad-name": SECRET}, ("environment", "bad-name")),
                  ("long-value", {"API_TOKEN": SECRET * 30}, ("API_TOKEN", "at most 256")),
                  ("not-a-string", {"PORT": 1, "API_TOKEN": SECRET}, ("PORT",))]
    for _case, environment, names in processing:
        _refused(lambda e=environment: mlopskit.Processor(
            image_uri=IMAGE, instance_type="ml.m5.large", environment=e, session=any_session),
            *names)
    model_data = f"s3://{any_session.default_bucket}/m/model.tar.gz"
    for _case, environment, names in ENVIRONMENT_CASES:
        _refused(lambda e=environment: mlopskit.Model(model_data, image_uri=IMAGE,
                                                      environment=e, session=any_session),
                 *names)


def test_spec_errors_do_not_keep_pydantic_input_as_their_context():
    # pydantic's own error text holds every input value; ours replaces it whole.
    with pytest.raises(ValidationError) as info:
        build(DeployedModelSpec, "", name="m", model_data=f"{BUCKET}/m.tar.gz",
              environment={"bad-name": SECRET})
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_stored_spec_a_newer_rule_refuses_does_not_echo_its_environment():
    # Backends read specs back from their store with model_validate_json; one stored by an
    # older mlopskit may fail a rule added since (here, an empty URI segment).
    stored = json.dumps({"name": "m-1", "model_data": f"{BUCKET}//m.tar.gz",
                         "environment": {"API_TOKEN": SECRET}})
    text = _refused(lambda: DeployedModelSpec.model_validate_json(stored),
                    "stored DeployedModelSpec.model_data")
    assert "empty segment" in text


# -- errors of the request readers (pipelines run SDK-written requests locally) -----------

def _training_request(**changes: Any) -> dict[str, Any]:
    spec = build(TrainingJobSpec, "", name="t-1", entry_point="train.py",
                 source_uri=f"{BUCKET}/src/sourcedir.tar.gz", image_uri=IMAGE,
                 instance_type="ml.m5.large", output_path=f"{BUCKET}/out")
    request = create_training_job_request(spec, role_arn=ROLE, region="us-east-1",
                                          image_uri=IMAGE)
    request.update(changes)
    return request


def _processing_request(**changes: Any) -> dict[str, Any]:
    spec = build(ProcessingJobSpec, "", name="p-1", code_uri=f"{BUCKET}/code/p.py",
                 script="p.py", instance_type="ml.m5.large", image_uri=IMAGE)
    request = create_processing_job_request(spec, role_arn=ROLE)
    request.update(changes)
    return request


def _model_request(environment: Any) -> dict[str, Any]:
    spec = build(DeployedModelSpec, "", name="m-1", image_uri=IMAGE,
                 model_data=f"{BUCKET}/m/model.tar.gz")
    request = create_model_request(spec, role_arn=ROLE)
    request["PrimaryContainer"]["Environment"] = environment
    return request


def _package_request(environment: Any) -> dict[str, Any]:
    spec = build(ModelPackageSpec, "", group="churn",
                 model={"model_data": f"{BUCKET}/m/model.tar.gz", "image_uri": IMAGE})
    request = create_model_package_request(spec, image_uri=IMAGE,
                                           metrics_uri=f"{BUCKET}/metrics.json",
                                           region="us-east-1")
    request["InferenceSpecification"]["Containers"][0]["Environment"] = environment
    return request


def test_request_readers_name_keys_never_values():
    hyperparameters = _training_request()["HyperParameters"]
    training_cases = [
        ({"Environment": {"bad-name": SECRET}}, ("Environment", "bad-name")),
        ({"Environment": {"API_TOKEN": SECRET * 60}}, ("Environment", "API_TOKEN")),
        ({"Environment": {"PORT": 1, "API_TOKEN": SECRET}}, ("Environment.PORT", "int")),
        ({"Environment": SECRET}, ("Environment", "str")),
        ({"Environment": {f"K{i}": SECRET for i in range(101)}}, ("Environment",)),
        ({"HyperParameters": {**hyperparameters, "token": 7, "other": SECRET}},
         ("HyperParameters.token", "int")),
        ({"HyperParameters": {**hyperparameters, "token": json.dumps(SECRET * 300)}},
         ("HyperParameters", "token", "at most 2500")),
    ]
    for changes, names in training_cases:
        _refused(lambda c=changes: training_spec_from_request(_training_request(**c),
                                                              name="t-1"), *names)
    _refused(lambda: training_spec_from_request(_training_request(HyperParameters={
        **hyperparameters, "sagemaker_launcher": SECRET}), name="t-1"),
        "HyperParameters.sagemaker_launcher", error=CapabilityError)
    for changes, names in [({"Environment": {"API_TOKEN": SECRET * 30}}, ("API_TOKEN",)),
                           ({"Environment": {"bad-name": SECRET}}, ("bad-name",))]:
        _refused(lambda c=changes: processing_spec_from_request(_processing_request(**c),
                                                                name="p-1"), *names)
    for environment, names in [({"bad-name": SECRET}, ("PrimaryContainer.Environment",)),
                               ({"API_TOKEN": SECRET * 60}, ("API_TOKEN",)),
                               ({"API_TOKEN": ["x", SECRET]}, ("API_TOKEN", "list"))]:
        _refused(lambda e=environment: model_spec_from_request(_model_request(e), name="m-1"),
                 *names)
    for environment, names in [({"bad-name": SECRET}, ("Environment", "bad-name")),
                               ({"API_TOKEN": SECRET * 60}, ("API_TOKEN",))]:
        _refused(lambda e=environment: model_package_spec_from_request(_package_request(e)),
                 *names)
    _refused(lambda: transform_spec_from_request(
        {"ModelName": "m-1", "Environment": {"API_TOKEN": SECRET},
         "TransformInput": {"DataSource": {"S3DataSource": {
             "S3DataType": "S3Prefix", "S3Uri": f"{BUCKET}/in/"}}},
         "TransformOutput": {"S3OutputPath": f"{BUCKET}/out/"},
         "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}},
        name="x-1"), "Environment", error=CapabilityError)


# -- reprs -------------------------------------------------------------------------------

def test_spec_reprs_hide_environment_values():
    specs = [
        build(TrainingJobSpec, "", name="t-1", entry_point="train.py",
              source_uri=f"{BUCKET}/s.tar.gz", instance_type="ml.m5.large",
              output_path=f"{BUCKET}/out", environment={"API_TOKEN": SECRET}),
        build(ProcessingJobSpec, "", name="p-1", code_uri=f"{BUCKET}/p.py", script="p.py",
              instance_type="ml.m5.large", environment={"API_TOKEN": SECRET}),
        build(DeployedModelSpec, "", name="m-1", model_data=f"{BUCKET}/m.tar.gz",
              environment={"API_TOKEN": SECRET}),
        build(ModelPackageSpec, "", group="g", model={
            "model_data": f"{BUCKET}/m.tar.gz", "environment": {"API_TOKEN": SECRET}}),
    ]
    for spec in specs:
        assert SECRET not in repr(spec) and SECRET not in str(spec), type(spec).__name__
        assert SECRET in spec.model_dump_json()  # the value itself is kept, of course


# -- running jobs: reprs, cards, describes, logs and the CLI, on both backends ------------

# The AWS SDK's own DEBUG output prints whole requests (docs/security.md says so); every
# other logger, mlopskit's first, must never hold a value.
_SDK_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto")


def _leaked_log_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if not r.name.startswith(_SDK_LOGGERS) and SECRET in r.getMessage()]


def _cli_for(session: mlopskit.Session, monkeypatch: pytest.MonkeyPatch
             ) -> Callable[..., str]:
    """Run ``mlopskit`` (its main function) on ``session``'s store; its output."""
    if isinstance(session, mlopskit.LocalSession):
        monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
        monkeypatch.setenv("MLOPSKIT_ROOT", str(session.root))
    else:
        monkeypatch.setenv("MLOPSKIT_BACKEND", "aws")
        monkeypatch.setenv("MLOPSKIT_REGION", TEST_REGION)
        monkeypatch.setenv("MLOPSKIT_BUCKET", TEST_BUCKET)
        monkeypatch.setenv("MLOPSKIT_ROLE_ARN", TEST_ROLE_ARN)

    def run(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
        code = main(list(argv))
        out, err = capsys.readouterr()
        assert code == 0, err
        return out + err

    return run


@pytest.fixture
def cli(any_session, monkeypatch) -> Callable[..., str]:
    return _cli_for(any_session, monkeypatch)


def _shown(job: Any) -> list[tuple[str, str]]:
    return [("repr", repr(job)), ("card", job._repr_html_()),
            ("describe", repr(job.describe())), ("logs", job.logs())]


def test_a_training_job_never_shows_its_environment(any_session, tmp_path, cli, capsys,
                                                    caplog):
    caplog.set_level(logging.DEBUG)
    job = _estimator(any_session, tmp_path, environment={"API_TOKEN": SECRET},
                     hyperparameters={"epochs": 2}).fit(logs=True)
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    for where, text in [
            *_shown(job),
            ("jobs show", cli("jobs", "show", job.name, capsys=capsys)),
            ("jobs show --json", cli("jobs", "show", job.name, "--json", capsys=capsys)),
            ("jobs list --json", cli("jobs", "list", "--json", capsys=capsys)),
            ("jobs logs", cli("jobs", "logs", job.name, capsys=capsys))]:
        assert SECRET not in text, where
    assert _leaked_log_lines(caplog) == []
    if emulation_of(any_session).executes:  # the script ran, so the logs hold its lines
        assert "training without echoing its environment" in job.logs()


@pytest.fixture
def moto_processing(any_session, monkeypatch) -> None:
    if isinstance(emulation_of(any_session), MotoEmulation):  # made to keep Environment
        processing_moto.patch(monkeypatch)


def test_a_processing_job_never_shows_its_environment(any_session, moto_processing, tmp_path,
                                                      cli, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    script = tmp_path / "prepare.py"
    script.write_text("print('preparing')\n")
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             environment={"API_TOKEN": SECRET},
                             session=any_session).run(script, logs=True)
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    shown = cli("jobs", "show", job.name, "--json", capsys=capsys)
    assert json.loads(shown)["environment"] == ["API_TOKEN"]
    for where, text in [*_shown(job),
                        ("jobs show", cli("jobs", "show", job.name, capsys=capsys)),
                        ("jobs show --json", shown)]:
        assert SECRET not in text, where
    assert _leaked_log_lines(caplog) == []
    # the describe carries the values, as DescribeProcessingJob does; only its repr hides them
    assert job.describe().environment == {"API_TOKEN": SECRET}


def test_a_model_package_never_shows_its_environment(any_session, cli, capsys):
    model_data = f"s3://{any_session.default_bucket}/m/model.tar.gz"
    any_session.write_bytes(b"not really a model", model_data)
    group = mlopskit.ModelPackageGroup("churn", session=any_session).create()
    model = mlopskit.Model(model_data, image_uri=IMAGE, environment={"API_TOKEN": SECRET},
                           session=any_session)
    package = group.register(model, metrics={"auc": 0.9})
    for where, text in [("model repr", repr(model)), ("package repr", repr(package)),
                        ("package card", package._repr_html_()),
                        ("group card", group._repr_html_()),
                        ("registry show", cli("registry", "show", "churn", "1", "--json",
                                              capsys=capsys)),
                        ("registry versions", cli("registry", "versions", "churn", "--json",
                                                  capsys=capsys))]:
        assert SECRET not in text, where


def test_pipeline_steps_never_show_their_environment(local_session, tmp_path, monkeypatch,
                                                     capsys):
    cli = _cli_for(local_session, monkeypatch)
    script = tmp_path / "prepare.py"
    script.write_text("print('step')\n")
    processor = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                   environment={"API_TOKEN": SECRET}, session=local_session)
    pipeline = Pipeline("secret-env", steps=[ProcessingStep("Prepare", processor, code=script)],
                        session=local_session)
    pipeline.upsert()
    execution = pipeline.start()
    execution.wait(timeout=300)
    steps = execution.steps()
    assert SECRET not in repr(steps) and SECRET not in execution._repr_html_()
    shown = cli("pipelines", "steps", execution.arn, "--json", capsys=capsys)
    assert SECRET not in shown
    assert json.loads(shown)[0]["properties"]["Environment"] == ["API_TOKEN"]
    assert SECRET not in cli("pipelines", "steps", execution.arn, capsys=capsys)


# -- what the local store keeps, and who can read it --------------------------------------

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _store_files(root: Path) -> list[Path]:
    return [root / name for name in ("metadata.db", "metadata.db-wal", "metadata.db-shm")
            if (root / name).exists()]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_new_store_is_private_to_its_owner(tmp_path):
    previous = os.umask(0o022)  # a common, permissive umask: the store must not follow it
    try:
        session = mlopskit.LocalSession(root=tmp_path / "store")
        session.write_bytes(b"x", "s3://mlopskit-local/data/x.csv")
    finally:
        os.umask(previous)
    root = session.root
    assert _mode(root) == 0o700
    assert len(_store_files(root)) == 3
    for path in _store_files(root):
        assert _mode(path) == 0o600, path.name
    assert _mode(root / "s3") == 0o700
    assert _mode(root / "s3" / "mlopskit-local" / "data" / "x.csv") == 0o600
    session.close()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_an_existing_loose_store_is_made_private_when_opened(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "store")
    session.write_bytes(b"x", "s3://mlopskit-local/x.csv")
    session.close()
    root = session.root
    (root / "jobs").mkdir()
    for path in (root, root / "s3", root / "jobs"):
        path.chmod(0o755)
    for path in _store_files(root):
        path.chmod(0o644)
    reopened = mlopskit.LocalSession(root=root)
    assert reopened.read_bytes("s3://mlopskit-local/x.csv") == b"x"
    assert _mode(root) == 0o700
    assert _mode(root / "s3") == 0o700 and _mode(root / "jobs") == 0o700
    for path in _store_files(root):
        assert _mode(path) == 0o600, path.name
    reopened.close()


def test_the_store_keeps_environment_values_as_docs_security_says(local_session, tmp_path):
    # docs/security.md: a job's spec, environment values included, is stored in plaintext
    # in metadata.db (the detached supervisor runs the job from it), and a processing job's
    # processingjobconfig.json holds its Environment, as on SageMaker. This pins that page.
    job = _estimator(local_session, tmp_path, environment={"API_TOKEN": SECRET}).fit(
        logs=False)
    with sqlite3.connect(local_session.root / "metadata.db") as db:
        (spec,) = db.execute("SELECT spec FROM training_jobs WHERE name = ?",
                             (job.name,)).fetchone()
    assert json.loads(spec)["environment"] == {"API_TOKEN": SECRET}
    job_dir = local_session.root / "jobs" / "training" / job.name
    holding = [p for p in job_dir.rglob("*") if p.is_file() and SECRET.encode() in
               p.read_bytes()]
    assert holding == []


def test_errors_are_mlopskit_errors():
    # the readers' refusals stay in mlopskit's hierarchy (exit codes, except clauses)
    assert issubclass(ValidationError, MlopsKitError) and issubclass(CapabilityError,
                                                                      MlopsKitError)
