"""A folder that plays S3: ``s3://bucket/key`` lives at ``<root>/bucket/key``.

Writes are atomic (temporary file + rename), so a reader never sees half an object.

A key is a file path here, so keys that S3 would take but that would name another file
(``a//b``, ``./a``, ``a/..``), hold control characters or escape the bucket's folder are
refused by :func:`~mlopskit.sagemaker_api.s3.split_s3_uri` with a
:class:`~mlopskit.errors.ValidationError` naming ``uri``, before anything is touched; the AWS
store uses the same function, so both refuse the same keys. What a folder cannot hold that
S3 can (an object ``a`` beside objects under ``a/``) is a
:class:`~mlopskit.errors.ConflictError`. Temporary files live in ``<root>/.partial/``, which
no bucket can be named, so no key is reserved.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..._data import sha256_file
from ...errors import ConflictError, NotFoundError, ValidationError
from ...sagemaker_api.s3 import split_s3_uri

__all__ = ["LocalObjectStore", "objects_under"]

_PARTIAL = ".partial"  # not a bucket name: those start with a lowercase letter or digit


def objects_under(objects: Any, prefix: str) -> list[tuple[str, str]]:
    """(object URI, path relative to the prefix) for what an S3Prefix names.

    The object itself when one has exactly that key (its name as the path), else every
    object under ``prefix/``, as SageMaker's local mode reads a prefix. Empty when none.
    """
    if objects.exists(prefix):
        return [(prefix, prefix.rsplit("/", 1)[-1])]
    folder = prefix if prefix.endswith("/") else prefix + "/"
    return [(uri, uri[len(folder):]) for uri in objects.list(folder)]


class LocalObjectStore:
    """The local backend's S3: a folder per bucket, a file per object.

    Example:
        >>> import tempfile
        >>> store = LocalObjectStore(Path(tempfile.mkdtemp()))
        >>> store.put_bytes(b"hi", "s3://bucket/greeting.txt")
        >>> store.get_bytes("s3://bucket/greeting.txt"), store.list("s3://bucket/")
        (b'hi', ['s3://bucket/greeting.txt'])
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # private, as the store is
        self._resolved_root = self.root.resolve()

    def make_bucket(self, bucket: str) -> None:
        """Create an empty bucket (a folder); a no-op when it exists."""
        self.path_for(f"s3://{bucket}/").mkdir(parents=True, exist_ok=True)

    def path_for(self, uri: str) -> Path:
        """The file behind ``uri`` (which may not exist yet)."""
        bucket, key = split_s3_uri(uri)
        path = (self._resolved_root / bucket / key).resolve()
        if not path.is_relative_to(self._resolved_root / bucket):
            raise ValidationError(f"uri: {uri!r} points outside its bucket", field="uri")
        return path

    def _object_path(self, uri: str) -> Path:
        key = split_s3_uri(uri)[1]
        if not key or key.endswith("/"):
            raise ValidationError(f"uri: {uri!r} names a prefix, not an object", field="uri")
        return self.path_for(uri)

    def _write_atomic(self, path: Path, writer: object, uri: str) -> None:
        staging = self.root / _PARTIAL
        staging.mkdir(exist_ok=True, mode=0o700)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise self._clash(uri) from None
        fd, tmp = tempfile.mkstemp(dir=staging, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(writer, bytes):
                    handle.write(writer)
                else:
                    with open(writer, "rb") as source:  # type: ignore[call-overload]
                        shutil.copyfileobj(source, handle, 1024 * 1024)
            try:
                os.replace(tmp, path)
            except (IsADirectoryError, NotADirectoryError):
                raise self._clash(uri) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _clash(self, uri: str) -> ConflictError:
        return ConflictError(
            f"object {uri!r} cannot be stored locally: a key and a prefix of it cannot both "
            "be objects here (a file cannot also be a folder), though S3 allows it; "
            "nothing was written")

    def put_bytes(self, data: bytes, uri: str) -> None:
        self._write_atomic(self._object_path(uri), data, uri)

    def put_file(self, path: Path, uri: str) -> None:
        self._object_path(uri)  # a bad URI is refused before the file is looked at
        if not path.is_file():
            raise NotFoundError(f"local file {str(path)!r} does not exist")
        self._write_atomic(self._object_path(uri), path, uri)

    def get_bytes(self, uri: str) -> bytes:
        path = self._object_path(uri)
        if not path.is_file():
            raise NotFoundError(f"object {uri!r} does not exist")
        return path.read_bytes()

    def sha256(self, uri: str) -> str:
        """The file's SHA-256, read in 1 MiB blocks."""
        try:
            return sha256_file(self._object_path(uri))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError(f"object {uri!r} does not exist") from None

    def download(self, uri: str, path: Path) -> None:
        source = self._object_path(uri)
        if not source.is_file():
            raise NotFoundError(f"object {uri!r} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    def exists(self, uri: str) -> bool:
        """Whether an object has exactly this key (False for a prefix); a URI mlopskit
        refuses is a ValidationError, as on the AWS store."""
        key = split_s3_uri(uri)[1]
        if not key or key.endswith("/"):
            return False
        return self.path_for(uri).is_file()

    def list(self, uri_prefix: str) -> list[str]:
        """Every object whose key starts with the prefix's key, sorted, as S3 URIs."""
        bucket, key_prefix = split_s3_uri(uri_prefix)
        bucket_root = self._resolved_root / bucket
        if not bucket_root.is_dir():
            raise NotFoundError(f"bucket {bucket!r} does not exist (listing {uri_prefix!r})")
        # Walk only the deepest folder the prefix names, then filter on the full key.
        folder = key_prefix.rsplit("/", 1)[0] if "/" in key_prefix else ""
        start = (bucket_root / folder).resolve()
        if not start.is_relative_to(bucket_root) or not start.is_dir():
            return []
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            for filename in sorted(filenames):
                key = (Path(dirpath) / filename).relative_to(bucket_root).as_posix()
                if key.startswith(key_prefix):
                    found.append(f"s3://{bucket}/{key}")
        return sorted(found)

    def delete(self, uri: str) -> None:
        path = self._object_path(uri)
        if path.is_file():  # deleting a key that is not there is no error, as on S3
            path.unlink(missing_ok=True)
        # Tidy empty folders up to the bucket, as S3 has no folders to leave behind.
        bucket_root = self.path_for(f"s3://{split_s3_uri(uri)[0]}/")
        parent = path.parent
        while parent != bucket_root and parent.is_relative_to(bucket_root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
