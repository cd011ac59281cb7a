"""Local files in and out of a session's object store, in one place.

Every public object that takes "an S3 URI or a local path" (training channels, processing
inputs, model artifacts, batch transform data, :meth:`Session.upload`) uses these helpers,
so a local path, a ``file://`` URI and an ``s3://`` URI mean the same thing everywhere:

- :func:`local_path` reads a path or ``file://`` URI;
- :func:`upload_plan` + :func:`put_files` upload a file or a folder, streamed file by file
  (the store's ``put_file``), all or nothing;
- :func:`download_plan` maps the objects under a prefix to files in a folder and refuses a
  key that would land outside it, before anything is written.

Example:
    >>> local_path("file:///tmp/data.csv")
    PosixPath('/tmp/data.csv')
    >>> split_uri("s3://my-bucket/data/train.csv")
    ('my-bucket', 'data/train.csv')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import ConflictError, NotFoundError, ValidationError
from .specs._common import S3_URI_PATTERN, check_s3_uri

if TYPE_CHECKING:
    from .backends.base import ObjectStore

__all__ = [
    "check_source",
    "checked_uri",
    "download_plan",
    "local_path",
    "path_text",
    "put_files",
    "sha256_file",
    "split_uri",
    "upload_path",
    "upload_plan",
]

FILE_SCHEME = "file://"
_BLOCK = 1024 * 1024


def local_path(value: str) -> Path:
    """The local path a plain path or a ``file://`` URI names (``~`` expanded).

    Example:
        >>> local_path("file:///data/model.tar.gz"), local_path("file://localhost/data")
        (PosixPath('/data/model.tar.gz'), PosixPath('/data'))
    """
    if value.startswith(FILE_SCHEME):
        value = value[len(FILE_SCHEME):]
        if value.startswith("localhost/"):
            value = value[len("localhost"):]
    return Path(value).expanduser()


def path_text(value: Any, field: str, allowed: str) -> str:
    """``value`` as a string when it is a ``str`` or ``os.PathLike``, else a
    :class:`ValidationError` naming ``field`` and what is ``allowed``."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        shown = "an empty string" if value == "" else type(value).__name__
        raise ValidationError(f"{field}: expected {allowed}, got {shown}", field=field)
    return value


def checked_uri(value: Any, field: str) -> str:
    """``value`` when it is a valid ``s3://bucket/key`` URI, else a ValidationError."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected an s3://bucket/key URI string, got "
                              f"{type(value).__name__}", field=field)
    try:
        return check_s3_uri(value)
    except ValueError as exc:
        raise ValidationError(f"{field}: {exc}", field=field) from None


def check_source(value: str, field: str) -> None:
    """Refuse a data source that is neither a valid ``s3://`` URI nor an existing local
    file or folder (a ValidationError naming ``field``)."""
    if value.startswith("s3://"):
        checked_uri(value, field)
    elif not local_path(value).exists():
        raise ValidationError(f"{field}: {value!r} is neither an s3:// URI nor an existing "
                              "local file or folder", field=field)


def split_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of a checked ``s3://`` URI."""
    match = S3_URI_PATTERN.match(uri)
    if match is None:  # pragma: no cover - callers pass checked URIs
        raise ValidationError(f"uri: {uri!r} is not an s3://bucket/key URI", field="uri")
    return match.group(1), (match.group(2) or "").removeprefix("/")


def _files_under(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        found.extend(Path(dirpath) / name for name in sorted(filenames)
                     if (Path(dirpath) / name).is_file())
    return found


def upload_plan(path: Path, destination: str) -> list[tuple[Path, str]]:
    """(local file, object URI) pairs for uploading ``path``.

    A file goes to ``destination`` itself, or to ``destination + its name`` when the
    destination ends with ``/``; a folder's files go under ``destination`` as a prefix,
    their paths relative to the folder kept. Every URI is checked; nothing is uploaded.
    """
    if path.is_file():
        uri = destination + path.name if destination.endswith("/") else destination
        pairs = [(path, uri)]
    else:
        prefix = destination if destination.endswith("/") else destination + "/"
        pairs = [(file, prefix + file.relative_to(path).as_posix())
                 for file in _files_under(path)]
    for file, uri in pairs:
        try:
            check_s3_uri(uri)
        except ValueError as exc:
            raise ValidationError(f"uri: {str(file)!r} would be uploaded to an invalid "
                                  f"URI: {exc}", field="uri") from None
    return pairs


def put_files(objects: ObjectStore, pairs: list[tuple[Path, str]]) -> list[str]:
    """Upload each file to its URI (streamed by the store); on any failure remove what this
    call wrote, so an interrupted upload leaves no half set behind. Returns the URIs."""
    written: list[str] = []
    try:
        for file, uri in pairs:
            objects.put_file(file, uri)
            written.append(uri)
    except BaseException:
        for uri in written:
            with contextlib.suppress(Exception):
                objects.delete(uri)
        raise
    return written


def upload_path(objects: ObjectStore, path: Path, prefix: str) -> list[str]:
    """Upload a file or folder under ``prefix`` (which ends with ``/``); the URIs written.

    This is how ``fit()``, processing jobs and batch transforms upload local inputs.
    """
    return put_files(objects, upload_plan(path, prefix))


def download_plan(objects: ObjectStore, uri: str, path: Path) -> tuple[list[tuple[str, Path]],
                                                                       bool]:
    """What downloading ``uri`` into ``path`` writes: ``([(object URI, file)], is_prefix)``.

    The object itself when ``uri`` names one (into ``path``, or into the folder ``path``
    under the object's name); otherwise every object under ``uri`` as a prefix, each to
    ``path / <key relative to the prefix>``. A key that would land outside ``path`` is
    refused here, before anything is written.
    """
    key = split_uri(uri)[1]
    if key and not key.endswith("/") and objects.exists(uri):
        target = path / key.rsplit("/", 1)[-1] if path.is_dir() else path
        return [(uri, target)], False
    prefix = uri if uri.endswith("/") or not key else uri + "/"
    found = [u for u in objects.list(prefix) if not u.endswith("/")]  # skip folder markers
    if not found:
        raise NotFoundError(f"no object at or under {uri!r}")
    if path.exists() and not path.is_dir():
        raise ValidationError(f"path: {str(path)!r} is a file; the objects under the prefix "
                              f"{prefix!r} go into a folder", field="path")
    root = path.resolve()
    pairs: list[tuple[str, Path]] = []
    relatives: set[PurePosixPath] = set()
    for item in found:
        try:
            check_s3_uri(item)  # a key written by another tool that mlopskit refuses
        except ValueError as exc:
            raise ValidationError(f"uri: object under {prefix!r} cannot be downloaded: {exc}; "
                                  "nothing was downloaded", field="uri") from None
        relative = item[len(prefix):]
        target = (root / relative).resolve()
        if not relative or relative.startswith("/") or not target.is_relative_to(root) \
                or target == root:
            raise ValidationError(f"uri: object {item!r} would be written outside "
                                  f"{str(path)!r}; refused, nothing was downloaded",
                                  field="uri")
        relatives.add(PurePosixPath(relative))
        pairs.append((item, target))
    for member in relatives:
        clash = next((p for p in member.parents if p in relatives), None)
        if clash is not None:
            raise ConflictError(f"objects {prefix + str(clash)!r} and {prefix + str(member)!r}"
                                " cannot both be files in one folder; nothing was downloaded")
    return pairs, True


def sha256_file(path: Path) -> str:
    """The SHA-256 of a local file, read in 1 MiB blocks.

    Example:
        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "x"
        >>> _ = file.write_bytes(b"abc")
        >>> sha256_file(file)[:12]
        'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
