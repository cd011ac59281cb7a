"""``mlopskit jobs|endpoints|pipelines`` on both backends: output, --json, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.cli import main
from mlopskit.errors import JobFailedError
from mlopskit.pipeline import ConditionStep, FailStep, GreaterThan, ParameterFloat, Pipeline
from mlopskit.pipeline.variables import ParameterBoolean, ParameterInteger, ParameterString
from mlopskit.testing import TEST_BUCKET, TEST_REGION, TEST_ROLE_ARN
from tests import processing_moto
from tests.conformance.test_pipelines import moto_pipelines  # noqa: F401 (a fixture)

from ..helpers import IMAGE, model_in_store

TRAIN = "import os\nprint('hello from training')\n" \
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('m')\n"
PREPARE = "import os\nos.makedirs('/opt/ml/processing/out', exist_ok=True)\n" \
          "open('/opt/ml/processing/out/done.txt', 'w').write('done')\n"


@pytest.fixture
def moto_processing(any_session, monkeypatch) -> processing_moto.ProcessingLifecycle | None:
    """On AWS, moto's processing jobs made more like SageMaker's (moto, not mlopskit)."""
    if any_session.backend_name == "aws":
        return processing_moto.patch(monkeypatch)
    return None


@pytest.fixture
def cli(any_session, moto_processing, monkeypatch):
    """The CLI pointed at ``any_session``'s backend through the environment."""
    if any_session.backend_name == "local":
        monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
        monkeypatch.setenv("MLOPSKIT_ROOT", str(any_session.root))
    else:
        for key, value in {"MLOPSKIT_BACKEND": "aws", "MLOPSKIT_REGION": TEST_REGION,
                           "MLOPSKIT_BUCKET": TEST_BUCKET,
                           "MLOPSKIT_ROLE_ARN": TEST_ROLE_ARN}.items():
            monkeypatch.setenv(key, value)
    return any_session


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _train(session, tmp_path: Path, **kwargs) -> mlopskit.TrainingJob:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "train.py").write_text(kwargs.pop("script", TRAIN))
    estimator = mlopskit.Estimator(entry_point="train.py", source_dir=tmp_path,
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   session=session)
    return estimator.fit(logs=False, **kwargs)


def _model(session, tmp_path: Path) -> mlopskit.Model:
    rng = np.random.default_rng(2)
    features = rng.normal(size=(60, 3))
    fitted = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    return model_in_store(session, tmp_path, fitted, "only_model_fn.py", key="models/cli",
                          image_uri=IMAGE)


# -- jobs ---------------------------------------------------------------------------------


def test_jobs_list_show_and_logs(cli, tmp_path, capsys):
    trained = _train(cli, tmp_path / "t")
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE)
    processed = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                   session=cli).run(script, logs=False)
    model = _model(cli, tmp_path / "m")
    data = f"s3://{cli.default_bucket}/cli/scoring/"
    cli.backend.objects.put_bytes(b"0.1,0.2,0.3\n2.0,1.0,0.5\n", data + "rows.csv")
    transformed = model.transformer(instance_count=1, instance_type="ml.m5.large") \
        .transform(data, content_type="text/csv")

    code, out, _ = run(capsys, "jobs", "list", "--json")
    assert code == 0
    listed = {(j["name"], j["type"], j["status"]) for j in json.loads(out)}
    assert listed == {(trained.name, "training", "Completed"),
                      (processed.name, "processing", "Completed"),
                      (transformed.name, "transform", "Completed")}
    code, out, _ = run(capsys, "jobs", "list", "--type", "processing")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "TYPE", "STATUS", "CREATED", "DURATION"]
    assert processed.name in out and trained.name not in out
    code, out, _ = run(capsys, "jobs", "list", "--status", "failed", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(capsys, "jobs", "list", "--limit", "1", "--json")
    assert code == 0 and len(json.loads(out)) == 1
    newest = max([trained, processed, transformed],
                 key=lambda j: (j.describe().creation_time, j.name))  # ties: by name
    assert json.loads(out)[0]["name"] == newest.name
    code, out, _ = run(capsys, "jobs", "list", "--type", "training", "--json")
    assert [j["name"] for j in json.loads(out)] == [trained.name]
    assert isinstance(json.loads(out)[0]["duration_seconds"], float)

    code, out, _ = run(capsys, "jobs", "show", trained.name, "--json")
    shown = json.loads(out)
    assert code == 0
    assert (shown["type"], shown["name"], shown["status"]) == (
        "training", trained.name, "Completed")
    assert shown["model_data"] == trained.model_data
    code, out, _ = run(capsys, "jobs", "show", processed.name)
    assert code == 0 and out.startswith(f"processing job {processed.name}: Completed")
    code, out, _ = run(capsys, "jobs", "show", transformed.name, "--type", "transform")
    assert code == 0 and f"transform job {transformed.name}" in out

    code, out, _ = run(capsys, "jobs", "logs", trained.name)
    assert code == 0
    if cli.backend_name == "local":  # moto keeps no CloudWatch log lines for its jobs
        assert "hello from training" in out


def test_job_environment_values_are_not_printed(cli, tmp_path, capsys):
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE)
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             environment={"API_TOKEN": "s3cr3t-value"},
                             session=cli).run(script, logs=False)
    for argv in (["jobs", "show", job.name, "--json"], ["jobs", "show", job.name]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "s3cr3t-value" not in out
    code, out, _ = run(capsys, "jobs", "show", job.name, "--json")
    assert json.loads(out)["environment"] == ["API_TOKEN"]


@pytest.mark.parametrize("any_session", ["aws"], indirect=True)
def test_logs_read_every_line_of_a_job_on_aws(cli, tmp_path, capsys):
    """On AWS the lines come from CloudWatch Logs (``/aws/sagemaker/ProcessingJobs``);
    moto writes none for its jobs, so the test puts two hosts' lines there itself."""
    script = tmp_path / "prepare.py"
    script.write_text(PREPARE)
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             session=cli).run(script, logs=False)
    logs = cli.boto3_session.client("logs")
    group = "/aws/sagemaker/ProcessingJobs"
    logs.create_log_group(logGroupName=group)
    for host, words in (("algo-1", ["first", "second"]), ("algo-2", ["third"])):
        stream = f"{job.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        now_ms = int(time.time() * 1000)  # CloudWatch (and moto) drop events days old
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now_ms + i, "message": w} for i, w in enumerate(words)])
    code, out, _ = run(capsys, "jobs", "logs", job.name)
    assert code == 0
    assert out.splitlines() == ["[algo-1] first", "[algo-1] second", "[algo-2] third"]


def test_stop_on_both_backends(cli, moto_processing, tmp_path, capsys):
    script = tmp_path / "wait.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    if moto_processing is not None:
        moto_processing.describes_until_done = 1000  # runs until stopped
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             session=cli).run(script, wait=False, logs=False)
    code, out, err = run(capsys, "jobs", "stop", job.name, "--json")
    assert code == 0, err
    assert json.loads(out) == {"name": job.name, "type": "processing",
                               "status": json.loads(out)["status"]}
    assert json.loads(out)["status"] in ("Stopping", "Stopped")
    with pytest.raises(JobFailedError, match="Stopped"):
        mlopskit.ProcessingJob.attach(job.name, session=cli).wait(timeout=60)
    code, out, err = run(capsys, "jobs", "stop", job.name, "--type", "processing")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "only an InProgress job can be stopped" in err
    code, out, _ = run(capsys, "jobs", "list", "--status", "stopped", "--json")
    assert [(j["name"], j["status"]) for j in json.loads(out)] == [(job.name, "Stopped")]


def test_stopping_a_running_job(local_session, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLOPSKIT_ROOT", str(local_session.root))
    monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
    job = _train(local_session, tmp_path, wait=False,
                 script="import time\nprint('started', flush=True)\ntime.sleep(120)\n")
    code, out, _ = run(capsys, "jobs", "stop", job.name, "--json")
    assert code == 0
    assert json.loads(out)["status"] in ("Stopping", "Stopped")
    attached = mlopskit.TrainingJob.attach(job.name, session=local_session)
    with pytest.raises(JobFailedError, match="ended Stopped"):
        attached.wait(timeout=60)
    assert attached.status == "Stopped"
    code, _, err = run(capsys, "jobs", "stop", job.name)
    assert code == 1 and "only an InProgress job can be stopped" in err


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["jobs", "show", "no-such-job"], 1, "no training, processing or transform job is named"),
    (["jobs", "stop", "no-such-job", "--type", "training"], 1, "no-such-job"),
    (["jobs", "logs", "no-such-job", "--type", "processing"], 1, "no-such-job"),
    (["jobs", "list", "--limit", "0"], 2, "--limit: a positive number, got 0"),
    (["jobs", "list", "--type", "batch"], 2, "argument --type: invalid choice: 'batch'"),
    (["jobs", "show"], 2, "the following arguments are required: NAME"),
    (["jobs"], 2, "the following arguments are required: ACTION"),
    (["jobs", "list", "--limit", "x"], 2, "argument --limit: invalid int value: 'x'"),
    (["jobs", "list", "--status", "Done"], 2,
     "--status: one of InProgress, Completed, Failed, Stopping, Stopped, got 'Done'"),
    (["jobs", "show", "bad_name"], 2, "NAME: 'bad_name' is not a valid job name"),
    (["jobs", "logs", "x-"], 2, "NAME: 'x-' is not a valid job name"),
    (["jobs", "stop", "a" * 64], 2, "is not a valid job name (1-63 letters"),
])
def test_bad_job_commands(cli, capsys, argv, code, message):
    got, _, err = run(capsys, *argv)
    assert got == code
    assert message in err


# -- endpoints ----------------------------------------------------------------------------


def _queue_moto_answer(session, body: str) -> None:
    """moto's runtime answers from a queue of canned results (moto, not mlopskit)."""
    if session.backend_name != "aws":
        return
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    backend = sagemakerruntime_backends["123456789012"][session.region]
    backend.results_queue.append((body, "application/json", "AllTraffic", ""))


def test_endpoints_list_show_invoke_delete(cli, tmp_path, capsys):
    _model(cli, tmp_path).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                 endpoint_name="cli-ep")
    code, out, _ = run(capsys, "endpoints", "list", "--json")
    assert code == 0
    assert [(e["name"], e["status"]) for e in json.loads(out)] == [("cli-ep", "InService")]
    code, out, _ = run(capsys, "endpoints", "list")
    assert code == 0 and "AllTraffic (1)" in out
    code, out, _ = run(capsys, "endpoints", "show", "cli-ep")
    assert code == 0
    assert "variant   AllTraffic: 100% of traffic, 1 x ml.m5.large" in out

    _queue_moto_answer(cli, "[1, 0]")
    code, out, _ = run(capsys, "endpoints", "invoke", "cli-ep", "--body",
                       "2.0,1.0,0.5\n-2.0,0.1,0.1", "--accept", "application/json", "--json")
    assert code == 0
    answer = json.loads(out)
    assert json.loads(answer["body"]) == [1, 0]
    assert answer["variant"] == "AllTraffic"
    request = tmp_path / "request.csv"
    request.write_text("2.0,1.0,0.5\n-2.0,0.1,0.1\n")
    _queue_moto_answer(cli, "[1, 0]")
    code, out, _ = run(capsys, "endpoints", "invoke", "cli-ep", "--file", str(request),
                       "--accept", "application/json")
    assert code == 0 and json.loads(out) == [1, 0]

    if cli.backend_name == "local":  # the server's 500 names the model's error on 3 lines
        code, out, err = run(capsys, "endpoints", "invoke", "cli-ep", "--body", "2.0,1.0,0.5")
        assert (code, out) == (1, "")
        assert err.startswith("mlopskit: InvocationError: endpoint 'cli-ep' variant "
                              "'AllTraffic' answered 500")
        assert err.count("\n") == 1

    code, out, _ = run(capsys, "endpoints", "delete", "cli-ep")
    assert (code, out.strip()) == (0, "endpoint cli-ep: deleted")
    code, out, _ = run(capsys, "endpoints", "list", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = run(capsys, "endpoints", "list")
    assert out.strip() == "(no endpoints)"


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["endpoints", "show", "no-such-endpoint"], 1, "no-such-endpoint"),
    (["endpoints", "delete", "no-such-endpoint"], 1, "no-such-endpoint"),
    (["endpoints", "invoke", "cli-ep"], 2, "one of the arguments --body --file is required"),
    (["endpoints", "invoke", "cli-ep", "--body", "1", "--file", "x"], 2, "not allowed with"),
    (["endpoints", "invoke", "cli-ep", "--file", "/no/such/file.csv"], 2,
     "--file: '/no/such/file.csv' is not a file"),
    (["endpoints", "restart", "cli-ep"], 2, "invalid choice: 'restart'"),
    (["endpoints", "show", "my_endpoint"], 2, "NAME: 'my_endpoint' is not a valid endpoint"),
    (["endpoints", "invoke", "cli-ep", "--body", "1", "--variant", "a b"], 2,
     "--variant: 'a b' is not a valid variant name"),
])
def test_bad_endpoint_commands(cli, capsys, argv, code, message):
    got, out, err = run(capsys, *argv)
    assert (got, out) == (code, "")
    assert message in err
    assert err.count("\n") == 1  # one line, usage errors included


# -- pipelines ----------------------------------------------------------------------------


@pytest.fixture
def pipeline(cli, request) -> Pipeline:
    if cli.backend_name == "aws":
        request.getfixturevalue("moto_pipelines")
    size = ParameterFloat("Size", default_value=0.0)
    made = Pipeline("cli-quick", parameters=[
        size, ParameterInteger("Count", default_value=1), ParameterString("Label", "nightly"),
        ParameterBoolean("Strict", default_value=False)],
        steps=[ConditionStep("Check", [GreaterThan(size, 10)],
                             if_steps=[FailStep("TooBig", "too big")])], session=cli)
    made.upsert()
    return made


def test_pipelines_list_run_executions_steps(pipeline, capsys):
    code, out, _ = run(capsys, "pipelines", "list", "--json")
    assert (code, json.loads(out)) == (0, ["cli-quick"])
    code, out, _ = run(capsys, "pipelines", "run", "cli-quick", "--param", "Size=2.5",
                       "--param", "Count=3", "--param", "Strict=true", "--wait", "--json")
    assert code == 0
    record = json.loads(out)
    assert record["status"] == "Succeeded"
    assert record["parameters"] == {"Size": 2.5, "Count": 3, "Label": "nightly",
                                    "Strict": True}
    code, out, _ = run(capsys, "pipelines", "executions", "cli-quick", "--json")
    assert code == 0 and [e["arn"] for e in json.loads(out)] == [record["arn"]]
    code, out, _ = run(capsys, "pipelines", "executions", "cli-quick")
    assert record["arn"] in out and "Succeeded" in out
    code, out, _ = run(capsys, "pipelines", "steps", record["arn"], "--json")
    assert code == 0
    assert [(s["name"], s["status"]) for s in json.loads(out)] == [("Check", "Succeeded")]


def test_a_failed_run_exits_1_with_the_reason(pipeline, capsys):
    if pipeline.session is not None and pipeline.session.backend_name == "aws":
        pytest.skip("moto's pipeline executions always succeed (they run no steps)")
    code, _, err = run(capsys, "pipelines", "run", "cli-quick", "--param", "Size=50",
                       "--wait")
    assert code == 1 and "too big" in err


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["pipelines", "run", "cli-quick", "--param", "Nope=1"], 2,
     "--param Nope: pipeline 'cli-quick' has no such parameter; it has: Count, Label, Size"),
    (["pipelines", "run", "cli-quick", "--param", "Count=lots"], 2,
     "--param Count: expected an Integer, got 'lots'"),
    (["pipelines", "run", "cli-quick", "--param", "Strict=yes"], 2,
     "--param Strict: expected a Boolean, got 'yes'"),
    (["pipelines", "run", "cli-quick", "--param", "Size"], 2,
     "--param: expected NAME=VALUE, got 'Size'"),
    (["pipelines", "run", "no-such-pipeline"], 1, "no-such-pipeline"),
    (["pipelines", "executions", "no-such-pipeline"], 1, "no-such-pipeline"),
    (["pipelines", "executions"], 2, "the following arguments are required: NAME"),
    (["pipelines", "run", "cli_quick"], 2, "NAME: 'cli_quick' is not a valid pipeline name"),
    (["pipelines", "steps", "cli-quick"], 2,
     "EXECUTION_ARN: 'cli-quick' is not a pipeline execution ARN"),
    (["pipelines", "steps", "arn:aws:sagemaker:us-east-1:123456789012:pipeline/cli-quick/"
                            "execution/nosuchid"], 1, "nosuchid"),
])
def test_bad_pipeline_commands_start_nothing(pipeline, capsys, argv, code, message):
    got, _, err = run(capsys, *argv)
    assert got == code
    assert message in err
    assert pipeline.executions() == []


# -- the installed command --------------------------------------------------------------------


def test_the_command_runs_as_a_module(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mlopskit", "--root", str(tmp_path),
                           "jobs", "list"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "(no jobs)")
    bad = subprocess.run([sys.executable, "-m", "mlopskit", "jobs", "list", "--type", "x"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice: 'x'" in bad.stderr


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    """`mlopskit jobs list | head -1`: the reader leaves early; no traceback."""
    root = tmp_path / "store"
    session = mlopskit.LocalSession(root=root)
    for index in range(3):
        _train(session, tmp_path / f"code-{index}")
    session.close()
    reader = subprocess.Popen([sys.executable, "-m", "mlopskit", "--root", str(root), "jobs",
                               "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # as `head` does once it has its lines
    errors = reader.stderr.read().decode()
    assert reader.wait(timeout=60) in (0, 1)
    assert "Traceback" not in errors and "BrokenPipeError" not in errors
