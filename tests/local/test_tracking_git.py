"""A job whose code folder is a git checkout records the commit on its run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import mlopskit

pytest.importorskip("mlflow")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_code_folders_commit_is_a_run_tag(tmp_path: Path) -> None:
    code = tmp_path / "repo"
    code.mkdir()
    (code / "train.py").write_text("print('validation:auc=0.7')\n")
    git = shutil.which("git")
    assert git is not None
    identity = ["-c", "user.name=Data Scientist", "-c", "user.email=ds@example.com"]
    for args in (["init", "-q"], ["add", "train.py"], [*identity, "commit", "-q", "-m", "x"]):
        subprocess.run([git, *args], cwd=code, check=True)
    commit = subprocess.run([git, "rev-parse", "HEAD"], cwd=code, check=True,
                            capture_output=True, text=True).stdout.strip()
    session = mlopskit.LocalSession(root=tmp_path / "store")
    job = mlopskit.Estimator(entry_point="train.py", source_dir=code,
                             instance_type="ml.m5.large", session=session).fit(
        experiment="git", logs=False)
    run = session.tracker().get_run(job.run_id)
    assert run.data.tags["mlflow.source.git.commit"] == commit
    subprocess.run([git, "pack-refs", "--all"], cwd=code, check=True)  # as after a gc
    packed = mlopskit.Estimator(entry_point="train.py", source_dir=code,
                                instance_type="ml.m5.large", session=session).fit(
        experiment="git", logs=False)
    assert session.tracker().get_run(packed.run_id).data.tags[
        "mlflow.source.git.commit"] == commit
    untracked = tmp_path / "plain"
    untracked.mkdir()
    (untracked / "train.py").write_text("print('x')\n")
    other = mlopskit.Estimator(entry_point="train.py", source_dir=untracked,
                               instance_type="ml.m5.large", session=session).fit(
        experiment="git", logs=False)
    assert "mlflow.source.git.commit" not in session.tracker().get_run(other.run_id).data.tags
    session.close()
