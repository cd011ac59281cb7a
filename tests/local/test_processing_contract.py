"""The SageMaker processing contract on the local backend, with real scripts run unmodified.

The scripts under tests/scripts/processing/ hard-code /opt/ml/processing paths, as
processing scripts written for SageMaker do.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ConflictError, JobFailedError
from mlopskit.sagemaker_api.processing import processing_spec_from_request

SCRIPTS = Path(__file__).parent.parent / "scripts" / "processing"
REFERENCE = Path(__file__).parent.parent / "data" / "sdk-v2-pipeline-definition.json"


def _script(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "code"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copy(SCRIPTS / name, target)
    return target


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _object(session: mlopskit.LocalSession, uri: str) -> bytes:
    return session.backend.objects.get_bytes(uri)


def _processor(session: mlopskit.LocalSession, **kwargs: Any) -> mlopskit.Processor:
    kwargs.setdefault("instance_type", "ml.m5.large")
    return mlopskit.Processor(session=session, **kwargs)


def _job_dir(session: mlopskit.LocalSession, job: mlopskit.ProcessingJob) -> Path:
    return Path(job.describe().raw["JobDir"])


def _wait_for_log(job: mlopskit.ProcessingJob, text: str) -> None:
    """Wait (on real time, bounded) until ``text`` is in the job's log."""
    seen = threading.Event()
    for _ in range(1200):
        if text in job.logs():
            seen.set()
            break
        seen.wait(0.05)
    assert seen.is_set(), job.logs()


def _raw_csvs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(2):
        frame = pd.DataFrame(rng.normal(size=(6, 3)), columns=["a", "b", "c"])
        frame["label"] = np.arange(6) % 2
        frame.to_csv(folder / f"part-{i}.csv", index=False)
    return folder


def test_a_script_with_hard_coded_paths_runs_unmodified(local_session, tmp_path, monkeypatch):
    monkeypatch.setenv("SM_CURRENT_HOST", "leaked-from-the-caller")
    script = _script(tmp_path, "preprocess.py")
    before = _digest(script)
    raw = _raw_csvs(tmp_path / "raw")
    job = _processor(local_session).run(
        script, logs=False, arguments=["--test-fraction", "0.5", "--extra", "x y"],
        inputs=[mlopskit.ProcessingInput(raw, "/opt/ml/processing/input/raw")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/train", output_name="train"),
                 mlopskit.ProcessingOutput("/opt/ml/processing/test", output_name="test"),
                 mlopskit.ProcessingOutput("/opt/ml/processing/report",
                                           output_name="report")])
    assert job.status == "Completed", job.failure_reason
    assert _digest(script) == before  # the user's file is never touched
    assert _object(local_session, job.inputs["code"]) == script.read_bytes()

    train = pd.read_csv(io.BytesIO(_object(local_session, job.outputs["train"] + "/train.csv")))
    test = pd.read_csv(io.BytesIO(_object(local_session, job.outputs["test"] + "/test.csv")))
    assert (len(train), len(test)) == (6, 6)
    features = np.load(io.BytesIO(_object(
        local_session, job.outputs["train"] + "/nested/features.npy")))
    assert features.shape == (12, 3)
    assert _object(local_session, job.outputs["train"] + "/nested/copy-of-part-0.csv") == \
        (raw / "part-0.csv").read_bytes()

    report = json.loads(_object(local_session, job.outputs["report"] + "/report.json"))
    code_path = "/opt/ml/processing/input/code/preprocess.py"
    assert report["argv"] == [code_path, "--test-fraction", "0.5", "--extra", "x y"]
    assert report["file"] == code_path
    assert report["extra"] == ["--extra", "x y"]
    assert report["rows"] == 12 and report["features_equal"] is True
    assert report["listdir_raw"] == report["pathlib_raw"] == ["part-0.csv", "part-1.csv"]
    assert report["pathlib_glob"] == ["/opt/ml/processing/input/raw/part-0.csv",
                                      "/opt/ml/processing/input/raw/part-1.csv"]
    assert report["glob_recursive"] == ["/opt/ml/processing/train/nested/features.npy"]
    assert "input/raw/part-1.csv" in report["walked"]
    assert "train/nested/features.npy" in report["walked"]
    assert report["exists_code"] is True
    assert report["outputs_existed"] == {"train": True, "test": True, "report": True}
    assert report["sm_variables"] == []
    assert report["config_entrypoint"] == ["python3", code_path]
    assert report["config_input_paths"] == {"input-1": "/opt/ml/processing/input/raw",
                                            "code": "/opt/ml/processing/input/code"}
    assert report["resource_config"]["current_host"] == "algo-1"
    # Nothing was written to a shared /opt/ml.
    assert not Path("/opt/ml/processing/report/report.json").exists()


def test_two_jobs_at_once_each_see_only_their_own_data(local_session, tmp_path):
    script = _script(tmp_path, "own_data.py")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    jobs = []
    for who, values in (("first", [1, 2, 3]), ("second", [10, 20])):
        data = tmp_path / who / "data.csv"
        data.parent.mkdir()
        data.write_text("".join(f"{v}\n" for v in values))
        jobs.append(_processor(local_session).run(
            script, wait=False, logs=False, arguments=[str(barrier), who],
            inputs=[mlopskit.ProcessingInput(data, "/opt/ml/processing/input")],
            outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/result",
                                               output_name="result")]))
    for job in jobs:
        job.wait(timeout=120)
    sums = [_object(local_session, j.outputs["result"] + "/sum.txt").decode() for j in jobs]
    # Both ran at the same time (each saw the other at the barrier), and each read its own.
    assert sums == ["first 6 True\n", "second 30 True\n"]


def test_stdlib_path_apis_all_lead_into_the_job_folder(local_session, tmp_path):
    job = _run_stdlib_script(local_session, tmp_path)
    _check_stdlib_report(local_session, job, sys.version_info[:2])


def _run_stdlib_script(session: mlopskit.LocalSession, tmp_path: Path,
                       **run: Any) -> mlopskit.ProcessingJob:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "rows.txt").write_text("a\nb\n")
    (data / "more.txt").write_text("c\n")
    return _processor(session).run(
        _script(tmp_path, "stdlib_paths.py"), logs=False,
        inputs=[mlopskit.ProcessingInput(data, "/opt/ml/processing/input/data")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")],
        **run)


def _check_stdlib_report(session: mlopskit.LocalSession, job: mlopskit.ProcessingJob,
                         version: tuple[int, int]) -> None:
    assert job.status == "Completed", job.failure_reason
    report = json.loads(_object(session, job.outputs["out"] + "/report.json"))
    out = "/opt/ml/processing/out"
    data = "/opt/ml/processing/input/data"
    assert report["python"] == list(version)
    assert report["open_read"] == ["a", "b"]
    assert report["pathlib_read"] == "pathlib"
    assert report["pathlib_exists"] == [True, False]
    assert report["pathlib_iterdir"] == [f"{data}/more.txt", f"{data}/rows.txt"]
    assert report["pathlib_rglob"] == [f"{out}/made/deeper/p.txt"]
    assert report["glob"] == [f"{data}/more.txt", f"{data}/rows.txt"]
    assert report["listdir"] == ["more.txt", "rows.txt"]
    assert report["scandir_paths"] == [f"{data}/more.txt", f"{data}/rows.txt"]
    assert report["walk"] == [out, f"{out}/made", f"{out}/made/deeper"]
    assert report["os_path"] == [True, 4, f"{out}/made"]
    assert report["readlink"] == f"{out}/renamed.txt"
    assert report["through_link"] == ["a", "b"]
    assert report["tempfile_in_out"] == out
    assert report["error_names"] == f"{data}/missing.txt"
    assert report["relative_after_chdir"] == ["a", "b"]
    if version >= (3, 12):
        assert report["pathlib_walk"] == [out, f"{out}/made", f"{out}/made/deeper"]
    uploaded = session.backend.objects.list(job.outputs["out"] + "/")
    assert sorted(u.rsplit("/out/", 1)[-1] for u in uploaded) == [
        "made/deeper/p.txt", "renamed.txt", "report.json"]


def _other_pythons() -> list[tuple[str, str]]:
    """Interpreters of the other supported versions found on this machine (pyenv's, or on
    PATH), each checked to start."""
    found = []
    for version in ("3.10", "3.11", "3.12", "3.13"):
        if version == f"{sys.version_info[0]}.{sys.version_info[1]}":
            continue
        candidates = [*sorted(glob.glob(os.path.expanduser(
            f"~/.pyenv/versions/{version}.*/bin/python{version}"))),
            shutil.which(f"python{version}")]
        for path in filter(None, candidates):
            started = subprocess.run([path, "-c", "pass"], capture_output=True, check=False)
            if started.returncode == 0:
                found.append((version, path))
                break
    return found


@pytest.mark.parametrize(("version", "python"), _other_pythons() or [
    pytest.param("3.x", "", marks=pytest.mark.skip(reason="no other Python 3.10-3.13 here"))])
def test_path_mapping_on_other_pythons(tmp_path, version, python):
    # The bootstrap is standard-library only, so the job's interpreter needs no mlopskit.
    session = mlopskit.LocalSession(root=tmp_path / "store", python=python)
    try:
        job = _run_stdlib_script(session, tmp_path)
        _check_stdlib_report(session, job, tuple(int(p) for p in version.split(".")))
        failing = _run_stdlib_script(session, tmp_path / "again", arguments=["--fail"],
                                     wait=False)
        failing.wait(timeout=120, raise_on_failure=False)
        assert failing.status == "Failed"
        # The traceback shows the script's own line and the path as the script wrote it.
        assert "open(f\"{BASE}/input/data/not-there.csv\")" in failing.failure_reason
        assert "/opt/ml/processing/input/data/not-there.csv" in failing.failure_reason
        assert "_pathmap" not in failing.failure_reason
    finally:
        session.close()


def test_processingjobconfig_has_the_sagemaker_shape(local_session, tmp_path):
    job = _processor(local_session, environment={"MY_MODE": "full"}, image_uri="img:1").run(
        _script(tmp_path, "echo_args.py"), logs=False, arguments=["--n", "3"],
        inputs=[mlopskit.ProcessingInput(SCRIPTS / "fails.py", "/opt/ml/processing/input/x",
                                         s3_data_distribution_type="ShardedByS3Key")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    host = _job_dir(local_session, job) / "hosts" / "algo-1" / "opt" / "ml"
    config = json.loads((host / "config" / "processingjobconfig.json").read_text())
    assert set(config) == {
        "ProcessingJobArn", "ProcessingJobName", "AppSpecification", "Environment",
        "NetworkConfig", "ProcessingInputs", "ProcessingOutputConfig", "ProcessingResources",
        "RoleArn", "StoppingCondition"}
    assert config["ProcessingJobName"] == job.name and config["ProcessingJobArn"] == job.arn
    assert config["AppSpecification"] == {
        "ImageUri": "img:1", "ContainerArguments": ["--n", "3"],
        "ContainerEntrypoint": ["python3", "/opt/ml/processing/input/code/echo_args.py"]}
    assert config["Environment"] == {"MY_MODE": "full"}
    assert [i["InputName"] for i in config["ProcessingInputs"]] == ["input-1", "code"]
    first = config["ProcessingInputs"][0]["S3Input"]
    assert first["LocalPath"] == "/opt/ml/processing/input/x"
    assert first["S3DataDistributionType"] == "ShardedByS3Key"
    assert first["S3InputMode"] == "File" and first["S3DataType"] == "S3Prefix"
    output = config["ProcessingOutputConfig"]["Outputs"][0]
    assert output["S3Output"] == {"S3Uri": job.outputs["out"],
                                  "LocalPath": "/opt/ml/processing/out",
                                  "S3UploadMode": "EndOfJob"}
    assert config["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert config["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    resources = json.loads((host / "config" / "resourceconfig.json").read_text())
    assert resources["current_host"] == "algo-1" and resources["hosts"] == ["algo-1"]


def test_arguments_options_and_environment_reach_the_script(local_session, tmp_path):
    arguments = ["--flag=a b", "", "two words", "-x", "ünï", "--"]
    job = _processor(local_session, command=["python3", "-B"], environment={"MY_X": "1"}).run(
        _script(tmp_path, "echo_args.py"), logs=False, arguments=arguments,
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    seen = json.loads(_object(local_session, job.outputs["out"] + "/args.json"))
    assert seen["argv"] == ["/opt/ml/processing/input/code/echo_args.py", *arguments]
    assert seen["dont_write_bytecode"] == 1
    assert seen["env"] == {"MY_X": "1"}
    assert seen["name"] == "__main__"
    # The real folder behind /opt/ml, for code that cannot go through the mapping; the
    # script starts in the host's stand-in for "/", as processing containers start it in /.
    host = _job_dir(local_session, job) / "hosts" / "algo-1"
    assert seen["root"] == str(host / "opt" / "ml")
    assert seen["cwd"] == str(host)


def test_a_failing_script_reports_the_end_of_its_traceback(local_session, tmp_path):
    processor = _processor(local_session)
    with pytest.raises(JobFailedError) as info:
        processor.run(_script(tmp_path, "fails.py"), logs=False, outputs=[
            mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    job = info.value.job
    assert (job.status, info.value.status) == ("Failed", "Failed")
    reason = job.failure_reason
    assert reason.startswith("AlgorithmError: ExitCode 1 on algo-1; last lines of standard "
                             "error:")
    assert reason.endswith("ValueError: column price holds text")
    assert 'File "/opt/ml/processing/input/code/fails.py", line 9, in <module>' in reason
    assert "reading columns" not in reason  # standard output is not standard error
    assert "reading columns" in job.logs()
    assert job.exit_message is None
    # A failed job uploads nothing.
    assert local_session.backend.objects.list(job.outputs["out"] + "/") == []


def test_the_message_file_becomes_failure_reason_and_exit_message(local_session, tmp_path):
    job = _processor(local_session).run(_script(tmp_path, "fails.py"), logs=False,
                                        wait=False, arguments=["--message"])
    job.wait(timeout=120, raise_on_failure=False)
    assert job.status == "Failed"
    assert job.failure_reason == "ValueError: column price holds text"
    assert job.exit_message == "ValueError: column price holds text"


def test_long_tracebacks_keep_their_last_lines(local_session, tmp_path):
    script = tmp_path / "deep.py"
    script.write_text("import sys\n"
                      "sys.stderr.write('noise ' * 400 + '\\n')\n"
                      "def down(n):\n    return down(n - 1) if n else 1 / 0\n"
                      "down(30)\n")
    job = _processor(local_session).run(script, logs=False, wait=False)
    job.wait(timeout=120, raise_on_failure=False)
    assert len(job.failure_reason) <= 1024
    assert job.failure_reason.endswith("ZeroDivisionError: division by zero")
    assert "noise" not in job.failure_reason


def test_two_hosts_shard_inputs_and_the_first_host_wins_a_clash(local_session, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    for i in range(5):
        (shards / f"shard-{i}.txt").write_text(str(i))
    job = _processor(local_session, instance_count=2).run(
        _script(tmp_path, "shards.py"), logs=False,
        inputs=[mlopskit.ProcessingInput(shards, "/opt/ml/processing/input/shards",
                                         s3_data_distribution_type="ShardedByS3Key"),
                mlopskit.ProcessingInput(shards, "/opt/ml/processing/input/all")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    out = job.outputs["out"]
    one = json.loads(_object(local_session, out + "/algo-1.json"))
    two = json.loads(_object(local_session, out + "/algo-2.json"))
    assert one["shards"] == ["shard-0.txt", "shard-2.txt", "shard-4.txt"]
    assert two["shards"] == ["shard-1.txt", "shard-3.txt"]
    assert one["all"] == two["all"] == [f"shard-{i}.txt" for i in range(5)]
    assert _object(local_session, out + "/shared.txt") == b"algo-1"
    assert "[algo-2] host algo-2 done" in job.logs()
    assert job.exit_message == "done on algo-1\ndone on algo-2"
    assert job.describe().instance_count == 2


def test_max_runtime_stops_the_job_and_uploads_nothing(local_session, tmp_path):
    processor = _processor(local_session, max_runtime=1)
    with pytest.raises(JobFailedError, match="MaxRuntimeExceeded"):
        processor.run(_script(tmp_path, "wait_for_stop.py"), logs=False, outputs=[
            mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    job = processor.latest_job
    assert job.status == "Stopped"
    assert job.failure_reason == "MaxRuntimeExceeded: the job ran longer than max_runtime=1s"
    assert local_session.backend.objects.list(job.outputs["out"] + "/") == []


def test_stop_a_detached_job(local_session, tmp_path):
    job = _processor(local_session).run(
        _script(tmp_path, "wait_for_stop.py"), wait=False, logs=False,
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    _wait_for_log(job, "ready")
    job.stop()
    assert job.status in {"Stopping", "Stopped"}
    job.wait(timeout=60, raise_on_failure=False)
    assert (job.status, job.failure_reason) == ("Stopped", None)
    assert mlopskit.ProcessingJob.attach(job.name, session=local_session).status == "Stopped"
    assert local_session.backend.objects.list(job.outputs["out"] + "/") == []
    with pytest.raises(ConflictError, match="Stopped"):
        job.stop()


def test_a_command_the_local_backend_cannot_run_creates_nothing(local_session, tmp_path):
    script = tmp_path / "prep.sh"
    script.write_text("echo hi\n")
    data = tmp_path / "data.csv"
    data.write_text("1\n")
    for command, named in ((["bash"], "'bash'"), (["/bin/sh", "-e"], "'/bin/sh'"),
                           (["python3", "-m", "pkg"], "'-m'"), (["python3", "-c"], "'-c'")):
        with pytest.raises(CapabilityError, match=named):
            _processor(local_session, command=command).run(
                script, logs=False, inputs=[
                    mlopskit.ProcessingInput(data, "/opt/ml/processing/input")])
    assert list(local_session.backend.processing.names(None)) == []
    assert local_session.backend.objects.list(f"s3://{local_session.default_bucket}/") == []
    assert not (local_session.root / "jobs" / "processing").exists()


def test_logs_stream_live_when_asked(local_session, tmp_path, capsys):
    script = tmp_path / "talk.py"
    script.write_text("import sys\nprint('hello from processing')\n"
                      "print('to stderr', file=sys.stderr)\n")
    job = _processor(local_session).run(script)
    assert "hello from processing" in capsys.readouterr().out
    assert "to stderr" in job.logs()
    _processor(local_session).run(script, logs=False)
    assert "hello from processing" not in capsys.readouterr().out


def test_input_copies_go_and_code_config_outputs_stay(local_session, tmp_path):
    data = tmp_path / "data"
    (data / "deep").mkdir(parents=True)
    (data / "deep" / "a.csv").write_text("1\n")
    script = tmp_path / "copy.py"
    script.write_text("import shutil\n"
                      "shutil.copytree('/opt/ml/processing/input/deep', "
                      "'/opt/ml/processing/out/deep')\n")
    # The SDK's usual layout: an input at /opt/ml/processing/input holds the code folder.
    job = _processor(local_session).run(
        script, logs=False, inputs=[mlopskit.ProcessingInput(data, "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")])
    assert _object(local_session, job.outputs["out"] + "/deep/a.csv") == b"1\n"
    host = _job_dir(local_session, job) / "hosts" / "algo-1" / "opt" / "ml"
    assert not (host / "processing" / "input" / "deep").exists()
    assert (host / "processing" / "input" / "code" / "copy.py").read_bytes() == \
        script.read_bytes()
    assert (host / "config" / "processingjobconfig.json").is_file()
    assert (host / "processing" / "out" / "deep" / "a.csv").is_file()


def test_an_empty_input_prefix_fails_the_job(local_session, tmp_path):
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    bucket = local_session.default_bucket
    job = _processor(local_session).run(script, logs=False, wait=False, inputs=[
        mlopskit.ProcessingInput(f"s3://{bucket}/nothing/here", "/opt/ml/processing/input")])
    job.wait(timeout=120, raise_on_failure=False)
    assert job.status == "Failed"
    assert job.failure_reason == (f"ClientError: no S3 objects found under S3 URL "
                                  f"'s3://{bucket}/nothing/here' (the input 'input-1')")


def test_a_request_from_a_sagemaker_sdk_pipeline_runs_locally(local_session, tmp_path):
    definition = json.loads(REFERENCE.read_text())
    step = next(s for s in definition["Steps"] if s["Name"] == "Preprocess")
    bucket = local_session.default_bucket
    resolved = {
        "Parameters.InputDataUrl": f"s3://{bucket}/raw/",
        "Execution.PipelineExecutionId": "exec-1",
    }

    def resolve(value: Any) -> Any:  # what the pipeline engine does before running a step
        if isinstance(value, dict) and "Get" in value:
            return resolved[value["Get"]]
        if isinstance(value, dict) and "Std:Join" in value:
            join = value["Std:Join"]
            return join["On"].join(resolve(v) for v in join["Values"])
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    request = resolve(step["Arguments"])
    code_uri = request["ProcessingInputs"][1]["S3Input"]["S3Uri"]
    request["ProcessingInputs"][1]["S3Input"]["S3Uri"] = code_uri.replace(
        "dummy-mlopskit-bucket", bucket)
    for output in request["ProcessingOutputConfig"]["Outputs"]:
        output["S3Output"]["S3Uri"] = output["S3Output"]["S3Uri"].replace(
            "dummy-mlopskit-bucket", bucket)
    objects = local_session.backend.objects
    objects.put_bytes(b"x\n1\n2\n3\n4\n", f"s3://{bucket}/raw/data.csv")
    objects.put_bytes(
        b"import pandas as pd\n"
        b"frame = pd.read_csv('/opt/ml/processing/input/data.csv')\n"
        b"for name, part in (('train', frame[:2]), ('validation', frame[2:3]),"
        b" ('test', frame[3:])):\n"
        b"    part.to_csv(f'/opt/ml/processing/{name}/{name}.csv', index=False)\n",
        f"s3://{bucket}/code/preprocess.py")
    spec = processing_spec_from_request(request, name="preprocess-exec-1")
    local_session.backend.processing.create(spec, True, None, None)
    job = mlopskit.ProcessingJob.attach("preprocess-exec-1", session=local_session)
    assert job.status == "Completed", job.failure_reason
    assert job.outputs["test"] == f"s3://{bucket}/preprocess/exec-1/test"
    assert _object(local_session, f"s3://{bucket}/preprocess/exec-1/test/test.csv") == \
        b"x\n4\n"
    assert _object(local_session, f"s3://{bucket}/preprocess/exec-1/train/train.csv") == \
        b"x\n1\n2\n"
