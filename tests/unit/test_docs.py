"""The documentation: the site builds with --strict, and every public name is documented
with an example and appears in the API reference."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = ("mlopskit", "mlopskit.pipeline", "mlopskit.monitoring", "mlopskit.serving",
                  "mlopskit.errors", "mlopskit.clock", "mlopskit.session", "mlopskit.serializers",
                  "mlopskit.testing")


def public_names() -> list[tuple[str, object]]:
    """(dotted public name, object) for every class and function a user can import."""
    found: dict[tuple[str, str], tuple[str, object]] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for attribute in getattr(module, "__all__", ()):
            value = getattr(module, attribute)
            if attribute.startswith("_") or attribute.isupper() or inspect.ismodule(value):
                continue
            key = (getattr(value, "__module__", module_name),
                   getattr(value, "__qualname__", attribute))
            found.setdefault(key, (f"{module_name}.{attribute}", value))
    return sorted(found.values(), key=lambda pair: pair[0])


NAMES = public_names()


def test_the_site_builds_with_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "reference" / "pipeline" / "index.html").is_file()


@pytest.mark.parametrize(("name", "value"), NAMES, ids=[n for n, _ in NAMES])
def test_every_public_name_has_a_docstring_with_an_example(name, value):
    doc = inspect.getdoc(value) or ""
    assert re.search(r"^Examples?:", doc, re.MULTILINE) or "Example::" in doc, \
        f"{name} has no 'Examples:' section"
    assert ">>>" in doc or "::" in doc, f"{name}'s example shows no code"


def test_every_public_name_is_in_the_api_reference():
    pages = "\n".join(p.read_text() for p in (ROOT / "docs" / "reference").glob("*.md"))
    documented = set(re.findall(r"^::: ([\w.]+)$", pages, re.MULTILINE))
    missing = []
    for name, value in NAMES:
        home = getattr(value, "__module__", "")
        qualified = f"{home}.{getattr(value, '__qualname__', name.rsplit('.', 1)[-1])}"
        if qualified not in documented and home not in documented:
            missing.append(f"{name} ({qualified})")
    assert not missing, "not in docs/reference/*.md: " + ", ".join(missing)


def test_every_page_is_in_the_navigation():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, dict):
            return [p for value in node.values() for p in pages(value)]
        if isinstance(node, list):
            return [p for value in node for p in pages(value)]
        return []

    listed = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert on_disk - listed == set()
