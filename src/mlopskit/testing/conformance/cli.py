"""The ``mlopskit`` command on every backend: ``registry``, ``jobs``, ``endpoints``,
``pipelines`` and ``monitor``; their output, ``--json`` and exit codes (0 done, 1 refused,
2 bad arguments).

The command builds its own session from ``MLOPSKIT_*`` variables; these classes set the
ones the ``conformance_cli_environment`` fixture gives (the plugin knows them for a
``LocalSession`` and an ``AwsSession``; a plug-in backend overrides the fixture).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import JobFailedError
from mlopskit.monitoring import DataQualityMonitor, baseline
from mlopskit.pipeline import ConditionStep, FailStep, GreaterThan, ParameterFloat, Pipeline
from mlopskit.pipeline.variables import ParameterBoolean, ParameterInteger, ParameterString

from ...backends.base import Capability
from ...session import Session
from ..plugin import Emulation
from ._support import IMAGE, Conformance, fitted_classifier, model_in_store, run_cli
from .monitoring import MONITOR_IMAGE

__all__ = ["MonitorCliConformance", "RegistryCliConformance", "ResourcesCliConformance"]

TRAIN = ("import os\nprint('hello from training')\n"
         "open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('m')\n")
PREPARE = ("import os\nos.makedirs('/opt/ml/processing/out', exist_ok=True)\n"
           "open('/opt/ml/processing/out/done.txt', 'w').write('done')\n")


class _CliConformance(Conformance):
    @pytest.fixture
    def cli_session(self, session: Session, conformance_cli_environment: dict[str, str],
                    monkeypatch: pytest.MonkeyPatch) -> Session:
        """``session``, with the environment pointing the command at its store."""
        for key, value in conformance_cli_environment.items():
            monkeypatch.setenv(key, value)
        return session


# -- mlopskit registry --------------------------------------------------------------------

BAD_REGISTRY_ARGUMENTS: list[tuple[list[str], int, str]] = [
    ([], 2, "usage"),
    (["registry"], 2, "required"),
    (["registry", "frobnicate"], 2, "invalid choice"),
    (["registry", "show", "fraud"], 2, "required"),
    (["registry", "show", "fraud", "one"], 2, "invalid int value"),
    (["registry", "approve", "fraud", "1"], 2, "--note"),
    (["registry", "versions", "fraud", "--status", "Done"], 2, "not an approval status"),
    (["registry", "approve", "fraud", "1", "--note", "x", "--require", "auc=0.9"], 2,
     "METRIC>=VALUE"),
    (["--backend", "gcp", "registry", "groups"], 2, "invalid choice"),
    (["registry", "show", "fraud", "9"], 1, "version 9"),
    (["registry", "versions", "nope"], 1, "NotFoundError"),
    (["registry", "show", "bad_name", "1"], 2, "name"),
]


class RegistryCliConformance(_CliConformance):
    """``mlopskit registry``: groups, versions, approve with a bar, reject, show."""

    @pytest.fixture
    def cli(self, cli_session: Session, monkeypatch: pytest.MonkeyPatch) -> Session:
        """Two versions of the group ``fraud`` (auc 0.81, 0.93); the command's user is
        ``ci-bot``."""
        monkeypatch.setenv("MLOPSKIT_USER", "ci-bot")
        group = mlopskit.ModelPackageGroup("fraud", session=cli_session).create()
        uri = f"s3://{cli_session.default_bucket}/m/model.tar.gz"
        cli_session.backend.objects.put_bytes(b"m", uri)
        for auc in (0.81, 0.93):
            group.register(mlopskit.Model(uri, image_uri=IMAGE), metrics={"auc": auc})
        return cli_session

    def test_groups_and_versions(self, cli: Session,
                                 capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run_cli(capsys, "registry", "groups", "--json")
        assert code == 0
        assert [g["name"] for g in json.loads(out)] == ["fraud"]
        code, out, _ = run_cli(capsys, "registry", "versions", "fraud")
        assert code == 0
        assert "2  PendingManualApproval   auc=0.93" in out
        code, out, _ = run_cli(capsys, "registry", "versions", "fraud", "--status", "Approved",
                               "--json")
        assert (code, json.loads(out)) == (0, [])

    def test_approve_with_a_bar_and_show(self, cli: Session,
                                         capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "registry", "approve", "fraud", "1", "--note", "ship",
                                 "--require", "auc>=0.9")
        assert code == 1
        assert "PolicyViolationError" in err
        assert "'auc' is 0.81" in err
        code, out, _ = run_cli(capsys, "registry", "approve", "fraud", "2", "--note",
                               "ship it", "--require", "auc>=0.9", "--json")
        assert code == 0
        shown = json.loads(out)
        assert shown["approval_status"] == "Approved"
        assert shown["history"][-1]["by"] == "ci-bot"
        assert shown["history"][-1]["note"] == "ship it"
        code, out, _ = run_cli(capsys, "registry", "show", "fraud", "2")
        assert code == 0
        assert "PendingManualApproval -> Approved  by ci-bot: ship it" in out
        latest = mlopskit.ModelPackageGroup.get("fraud", session=cli).latest()
        assert latest is not None and latest.version == 2

    def test_reject_then_approve_is_refused(self, cli: Session,
                                            capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(capsys, "registry", "reject", "fraud", "1", "--note", "bad")[0] == 0
        code, _, err = run_cli(capsys, "registry", "approve", "fraud", "1", "--note", "oops")
        assert code == 1
        assert "not allowed" in err

    def test_create_group_is_idempotent(self, cli: Session,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        assert run_cli(capsys, "registry", "create", "fraud")[0] == 0
        assert run_cli(capsys, "registry", "create", "other", "--description", "d")[0] == 0
        _, out, _ = run_cli(capsys, "registry", "groups")
        assert out.split() == ["fraud", "other"]

    @pytest.mark.parametrize(("argv", "code", "text"), BAD_REGISTRY_ARGUMENTS)
    def test_bad_arguments(self, cli: Session, capsys: pytest.CaptureFixture[str],
                           argv: list[str], code: int, text: str) -> None:
        before = [(p.version, p.approval_status) for p in
                  mlopskit.ModelPackageGroup.get("fraud", session=cli).versions()]
        got, _, err = run_cli(capsys, *argv)
        assert got == code
        assert text in err
        assert [(p.version, p.approval_status) for p in
                mlopskit.ModelPackageGroup.get("fraud", session=cli).versions()] == before


# -- mlopskit jobs | endpoints | pipelines ------------------------------------------------


def train(session: Session, tmp_path: Path, **kwargs: Any) -> mlopskit.TrainingJob:
    """Fit a small script (its first line prints ``hello from training``) in ``tmp_path``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "train.py").write_text(kwargs.pop("script", TRAIN))
    estimator = mlopskit.Estimator(entry_point="train.py", source_dir=tmp_path,
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   session=session)
    return estimator.fit(logs=False, **kwargs)


def _model(session: Session, tmp_path: Path) -> mlopskit.Model:
    return model_in_store(session, tmp_path, fitted_classifier(2, 60), "only_model_fn.py",
                          key="models/cli", image_uri=IMAGE)


BAD_JOB_COMMANDS: list[tuple[list[str], int, str]] = [
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
]

BAD_ENDPOINT_COMMANDS: list[tuple[list[str], int, str]] = [
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
]

BAD_PIPELINE_COMMANDS: list[tuple[list[str], int, str]] = [
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
]


class ResourcesCliConformance(_CliConformance):
    """``mlopskit jobs``, ``endpoints`` and ``pipelines``: list, show, logs, stop, invoke,
    delete, run, executions, steps."""

    @pytest.fixture
    def cli(self, cli_session: Session) -> Session:
        return cli_session

    @pytest.fixture
    def pipeline(self, cli: Session) -> Pipeline:
        size = ParameterFloat("Size", default_value=0.0)
        made = Pipeline("cli-quick", parameters=[
            size, ParameterInteger("Count", default_value=1),
            ParameterString("Label", "nightly"),
            ParameterBoolean("Strict", default_value=False)],
            steps=[ConditionStep("Check", [GreaterThan(size, 10)],
                                 if_steps=[FailStep("TooBig", "too big")])], session=cli)
        made.upsert()
        return made

    def test_jobs_list_show_and_logs(self, cli: Session, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     conformance_emulation: Emulation) -> None:
        trained = train(cli, tmp_path / "t")
        script = tmp_path / "prepare.py"
        script.write_text(PREPARE)
        processed = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                       session=cli).run(script, logs=False)
        model = _model(cli, tmp_path / "m")
        data = f"s3://{cli.default_bucket}/cli/scoring/"
        cli.backend.objects.put_bytes(b"0.1,0.2,0.3\n2.0,1.0,0.5\n", data + "rows.csv")
        transformed = model.transformer(instance_count=1, instance_type="ml.m5.large") \
            .transform(data, content_type="text/csv")

        code, out, _ = run_cli(capsys, "jobs", "list", "--json")
        assert code == 0
        listed = {(j["name"], j["type"], j["status"]) for j in json.loads(out)}
        assert listed == {(trained.name, "training", "Completed"),
                          (processed.name, "processing", "Completed"),
                          (transformed.name, "transform", "Completed")}
        code, out, _ = run_cli(capsys, "jobs", "list", "--type", "processing")
        assert code == 0
        assert out.splitlines()[0].split() == ["NAME", "TYPE", "STATUS", "CREATED", "DURATION"]
        assert processed.name in out and trained.name not in out
        code, out, _ = run_cli(capsys, "jobs", "list", "--status", "failed", "--json")
        assert (code, json.loads(out)) == (0, [])
        code, out, _ = run_cli(capsys, "jobs", "list", "--limit", "1", "--json")
        assert code == 0 and len(json.loads(out)) == 1
        jobs: list[Any] = [trained, processed, transformed]
        newest = max(jobs, key=lambda j: (j.describe().creation_time, j.name))  # ties: by name
        assert json.loads(out)[0]["name"] == newest.name
        code, out, _ = run_cli(capsys, "jobs", "list", "--type", "training", "--json")
        assert [j["name"] for j in json.loads(out)] == [trained.name]
        assert isinstance(json.loads(out)[0]["duration_seconds"], float)

        code, out, _ = run_cli(capsys, "jobs", "show", trained.name, "--json")
        shown = json.loads(out)
        assert code == 0
        assert (shown["type"], shown["name"], shown["status"]) == (
            "training", trained.name, "Completed")
        assert shown["model_data"] == trained.model_data
        code, out, _ = run_cli(capsys, "jobs", "show", processed.name)
        assert code == 0 and out.startswith(f"processing job {processed.name}: Completed")
        code, out, _ = run_cli(capsys, "jobs", "show", transformed.name, "--type", "transform")
        assert code == 0 and f"transform job {transformed.name}" in out

        code, out, _ = run_cli(capsys, "jobs", "logs", trained.name)
        assert code == 0
        if conformance_emulation.executes:  # an emulator ran no script, so logged nothing
            assert "hello from training" in out

    def test_job_environment_values_are_not_printed(self, cli: Session, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
        script = tmp_path / "prepare.py"
        script.write_text(PREPARE)
        job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                 environment={"API_TOKEN": "s3cr3t-value"},
                                 session=cli).run(script, logs=False)
        for argv in (["jobs", "show", job.name, "--json"], ["jobs", "show", job.name]):
            code, out, _ = run_cli(capsys, *argv)
            assert code == 0 and "s3cr3t-value" not in out
        code, out, _ = run_cli(capsys, "jobs", "show", job.name, "--json")
        assert json.loads(out)["environment"] == ["API_TOKEN"]

    def test_stop_on_both_backends(self, cli: Session, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str],
                                   conformance_emulation: Emulation) -> None:
        script = tmp_path / "wait.py"
        script.write_text("import time\nprint('started', flush=True)\ntime.sleep(120)\n")
        conformance_emulation.hold_jobs()  # runs until stopped
        job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                 session=cli).run(script, wait=False, logs=False)
        code, out, err = run_cli(capsys, "jobs", "stop", job.name, "--json")
        assert code == 0, err
        assert json.loads(out) == {"name": job.name, "type": "processing",
                                   "status": json.loads(out)["status"]}
        assert json.loads(out)["status"] in ("Stopping", "Stopped")
        with pytest.raises(JobFailedError, match="Stopped"):
            mlopskit.ProcessingJob.attach(job.name, session=cli).wait(timeout=60)
        code, out, err = run_cli(capsys, "jobs", "stop", job.name, "--type", "processing")
        assert (code, out) == (1, "")
        assert err.count("\n") == 1 and "only an InProgress job can be stopped" in err
        code, out, _ = run_cli(capsys, "jobs", "list", "--status", "stopped", "--json")
        assert [(j["name"], j["status"]) for j in json.loads(out)] == [(job.name, "Stopped")]

    @pytest.mark.parametrize(("argv", "code", "message"), BAD_JOB_COMMANDS)
    def test_bad_job_commands(self, cli: Session, capsys: pytest.CaptureFixture[str],
                              argv: list[str], code: int, message: str) -> None:
        got, _, err = run_cli(capsys, *argv)
        assert got == code
        assert message in err

    def test_endpoints_list_show_invoke_delete(self, cli: Session, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               conformance_emulation: Emulation) -> None:
        _model(cli, tmp_path).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                     endpoint_name="cli-ep")
        code, out, _ = run_cli(capsys, "endpoints", "list", "--json")
        assert code == 0
        assert [(e["name"], e["status"]) for e in json.loads(out)] == [("cli-ep", "InService")]
        code, out, _ = run_cli(capsys, "endpoints", "list")
        assert code == 0 and "AllTraffic (1)" in out
        code, out, _ = run_cli(capsys, "endpoints", "show", "cli-ep")
        assert code == 0
        assert "variant   AllTraffic: 100% of traffic, 1 x ml.m5.large" in out

        conformance_emulation.answer("[1, 0]")
        code, out, _ = run_cli(capsys, "endpoints", "invoke", "cli-ep", "--body",
                               "2.0,1.0,0.5\n-2.0,0.1,0.1", "--accept", "application/json",
                               "--json")
        assert code == 0
        answer = json.loads(out)
        assert json.loads(answer["body"]) == [1, 0]
        assert answer["variant"] == "AllTraffic"
        request = tmp_path / "request.csv"
        request.write_text("2.0,1.0,0.5\n-2.0,0.1,0.1\n")
        conformance_emulation.answer("[1, 0]")
        code, out, _ = run_cli(capsys, "endpoints", "invoke", "cli-ep", "--file", str(request),
                               "--accept", "application/json")
        assert code == 0 and json.loads(out) == [1, 0]

        if conformance_emulation.executes:  # the model's error, on one line
            code, out, err = run_cli(capsys, "endpoints", "invoke", "cli-ep", "--body",
                                     "2.0,1.0,0.5")
            assert (code, out) == (1, "")
            assert err.startswith("mlopskit: InvocationError: endpoint 'cli-ep' variant "
                                  "'AllTraffic' answered 500")
            assert err.count("\n") == 1

        code, out, _ = run_cli(capsys, "endpoints", "delete", "cli-ep")
        assert (code, out.strip()) == (0, "endpoint cli-ep: deleted")
        code, out, _ = run_cli(capsys, "endpoints", "list", "--json")
        assert (code, json.loads(out)) == (0, [])
        code, out, _ = run_cli(capsys, "endpoints", "list")
        assert out.strip() == "(no endpoints)"

    @pytest.mark.parametrize(("argv", "code", "message"), BAD_ENDPOINT_COMMANDS)
    def test_bad_endpoint_commands(self, cli: Session, capsys: pytest.CaptureFixture[str],
                                   argv: list[str], code: int, message: str) -> None:
        got, out, err = run_cli(capsys, *argv)
        assert (got, out) == (code, "")
        assert message in err
        assert err.count("\n") == 1  # one line, usage errors included

    @pytest.mark.slow
    def test_pipelines_list_run_executions_steps(self, pipeline: Pipeline,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run_cli(capsys, "pipelines", "list", "--json")
        assert (code, json.loads(out)) == (0, ["cli-quick"])
        code, out, _ = run_cli(capsys, "pipelines", "run", "cli-quick", "--param", "Size=2.5",
                               "--param", "Count=3", "--param", "Strict=true", "--wait",
                               "--json")
        assert code == 0
        record = json.loads(out)
        assert record["status"] == "Succeeded"
        assert record["parameters"] == {"Size": 2.5, "Count": 3, "Label": "nightly",
                                        "Strict": True}
        code, out, _ = run_cli(capsys, "pipelines", "executions", "cli-quick", "--json")
        assert code == 0 and [e["arn"] for e in json.loads(out)] == [record["arn"]]
        code, out, _ = run_cli(capsys, "pipelines", "executions", "cli-quick")
        assert record["arn"] in out and "Succeeded" in out
        code, out, _ = run_cli(capsys, "pipelines", "steps", record["arn"], "--json")
        assert code == 0
        assert [(s["name"], s["status"]) for s in json.loads(out)] == [("Check", "Succeeded")]

    def test_a_failed_run_exits_1_with_the_reason(self, pipeline: Pipeline,
                                                  capsys: pytest.CaptureFixture[str],
                                                  conformance_emulation: Emulation) -> None:
        if not conformance_emulation.executes:
            pytest.skip("an emulator's pipeline executions run no steps, so never fail")
        code, _, err = run_cli(capsys, "pipelines", "run", "cli-quick", "--param", "Size=50",
                               "--wait")
        assert code == 1 and "too big" in err

    @pytest.mark.parametrize(("argv", "code", "message"), BAD_PIPELINE_COMMANDS)
    def test_bad_pipeline_commands_start_nothing(self, pipeline: Pipeline,
                                                 capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], code: int,
                                                 message: str) -> None:
        got, _, err = run_cli(capsys, *argv)
        assert got == code
        assert message in err
        assert pipeline.executions() == []


# -- mlopskit monitor ---------------------------------------------------------------------


def _frame(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(0, 1, rows), "b": rng.normal(0, 1, rows)})


class MonitorCliConformance(_CliConformance):
    """``mlopskit monitor``: schedules listed, stopped, started, deleted; exit codes."""

    @pytest.fixture
    def cli(self, cli_session: Session) -> Session:
        """The schedule ``cli-monitor``: run by the Python scheduler over captures where
        the backend has one, else by the service over an endpoint, with its image."""
        monitor = DataQualityMonitor(f"s3://{cli_session.default_bucket}/capture/ep",
                                     baseline(_frame(300, 0)), name="cli-monitor",
                                     session=cli_session)
        if Capability.PYTHON_SCHEDULER in cli_session.backend.capabilities:
            monitor.schedule("1h")
        else:
            DataQualityMonitor("ep", monitor.baseline, name="cli-monitor",
                               session=cli_session).schedule("1h", image_uri=MONITOR_IMAGE)
        return cli_session

    def test_list_stop_start_delete(self, cli: Session,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run_cli(capsys, "monitor", "list", "--json")
        assert code == 0
        assert [(s["name"], s["status"]) for s in json.loads(out)] == [("cli-monitor",
                                                                        "Scheduled")]
        assert run_cli(capsys, "monitor", "stop", "cli-monitor")[0] == 0
        code, out, _ = run_cli(capsys, "monitor", "list")
        assert "cli-monitor" in out and "Stopped" in out
        assert run_cli(capsys, "monitor", "start", "cli-monitor")[0] == 0
        assert run_cli(capsys, "monitor", "delete", "cli-monitor")[0] == 0
        code, out, _ = run_cli(capsys, "monitor", "list", "--json")
        assert (code, json.loads(out)) == (0, [])

    def test_an_unknown_schedule_is_refused_with_exit_1(
            self, cli: Session, capsys: pytest.CaptureFixture[str]) -> None:
        code, _, err = run_cli(capsys, "monitor", "stop", "no-such-schedule")
        assert code == 1 and "no-such-schedule" in err
