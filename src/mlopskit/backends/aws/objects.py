"""S3 as the :class:`~mlopskit.backends.base.ObjectStore`.

Every upload asks S3 to store a full-object SHA-256 checksum (``ChecksumAlgorithm``), so
:meth:`S3ObjectStore.sha256` of our own artifacts is one HeadObject, with no download.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from ...sagemaker_api.s3 import split_s3_uri
from .clients import Clients
from .retry import Caller

__all__ = ["S3ObjectStore", "stored_sha256"]

_BLOCK = 1024 * 1024


def stored_sha256(head: dict[str, Any]) -> str | None:
    """The hex SHA-256 of the whole object from a ``HeadObject(ChecksumMode="ENABLED")``
    answer, or None when S3 holds none.

    Only a ``FULL_OBJECT`` checksum is the hash of the content: a multipart upload's
    ``COMPOSITE`` one (``<base64>-<parts>``) hashes the parts' hashes, and an answer that
    does not say its type is not trusted either.

    Example:
        >>> stored_sha256({"ChecksumSHA256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
        ...                "ChecksumType": "FULL_OBJECT"})[:12]
        '2cf24dba5fb0'
        >>> stored_sha256({"ChecksumSHA256": "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=-2",
        ...                "ChecksumType": "COMPOSITE"}) is None
        True
    """
    value = head.get("ChecksumSHA256")
    if not value or head.get("ChecksumType") != "FULL_OBJECT" or "-" in value:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == hashlib.sha256().digest_size else None


class S3ObjectStore:
    """put/get/list/delete on ``s3://`` URIs, every call retried by the session's policy."""

    def __init__(self, clients: Clients, call: Caller) -> None:
        self._clients = clients
        self._call = call

    def put_file(self, path: Path, uri: str) -> None:
        bucket, key = split_s3_uri(uri)

        def send() -> None:
            # Opened per attempt: a retried PutObject must send the file from its start,
            # not from where the failed attempt left the handle.
            with open(path, "rb") as body:
                self._clients.s3.put_object(Bucket=bucket, Key=key, Body=body,
                                            ChecksumAlgorithm="SHA256")

        self._call(send, "PutObject", uri)

    def put_bytes(self, data: bytes, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._call(self._clients.s3.put_object, "PutObject", uri, Bucket=bucket, Key=key,
                   Body=data, ChecksumAlgorithm="SHA256")

    def get_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        response = self._call(self._clients.s3.get_object, "GetObject", uri, Bucket=bucket,
                              Key=key)
        data: bytes = response["Body"].read()
        return data

    def sha256(self, uri: str) -> str:
        """S3's stored full-object SHA-256 when it has one (no download), else the object
        streamed through hashlib in 1 MiB chunks (never held whole, never on disk)."""
        bucket, key = split_s3_uri(uri)
        head = self._call(self._clients.s3.head_object, "HeadObject", uri, Bucket=bucket,
                          Key=key, ChecksumMode="ENABLED")
        stored = stored_sha256(head)
        if stored is not None:
            return stored

        def stream() -> str:
            digest = hashlib.sha256()
            body = self._clients.s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                for chunk in body.iter_chunks(_BLOCK):
                    digest.update(chunk)
            finally:
                body.close()
            return digest.hexdigest()

        return self._call(stream, "GetObject", uri)

    def download(self, uri: str, path: Path) -> None:
        """Stream the object to ``path`` (through a temporary file, so never half written)."""
        bucket, key = split_s3_uri(uri)
        path.parent.mkdir(parents=True, exist_ok=True)

        def fetch() -> None:
            response = self._clients.s3.get_object(Bucket=bucket, Key=key)
            partial = path.with_name(f".{path.name}.part")
            with open(partial, "wb") as handle:
                shutil.copyfileobj(response["Body"], handle, _BLOCK)
            os.replace(partial, path)

        self._call(fetch, "GetObject", uri)

    def exists(self, uri: str) -> bool:
        bucket, key = split_s3_uri(uri)
        if not key:
            return False
        listed = self._call(self._clients.s3.list_objects_v2, "ListObjectsV2", uri,
                            Bucket=bucket, Prefix=key, MaxKeys=1)
        return any(item["Key"] == key for item in listed.get("Contents", []))

    def list(self, uri_prefix: str) -> list[str]:
        bucket, prefix = split_s3_uri(uri_prefix)
        paginator = self._clients.s3.get_paginator("list_objects_v2")

        def pages() -> list[str]:
            return [f"s3://{bucket}/{item['Key']}"
                    for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
                    for item in page.get("Contents", [])]

        return sorted(self._call(pages, "ListObjectsV2", uri_prefix))

    def delete(self, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._call(self._clients.s3.delete_object, "DeleteObject", uri, Bucket=bucket, Key=key)
