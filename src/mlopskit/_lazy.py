"""Names a package loads on first access (PEP 562), so that importing it stays cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``where`` is imported from the
    module named there (absolute, or relative to ``package`` with a leading dot) on first
    access, then kept in the package's namespace.

    Example:
        >>> __getattr__ = lazy_exports("json", {"JSONDecoder": ".decoder"})
        >>> __getattr__("JSONDecoder").__module__
        'json.decoder'
        >>> __getattr__("YAMLDecoder")
        Traceback (most recent call last):
        ...
        AttributeError: module 'json' has no attribute 'YAMLDecoder'
    """

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
