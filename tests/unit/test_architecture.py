"""The layering, enforced: public objects -> session -> typed backend protocols -> local | aws,
with SageMaker's API shapes in ``sagemaker_api``, which knows neither side.

Read from the source with ``ast`` (every import, relative ones resolved, also those inside
functions); an import only under ``if TYPE_CHECKING:`` counts where a rule says so.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "mlopskit"

# The public modules (what users import); everything they reach goes through the session.
PUBLIC = {"training", "processing", "models", "registry", "serving", "pipeline",
          "monitoring", "session", "demo", "cli", "plugins", "_jobs", "testing", "serializers",
          "tuning", "tuner", "tracking"}
# What the neutral layer may use besides itself.
NEUTRAL_ALLOWED = {"sagemaker_api", "specs", "errors", "clock", "_archive", "_data"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module (or module.name), dotted
    line: int
    type_only: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            type_only.update(id(inner) for inner in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        found += [Import(module, t, node.lineno, id(node) in type_only) for t in targets]
    return found


def _all_imports() -> list[Import]:
    return [imp for path in sorted(SRC.rglob("*.py")) if "_compat" not in path.parts
            for imp in _imports(path) if imp.target.startswith("mlopskit")]


def _part(dotted: str, index: int) -> str:
    parts = dotted.split(".")
    return parts[index] if len(parts) > index else ""


IMPORTS = _all_imports()


def _show(found: list[Import]) -> str:
    return "\n".join(f"  {i.module} (line {i.line}) imports {i.target}" for i in found)


def test_the_scan_sees_the_package():
    """Guard against a scan that checks nothing (a moved folder, a broken resolver)."""
    modules = {i.module for i in IMPORTS}
    assert {"mlopskit.serving.endpoint", "mlopskit.backends.local.endpoints",
            "mlopskit.sagemaker_api.training"} <= modules
    assert any(i.target.startswith("mlopskit.sagemaker_api") for i in IMPORTS
               if i.module.startswith("mlopskit.backends.aws"))


def test_public_modules_never_import_a_backend():
    """Only the session builds backends; everything else reaches them through its typed
    attributes (``backends.base`` is the protocol, not a backend)."""
    found = [i for i in IMPORTS
             if _part(i.module, 1) in PUBLIC - {"session"}
             and _part(i.target, 1) == "backends" and _part(i.target, 2) in {"local", "aws"}]
    assert not found, "public modules import a backend:\n" + _show(found)


def test_the_neutral_layer_knows_neither_side():
    found = [i for i in IMPORTS if _part(i.module, 1) == "sagemaker_api"
             and _part(i.target, 1) not in NEUTRAL_ALLOWED]
    assert not found, "sagemaker_api imports a backend or a public module:\n" + _show(found)


def test_the_search_engine_knows_only_itself_and_errors():
    """``tuning_search`` (strategies, early stopping, the loop) runs with a backend's or a
    test's callbacks; it imports no other part of mlopskit but errors and SageMaker's
    metric contract (``sagemaker_api.metrics``, standard library only)."""
    found = [i for i in IMPORTS if _part(i.module, 1) == "tuning_search"
             and _part(i.target, 1) not in {"tuning_search", "errors"}
             and not i.target.startswith("mlopskit.sagemaker_api.metrics")]
    assert not found, "tuning_search imports more than errors and the metric contract:\n" \
        + _show(found)


def test_backends_never_import_public_modules():
    """A backend may name the session's type for checking; it imports no public module."""
    found = [i for i in IMPORTS if _part(i.module, 1) == "backends"
             and _part(i.target, 1) in PUBLIC
             and not (i.type_only and _part(i.target, 1) == "session")]
    assert not found, "backends import public modules:\n" + _show(found)


@pytest.mark.parametrize(("side", "other"), [("local", "aws"), ("aws", "local")])
def test_the_backends_never_import_each_other(side, other):
    found = [i for i in IMPORTS if _part(i.module, 1) == "backends"
             and _part(i.module, 2) == side
             and _part(i.target, 1) == "backends" and _part(i.target, 2) == other]
    assert not found, f"backends.{side} imports backends.{other}:\n" + _show(found)


def test_no_backend_name_branches_outside_the_session():
    """Differences between backends are capability flags, not names."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "session.py" and path.parent == SRC:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "backend_name ==" in line or "backend_name !=" in line:
                found.append(f"  {path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not found, "branches on backend_name:\n" + "\n".join(found)


def test_no_getattr_on_backends():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "getattr(" in line and "backend" in line.split("getattr(", 1)[1].split(",")[0]:
                found.append(f"  {path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not found, "getattr on a backend:\n" + "\n".join(found)
