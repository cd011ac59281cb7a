"""moto, made a little more like S3 for stored checksums. Tests patch moto, never mlopskit.

moto 5 stores the SHA-256 sent with ``PutObject(ChecksumAlgorithm="SHA256")`` and returns
it from ``HeadObject(ChecksumMode="ENABLED")``, but its HeadObject (unlike its GetObject)
never says ``ChecksumType`` and drops the ``-<parts>`` suffix of a multipart upload's
composite checksum. S3 says ``FULL_OBJECT`` for a single-part upload and ``COMPOSITE``
(``<base64>-<parts>``) for a multipart one; ``patch_head_checksums`` makes moto do the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from moto.s3.responses import S3Response


def patch_head_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    original = S3Response.head_object

    def head_object(self: Any, bucket_name: str, query: dict[str, Any], key_name: str,
                    headers: dict[str, Any]) -> Any:
        status, response_headers, body = original(self, bucket_name, query, key_name, headers)
        if status != 200 or headers.get("x-amz-checksum-mode") != "ENABLED":
            return status, response_headers, body
        key = self.backend.head_object(bucket_name, key_name,
                                       version_id=query.get("versionId", [None])[0])
        if key is not None and key.checksum_algorithm:
            kind = key.checksum_type or "FULL_OBJECT"
            response_headers["x-amz-checksum-type"] = kind
            if kind == "COMPOSITE":
                header = f"x-amz-checksum-{key.checksum_algorithm.lower()}"
                response_headers[header] = f"{key.checksum_value}-{key.checksum_parts}"
        return status, response_headers, body

    monkeypatch.setattr(S3Response, "head_object", head_object)
