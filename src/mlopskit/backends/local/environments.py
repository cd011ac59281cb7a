"""Python environments for local jobs: the interpreter a job runs with, and its path.

Inside a SageMaker container, ``pip install -r requirements.txt`` writes into the image's
own ``site-packages``, so installed packages come *after* the standard library on
``sys.path`` and *before* nothing else: a backport named like a standard module (``typing``,
``enum``, ``dataclasses``) is installed but never imported, and a pinned version of a
package the image already has wins over the image's copy.

Locally the same order comes from a small virtual environment layered over the job's
interpreter (:func:`layered_python`): the requirements go into the layer's own
``site-packages``, and a ``.pth`` file adds the interpreter's site folders after it. The job
then runs with the layer's ``python``, so the script, and any Python process it starts,
sees standard library -> requirements -> the interpreter's packages, and your environment
is never written to. Layers are cached by the digest of ``requirements.txt`` and the
interpreter.

:data:`COMPAT_DIR` is the folder put on a job's path so that scripts importing
``sagemaker_containers`` (the old SageMaker container toolkit, which does not import on
Python 3.10 and newer) get mlopskit's small compatible package instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["COMPAT_DIR", "RequirementsError", "layered_python", "python_path"]

COMPAT_DIR = str(Path(__file__).resolve().parents[2] / "_compat")

_PARENT_PTH = "_mlopskit_parent.pth"
# Prints the interpreter's site folders and the layer's site-packages, as JSON.
_SITE_PROBE = ("import json, site, sys, sysconfig; print(json.dumps({'site': "
               "site.getsitepackages() + ([site.getusersitepackages()] "
               "if site.ENABLE_USER_SITE else []), 'purelib': sysconfig.get_paths()['purelib']}))")


class RequirementsError(Exception):
    """Installing ``requirements.txt`` failed; the message is the last line pip wrote."""


def python_path(*first: str | os.PathLike[str]) -> str:
    """``PYTHONPATH`` for a job: ``first`` (its code folder), then mlopskit's compatibility
    folder, then whatever ``PYTHONPATH`` this process has.

    Example:
        >>> python_path("/job/code").split(os.pathsep)[:2] == ["/job/code", COMPAT_DIR]
        True
    """
    parts = [os.fspath(p) for p in first] + [COMPAT_DIR]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def _interpreter(python: str) -> str:
    return os.path.realpath(shutil.which(python) or python)


def _layer_python(layer: Path) -> Path:
    return layer / "bin" / "python"


def layered_python(python: str, requirements: Path, cache: Path,
                   log: Callable[[str], None]) -> str:
    """The interpreter of a layer over ``python`` holding ``requirements`` (made once).

    The layer lives in ``cache/<digest>`` where the digest covers the requirements file
    and the real path of the interpreter (compiled wheels differ by Python). Raises
    :class:`RequirementsError` when pip fails; a half-made layer is removed.
    """
    digest = hashlib.sha256(requirements.read_bytes() + b"\0" +
                            _interpreter(python).encode()).hexdigest()[:16]
    target = cache / digest
    if (target / ".complete").is_file():
        return str(_layer_python(target))
    cache.mkdir(parents=True, exist_ok=True)
    log(f"Installing requirements.txt into {target}")
    staging = cache / f".{digest}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _make_layer(python, staging, requirements, cache.parent / "pip", log)
        (staging / ".complete").touch()
        # A virtual environment knows its own path: it is made where it will stay, so the
        # finished staging folder is published under its name with a link.
        try:
            os.symlink(staging.name, target)
        except FileExistsError:  # another job made the same layer first: use that one
            shutil.rmtree(staging, ignore_errors=True)
            if not (target / ".complete").is_file():
                raise RequirementsError(f"the cached environment {target} is incomplete; "
                                        "delete it and run the job again") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(_layer_python(target))


def _make_layer(python: str, layer: Path, requirements: Path, pip_cache: Path,
                log: Callable[[str], None]) -> None:
    _run([python, "-m", "venv", "--without-pip", str(layer)], log, "creating its environment")
    probe = subprocess.run([python, "-c", _SITE_PROBE], capture_output=True, text=True,
                           check=True)
    parent_sites = json.loads(probe.stdout)["site"]
    layer_python = str(_layer_python(layer))
    purelib = json.loads(subprocess.run([layer_python, "-c", _SITE_PROBE],
                                        capture_output=True, text=True, check=True
                                        ).stdout)["purelib"]
    # addsitedir (not a bare path) so the interpreter's own .pth files still apply.
    lines = "; ".join(f"site.addsitedir({site!r})" for site in parent_sites)
    Path(purelib, _PARENT_PTH).write_text(f"import site; {lines}\n", encoding="utf-8")
    # pip comes from the interpreter's site folders through that file; it installs into the
    # layer and leaves the interpreter's packages alone ("outside environment").
    env = dict(os.environ, PIP_CACHE_DIR=str(pip_cache))
    env.pop("PYTHONPATH", None)
    _run([layer_python, "-m", "pip", "install", "--quiet", "--no-input",
          "--disable-pip-version-check", "-r", str(requirements)], log,
         "installing requirements.txt", cwd=requirements.parent, env=env)


def _run(command: list[str], log: Callable[[str], None], what: str, *,
         cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            check=False)
    for line in (result.stdout + result.stderr).splitlines():
        log(line)
    if result.returncode != 0:
        tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RequirementsError(f"{what} failed: {tail}")
