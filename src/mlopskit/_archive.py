"""Making and opening ``.tar.gz`` archives safely.

Extraction refuses members that would land outside the target folder, links that point
out of it, and device files, using the stdlib's ``data`` filter where it exists and the
same checks by hand on Pythons that lack it. It also refuses archives that are too big to
be a model or code: more than :data:`MAX_MEMBERS` members, or more unpacked bytes than
:func:`unpack_limit` allows for the archive's size (a decompression bomb), or than the
target's disk has free. Every member's header is read and checked before the first byte
is written, so a refused archive leaves nothing behind; an archive that cannot be read
(corrupt, truncated, not a tar) is refused the same way. Every refusal is an
:class:`ArchiveError`.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import zlib
from pathlib import Path

from .errors import ValidationError

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "RATIO_FLOOR", "ArchiveError", "make_tar_gz",
           "safe_extract", "unpack_limit"]

_SKIP_DIRS = frozenset({"__pycache__", ".git", ".ipynb_checkpoints", ".mypy_cache", ".venv"})

# A model or code archive has a few to a few thousand files; 100,000 leaves room for a
# vendored library tree and stops an archive that is nothing but empty members.
MAX_MEMBERS = 100_000
# Model files compress 1-20x (weights barely, pickled trees and vocabularies a few times);
# deflate cannot do better than ~1032x, reached only by runs of one byte. Above 1 GiB
# unpacked, more than 250x is almost nothing but zeros: a decompression bomb.
MAX_RATIO = 250
RATIO_FLOOR = 1 << 30  # below this many unpacked bytes the ratio is not checked


class ArchiveError(ValidationError):
    """An archive mlopskit refuses to unpack: unreadable, unsafe, or too big.

    Nothing is written when it is raised while the members are checked (always the case
    for a corrupt, truncated or oversized archive).

    Example:
        >>> issubclass(ArchiveError, ValidationError)
        True
    """


def unpack_limit(archive_size: int, *, ratio: int = MAX_RATIO,
                 floor: int = RATIO_FLOOR) -> int:
    """The most bytes an archive of ``archive_size`` bytes may unpack to.

    Example:
        >>> unpack_limit(1024) == RATIO_FLOOR, unpack_limit(10 * RATIO_FLOOR) // RATIO_FLOOR
        (True, 2500)
    """
    return max(floor, ratio * archive_size)


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
        raise ArchiveError(f"archive member {member.name!r} would be written outside {root}")
    if member.issym() or member.islnk():
        link = Path(member.linkname)
        dest = (target.parent / link).resolve() if member.issym() else (root / link).resolve()
        if link.is_absolute() or not dest.is_relative_to(root):
            raise ArchiveError(
                f"archive member {member.name!r} links to {member.linkname!r}, outside {root}"
            )
    if member.isdev() or member.isfifo():
        raise ArchiveError(f"archive member {member.name!r} is a device or pipe; refused")


class _Budget:
    """Members and unpacked bytes so far, against the limits of one archive."""

    def __init__(self, archive: Path, max_members: int, ratio: int, floor: int) -> None:
        self.archive, self.max_members, self.ratio, self.floor = archive, max_members, ratio, floor
        self.limit = unpack_limit(archive.stat().st_size, ratio=ratio, floor=floor)
        self.members = self.size = 0

    def take(self, member: tarfile.TarInfo) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise ArchiveError(f"archive {self.archive.name!r} has more than "
                               f"{self.max_members:,} members; refused (limit MAX_MEMBERS)")
        if member.isreg():
            self.size += max(member.size, 0)
            if self.size > self.limit:
                raise ArchiveError(
                    f"archive {self.archive.name!r} ({_size(self.archive.stat().st_size)}) "
                    f"unpacks to more than {_size(self.limit)} (at member {member.name!r}); "
                    f"refused as a decompression bomb (at most {self.ratio}x the archive's "
                    f"size above {_size(self.floor)})")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def safe_extract(archive: Path, target: Path, *, max_members: int = MAX_MEMBERS,
                 max_ratio: int = MAX_RATIO, ratio_floor: int = RATIO_FLOOR) -> None:
    """Extract ``archive`` into ``target``, refusing traversal, outward links, devices,
    unreadable archives and archives that unpack to too much.

    Every member's header is checked before anything is written: at most ``max_members``
    members, at most :func:`unpack_limit` bytes of regular files, and no more than the
    target's disk has free. The checks stop at the first header over a limit, so a bomb is
    refused without being decompressed further. Extraction counts again as it goes.
    Raises :class:`ArchiveError` (a :class:`~mlopskit.errors.ValidationError`); when it is
    raised before extraction began, ``target`` holds nothing new.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> _ = (d / "not.tar.gz").write_bytes(b"plain text")
        >>> safe_extract(d / "not.tar.gz", d / "out")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit._archive.ArchiveError: archive 'not.tar.gz' is not a readable .tar.gz ...
    """
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    try:
        checked = _Budget(archive, max_members, max_ratio, ratio_floor)
        with tarfile.open(archive, "r:*") as tar:
            members: list[tarfile.TarInfo] = []
            # One header at a time: a member over a limit is refused before its data is
            # decompressed to reach the next header.
            for member in tar:
                checked.take(member)
                _check_member(member, root)
                members.append(member)
            free = shutil.disk_usage(root).free
            if checked.size > free:
                raise ArchiveError(f"archive {archive.name!r} unpacks to "
                                   f"{_size(checked.size)}, more than the {_size(free)} free "
                                   f"where it would go ({root})")
            try:
                _extract(tar, root, members, _Budget(archive, max_members, max_ratio,
                                                       ratio_floor))
            except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                raise ArchiveError(f"archive {archive.name!r} could not be unpacked into "
                                   f"{root}: {type(exc).__name__}: {exc}") from None
    except ArchiveError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(f"archive {archive.name!r} is not a readable .tar.gz (corrupt or "
                           f"truncated?): {type(exc).__name__}: {exc}") from None


def _extract(tar: tarfile.TarFile, root: Path, members: list[tarfile.TarInfo],
             budget: _Budget) -> None:
    if not hasattr(tarfile, "data_filter"):  # pragma: no cover - Python < 3.10.12
        for member in members:
            budget.take(member)
        tar.extractall(root, members=members)  # noqa: S202 # checked above, noqa: security-reviewed
        return

    def counted(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
        safe = tarfile.data_filter(member, path)
        if safe is not None:
            budget.take(safe)  # the member as it will be written, just before it is
        return safe

    tar.extractall(root, members=members, filter=counted)  # noqa: S202 # data_filter, checked
