"""Run a processing script that hard-codes ``/opt/ml/...`` paths against its job's own folder.

The local runner starts each host of a processing job as::

    python -m mlopskit.backends.local._pathmap --fs-root HOST ROOT \
        /opt/ml/processing/input/code/SCRIPT ARGS...

where ``ROOT`` (``HOST/opt/ml``) is that host's folder standing in for ``/opt/ml`` and
``HOST``, the process's working folder, stands in for ``/``, where processing containers
start their scripts. Before running the script (``runpy.run_path``, as ``__main__``, with
``sys.argv`` as ``python3 SCRIPT ARGS`` gives it), this module makes every path that starts
with ``/opt/ml/`` lead into ``ROOT``, in this process only: the script runs unmodified,
nothing is written to a shared ``/opt/ml``, and concurrent jobs do not collide. A relative
path that climbs above ``HOST`` with ``..`` stops at ``HOST``, as ``..`` of ``/`` is ``/``
itself: a script that extracts a model to ``..`` and opens it by its bare name, as it would
in the container, finds it.

It wraps the Python-level entry points that take a path: ``builtins.open``/``io.open``,
``io.open_code``, and in :mod:`os` ``open``, ``stat``, ``lstat``, ``listdir``, ``scandir``,
``mkdir``, ``rmdir``, ``remove``, ``unlink``, ``rename``, ``replace``, ``link``, ``symlink``,
``readlink``, ``access``, ``chdir``, ``utime``, ``chmod``, ``chown``, ``truncate``,
``statvfs``, the xattr calls and a few more. Everything built on those follows:
``os.path.*`` (which reach the file system through ``os.stat``, ``os.lstat``,
``os.readlink``), ``os.makedirs``/``os.walk``/``os.removedirs`` (they call the module's
own ``mkdir``/``scandir``/``rmdir``), ``glob``, ``shutil``, ``tempfile``, ``pathlib`` (on
Python 3.10 through its accessor, which is patched too; on 3.13 its globber's captured
``os.lstat``/``os.scandir`` are patched), and libraries that open files with Python's
``open`` (pandas, numpy's ``save``/``load``, ``csv``, ``json``, ``pickle``).

Not covered, by design: code that opens paths in C without going through Python (pyarrow's
own file system, sqlite3, h5py...), other processes (``subprocess``, ``os.system``,
multiprocessing's ``spawn`` and ``forkserver`` start methods; ``fork`` inherits the
mapping), and ``os.getcwd()``, which returns the real folder (so ``os.path.abspath("..")``
is the real folder above ``HOST``; relative paths themselves work either way). For those,
read the real paths from ``/opt/ml/config/processingjobconfig.json`` through Python, or pass
paths as arguments.

This module must stay import-light: only the standard library, no pydantic, no other
mlopskit module (the package ``__init__`` files on the way here are lazy).
"""

from __future__ import annotations

import builtins
import io
import os
import posixpath
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["PREFIX", "PathMap", "install", "main"]

PREFIX = "/opt/ml"
_PREFIX_BYTES = b"/opt/ml"

# (name in os, positions of path arguments, keyword names of path arguments)
_ONE_PATH = ("path",)
_OS_FUNCTIONS: tuple[tuple[str, tuple[int, ...], tuple[str, ...]], ...] = (
    ("open", (0,), _ONE_PATH),
    ("stat", (0,), _ONE_PATH),
    ("lstat", (0,), _ONE_PATH),
    ("listdir", (0,), _ONE_PATH),
    ("mkdir", (0,), _ONE_PATH),
    ("rmdir", (0,), _ONE_PATH),
    ("remove", (0,), _ONE_PATH),
    ("unlink", (0,), _ONE_PATH),
    ("access", (0,), _ONE_PATH),
    ("chdir", (0,), _ONE_PATH),
    ("utime", (0,), _ONE_PATH),
    ("chmod", (0,), _ONE_PATH),
    ("lchmod", (0,), _ONE_PATH),
    ("chown", (0,), _ONE_PATH),
    ("lchown", (0,), _ONE_PATH),
    ("chflags", (0,), _ONE_PATH),
    ("lchflags", (0,), _ONE_PATH),
    ("truncate", (0,), _ONE_PATH),
    ("statvfs", (0,), _ONE_PATH),
    ("pathconf", (0,), _ONE_PATH),
    ("mkfifo", (0,), _ONE_PATH),
    ("mknod", (0,), _ONE_PATH),
    ("getxattr", (0,), _ONE_PATH),
    ("setxattr", (0,), _ONE_PATH),
    ("listxattr", (0,), _ONE_PATH),
    ("removexattr", (0,), _ONE_PATH),
    ("rename", (0, 1), ("src", "dst")),
    ("replace", (0, 1), ("src", "dst")),
    ("link", (0, 1), ("src", "dst")),
    ("symlink", (0, 1), ("src", "dst")),
)
# Modules whose references to the real functions must stay: the import system reads the
# real sys.path through them, and this module keeps its own.
_SKIP_MODULES = frozenset({
    "builtins", "io", "_io", "os", "posix", "nt", "sys", "_frozen_importlib",
    "_frozen_importlib_external", "importlib._bootstrap", "importlib._bootstrap_external",
    "zipimport", __name__,
})


class PathMap:
    """Maps ``/opt/ml/...`` paths to the same path under ``root``; others pass unchanged.

    Example:
        >>> m = PathMap("/jobs/j/hosts/algo-1")
        >>> m.real("/opt/ml/processing/input/a.csv")
        '/jobs/j/hosts/algo-1/processing/input/a.csv'
        >>> m.real("/opt/ml/../../etc/hosts"), m.real("/opt/mlflow"), m.real(3)
        ('/etc/hosts', '/opt/mlflow', 3)
        >>> m.virtual("/jobs/j/hosts/algo-1/config")
        '/opt/ml/config'
    """

    def __init__(self, root: str, fs_root: str | None = None) -> None:
        self.root = os.path.abspath(root).rstrip("/") or "/"
        self.root_bytes = os.fsencode(self.root)
        self.fs_root = os.path.abspath(fs_root).rstrip("/") if fs_root else None

    def real(self, path: Any) -> Any:
        """The path to use on this machine; ``path`` itself (the same object) when unmapped."""
        if isinstance(path, str):
            if path.startswith("/opt/"):
                return self._real_str(path)
            if ".." in path and self.fs_root is not None and not path.startswith("/"):
                return self._clamped(path)
            return path
        if isinstance(path, bytes):
            if path.startswith(b"/opt/"):
                return self._real_bytes(path)
            if b".." in path and self.fs_root is not None and not path.startswith(b"/"):
                mapped = self._clamped(os.fsdecode(path))
                return path if isinstance(mapped, bytes) else os.fsencode(mapped)
            return path
        if hasattr(type(path), "__fspath__"):
            text = os.fspath(path)
            mapped = self.real(text)
            return path if mapped is text else mapped
        return path

    def _clamped(self, path: str) -> Any:
        """A relative path that climbs above the stand-in for ``/`` with ``..``, as the
        container resolves it (``..`` of ``/`` is ``/``); other relative paths unchanged.

        Only while the working folder is inside that stand-in: elsewhere ``..`` is real.
        """
        assert self.fs_root is not None
        cwd = os.getcwd()
        if cwd != self.fs_root and not cwd.startswith(self.fs_root + "/"):
            return path
        virtual_cwd = cwd[len(self.fs_root):] or "/"
        depth = len([part for part in virtual_cwd.split("/") if part])
        for part in path.split("/"):
            if part == "..":
                depth -= 1
                if depth < 0:
                    break
            elif part not in ("", "."):
                depth += 1
        else:
            return path  # stays inside: the file system resolves it as the container would
        inside = posixpath.normpath(posixpath.join(virtual_cwd, path))  # "/.." is "/"
        return self.fs_root + inside if inside != "/" else self.fs_root

    def _real_str(self, path: str) -> str:
        norm = posixpath.normpath(path)
        if norm == PREFIX:
            mapped = self.root
        elif norm.startswith(PREFIX + "/"):
            mapped = self.root + norm[len(PREFIX):]
        elif path.startswith(PREFIX + "/"):
            return norm  # climbs out of /opt/ml with '..': where the container would land
        else:
            return path
        return mapped + "/" if path.endswith("/") and not mapped.endswith("/") else mapped

    def _real_bytes(self, path: bytes) -> bytes:
        norm = posixpath.normpath(path)
        if norm == _PREFIX_BYTES:
            mapped = self.root_bytes
        elif norm.startswith(_PREFIX_BYTES + b"/"):
            mapped = self.root_bytes + norm[len(_PREFIX_BYTES):]
        elif path.startswith(_PREFIX_BYTES + b"/"):
            return norm
        else:
            return path
        return mapped + b"/" if path.endswith(b"/") and not mapped.endswith(b"/") else mapped

    def virtual(self, path: Any) -> Any:
        """The ``/opt/ml`` spelling of a real path under ``root``; others pass unchanged."""
        if isinstance(path, str):
            if path == self.root or path.startswith(self.root + "/"):
                return PREFIX + path[len(self.root):]
        elif isinstance(path, bytes) and (
                path == self.root_bytes or path.startswith(self.root_bytes + b"/")):
            return _PREFIX_BYTES + path[len(self.root_bytes):]
        return path


class _Redirected:
    """Stands in for one function that takes paths: maps them, then calls the original.

    An instance rather than a function, so that a class attribute holding it (pathlib's
    accessor on 3.10 copies ``os.stat`` into a class body) never binds as a method.
    """

    def __init__(self, original: Callable[..., Any], paths: PathMap,
                 positions: tuple[int, ...], keywords: tuple[str, ...]) -> None:
        self.__wrapped__ = original
        self.__name__ = getattr(original, "__name__", "wrapped")
        self.__qualname__ = getattr(original, "__qualname__", self.__name__)
        self.__doc__ = getattr(original, "__doc__", None)
        self._paths = paths
        self._positions = positions
        self._keywords = keywords

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given: list[Any] = []
        mapped_to: list[Any] = []
        new_args: list[Any] | None = None
        for index in self._positions:
            if index < len(args):
                real = self._paths.real(args[index])
                if real is not args[index]:
                    new_args = list(args) if new_args is None else new_args
                    new_args[index] = real
                    given.append(args[index])
                    mapped_to.append(real)
        for key in self._keywords:
            if key in kwargs:
                real = self._paths.real(kwargs[key])
                if real is not kwargs[key]:
                    given.append(kwargs[key])
                    mapped_to.append(real)
                    kwargs[key] = real
        if not given:
            return self.__wrapped__(*args, **kwargs)
        try:
            return self.__wrapped__(*(new_args if new_args is not None else args), **kwargs)
        except OSError as exc:
            # Errors name the path the script used, not the job folder behind it.
            for real, original in zip(mapped_to, given, strict=True):
                if exc.filename == real:
                    exc.filename = os.fspath(original)
                if exc.filename2 == real:
                    exc.filename2 = os.fspath(original)
            raise

    def __repr__(self) -> str:
        return f"<{self.__name__} redirecting {PREFIX} paths>"


class _Readlink(_Redirected):
    """``os.readlink``: a link made to a mapped target reads back as the ``/opt/ml`` path."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._paths.virtual(super().__call__(*args, **kwargs))


class _VirtualEntry:
    """An ``os.DirEntry`` whose ``path`` keeps the ``/opt/ml`` spelling the caller used."""

    def __init__(self, entry: os.DirEntry[Any], path: Any) -> None:
        self._entry = entry
        self.path = path

    @property
    def name(self) -> Any:
        return self._entry.name

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._entry.is_file(follow_symlinks=follow_symlinks)

    def is_symlink(self) -> bool:
        return self._entry.is_symlink()

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return self._entry.stat(follow_symlinks=follow_symlinks)

    def inode(self) -> int:
        return self._entry.inode()

    def __getattr__(self, name: str) -> Any:  # is_junction (3.12+) and anything newer
        return getattr(self._entry, name)

    def __fspath__(self) -> Any:
        return self.path

    def __repr__(self) -> str:
        return f"<DirEntry {self.name!r}>"


class _VirtualScandir:
    """The iterator ``os.scandir`` returns, yielding :class:`_VirtualEntry` objects."""

    def __init__(self, real: Any, top: Any) -> None:
        self._real = real
        sep: Any = b"/" if isinstance(top, bytes) else "/"
        self._prefix = top if top.endswith(sep) else top + sep

    def __iter__(self) -> Iterator[_VirtualEntry]:
        return self

    def __next__(self) -> _VirtualEntry:
        entry = next(self._real)
        return _VirtualEntry(entry, self._prefix + entry.name)

    def close(self) -> None:
        self._real.close()

    def __enter__(self) -> _VirtualScandir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Scandir(_Redirected):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        top = args[0] if args else kwargs.get("path", ".")
        real = self._paths.real(top)
        if real is top:
            return self.__wrapped__(*args, **kwargs)
        rest = args[1:]
        kwargs.pop("path", None)
        try:
            iterator = self.__wrapped__(real, *rest, **kwargs)
        except OSError as exc:
            if exc.filename == real:
                exc.filename = os.fspath(top)
            raise
        return _VirtualScandir(iterator, os.fspath(top))


def _replace_references(replacements: dict[int, tuple[Any, Any]]) -> None:
    """Point modules loaded before :func:`install` (and their classes) at the wrappers.

    ``tokenize``, ``bz2`` and ``tarfile`` keep their own name for ``open``; pathlib (3.10)
    and glob (3.13) copy ``os`` functions into class bodies. Modules imported later pick
    the wrappers up by themselves.
    """
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name in _SKIP_MODULES:
            continue
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            found = replacements.get(id(value))
            if found is not None and found[0] is value:
                namespace[key] = found[1]
            elif isinstance(value, type) and value.__module__ == module_name:
                _replace_in_class(value, replacements)


def _replace_in_class(cls: type, replacements: dict[int, tuple[Any, Any]]) -> None:
    for key, value in list(vars(cls).items()):
        target = value.__func__ if isinstance(value, staticmethod) else value
        found = replacements.get(id(target))
        if found is not None and found[0] is target:
            try:
                setattr(cls, key, staticmethod(found[1]))
            except (TypeError, AttributeError):  # a C type: not ours to change
                return


def install(root: str, fs_root: str | None = None) -> PathMap:
    """Redirect ``/opt/ml`` paths to ``root`` (and ``..`` above ``fs_root`` back into it)
    in this process, for good.

    Meant for a process of its own (see :func:`main`): there is no way back, on purpose.
    """
    paths = PathMap(root, fs_root)
    replacements: dict[int, tuple[Any, Any]] = {}

    def swap(holder: Any, name: str, wrapper: Any) -> None:
        original = getattr(holder, name)
        replacements[id(original)] = (original, wrapper)
        setattr(holder, name, wrapper)

    opener = _Redirected(io.open, paths, (0,), ("file",))
    replacements[id(io.open)] = (io.open, opener)
    builtins.open = opener
    io.open = opener
    swap(io, "open_code", _Redirected(io.open_code, paths, (0,), ("path",)))
    for name, positions, keywords in _OS_FUNCTIONS:
        if hasattr(os, name):
            swap(os, name, _Redirected(getattr(os, name), paths, positions, keywords))
    swap(os, "readlink", _Readlink(os.readlink, paths, (0,), ("path",)))
    swap(os, "scandir", _Scandir(os.scandir, paths, (0,), ("path",)))
    # shutil and others ask these sets whether a function takes a dir_fd, an fd, ...
    for capability in ("supports_dir_fd", "supports_fd", "supports_follow_symlinks",
                       "supports_effective_ids"):
        members = getattr(os, capability, None)
        if isinstance(members, set):
            members.update(wrapper for original, wrapper in replacements.values()
                           if original in members)
    _replace_references(replacements)
    return paths


def _print_user_traceback(exc: BaseException, script: str) -> None:
    """Print ``exc`` as ``python3 SCRIPT`` would: from the script's first frame on, without
    this module's frames."""
    frames: list[types.TracebackType] = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    start = next((i for i, t in enumerate(frames)
                  if t.tb_frame.f_code.co_filename == script), 0)
    here = __file__
    kept = [t for t in frames[start:] if t.tb_frame.f_code.co_filename != here]
    rebuilt: types.TracebackType | None = None
    for t in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, t.tb_frame, t.tb_lasti, t.tb_lineno)
    sys.excepthook(type(exc), exc.with_traceback(rebuilt), rebuilt)


def main(argv: list[str]) -> None:
    """``[--fs-root HOST] ROOT SCRIPT [ARGS...]``: map ``/opt/ml`` to ``ROOT`` (and keep
    ``..`` inside ``HOST``), then run ``SCRIPT``."""
    fs_root = None
    if argv[:1] == ["--fs-root"] and len(argv) >= 2:
        fs_root, argv = argv[1], argv[2:]
    if len(argv) < 2:
        sys.stderr.write("usage: python -m mlopskit.backends.local._pathmap [--fs-root HOST] "
                         "ROOT SCRIPT [ARGS...]\n")
        raise SystemExit(2)
    root, script, *args = argv
    paths = install(root, fs_root)
    import runpy

    sys.argv[:] = [script, *args]
    # `python3 SCRIPT` puts the script's folder first on sys.path; the import system reads
    # the real file system, so it gets the real folder.
    if not (sys.flags.isolated or getattr(sys.flags, "safe_path", False)):
        sys.path[0] = os.path.dirname(paths.real(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        _print_user_traceback(exc, script)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1:])
