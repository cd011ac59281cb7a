"""Jobs as MLflow runs, on both backends: the local backend with its own SQLite store, and
AWS (moto) with a real MLflow tracking server on 127.0.0.1 standing in for SageMaker's
managed one. Written as a data scientist would use it: ``experiment=`` on the estimator or
processor, MLflow calls inside the script, and the runs read back with MLflow's client."""

from __future__ import annotations

import json
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, JobFailedError, ValidationError
from mlopskit.testing import MotoEmulation, emulation_of
from mlopskit.tracking.jobs import TrackingWarning

from ..tracking_support import (
    mlflow_server_fixture,  # noqa: F401 - a fixture
    tracked_aws_session,
)

pytest.importorskip("mlflow")

# A training script as scikit-learn examples write them: SM_* variables and argparse, a
# metric printed per step (read with a regex), and MLflow calls of its own, which land in
# the job's run because MLFLOW_RUN_ID is set.
TRAIN = """\
import argparse, os

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--fail", type=int, default=0)
parser.add_argument("--use-mlflow", type=int, default=0)
parser.add_argument("--steps", type=int, default=1000)
parser.add_argument("--print-steps", type=int, default=0)
args, _ = parser.parse_known_args()
if args.fail:
    raise SystemExit("the data is not what I expected")
for step in range(1, args.print_steps + 1):
    print(f"step {step}: train:loss={1.0 / step:.6f}")
if args.use_mlflow:
    import mlflow

    with mlflow.start_run():
        for step in range(1, args.steps + 1):
            mlflow.log_metric("script_loss", 1.0 / step, step=step)
        mlflow.log_param("script_param", "from-the-script")
for epoch in range(1, args.epochs + 1):
    print(f"epoch {epoch}: validation:auc={0.5 + epoch / 100:.3f}")
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write("ok")
"""
METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"},
           {"Name": "train:loss", "Regex": r"train:loss=([0-9.]+)"}]


def _auc_lines(epochs: int) -> list[str]:
    """What TRAIN prints for ``epochs`` (the log SageMaker's container would write)."""
    return [f"epoch {e}: validation:auc={0.5 + e / 100:.3f}" for e in range(1, epochs + 1)]


@pytest.fixture
def tracked_session(any_session: mlopskit.Session, tmp_path: Path,
                    request: pytest.FixtureRequest,
                    moto_service: Any) -> Iterator[mlopskit.Session]:
    """The local session (its own SQLite store) or an AWS session on moto whose tracking
    server is a real MLflow server started for the test module."""
    if isinstance(any_session, mlopskit.LocalSession):
        yield any_session
        return
    assert isinstance(any_session, mlopskit.AwsSession)
    server = request.getfixturevalue("mlflow_server")
    session = tracked_aws_session(any_session, server)
    try:
        yield session
    finally:
        session.close()


def _executes(session: mlopskit.Session) -> bool:
    return not isinstance(emulation_of(session), MotoEmulation)


@pytest.fixture
def exp(request: pytest.FixtureRequest) -> str:
    """An experiment name of this test's own (the tracking server lives for the module)."""
    return "exp-" + request.node.name.replace("[", "-").rstrip("]")


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text(TRAIN)
    return folder


def _estimator(session: mlopskit.Session, code: Path, **kwargs: Any) -> mlopskit.Estimator:
    return mlopskit.Estimator(entry_point="train.py", source_dir=code, instance_type="ml.m5.large",
                              image_uri="111122223333.dkr.ecr.us-east-1.amazonaws.com/t:1",
                              metric_definitions=METRICS, session=session, **kwargs)


def _sent(session: mlopskit.Session, operation: str) -> list[dict[str, Any]]:
    """The parameters of each ``operation`` call an AWS session's SageMaker client sends
    (botocore's own event hook); always empty locally."""
    seen: list[dict[str, Any]] = []
    if isinstance(session, mlopskit.AwsSession):
        session.backend.clients.sagemaker.meta.events.register(  # type: ignore[attr-defined]
            f"before-parameter-build.sagemaker.{operation}",
            lambda params, **_: seen.append(dict(params)))
    return seen


def _client(session: mlopskit.Session) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=session.tracking_uri)


def test_a_training_job_is_a_run_of_its_experiment(tracked_session: mlopskit.Session,
                                                   code: Path, exp: str,
                                                   moto_service: Any) -> None:
    session = tracked_session
    data = code.parent / "train.csv"
    data.write_text("1,2\n3,4\n")
    sent = _sent(session, "CreateTrainingJob")
    job = _estimator(session, code, hyperparameters={"epochs": 4, "use-mlflow": 1,
                                                     "print-steps": 1000}).fit(
        {"train": str(data)}, experiment=exp, run_name="first-try",
        wait=_executes(session), logs=False)
    client = _client(session)
    run = client.get_run(job.run_id)
    experiment = client.get_experiment_by_name(exp)
    assert run.info.experiment_id == experiment.experiment_id
    assert run.info.run_name == "first-try"
    assert (run.data.params["epochs"], run.data.params["use-mlflow"]) == ("4", "1")
    tags = run.data.tags
    assert tags["mlopskit.job_name"] == job.name
    assert tags["mlopskit.kind"] == "training"
    assert tags["mlopskit.backend"] == session.backend_name
    assert tags["mlopskit.instance_type"] == "ml.m5.large"
    if not _executes(session):
        # SageMaker runs it: the job carries the run for the container's MLflow calls.
        [request] = sent
        environment = request["Environment"]
        assert environment["MLFLOW_RUN_ID"] == job.run_id
        assert environment["MLFLOW_EXPERIMENT_NAME"] == exp
        assert environment["MLFLOW_TRACKING_URI"] == session.tracking_uri
        assert run.info.status == "RUNNING"
        # The container's output, as CloudWatch keeps it (moto: the job is Completed).
        moto_service.write_job_log(session, job.name, [
            *(f"step {step}: train:loss={1.0 / step:.6f}" for step in range(1, 1001)),
            *_auc_lines(4)])
        job.wait(timeout=600)
        run = client.get_run(job.run_id)
        tags = run.data.tags
    assert run.info.status == "FINISHED"
    assert tags["mlopskit.status"] == "Completed"
    assert tags["mlopskit.model_data"] == job.model_data
    # The regex series, step by step, with the log's times: 4 epochs, and 1,000 steps.
    history = client.get_metric_history(job.run_id, "validation:auc")
    assert [(m.step, m.value) for m in history] == [
        (epoch, pytest.approx(0.5 + epoch / 100)) for epoch in range(1, 5)]
    assert all(m.timestamp > 0 for m in history)
    loss = sorted(client.get_metric_history(job.run_id, "train:loss"), key=lambda m: m.step)
    assert [m.step for m in loss] == list(range(1, 1001))
    assert loss[-1].value == pytest.approx(0.001)
    if _executes(session):  # the script's own 1,000 mlflow.log_metric steps
        script = client.get_metric_history(job.run_id, "script_loss")
        assert len(script) == 1000 and script[-1].value == pytest.approx(0.001)
        assert run.data.params["script_param"] == "from-the-script"
    inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert inputs["train"].source and "train" in inputs["train"].source
    assert inputs["train"].digest


def test_a_failed_job_is_a_failed_run_with_its_reason(tracked_session: mlopskit.Session,
                                                      code: Path, exp: str,
                                                      moto_service: Any) -> None:
    estimator = _estimator(tracked_session, code, hyperparameters={"fail": 1})
    job = estimator.fit(experiment=exp, logs=False, wait=False)
    if not _executes(tracked_session):  # SageMaker runs the script: moto stands in
        moto_service.fail_training_job(
            job.name, "AlgorithmError: ExecuteUserScriptError: the data is not what I expected")
    with pytest.raises(JobFailedError):
        job.wait(timeout=600)
    runs = _client(tracked_session).search_runs(
        [_client(tracked_session).get_experiment_by_name(exp).experiment_id])
    assert [r.info.status for r in runs] == ["FAILED"]
    assert "not what I expected" in runs[0].data.tags["mlopskit.failure_reason"]


def test_the_estimators_experiment_is_used_and_a_bad_name_creates_nothing(
        tracked_session: mlopskit.Session, code: Path, exp: str) -> None:
    with pytest.raises(ValidationError, match="experiment"):
        _estimator(tracked_session, code, experiment="")
    estimator = _estimator(tracked_session, code)
    with pytest.raises(ValidationError, match="run_name"):
        estimator.fit(run_name="x" * 300, experiment=exp)
    with pytest.raises(ValidationError, match="run_name"):
        estimator.fit(run_name="alone")
    assert mlopskit.TrainingJob.list(session=tracked_session) == []
    assert _client(tracked_session).get_experiment_by_name(exp) is None
    job = _estimator(tracked_session, code, experiment=exp + "-default").fit(
        wait=_executes(tracked_session), logs=False)
    assert _client(tracked_session).get_run(job.run_id).info.run_name == job.name


def test_a_refused_job_leaves_no_run(tracked_session: mlopskit.Session, code: Path,
                                     exp: str) -> None:
    estimator = _estimator(tracked_session, code)
    first = estimator.fit(job_name="taken-name", wait=_executes(tracked_session), logs=False)
    with pytest.raises(mlopskit.errors.ConflictError):
        estimator.fit(job_name=first.name, experiment=exp)
    assert _client(tracked_session).get_experiment_by_name(exp) is None or not \
        _client(tracked_session).search_runs(
            [_client(tracked_session).get_experiment_by_name(exp).experiment_id])


def test_a_processing_job_is_a_run(tracked_session: mlopskit.Session, tmp_path: Path,
                                   exp: str) -> None:
    script = tmp_path / "prep.py"
    script.write_text("print('prepared')\n")
    processor = mlopskit.Processor(framework="sklearn", framework_version="1.2-1",
                                   instance_type="ml.m5.large", session=tracked_session)
    job = processor.run(str(script), arguments=["--rows", "10"], experiment=exp,
                        wait=_executes(tracked_session), logs=False)
    run = _client(tracked_session).get_run(job.run_id)
    assert run.data.tags["mlopskit.kind"] == "processing"
    assert run.data.params["arguments"] == "--rows 10"
    if _executes(tracked_session):
        assert run.info.status == "FINISHED"
    # MLflow's telemetry thread can deadlock mlflow.autolog(): off in tracked jobs...
    environment = job.describe().environment
    assert environment["MLFLOW_RUN_ID"] == job.run_id
    assert environment["MLFLOW_DISABLE_TELEMETRY"] == "true"
    # ... unless the job's own environment says otherwise.
    mine = mlopskit.Processor(framework="sklearn", framework_version="1.2-1",
                              instance_type="ml.m5.large", session=tracked_session,
                              environment={"MLFLOW_DISABLE_TELEMETRY": "false"})
    again = mine.run(str(script), experiment=exp, wait=_executes(tracked_session), logs=False)
    assert again.describe().environment["MLFLOW_DISABLE_TELEMETRY"] == "false"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_tracking_server_that_is_down_does_not_stop_the_job(
        code: Path, tmp_path: Path, exp: str) -> None:
    down = f"http://user:secret@127.0.0.1:{_free_port()}"
    session = mlopskit.LocalSession(root=tmp_path / "down", tracking_uri=down)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = _estimator(session, code).fit(experiment=exp, logs=False)
    assert job.status == "Completed"  # the job ran
    assert job.run_id is None
    assert job.tracking_error is not None and "127.0.0.1" in job.tracking_error
    assert "secret" not in job.tracking_error
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert messages and "without experiment tracking" in messages[0]
    assert all("secret" not in m for m in messages)
    session.close()


def test_an_aws_session_without_a_tracking_server_refuses_before_anything(
        aws_session: mlopskit.AwsSession, code: Path, exp: str) -> None:
    with pytest.raises(CapabilityError, match="mlflow_tracking_arn"):
        _estimator(aws_session, code).fit(experiment=exp)
    assert mlopskit.TrainingJob.list(session=aws_session) == []
    assert aws_session.list(f"s3://{aws_session.default_bucket}/") == []


def test_session_tracking_settings_are_checked() -> None:
    with pytest.raises(ValidationError, match="tracking_uri"):
        mlopskit.LocalSession(tracking_uri="ftp://nowhere")
    with pytest.raises(ValidationError, match="mlflow_tracking_arn"):
        mlopskit.AwsSession(region="us-east-1", mlflow_tracking_arn="arn:aws:s3:::bucket")
    arn = "arn:aws:sagemaker:us-east-1:111122223333:mlflow-tracking-server/team"
    assert mlopskit.AwsSession(region="us-east-1", mlflow_tracking_arn=arn).tracking_uri == arn
    with_password = mlopskit.LocalSession(tracking_uri="http://u:pw@h:1")
    assert "pw" not in repr(with_password.tracker())


def test_a_tuning_job_is_a_run_with_its_trials_nested(tracked_session: mlopskit.Session,
                                                      code: Path, exp: str,
                                                      moto_service: Any) -> None:
    from mlopskit.tuning import CategoricalParameter

    session = tracked_session
    sent = _sent(session, "CreateHyperParameterTuningJob")
    tuner = mlopskit.HyperparameterTuner(
        _estimator(session, code), "validation:auc", {"epochs": CategoricalParameter([2, 3])},
        strategy="Grid", experiment=exp)
    job = tuner.fit(wait=_executes(session))
    client = _client(session)
    parent = client.get_run(job.run_id)
    assert parent.data.tags["mlopskit.kind"] == "tuning"
    assert parent.data.params["strategy"] == "Grid"
    if not _executes(session):
        [request] = sent
        environment = request["TrainingJobDefinition"]["Environment"]
        assert environment["MLFLOW_EXPERIMENT_NAME"] == exp
        assert "MLFLOW_RUN_ID" not in environment  # each trial is a run of its own
        assert parent.info.status == "RUNNING"
        # SageMaker runs the trials: moto stands in for it, the logs in CloudWatch.
        for number, epochs in enumerate((2, 3), start=1):
            moto_service.run_trial(session, job.name, number, {"epochs": str(epochs)},
                                   _auc_lines(epochs), objective=0.5 + epochs / 100)
        moto_service.end_tuning_job(job.name)
        job.wait(timeout=600)
    parent = client.get_run(job.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["mlopskit.best_training_job"] == job.best_training_job()
    experiment_id = client.get_experiment_by_name(exp).experiment_id
    children = client.search_runs([experiment_id],
                                  f"tags.mlflow.parentRunId = '{job.run_id}'")
    assert sorted(r.data.params["epochs"] for r in children) == ["2", "3"]
    for child in children:
        assert child.info.status == "FINISHED" and child.data.tags["mlopskit.kind"] == "trial"
        history = client.get_metric_history(child.info.run_id, "validation:auc")
        assert len(history) == int(child.data.params["epochs"])


def test_a_pipeline_execution_is_a_run_with_a_run_per_step(
        tracked_session: mlopskit.Session, code: Path, exp: str, moto_service: Any) -> None:
    from mlopskit.pipeline import ParameterInteger, Pipeline, TrainingStep

    session = tracked_session
    epochs = ParameterInteger("Epochs", default_value=3)
    train = TrainingStep("Train", _estimator(session, code, hyperparameters={"epochs": epochs}))
    pipeline = Pipeline("tracked", parameters=[epochs], steps=[train], session=session)
    pipeline.upsert()
    with pytest.raises(ValidationError, match="run_name"):
        pipeline.start(run_name="alone")  # refused before an execution exists
    assert pipeline.executions() == []
    execution = pipeline.start({"Epochs": 2}, experiment=exp)
    client = _client(session)
    parent = client.get_run(execution.run_id)
    assert parent.data.tags["mlopskit.kind"] == "pipeline"
    assert parent.data.tags["mlopskit.execution_arn"] == execution.arn
    assert parent.data.params["Epochs"] == "2"
    if not _executes(session):
        assert parent.info.status == "RUNNING"
        # SageMaker runs the step's job: moto stands in for it, the log in CloudWatch.
        [step_request] = [s["Arguments"] for s in
                          json.loads(pipeline.definition())["Steps"]]
        moto_service.run_step_job(session, execution.arn, "Train", {
            **{k: v for k, v in step_request.items() if k != "HyperParameters"},
            "TrainingJobName": "pipelines-" + execution.arn.rsplit("/", 1)[-1] + "-Train",
            "HyperParameters": {**step_request["HyperParameters"], "epochs": "2"}},
            _auc_lines(2))
    execution.wait(timeout=600)
    parent = client.get_run(execution.run_id)
    assert (parent.info.status, parent.data.tags["mlopskit.status"]) == ("FINISHED",
                                                                          "Succeeded")
    experiment_id = client.get_experiment_by_name(exp).experiment_id
    [step] = client.search_runs([experiment_id],
                                f"tags.mlflow.parentRunId = '{execution.run_id}'")
    assert step.info.run_name == "Train" and step.info.status == "FINISHED"
    assert step.data.tags["mlopskit.step_type"] == "Training"
    assert step.data.params["epochs"] == "2"
    # The step names its job the same way on both backends: by name, as attach takes it.
    job_name = execution.step("Train").job
    assert step.data.tags["mlopskit.job_name"] == job_name
    assert mlopskit.TrainingJob.attach(job_name, session=session).status == "Completed"
    assert [m.value for m in client.get_metric_history(step.info.run_id, "validation:auc")] \
        == [pytest.approx(0.51), pytest.approx(0.52)]
    # A handle attached later finds the run by the execution's tag.
    assert type(execution)(execution.arn, session).run_id == execution.run_id


def test_a_model_package_and_its_run_name_each_other(tracked_session: mlopskit.Session,
                                                     code: Path, exp: str) -> None:
    from mlopskit.errors import NotFoundError

    session = tracked_session
    estimator = _estimator(session, code)
    job = estimator.fit(experiment=exp, logs=False)
    assert job.model_data is not None
    if not _executes(session):  # nothing ran the script: stand in for its artifact
        session.backend.objects.put_bytes(b"artifact", job.model_data)
    group = mlopskit.ModelPackageGroup("tracked-models", session=session).create()
    with pytest.raises(ValidationError, match="run_id"):
        group.register(estimator.create_model(), run_id="not-a-run")
    with pytest.raises(NotFoundError, match="run_id"):
        group.register(estimator.create_model(), run_id="0" * 32)
    with pytest.raises(ValidationError, match="copy_run_metrics"):
        group.register(estimator.create_model(), copy_run_metrics=True)
    assert list(group.versions()) == []  # refused before anything was written
    package = group.register(estimator.create_model(), source_job=job, copy_run_metrics=True)
    assert package.run_id == job.run_id
    run = _client(session).get_run(job.run_id)
    assert run.data.tags["mlopskit.model_package_arn"] == package.arn
    assert run.data.tags["mlopskit.model_package_version"] == "1"
    assert package.metrics == run.data.metrics
    if _executes(session):
        assert package.metrics["validation:auc"] == pytest.approx(0.55)


@pytest.mark.slow  # three jobs importing MLflow at once: about 30 s on 2 cores
def test_concurrent_jobs_log_into_one_experiment(tracked_session: mlopskit.Session,
                                                code: Path, exp: str) -> None:
    if not _executes(tracked_session):
        pytest.skip("the service runs the jobs; nothing logs here")
    estimator = _estimator(tracked_session, code,
                           hyperparameters={"use-mlflow": 1, "steps": 50})
    jobs = [estimator.fit(experiment=exp, wait=False, logs=False) for _ in range(3)]
    for job in jobs:  # three processes wrote to the store at once
        job.wait(timeout=600)
    client = _client(tracked_session)
    for job in jobs:
        history = client.get_metric_history(job.run_id, "script_loss")
        assert [m.step for m in history] == list(range(1, 51))
        assert client.get_run(job.run_id).info.status == "FINISHED"
    assert len({job.run_id for job in jobs}) == 3


def test_a_job_never_waited_on_is_recorded_when_its_experiment_is_read(
        tracked_session: mlopskit.Session, code: Path, exp: str, moto_service: Any) -> None:
    if _executes(tracked_session):
        # The script joins the job's run and ends it itself (MLflow's context manager
        # does), so the run is FINISHED before mlopskit has recorded anything.
        job = _estimator(tracked_session, code, hyperparameters={"use-mlflow": 1, "steps": 5}
                         ).fit(experiment=exp, wait=False, logs=False)
        # Looked at, never waited on (describe records nothing), until it has ended.
        other = mlopskit.TrainingJob(job.name, session=tracked_session)
        deadline = time.monotonic() + 600
        while other.describe().status == "InProgress" and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a running job
    else:  # SageMaker runs the script (moto: Completed at once), its log in CloudWatch
        job = _estimator(tracked_session, code).fit(experiment=exp, wait=False, logs=False)
        moto_service.write_job_log(tracked_session, job.name, _auc_lines(5))
        assert mlopskit.TrainingJob(job.name, session=tracked_session).status == "Completed"
    assert "mlopskit.finished" not in _client(tracked_session).get_run(job.run_id).data.tags
    frame = mlopskit.Experiment(exp, session=tracked_session).runs()
    assert list(frame["status"]) == ["FINISHED"]
    assert frame["metrics.validation:auc"].iloc[0] == pytest.approx(0.55)
    if _executes(tracked_session):
        assert frame["metrics.script_loss"].iloc[0] == pytest.approx(0.2)
    tags = _client(tracked_session).get_run(job.run_id).data.tags
    assert (tags["mlopskit.finished"], tags["mlopskit.status"]) == ("1", "Completed")
