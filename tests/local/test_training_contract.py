"""The SageMaker training contract on the local backend, with real scripts run unmodified."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlopskit
from mlopskit.errors import JobFailedError

SCRIPTS = Path(__file__).parent.parent / "scripts"


def _tar_members(session: mlopskit.LocalSession, uri: str) -> dict[str, bytes]:
    path = session.backend.objects.path_for(uri)
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _csv_folder(folder: Path, files: int = 2, rows: int = 40) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(files):
        x = rng.normal(size=(rows, 3))
        y = (x[:, 0] + x[:, 1] > 0).astype(int)
        np.savetxt(folder / f"part-{i}.csv", np.column_stack([y, x]), delimiter=",", fmt="%g")
    return folder


def _code(tmp_path: Path, script: str, extra: dict[str, str] | None = None) -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    shutil.copy(SCRIPTS / script, code / script)
    for name, text in (extra or {}).items():
        (code / name).write_text(text)
    return code


def _echo(session: mlopskit.LocalSession, tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    inputs = kwargs.pop("inputs", None)
    est = mlopskit.Estimator(entry_point="echo_env.py", source_dir=_code(tmp_path, "echo_env.py"),
                             instance_type="ml.m5.large", session=session, **kwargs)
    job = est.fit(inputs, logs=False)
    members = _tar_members(session, job.model_data)
    return {"job": job, "members": members,
            "report": json.loads(members["report-algo-1.json"])}


def test_real_script_mode_script_runs_unmodified(local_session, tmp_path):
    data = _csv_folder(tmp_path / "train")
    est = mlopskit.Estimator(
        entry_point="sm_train.py", source_dir=_code(tmp_path, "sm_train.py"),
        instance_type="ml.m5.xlarge",
        hyperparameters={"max_iter": 200, "learning-rate": 0.05, "run-name": "first try",
                         "fit-intercept": False, "layers": [64, 32]},
        metric_definitions=[{"Name": "train:accuracy", "Regex": r"train-accuracy: ([0-9.]+)"}],
        session=local_session)
    job = est.fit({"train": str(data)}, logs=False)
    assert job.status == "Completed"
    members = _tar_members(local_session, job.model_data)
    assert set(members) == {"model.joblib"}
    import joblib

    model = joblib.load(io.BytesIO(members["model.joblib"]))
    assert model.fit_intercept is False and model.max_iter == 200
    assert 0.5 < job.metrics["train:accuracy"] <= 1.0
    outputs = _tar_members(local_session, job.output_data)
    run = json.loads(outputs["run.json"])
    assert run == {"run_name": "first try", "layers": "[64, 32]", "rows": 80,
                   "learning_rate": 0.05}
    assert job.hyperparameters == {"max_iter": 200, "learning-rate": 0.05,
                                   "run-name": "first try", "fit-intercept": False,
                                   "layers": [64, 32]}


def test_argument_and_environment_spelling(local_session, tmp_path):
    out = _echo(local_session, tmp_path, hyperparameters={
        "b": 1, "with space": "a b c", "flag": True, "lst": [1, 2], "none": None,
        "opts": {"y": "x", "a": 1}, "snake_case": "s", "kebab-case": "k", "num": 0.5})
    argv, env = out["report"]["argv"], out["report"]["env"]
    assert argv == ["-b", "1", "--flag", "True", "--kebab-case", "k", "--lst", "[1, 2]",
                    "--none", "", "--num", "0.5", "--opts", "a=1,y=x", "--snake_case", "s",
                    "--with space", "a b c"]
    assert env["SM_HP_FLAG"] == "true"
    assert env["SM_HP_WITH SPACE"] == "a b c"
    assert env["SM_HP_KEBAB-CASE"] == "k"
    assert env["SM_HP_LST"] == "[1,2]"
    assert env["SM_HP_NONE"] == ""
    assert json.loads(env["SM_HPS"])["opts"] == {"a": 1, "y": "x"}
    assert json.loads(env["SM_USER_ARGS"]) == argv
    assert env["SM_CURRENT_HOST"] == env["CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_USER_ENTRY_POINT"] == "echo_env.py"
    assert env["SM_MODULE_DIR"].endswith("/source/sourcedir.tar.gz")
    assert env["SAGEMAKER_JOB_NAME"] == out["job"].name
    assert env["SAGEMAKER_REGION"] == "us-east-1"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["hyperparameters"]["num"] == 0.5
    assert training_env["channel_input_dirs"] == {}
    assert training_env["additional_framework_parameters"] == {}
    for key in ("SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_OUTPUT_DIR", "SM_INPUT_DIR",
                "SM_INPUT_CONFIG_DIR", "SM_NUM_CPUS", "SM_NUM_GPUS", "SM_LOG_LEVEL",
                "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG", "SM_CHANNELS"):
        assert key in env, key
    # The job ran from its own folder, never a shared /opt/ml.
    assert not env["SM_MODEL_DIR"].startswith("/opt/ml")
    assert out["report"]["cwd"].startswith(str(local_session.root))
    hps_file = out["report"]["config"]["hyperparameters.json"]
    assert hps_file["with space"] == '"a b c"' and hps_file["flag"] == "true"
    assert json.loads(hps_file["sagemaker_program"]) == "echo_env.py"


def test_two_channels_with_content_types(local_session, tmp_path):
    train = _csv_folder(tmp_path / "train", files=2)
    valid = _csv_folder(tmp_path / "valid", files=1)
    out = _echo(local_session, tmp_path, inputs={
        "train": mlopskit.TrainingInput(str(train), content_type="text/csv"),
        "validation": str(valid)})
    report = out["report"]
    assert report["channels"] == {"train": ["part-0.csv", "part-1.csv"],
                                  "validation": ["part-0.csv"]}
    assert json.loads(report["env"]["SM_CHANNELS"]) == ["train", "validation"]
    config = report["config"]["inputdataconfig.json"]
    assert config["train"]["ContentType"] == "text/csv"
    assert config["validation"]["S3DistributionType"] == "FullyReplicated"


def test_s3_uri_inputs_read_from_the_local_store(local_session, tmp_path):
    store = local_session.backend.objects
    store.put_bytes(b"1,2\n", "s3://raw-data/sets/a/x.csv")
    store.put_bytes(b"3,4\n", "s3://raw-data/sets/a/nested/y.csv")
    store.put_bytes(b"5,6\n", "s3://raw-data/sets/single.csv")
    out = _echo(local_session, tmp_path, inputs={"train": "s3://raw-data/sets/a",
                                                 "one": "s3://raw-data/sets/single.csv"})
    assert out["report"]["channels"] == {"train": ["nested/y.csv", "x.csv"],
                                         "one": ["single.csv"]}


def test_two_hosts_with_sharded_channel(local_session, tmp_path):
    data = tmp_path / "shards"
    data.mkdir()
    for i in range(5):
        (data / f"shard-{i}.txt").write_text(str(i))
    est = mlopskit.Estimator(entry_point="echo_env.py",
                             source_dir=_code(tmp_path, "echo_env.py"),
                             instance_type="ml.m5.large", instance_count=2,
                             session=local_session)
    job = est.fit({"train": mlopskit.TrainingInput(str(data), distribution="ShardedByS3Key"),
                   "all": str(data)}, logs=False)
    members = _tar_members(local_session, job.model_data)
    one = json.loads(members["report-algo-1.json"])
    two = json.loads(members["report-algo-2.json"])
    assert one["channels"]["train"] == ["shard-0.txt", "shard-2.txt", "shard-4.txt"]
    assert two["channels"]["train"] == ["shard-1.txt", "shard-3.txt"]
    assert one["channels"]["all"] == two["channels"]["all"] == [f"shard-{i}.txt"
                                                               for i in range(5)]
    assert json.loads(two["env"]["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert two["env"]["SM_CURRENT_HOST"] == "algo-2"
    assert two["config"]["resourceconfig.json"]["current_host"] == "algo-2"
    assert members["shared.txt"] == b"algo-1"  # the first host wins a clash
    assert "[algo-2] host algo-2 done" in job.logs()


def test_failing_script_reports_failure_file(local_session, tmp_path):
    code = _code(tmp_path, "echo_env.py", {"fail.py": (
        "import os\n"
        "open(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w')"
        ".write('ValueError: bad column ' + 'x' * 2000)\n"
        "raise SystemExit(3)\n")})
    est = mlopskit.Estimator(entry_point="fail.py", source_dir=code,
                             instance_type="ml.m5.large", session=local_session)
    with pytest.raises(JobFailedError) as info:
        est.fit(logs=False)
    job = info.value.job
    assert job.status == "Failed" and info.value.status == "Failed"
    assert job.failure_reason.startswith("ValueError: bad column")
    assert len(job.failure_reason) == 1024
    assert job.model_data is None


def test_failing_script_without_failure_file_reports_exit_code_and_log(local_session, tmp_path):
    code = _code(tmp_path, "echo_env.py", {"crash.py": "print('about to fail')\n1/0\n"})
    est = mlopskit.Estimator(entry_point="crash.py", source_dir=code,
                             instance_type="ml.m5.large", session=local_session)
    job = est.fit(logs=False, wait=False)
    job.wait(timeout=60, raise_on_failure=False)
    assert job.status == "Failed"
    assert "ExitCode 1" in job.failure_reason
    assert "ZeroDivisionError" in job.failure_reason


def test_strict_parse_args_gets_no_stray_arguments(local_session, tmp_path):
    # sm_train.py rejects unknown arguments: the sagemaker_* keys must never reach it.
    data = _csv_folder(tmp_path / "train", files=1)
    est = mlopskit.Estimator(entry_point="sm_train.py", source_dir=_code(tmp_path, "sm_train.py"),
                             instance_type="ml.m5.large", session=local_session)
    assert est.fit({"train": str(data)}, logs=False).status == "Completed"
    unknown = mlopskit.Estimator(entry_point="sm_train.py",
                                 source_dir=_code(tmp_path, "sm_train.py"),
                                 instance_type="ml.m5.large", session=local_session,
                                 hyperparameters={"not-an-option": 1})
    with pytest.raises(JobFailedError, match="unrecognized arguments: --not-an-option 1"):
        unknown.fit({"train": str(data)}, logs=False)


def test_max_run_stops_the_job(local_session, tmp_path):
    code = _code(tmp_path, "echo_env.py", {"slow.py": (
        "import os, signal, sys, threading\n"
        "def bye(*_):\n"
        "    open(os.path.join(os.environ['SM_MODEL_DIR'], 'partial.txt'), 'w').write('x')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, bye)\n"
        "print('started', flush=True)\n"
        "threading.Event().wait(120)  # a long training loop\n")})
    est = mlopskit.Estimator(entry_point="slow.py", source_dir=code,
                             instance_type="ml.m5.large", max_run=1, session=local_session)
    with pytest.raises(JobFailedError, match="MaxRuntimeExceeded"):
        est.fit(logs=False)
    job = est.latest_job
    assert (job.status, job.secondary_status) == ("Stopped", "MaxRuntimeExceeded")
    # A stopped job still uploads what the script saved on SIGTERM, as SageMaker does.
    assert "partial.txt" in _tar_members(local_session, job.model_data)


def test_stop_a_detached_job(local_session, tmp_path):
    code = _code(tmp_path, "echo_env.py", {"wait.py": (
        "import threading\nprint('ready', flush=True)\nthreading.Event().wait(120)\n")})
    est = mlopskit.Estimator(entry_point="wait.py", source_dir=code,
                             instance_type="ml.m5.large", session=local_session)
    job = est.fit(wait=False, logs=False)
    # Wait (on real time, bounded) for the script to be running before stopping it.
    ready = threading.Event()
    for _ in range(600):
        if "ready" in job.logs():
            ready.set()
            break
        ready.wait(0.05)
    assert ready.is_set(), job.logs()
    job.stop()
    assert job.status in {"Stopping", "Stopped"}
    job.wait(timeout=60, raise_on_failure=False)
    assert (job.status, job.secondary_status) == ("Stopped", "Stopped")
    attached = mlopskit.TrainingJob.attach(job.name, session=local_session)
    assert attached.status == "Stopped"


def test_requirements_txt_installed_into_a_cache_not_the_environment(local_session, tmp_path):
    wheel = tmp_path / "mlk_tinydep-0.1-py3-none-any.whl"
    files = {
        "mlk_tinydep/__init__.py": "VALUE = 42\n",
        "mlk_tinydep-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: mlk-tinydep\n"
                                              "Version: 0.1\n",
        "mlk_tinydep-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\n"
                                           "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        record = "".join(f"{n},,\n" for n in [*files, "mlk_tinydep-0.1.dist-info/RECORD"])
        archive.writestr("mlk_tinydep-0.1.dist-info/RECORD", record)
    code = _code(tmp_path, "echo_env.py", {
        "requirements.txt": f"{wheel}\n",
        "uses_dep.py": ("import os, mlk_tinydep\n"
                        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'v.txt'), 'w')"
                        ".write(str(mlk_tinydep.VALUE))\n")})
    est = mlopskit.Estimator(entry_point="uses_dep.py", source_dir=code,
                             instance_type="ml.m5.large", session=local_session)
    job = est.fit(logs=False)
    assert _tar_members(local_session, job.model_data)["v.txt"] == b"42"
    cache = local_session.root / "cache" / "requirements"
    assert any(cache.iterdir())
    with pytest.raises(ImportError):
        __import__("mlk_tinydep")


def test_environment_reaches_the_script_and_home_is_untouched(local_session, tmp_path,
                                                              monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    out = _echo(local_session, tmp_path, environment={"MY_SETTING": "on"})
    code = _code(tmp_path, "echo_env.py", {"env.py": (
        "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'e.txt'), 'w')"
        ".write(os.environ['MY_SETTING'])\n")})
    job = mlopskit.Estimator(entry_point="env.py", source_dir=code, instance_type="ml.m5.large",
                             environment={"MY_SETTING": "on"}, session=local_session
                             ).fit(logs=False)
    assert _tar_members(local_session, job.model_data)["e.txt"] == b"on"
    assert out["job"].status == "Completed"
    assert list(home.iterdir()) == []


def test_logs_stream_live_when_asked(local_session, tmp_path, capsys):
    code = _code(tmp_path, "echo_env.py", {"talk.py": "print('hello from the job')\n"})
    est = mlopskit.Estimator(entry_point="talk.py", source_dir=code,
                             instance_type="ml.m5.large", session=local_session)
    job = est.fit(logs=True)
    assert "hello from the job" in capsys.readouterr().out
    assert "hello from the job" in job.logs()
    quiet = est.fit(logs=False)
    assert "hello from the job" not in capsys.readouterr().out
    assert quiet.status == "Completed"


def test_single_file_entry_point_without_source_dir(local_session, tmp_path):
    script = tmp_path / "solo.py"
    script.write_text("import os\nopen(os.environ['SM_MODEL_DIR'] + '/ok', 'w').write('1')\n")
    (tmp_path / "unrelated.bin").write_bytes(os.urandom(64))
    job = mlopskit.Estimator(entry_point=str(script), instance_type="local",
                             session=local_session).fit(logs=False)
    assert _tar_members(local_session, job.model_data) == {"ok": b"1"}
    source = local_session.backend.objects.path_for(
        f"s3://mlopskit-local/{job.name}/source/sourcedir.tar.gz")
    with tarfile.open(source) as tar:
        assert tar.getnames() == ["solo.py"]


def test_a_background_child_does_not_keep_the_job_alive(local_session, tmp_path):
    # The script starts a child that holds the log pipe open, then exits at once. On
    # SageMaker the container ends with the entry process; so must the local job.
    code = _code(tmp_path, "echo_env.py", {"spawn.py": (
        "import subprocess, sys\n"
        "subprocess.Popen([sys.executable, '-c', 'import threading; threading.Event().wait(60)'])\n"
        "print('spawned', flush=True)\n")})
    est = mlopskit.Estimator(entry_point="spawn.py", source_dir=code,
                             instance_type="ml.m5.large", max_run=30, session=local_session)
    job = est.fit(logs=False)
    assert (job.status, job.secondary_status) == ("Completed", "Completed")
    start, end = job.describe().start_time, job.describe().end_time
    assert (end - start).total_seconds() < 20


def test_anchored_metric_regex_matches_on_every_host_count(local_session, tmp_path):
    code = _code(tmp_path, "echo_env.py", {"metric.py": "print('accuracy: 0.75')\n"})
    for count in (1, 2):
        est = mlopskit.Estimator(
            entry_point="metric.py", source_dir=code, instance_type="ml.m5.large",
            instance_count=count, session=local_session,
            metric_definitions=[{"Name": "acc", "Regex": r"^accuracy: ([0-9.]+)$"}])
        assert est.fit(logs=False).metrics == {"acc": 0.75}, count


def test_fake_clock_sessions_still_get_unique_names(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "store", clock=mlopskit.FakeClock())
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    est = mlopskit.Estimator(entry_point=str(script), instance_type="local", session=session)
    names = {est.fit(logs=False).name for _ in range(3)}
    assert len(names) == 3


def test_detached_wait_with_a_fake_clock_waits_for_the_real_job(tmp_path):
    session = mlopskit.LocalSession(root=tmp_path / "store", clock=mlopskit.FakeClock())
    script = tmp_path / "slowish.py"
    script.write_text("import threading\nthreading.Event().wait(0.5)  # half a second of work\n")
    job = mlopskit.Estimator(entry_point=str(script), instance_type="local",
                             session=session).fit(wait=False, logs=False)
    assert job.wait(timeout=60).status == "Completed"
