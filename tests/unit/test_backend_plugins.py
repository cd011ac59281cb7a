"""Backends as plug-ins: the registry ``session_from_env`` reads (``mlopskit.plugins``).

A third backend is tested the two ways one arrives: registered in the process
(``register_backend``), and declared by an installed distribution (a real ``*.dist-info``
with an ``entry_points.txt`` on ``sys.path``; nothing in importlib is patched).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import mlopskit
from mlopskit import plugins
from mlopskit.backends.base import Capability
from mlopskit.backends.local import LocalBackend
from mlopskit.cli import main
from mlopskit.errors import BackendError, ConflictError, NotFoundError, ValidationError
from mlopskit.plugins import (
    BUILTIN_BACKENDS,
    ENTRY_POINT_GROUP,
    available_backends,
    refresh_backends,
    register_backend,
    unregister_backend,
)
from mlopskit.session import LocalSession, session_from_env

ROOT = Path(__file__).resolve().parents[2]


class SlimBackend(LocalBackend):
    """A backend with fewer capabilities than the local one: no endpoints or transforms,
    no store of its own to check."""

    capabilities = LocalBackend.capabilities - {Capability.REALTIME_ENDPOINTS,
                                                Capability.STORE_CHECK}


class TeamSession(LocalSession):
    """A plug-in's session: its own name, its own backend."""

    @property
    def backend_name(self) -> str:
        return "team"

    def _make_backend(self) -> SlimBackend:
        backend = SlimBackend(self.root, region=self.region, clock=self.clock)
        backend.objects.make_bucket(self.default_bucket)
        return backend


def team_factory(environ: Mapping[str, str]) -> TeamSession:
    return TeamSession(root=environ["MLOPSKIT_ROOT"], bucket="team-bucket")


@pytest.fixture
def team(tmp_path) -> Iterator[dict[str, str]]:
    """``team`` registered in this process; the environment that selects it."""
    register_backend("team", team_factory)
    try:
        yield {"MLOPSKIT_BACKEND": "team", "MLOPSKIT_ROOT": str(tmp_path / "team")}
    finally:
        unregister_backend("team")


@pytest.fixture
def install(tmp_path, monkeypatch) -> Iterator:
    """Install a distribution for the test: ``install(name, entry_points, modules)`` writes
    its ``.dist-info`` and modules into a folder put on ``sys.path``; the entry points are
    read again afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install(dist: str, entry_points: Mapping[str, str],
                modules: Mapping[str, str] | None = None, *, refresh: bool = True) -> None:
        info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            f"[{ENTRY_POINT_GROUP}]\n"
            + "".join(f"{name} = {value}\n" for name, value in entry_points.items()))
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(source)
        if refresh:
            refresh_backends()

    yield install
    refresh_backends()  # forget what was read from the folder, which is going away


def _module() -> str:
    return f"mlopskit_test_plugin_{uuid.uuid4().hex[:10]}"


PLUGIN = """
from mlopskit.session import LocalSession

class PluginSession(LocalSession):
    @property
    def backend_name(self):
        return "onprem"

def from_env(environ):
    return PluginSession(root=environ["MLOPSKIT_ROOT"], bucket="onprem-bucket")

not_a_factory = 42

def returns_a_dict(environ):
    return {"root": environ.get("MLOPSKIT_ROOT")}
"""


# -- the built-in backends ---------------------------------------------------------------


def test_the_built_in_backends_come_first():
    assert available_backends()[:2] == ("local", "aws")
    assert tuple(BUILTIN_BACKENDS) == mlopskit.session.BACKEND_NAMES


def test_pyproject_declares_the_built_in_factories():
    """The entry points a wheel installs are the fallback's, and resolve to the factories."""
    tomllib = pytest.importorskip("tomllib")
    from importlib.metadata import EntryPoint

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["entry-points"][ENTRY_POINT_GROUP]
    assert declared == dict(BUILTIN_BACKENDS)
    assert EntryPoint("local", declared["local"], ENTRY_POINT_GROUP).load() \
        == mlopskit.LocalSession.from_env
    assert EntryPoint("aws", declared["aws"], ENTRY_POINT_GROUP).load() \
        == mlopskit.AwsSession.from_env


def test_the_built_in_backends_need_no_installed_metadata(tmp_path):
    """From a source tree, with no mlopskit distribution installed at all: a Python started
    without site-packages, given only mlopskit's source and the libraries its sessions use."""
    probe = ("import json, sys, sysconfig, mlopskit\n"
             "from mlopskit.session import session_from_env\n"
             "session_from_env({'MLOPSKIT_BACKEND': 'aws'})\n"
             "session_from_env({'MLOPSKIT_BACKEND': 'local', 'MLOPSKIT_ROOT': sys.argv[1]})\n"
             "site = {sysconfig.get_paths()[k] for k in ('purelib', 'platlib')}\n"
             "print(json.dumps({n.split('.')[0]: m.__file__ for n, m in sys.modules.items()\n"
             "                  if getattr(m, '__file__', None) and '.' not in n\n"
             "                  and any(m.__file__.startswith(s) for s in site)}))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "root")],
                          capture_output=True, text=True, check=True)
    libraries = tmp_path / "libraries"
    libraries.mkdir()
    for file in json.loads(done.stdout).values():
        path = Path(file)
        source = path.parent if path.name.startswith("__init__.") else path
        (libraries / source.name).symlink_to(source)
    assert "mlopskit" not in {p.name for p in libraries.iterdir()}

    check = ("import json, sys\n"
             "from importlib.metadata import distributions, entry_points\n"
             "from mlopskit.errors import ValidationError\n"
             "from mlopskit.plugins import available_backends\n"
             "from mlopskit.session import session_from_env\n"
             "names = [d.metadata['Name'] for d in distributions()]\n"
             "try:\n"
             "    session_from_env({'MLOPSKIT_BACKEND': 'gcp'})\n"
             "except ValidationError as exc:\n"
             "    unknown = str(exc)\n"
             "print(json.dumps({\n"
             "    'mlopskit_installed': 'mlopskit' in names,\n"
             "    'entry_points': [e.name for e in entry_points(group='mlopskit.backends')],\n"
             "    'local': type(session_from_env({'MLOPSKIT_BACKEND': 'local',\n"
             "                                   'MLOPSKIT_ROOT': sys.argv[1]})).__name__,\n"
             "    'aws': type(session_from_env({'MLOPSKIT_BACKEND': 'aws'})).__name__,\n"
             "    'available': available_backends(), 'unknown': unknown}))\n")
    done = subprocess.run(
        [sys.executable, "-S", "-c", check, str(tmp_path / "root")], capture_output=True,
        text=True, check=False, cwd=tmp_path,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{libraries}", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "mlopskit_installed": False, "entry_points": [], "local": "LocalSession",
        "aws": "AwsSession", "available": ["local", "aws"],
        "unknown": "MLOPSKIT_BACKEND: 'gcp' is not a backend; allowed: local, aws"}


def test_the_local_backend_is_built_without_reading_entry_points():
    """Choosing a built-in backend never scans the installed distributions."""
    code = ("import sys, tempfile\n"
            "from mlopskit.session import session_from_env\n"
            "session_from_env({'MLOPSKIT_BACKEND': 'local', 'MLOPSKIT_ROOT': tempfile.mkdtemp()})\n"
            "print('importlib.metadata' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


# -- registering a backend in the process ------------------------------------------------


def test_a_registered_backend_is_chosen_by_mlopskit_backend(team):
    assert "team" in available_backends()
    session = session_from_env({**team, "MLOPSKIT_BACKEND": " Team "})
    assert isinstance(session, TeamSession)
    assert (session.backend_name, session.default_bucket) == ("team", "team-bucket")
    assert Capability.REALTIME_ENDPOINTS not in session.backend.capabilities


def test_an_unknown_backend_names_the_variable_and_every_allowed_value(team):
    with pytest.raises(ValidationError) as caught:
        session_from_env({"MLOPSKIT_BACKEND": "gcp"})
    assert caught.value.field == "MLOPSKIT_BACKEND"
    assert str(caught.value) == ("MLOPSKIT_BACKEND: 'gcp' is not a backend; allowed: "
                                 + ", ".join(available_backends()))
    assert "local, aws" in str(caught.value) and "team" in str(caught.value)


def test_unregistering_forgets_the_backend(tmp_path):
    register_backend("scratch", team_factory)
    unregister_backend("scratch")
    assert "scratch" not in available_backends()
    with pytest.raises(ValidationError, match="'scratch' is not a backend"):
        session_from_env({"MLOPSKIT_BACKEND": "scratch", "MLOPSKIT_ROOT": str(tmp_path)})
    with pytest.raises(NotFoundError, match="no backend 'scratch' was registered"):
        unregister_backend("scratch")


@pytest.mark.parametrize(("name", "factory", "field", "text"), [
    ("local", team_factory, "name", "built-in backend"),
    ("aws", team_factory, "name", "reserved"),
    ("Team", team_factory, "name", "lowercase letters"),
    ("my team", team_factory, "name", "not a backend name"),
    ("", team_factory, "name", "not a backend name"),
    ("team", "not callable", "factory", "expected a callable"),
])
def test_register_refuses_bad_names_and_factories(name, factory, field, text):
    with pytest.raises(ValidationError, match=text) as caught:
        register_backend(name, factory)
    assert caught.value.field == field
    assert "team" not in available_backends()


def test_registering_a_name_twice_needs_replace(team, tmp_path):
    with pytest.raises(ConflictError, match="already registered"):
        register_backend("team", team_factory)

    def other(environ: Mapping[str, str]) -> LocalSession:
        return LocalSession(root=tmp_path / "other", bucket="other-bucket")

    register_backend("team", other, replace=True)
    assert session_from_env(team).default_bucket == "other-bucket"


def test_a_factory_that_returns_no_session_is_refused(tmp_path):
    register_backend("odd", lambda environ: {"root": str(tmp_path)})
    try:
        with pytest.raises(BackendError, match="returned dict, not a mlopskit Session"):
            session_from_env({"MLOPSKIT_BACKEND": "odd"})
    finally:
        unregister_backend("odd")


def test_the_protocols_a_plugin_implements_are_re_exported():
    from mlopskit.backends import base

    assert plugins.Capability is base.Capability
    assert plugins.Backend is base.Backend


# -- plug-ins installed as distributions -------------------------------------------------


def test_an_installed_plugin_is_found_by_its_entry_point(install, tmp_path):
    module = _module()
    install("mlopskit-onprem", {"onprem": f"{module}:from_env"}, {module: PLUGIN})
    assert available_backends() == ("local", "aws", "onprem")
    session = session_from_env({"MLOPSKIT_BACKEND": "onprem",
                                "MLOPSKIT_ROOT": str(tmp_path / "r")})
    assert type(session).__name__ == "PluginSession"
    assert (session.backend_name, session.default_bucket) == ("onprem", "onprem-bucket")


def test_entry_points_are_read_once_until_refreshed(install, tmp_path):
    available_backends()  # read (and cached) before the plug-in is installed
    module = _module()
    install("mlopskit-onprem", {"onprem": f"{module}:from_env"}, {module: PLUGIN},
            refresh=False)
    assert "onprem" not in available_backends()
    refresh_backends()
    assert "onprem" in available_backends()


def test_a_plugin_that_fails_to_load_names_its_entry_point(install, tmp_path):
    install("mlopskit-broken", {"broken": "mlopskit_no_such_module_zz:factory"})
    assert "broken" in available_backends()  # listing loads nothing
    with pytest.raises(BackendError) as caught:
        session_from_env({"MLOPSKIT_BACKEND": "broken"})
    message = str(caught.value)
    assert "the 'broken' backend could not be loaded" in message
    assert "entry point 'broken = mlopskit_no_such_module_zz:factory'" in message
    assert "group 'mlopskit.backends', from mlopskit-broken 1.0" in message
    assert "ModuleNotFoundError" in message
    assert caught.value.code == "PluginError"
    # The other backends still work.
    local = session_from_env({"MLOPSKIT_BACKEND": "local", "MLOPSKIT_ROOT": str(tmp_path)})
    assert isinstance(local, LocalSession)


@pytest.mark.parametrize(("attribute", "text"), [
    ("not_a_factory", "names 42 (int), not a callable factory"),
    ("returns_a_dict", "returned dict, not a mlopskit Session"),
    ("no_such_attribute", "AttributeError"),
])
def test_a_plugin_whose_entry_point_is_no_factory_is_refused(install, tmp_path, attribute,
                                                             text):
    module = _module()
    install("mlopskit-odd", {"odd": f"{module}:{attribute}"}, {module: PLUGIN})
    with pytest.raises(BackendError, match=re.escape(text)) as caught:
        session_from_env({"MLOPSKIT_BACKEND": "odd", "MLOPSKIT_ROOT": str(tmp_path)})
    assert f"odd = {module}:{attribute}" in str(caught.value)


def test_two_plugins_claiming_one_name_are_a_conflict(install, tmp_path):
    first, second = _module(), _module()
    install("mlopskit-first", {"onprem": f"{first}:from_env"}, {first: PLUGIN})
    install("mlopskit-second", {"onprem": f"{second}:from_env"}, {second: PLUGIN})
    assert available_backends().count("onprem") == 1
    with pytest.raises(ConflictError) as caught:
        session_from_env({"MLOPSKIT_BACKEND": "onprem", "MLOPSKIT_ROOT": str(tmp_path)})
    assert "mlopskit-first 1.0" in str(caught.value)
    assert "mlopskit-second 1.0" in str(caught.value)


def test_a_plugin_cannot_take_a_built_in_name(install, tmp_path):
    module = _module()
    install("mlopskit-hijack", {"local": f"{module}:from_env", "AWS": f"{module}:from_env"},
            {module: PLUGIN})
    assert available_backends() == ("local", "aws")
    session = session_from_env({"MLOPSKIT_BACKEND": "local", "MLOPSKIT_ROOT": str(tmp_path)})
    assert type(session) is LocalSession


def test_a_registered_backend_wins_over_an_installed_one(install, team, tmp_path):
    module = _module()
    install("mlopskit-team", {"team": f"{module}:from_env"}, {module: PLUGIN})
    assert available_backends().count("team") == 1
    assert isinstance(session_from_env(team), TeamSession)


# -- the command line --------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_takes_a_plugin_backend(team, capsys, monkeypatch):
    monkeypatch.delenv("MLOPSKIT_BACKEND", raising=False)
    root = team["MLOPSKIT_ROOT"]
    assert run(capsys, "--backend", "team", "--root", root, "registry", "groups") \
        == (0, "(no groups)\n", "")
    code, _, err = run(capsys, "--backend", "nope", "registry", "groups")
    assert code == 2
    assert "invalid choice: 'nope' (choose from 'local', 'aws', 'team')" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "where to act: local, aws, team (default:" in out
    monkeypatch.setenv("MLOPSKIT_BACKEND", "team")
    monkeypatch.setenv("MLOPSKIT_ROOT", root)
    assert run(capsys, "jobs", "list") == (0, "(no jobs)\n", "")


def test_the_command_leaves_out_what_a_plugin_backend_cannot_do(team, capsys):
    """No transform jobs without endpoints; no doctor without a store of its own."""
    root = team["MLOPSKIT_ROOT"]
    code, _, err = run(capsys, "--backend", "team", "--root", root, "jobs", "list", "--type",
                       "transform")
    assert code == 1
    assert err == ("mlopskit: CapabilityError: --type transform needs the "
                   "'realtime-endpoints' capability, which the team backend does not have\n")
    code, _, err = run(capsys, "--backend", "team", "--root", root, "jobs", "show", "nope")
    assert (code, err) == (1, "mlopskit: NotFoundError: no training, processing or transform "
                              "job is named 'nope'\n")
    code, _, err = run(capsys, "--backend", "team", "--root", root, "doctor")
    assert code == 2 and "drop --backend team" in err


def test_a_bad_mlopskit_backend_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("MLOPSKIT_BACKEND", "gcp")
    code, _, err = run(capsys, "registry", "groups")
    assert code == 2
    assert err == ("mlopskit: error: MLOPSKIT_BACKEND: 'gcp' is not a backend; allowed: "
                   + ", ".join(available_backends()) + "\n")
