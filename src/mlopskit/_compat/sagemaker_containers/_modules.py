"""Installing and running the user's module: done by the local backend, not by scripts.

Only :func:`exists` works here; the functions that download, install or run code raise
:class:`NotImplementedError`, because the local backend already puts the job's code on
``sys.path`` (and installs its ``requirements.txt``) before the script starts.
"""

from __future__ import annotations

import importlib.util
from typing import Any, NoReturn

from ._local import not_local

__all__ = [
    "DEFAULT_MODULE_NAME",
    "download_and_install",
    "exists",
    "import_module",
    "install",
    "prepare",
    "run",
    "run_module",
]

DEFAULT_MODULE_NAME = "default_user_module_name"


def exists(name: str) -> bool:
    """Whether a module named ``name`` can be imported.

    >>> exists("json"), exists("no_such_module_here")
    (True, False)
    """
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def prepare(path: str, name: str) -> NoReturn:
    """Not available locally (would write a ``setup.py`` into the code folder)."""
    not_local("modules.prepare")


def install(path: str, capture_error: bool = False) -> NoReturn:
    """Not available locally (would ``pip install`` the code folder)."""
    not_local("modules.install")


def download_and_install(uri: str, name: str = DEFAULT_MODULE_NAME,
                         cache: bool = True) -> NoReturn:
    """Not available locally (would download and install the user's code)."""
    not_local("modules.download_and_install")


def run(module_name: str, args: list[str] | None = None,
        env_vars: dict[str, str] | None = None, wait: bool = True,
        capture_error: bool = False) -> Any:
    """Not available locally (would run ``python -m module_name``)."""
    not_local("modules.run")


def import_module(uri: str, name: str = DEFAULT_MODULE_NAME, cache: bool | None = None) -> Any:
    """Not available locally (would download, install and import the user's code)."""
    not_local("modules.import_module")


def run_module(uri: str, args: list[str], env_vars: dict[str, str] | None = None,
               name: str = DEFAULT_MODULE_NAME, cache: bool | None = None, wait: bool = True,
               capture_error: bool = False) -> Any:
    """Not available locally (would download, install and run the user's code)."""
    not_local("modules.run_module")
