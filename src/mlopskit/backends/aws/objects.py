"""S3 as the :class:`~mlopskit.backends.base.ObjectStore`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..local.objectstore import split_s3_uri
from .clients import Clients
from .retry import Caller

__all__ = ["S3ObjectStore"]


class S3ObjectStore:
    """put/get/list/delete on ``s3://`` URIs, every call retried by the session's policy."""

    def __init__(self, clients: Clients, call: Caller) -> None:
        self._clients = clients
        self._call = call

    def put_file(self, path: Path, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        with open(path, "rb") as body:
            self._call(self._clients.s3.put_object, "PutObject", uri, Bucket=bucket, Key=key,
                       Body=body)

    def put_bytes(self, data: bytes, uri: str) -> None:
        bucket, key = split_s3_uri(uri)
        self._call(self._clients.s3.put_object, "PutObject", uri, Bucket=bucket, Key=key,
                   Body=data)

    def get_bytes(self, uri: str) -> bytes:
        bucket, key = split_s3_uri(uri)
        response = self._call(self._clients.s3.get_object, "GetObject", uri, Bucket=bucket,
                              Key=key)
        data: bytes = response["Body"].read()
        return data

    def download(self, uri: str, path: Path) -> None:
        """Stream the object to ``path`` (through a temporary file, so never half written)."""
        bucket, key = split_s3_uri(uri)
        path.parent.mkdir(parents=True, exist_ok=True)

        def fetch() -> None:
            response = self._clients.s3.get_object(Bucket=bucket, Key=key)
            partial = path.with_name(f".{path.name}.part")
            with open(partial, "wb") as handle:
                shutil.copyfileobj(response["Body"], handle, 1024 * 1024)
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
