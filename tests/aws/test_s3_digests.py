"""S3ObjectStore.sha256 offline on moto: S3's stored full-object checksum when there is one
(one HeadObject, no download), else the object streamed in 1 MiB chunks."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError
from botocore.response import StreamingBody

from mlopskit.backends.aws.objects import stored_sha256

from ..s3_moto import patch_head_checksums

MIB = 1024 * 1024
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def _record(s3: Any) -> list[str]:
    """The S3 operations sent from now on, in order (botocore's own event hook)."""
    seen: list[str] = []

    def before_call(model: Any, **_: Any) -> None:
        seen.append(model.name)

    s3.meta.events.register("before-call.s3", before_call)
    return seen


@pytest.fixture
def s3(aws_session) -> Any:
    return aws_session.backend.clients.s3


@pytest.fixture
def s3_checksums(monkeypatch: pytest.MonkeyPatch) -> None:
    patch_head_checksums(monkeypatch)


def _uri(session: Any, key: str) -> str:
    return f"s3://{session.default_bucket}/{key}"


def test_uploads_carry_a_full_object_sha256(aws_session, s3, s3_checksums, tmp_path: Path):
    objects = aws_session.backend.objects
    file = tmp_path / "model.tar.gz"
    file.write_bytes(b"weights" * 999)
    objects.put_file(file, _uri(aws_session, "a/model.tar.gz"))
    objects.put_bytes(b"metrics", _uri(aws_session, "a/metrics.json"))
    for key, data in (("a/model.tar.gz", file.read_bytes()), ("a/metrics.json", b"metrics")):
        head = s3.head_object(Bucket=aws_session.default_bucket, Key=key, ChecksumMode="ENABLED")
        assert base64.b64decode(head["ChecksumSHA256"]) == hashlib.sha256(data).digest()
        assert head["ChecksumType"] == "FULL_OBJECT"


def test_a_stored_checksum_is_used_without_downloading(aws_session, s3, s3_checksums):
    data = os.urandom(2 * MIB)
    uri = _uri(aws_session, "stored/model.tar.gz")
    aws_session.backend.objects.put_bytes(data, uri)
    seen = _record(s3)
    assert aws_session.backend.objects.sha256(uri) == hashlib.sha256(data).hexdigest()
    assert seen == ["HeadObject"]


def test_an_object_without_a_sha256_is_streamed_once(aws_session, s3, s3_checksums):
    data = os.urandom(MIB + 5)
    # Put by plain boto3, as another tool would: botocore adds a CRC32, not a SHA-256.
    s3.put_object(Bucket=aws_session.default_bucket, Key="plain/model.tar.gz", Body=data)
    seen = _record(s3)
    digest = aws_session.backend.objects.sha256(_uri(aws_session, "plain/model.tar.gz"))
    assert digest == hashlib.sha256(data).hexdigest()
    assert seen == ["HeadObject", "GetObject"]


def test_a_composite_multipart_checksum_is_not_taken_for_the_content_hash(aws_session, s3,
                                                                           s3_checksums):
    bucket, key = aws_session.default_bucket, "multipart/model.tar.gz"
    parts = [os.urandom(5 * MIB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    done = []
    for number, part in enumerate(parts, start=1):
        sent = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                              PartNumber=number, Body=part, ChecksumAlgorithm="SHA256")
        done.append({"ETag": sent["ETag"], "PartNumber": number,
                     "ChecksumSHA256": sent["ChecksumSHA256"]})
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": done})
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumSHA256"].endswith("-2")
    seen = _record(s3)
    digest = aws_session.backend.objects.sha256(_uri(aws_session, key))
    assert digest == hashlib.sha256(b"".join(parts)).hexdigest()
    assert seen == ["HeadObject", "GetObject"]


def test_a_checksum_of_unknown_type_is_not_trusted(aws_session, s3):
    # Unpatched moto: HeadObject gives the SHA-256 but not its ChecksumType.
    uri = _uri(aws_session, "untyped/model.tar.gz")
    aws_session.backend.objects.put_bytes(b"bytes", uri)
    head = s3.head_object(Bucket=aws_session.default_bucket, Key="untyped/model.tar.gz",
                          ChecksumMode="ENABLED")
    assert "ChecksumSHA256" in head and "ChecksumType" not in head
    seen = _record(s3)
    assert aws_session.backend.objects.sha256(uri) == hashlib.sha256(b"bytes").hexdigest()
    assert seen == ["HeadObject", "GetObject"]


def test_a_large_object_is_streamed_in_blocks_never_read_whole(aws_session, s3):
    bucket, key, size = aws_session.default_bucket, "large/model.tar.gz", 20 * MIB
    data = os.urandom(size)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    expected = hashlib.sha256(data).hexdigest()
    del data
    reads: list[int | None] = []

    class Recording:
        """The response body's raw stream, noting how much each read asks for."""

        def __init__(self, body: StreamingBody) -> None:
            self.body = body

        def read(self, amount: int | None = None) -> bytes:
            reads.append(amount)
            return self.body.read(amount)

        def close(self) -> None:
            self.body.close()

    def after_get(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetObject":
            parsed["Body"] = StreamingBody(Recording(parsed["Body"]), parsed["ContentLength"])

    s3.meta.events.register("after-call.s3", after_get)
    assert aws_session.backend.objects.sha256(_uri(aws_session, key)) == expected
    assert reads and None not in reads
    assert max(r for r in reads if r is not None) <= MIB
    assert len(reads) >= size // MIB


def test_a_missing_object_is_one_head(aws_session, s3):
    from mlopskit.errors import NotFoundError

    seen = _record(s3)
    with pytest.raises(NotFoundError, match="HeadObject"):
        aws_session.backend.objects.sha256(_uri(aws_session, "missing/model.tar.gz"))
    assert seen == ["HeadObject"]


def test_a_retried_upload_sends_the_whole_file_again(aws_session, s3, tmp_path: Path):
    """The first PutObject is applied but its answer lost; the retry must resend the file
    from its start, not from where the first attempt left the handle."""
    file = tmp_path / "model.tar.gz"
    file.write_bytes(b"0123456789" * 10_000)
    failures = [1]

    def lose_the_answer(request: Any, **_: Any) -> None:
        if failures and request.method == "PUT":
            failures.pop()
            body = request.body
            if hasattr(body, "read"):
                while body.read(64 * 1024):
                    pass
            raise ConnectionClosedError(endpoint_url=request.url)

    s3.meta.events.register("before-send.s3.PutObject", lose_the_answer)
    uri = _uri(aws_session, "retried/model.tar.gz")
    aws_session.backend.objects.put_file(file, uri)
    assert not failures
    assert aws_session.backend.objects.get_bytes(uri) == file.read_bytes()
    assert aws_session.backend.objects.sha256(uri) == \
        hashlib.sha256(file.read_bytes()).hexdigest()


@pytest.mark.parametrize(("head", "expected"), [
    ({"ChecksumSHA256": base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
      "ChecksumType": "FULL_OBJECT"}, hashlib.sha256(b"x").hexdigest()),
    ({"ChecksumSHA256": base64.b64encode(hashlib.sha256(b"x").digest()).decode() + "-3",
      "ChecksumType": "FULL_OBJECT"}, None),
    ({"ChecksumSHA256": base64.b64encode(hashlib.sha256(b"x").digest()).decode(),
      "ChecksumType": "COMPOSITE"}, None),
    ({"ChecksumSHA256": base64.b64encode(hashlib.sha256(b"x").digest()).decode()}, None),
    ({"ChecksumCRC32": "NhCmhg==", "ChecksumType": "FULL_OBJECT"}, None),
    ({"ChecksumSHA256": "not base64!", "ChecksumType": "FULL_OBJECT"}, None),
    ({"ChecksumSHA256": base64.b64encode(b"short").decode(), "ChecksumType": "FULL_OBJECT"},
     None),
], ids=["full-object", "parts-suffix", "composite", "untyped", "crc32-only", "garbled",
        "wrong-length"])
def test_which_head_answers_hold_the_content_hash(head, expected):
    assert stored_sha256(head) == expected


def test_registering_a_model_reads_its_digest_without_downloading_it(aws_session, s3,
                                                                      s3_checksums):
    import mlopskit
    from mlopskit.models import sha256_of

    data = os.urandom(MIB)
    uri = _uri(aws_session, "registered/model.tar.gz")
    aws_session.backend.objects.put_bytes(data, uri)
    fetched: list[str] = []

    def before_build(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "GetObject":
            fetched.append(params["Key"])

    s3.meta.events.register("before-parameter-build.s3", before_build)
    assert sha256_of(aws_session, uri) == hashlib.sha256(data).hexdigest()
    group = mlopskit.ModelPackageGroup("digests", session=aws_session).create()
    package = group.register(mlopskit.Model(uri, image_uri=IMAGE))
    assert package.lineage["sha256"] == hashlib.sha256(data).hexdigest()
    assert "registered/model.tar.gz" not in fetched
    aws_session.backend.objects.get_bytes(uri)
    assert fetched[-1] == "registered/model.tar.gz"  # the hook does see a download
