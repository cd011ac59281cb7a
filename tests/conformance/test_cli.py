"""The ``mlopskit registry`` command on both backends: output, --json and exit codes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import mlopskit
from mlopskit.testing.conformance import RegistryCliConformance


class TestRegistryCli(RegistryCliConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


def test_the_console_script_runs(tmp_path):
    env: dict[str, Any] = {"MLOPSKIT_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "mlopskit.cli", "registry", "groups"],
                          capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "(no groups)")
    done = subprocess.run([sys.executable, "-m", "mlopskit.cli", "--version"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.stdout.strip() == f"mlopskit {mlopskit.__version__}"
