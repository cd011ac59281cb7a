"""The ``mlopskit.cli`` package: a light ``--help``, the console script, and commands that
act through public objects and the session only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mlopskit.cli

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "src" / "mlopskit" / "cli"
HEAVY = ("boto3", "botocore", "pandas", "numpy", "sklearn", "pydantic", "tenacity")


@pytest.mark.parametrize("argv", [
    ["--help"], ["--version"], ["jobs", "--help"], ["pipelines", "run", "--help"],
    ["registry", "approve", "--help"], ["monitor", "run", "--help"], [],
])
def test_help_and_version_load_no_heavy_dependency(argv):
    code = ("import contextlib, io, json, sys\n"
            "from mlopskit.cli import main\n"
            "out, err = io.StringIO(), io.StringIO()\n"
            "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
            f"    code = main({argv!r})\n"
            "print(json.dumps({'code': code, 'text': out.getvalue() + err.getvalue(),\n"
            f"                  'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout)
    assert result["code"] == (2 if argv == [] else 0)
    assert ("usage: mlopskit" in result["text"]) or argv == ["--version"]
    assert result["heavy"] == []


def test_the_console_script_is_the_package_main():
    tomllib = pytest.importorskip("tomllib")
    from importlib.metadata import EntryPoint

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"mlopskit": "mlopskit.cli:main"}
    assert EntryPoint("mlopskit", scripts["mlopskit"], "console_scripts").load() \
        is mlopskit.cli.main
    assert mlopskit.cli.__all__ == ["main"]


def test_python_m_mlopskit_cli_runs_main(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mlopskit.cli", "--root", str(tmp_path),
                           "jobs", "frobnicate"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("mlopskit jobs: error: argument ACTION: invalid choice")


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every mlopskit import of ``path``,
    relative ones resolved."""
    package = "mlopskit.cli"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
    return [f for f in found if f[0].startswith("mlopskit")]


MODULES = sorted(CLI.glob("*.py"))
# What the commands may use beyond their own package: the public objects and the session,
# the errors, the plug-in registry (which re-exports Capability), the specs' name rules and
# the one redaction rule for what is displayed (environment values are never shown).
ALLOWED_PRIVATE = {("mlopskit.specs._common", "NAME_PATTERN"),
                   ("mlopskit.specs._common", "PIPELINE_NAME_PATTERN"),
                   ("mlopskit._display", "environment_names")}


def test_the_scan_sees_the_commands():
    assert {p.stem for p in MODULES} >= {"_app", "jobs", "endpoints", "pipelines", "registry",
                                         "monitor", "doctor", "demo", "_output"}
    assert any(target == "mlopskit.training" for target, _, _ in _imports(CLI / "jobs.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_commands_import_no_backend_and_no_private_helper(path):
    bad = []
    for target, names, line in _imports(path):
        if target.startswith("mlopskit.cli"):
            continue
        if target.startswith("mlopskit.backends"):
            bad.append(f"line {line}: {target} (reach a backend through the session)")
        for name in names or [target.rsplit(".", 1)[-1]]:
            dunder = name.startswith("__") and name.endswith("__")  # __version__
            private = (name.startswith("_") and not dunder) or any(
                part.startswith("_") for part in target.split(".")[1:])
            if private and (target, name) not in ALLOWED_PRIVATE:
                bad.append(f"line {line}: {name} from {target} (a private helper)")
    assert not bad, f"{path.name}:\n" + "\n".join(bad)


def test_every_command_group_is_a_module_of_the_package():
    from mlopskit.cli import _app

    parser = _app._parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    assert set(commands.choices) == {"demo", *_app._COMMANDS}
    for name in commands.choices:
        module = getattr(mlopskit.cli, name)
        assert module.__name__ == f"mlopskit.cli.{name}"
        assert callable(module.add_parser) and callable(module.run)


def test_a_built_in_backend_is_checked_without_reading_installed_plugins():
    """Only listing the backends (--help, an unknown --backend) reads the entry points."""
    code = ("import sys\n"
            "from mlopskit.cli import main\n"
            "main(['--backend', 'aws', '--version'])\n"
            "print('importlib.metadata' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["mlopskit", "0.1.0", "False"]
