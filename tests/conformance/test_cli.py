"""The ``mlopskit registry`` command on both backends: output, --json and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

import mlopskit
from mlopskit.cli import main
from mlopskit.testing import TEST_BUCKET, TEST_REGION, TEST_ROLE_ARN

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def cli(any_session, monkeypatch):
    """Point the command's environment at the test session; return a runner."""
    if any_session.backend_name == "local":
        monkeypatch.setenv("MLOPSKIT_BACKEND", "local")
        monkeypatch.setenv("MLOPSKIT_ROOT", str(any_session.root))
    else:
        for key, value in {"MLOPSKIT_BACKEND": "aws", "MLOPSKIT_REGION": TEST_REGION,
                           "MLOPSKIT_BUCKET": TEST_BUCKET,
                           "MLOPSKIT_ROLE_ARN": TEST_ROLE_ARN}.items():
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLOPSKIT_USER", "ci-bot")
    group = mlopskit.ModelPackageGroup("fraud", session=any_session).create()
    uri = f"s3://{any_session.default_bucket}/m/model.tar.gz"
    any_session.backend.objects.put_bytes(b"m", uri)
    for auc in (0.81, 0.93):
        group.register(mlopskit.Model(uri, image_uri=IMAGE), metrics={"auc": auc})
    return any_session


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_groups_and_versions(cli, capsys):
    code, out, _ = run(capsys, "registry", "groups", "--json")
    assert code == 0
    assert [g["name"] for g in json.loads(out)] == ["fraud"]
    code, out, _ = run(capsys, "registry", "versions", "fraud")
    assert code == 0
    assert "2  PendingManualApproval   auc=0.93" in out
    code, out, _ = run(capsys, "registry", "versions", "fraud", "--status", "Approved",
                       "--json")
    assert (code, json.loads(out)) == (0, [])


def test_approve_with_a_bar_and_show(cli, capsys):
    code, out, err = run(capsys, "registry", "approve", "fraud", "1", "--note", "ship",
                         "--require", "auc>=0.9")
    assert code == 1
    assert "PolicyViolationError" in err
    assert "'auc' is 0.81" in err
    code, out, _ = run(capsys, "registry", "approve", "fraud", "2", "--note", "ship it",
                       "--require", "auc>=0.9", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["approval_status"] == "Approved"
    assert shown["history"][-1]["by"] == "ci-bot"
    assert shown["history"][-1]["note"] == "ship it"
    code, out, _ = run(capsys, "registry", "show", "fraud", "2")
    assert code == 0
    assert "PendingManualApproval -> Approved  by ci-bot: ship it" in out
    assert mlopskit.ModelPackageGroup.get("fraud", session=cli).latest().version == 2


def test_reject_then_approve_is_refused(cli, capsys):
    assert run(capsys, "registry", "reject", "fraud", "1", "--note", "bad")[0] == 0
    code, _, err = run(capsys, "registry", "approve", "fraud", "1", "--note", "oops")
    assert code == 1
    assert "not allowed" in err


def test_create_group_is_idempotent(cli, capsys):
    assert run(capsys, "registry", "create", "fraud")[0] == 0
    assert run(capsys, "registry", "create", "other", "--description", "d")[0] == 0
    _, out, _ = run(capsys, "registry", "groups")
    assert out.split() == ["fraud", "other"]


@pytest.mark.parametrize(("argv", "code", "text"), [
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
])
def test_bad_arguments(cli, capsys, argv: list[str], code: int, text: str):
    before = [(p.version, p.approval_status) for p in
              mlopskit.ModelPackageGroup.get("fraud", session=cli).versions()]
    got, _, err = run(capsys, *argv)
    assert got == code
    assert text in err
    assert [(p.version, p.approval_status) for p in
            mlopskit.ModelPackageGroup.get("fraud", session=cli).versions()] == before


def test_the_console_script_runs(tmp_path):
    env: dict[str, Any] = {"MLOPSKIT_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "mlopskit.cli", "registry", "groups"],
                          capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "(no groups)")
    done = subprocess.run([sys.executable, "-m", "mlopskit.cli", "--version"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.stdout.strip() == f"mlopskit {mlopskit.__version__}"
