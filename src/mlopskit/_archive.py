"""Making and opening ``.tar.gz`` archives safely.

Extraction refuses members that would land outside the target folder, links that point
out of it, and device files, using the stdlib's ``data`` filter where it exists and the
same checks by hand on Pythons that lack it.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

from .errors import ValidationError

__all__ = ["make_tar_gz", "safe_extract"]

_SKIP_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".mypy_cache", ".venv"})


def make_tar_gz(
    source: Path, target: Path, *, skip_caches: bool = True, compresslevel: int = 6
) -> None:
    """Pack the contents of ``source`` (a folder) or one file into ``target``.

    Members are stored relative to ``source`` with no owner names, so archives of the same
    files are byte-for-byte reproducible apart from file times.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); (d / "src").mkdir()
        >>> _ = (d / "src" / "a.py").write_text("x")
        >>> make_tar_gz(d / "src", d / "out.tar.gz")
        >>> tarfile.open(d / "out.tar.gz").getnames()
        ['a.py']
    """

    def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    target.parent.mkdir(parents=True, exist_ok=True)
    # gzip with mtime=0 keeps the archive digest stable across runs of the same files.
    with (
        open(target, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0,
                      compresslevel=compresslevel) as gz,
        tarfile.open(fileobj=gz, mode="w") as tar,
    ):
        if source.is_file():
            tar.add(source, arcname=source.name, filter=_clean)
            return
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames[:] = sorted(d for d in dirnames if not (skip_caches and d in _SKIP_DIRS))
            rel_dir = Path(dirpath).relative_to(source)
            for dirname in dirnames:
                tar.add(Path(dirpath) / dirname, arcname=str(rel_dir / dirname),
                        recursive=False, filter=_clean)
            for filename in sorted(filenames):
                if skip_caches and filename.endswith(".pyc"):
                    continue
                tar.add(Path(dirpath) / filename, arcname=str(rel_dir / filename), filter=_clean)


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    target = (root / member.name).resolve()
    if not target.is_relative_to(root):
        raise ValidationError(f"archive member {member.name!r} would be written outside {root}")
    if member.issym() or member.islnk():
        link = Path(member.linkname)
        dest = (target.parent / link).resolve() if member.issym() else (root / link).resolve()
        if link.is_absolute() or not dest.is_relative_to(root):
            raise ValidationError(
                f"archive member {member.name!r} links to {member.linkname!r}, outside {root}"
            )
    if member.isdev() or member.isfifo():
        raise ValidationError(f"archive member {member.name!r} is a device or pipe; refused")


def safe_extract(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target``, refusing traversal, outward links and devices.

    Raises :class:`~mlopskit.errors.ValidationError` before writing anything when a member
    is unsafe.
    """
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            _check_member(member, root)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, members=members, filter="data")
        else:  # pragma: no cover - Python < 3.10.12 without extraction filters
            tar.extractall(root, members=members)  # noqa: S202 # checked above, noqa: security-reviewed
