"""A Griffe extension for the docs build: render mlopskit's example sections as code.

The docstrings say ``Example:`` (a doctest block, run by pytest) or ``Example::`` (an
indented code block that is not run). Griffe's Google parser only treats ``Examples:`` as
an examples section; anything else named ``Example`` becomes an admonition whose ``>>>``
lines are read as Markdown. Before a docstring is parsed, this rewrites

- ``Example:`` into ``Examples:``, so doctests render as console code blocks, and
- ``Example::`` plus its indented block into ``Examples:`` holding a fenced Python block,
- any other sentence ending in ``::`` and its indented block into the sentence and a fenced
  Python block,
- Sphinx roles such as ``:class:`~mlopskit.LocalSession``` into plain code spans.

It only changes what the site shows; the source files are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_DOCTEST_HEADER = re.compile(r"^(?P<indent>\s*)Examples?:\s*$")
_LITERAL_HEADER = re.compile(r"^(?P<indent>\s*)Examples?::\s*$")
_SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):`~?(?P<target>[\w.]+)`")


def _role_to_code(match: re.Match[str]) -> str:
    target = match["target"]
    return f"`{target.rsplit('.', 1)[-1]}`" if match[0].count("~") else f"`{target}`"


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def rewrite(text: str) -> str:
    """Return ``text`` with its example headers in the form Griffe renders as code."""
    lines = _SPHINX_ROLE.sub(_role_to_code, text).splitlines()
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        doctest = _DOCTEST_HEADER.match(line)
        if doctest:
            out.append(f"{doctest['indent']}Examples:")
            continue
        if not line.rstrip().endswith("::"):
            out.append(line)
            continue
        indent = _indent_of(line)
        block: list[str] = []
        while index < len(lines) and (not lines[index].strip()
                                      or _indent_of(lines[index]) > indent):
            block.append(lines[index])
            index += 1
        while block and not block[-1].strip():
            index -= 1
            block.pop()
        while block and not block[0].strip():
            block.pop(0)
        if not block:
            out.append(line)
            continue
        depth = min(_indent_of(b) for b in block if b.strip())
        if _LITERAL_HEADER.match(line):
            out.append(f"{' ' * indent}Examples:")
            pad = " " * (indent + 4)
        else:  # a sentence that introduces code: keep it, with one colon
            out.extend([line.rstrip()[:-1], ""])
            pad = " " * indent
        fence = "pycon" if any(b.lstrip().startswith(">>>") for b in block) else "python"
        if any(b.lstrip().startswith("$") for b in block):
            fence = "console"
        out.append(f"{pad}```{fence}")
        out.extend(pad + b[depth:] if b.strip() else "" for b in block)
        out.append(f"{pad}```")
    return "\n".join(out)


class ExampleSections(griffe.Extension):
    """Rewrite each object's docstring before mkdocstrings parses it.

    ``on_instance`` runs as each object is made, with its docstring, and exists in every
    Griffe release that mkdocstrings-python has used.
    """

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
