"""File modes of the local store: private to the user who owns it.

The store holds job specs (environment variables included, which may be secrets), model
artifacts, code and logs. On every open (POSIX only) mlopskit removes the group and other
permission bits from:

- the root folder (``0700``): no other user can even list it;
- ``metadata.db`` and its ``-wal`` and ``-shm`` files (``0600``); a new database is created
  ``0600``, and SQLite gives the ``-wal`` and ``-shm`` files the database's mode;
- the folders directly inside the root (``s3``, ``jobs``, ``cache``, ``logs``...), so an
  older store, made before this rule, is private again once it is opened.

Folders made later inside the root take your umask, behind the private root. A path that
belongs to another user is left as it is, with one warning: only its owner can tighten it,
and everyone who can write it can change what runs. Nothing here ever fails an open: a file
system without POSIX modes is used as it is.

Example:
    >>> import stat, tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> root.chmod(0o755)
    >>> make_private(root, root / "metadata.db")
    >>> oct(stat.S_IMODE(root.stat().st_mode)), oct(stat.S_IMODE((root / "metadata.db").stat().st_mode))
    ('0o700', '0o600')
"""  # noqa: E501 - a doctest's line

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

__all__ = ["make_private"]

log = logging.getLogger("mlopskit")

_SHARED = 0o077  # the group and other bits
_warned: set[str] = set()


def make_private(root: Path, database: Path) -> None:
    """Make ``root`` and the store inside it readable by its owner only (see the module)."""
    if os.name != "posix":  # pragma: no cover - modes mean little elsewhere
        return
    _tighten(root)
    if not database.exists():
        # Created 0600 before SQLite opens it (an empty file is an empty database); when
        # that fails, SQLite reports what is wrong with the path as it opens it.
        with contextlib.suppress(OSError):
            os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
    for path in (database, database.with_name(database.name + "-wal"),
                 database.with_name(database.name + "-shm")):
        _tighten(path)
    try:
        children = [child for child in root.iterdir() if child.is_dir()]
    except OSError:
        return
    for child in children:
        _tighten(child)


def _tighten(path: Path) -> None:
    try:
        info = path.stat()
    except OSError:
        return  # not there (a -wal file before the first write): nothing to do
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _SHARED:
        return
    if info.st_uid != os.geteuid():
        key = str(path)
        if key not in _warned:
            _warned.add(key)
            log.warning("the local store path %s (mode %s) belongs to another user, so "
                        "mlopskit cannot make it private: every user who can write it can "
                        "change jobs, models and code (see docs/security.md)", path,
                        oct(mode))
        return
    try:
        os.chmod(path, mode & ~_SHARED)
    except OSError as exc:
        key = str(path)
        if key not in _warned:
            _warned.add(key)
            log.warning("could not make %s private (%s); see docs/security.md", path, exc)
