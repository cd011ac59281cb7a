"""ObjectStore.sha256 on every backend: the content's SHA-256, never read whole."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import NotFoundError
from mlopskit.models import sha256_of

from ..s3_moto import patch_head_checksums

MIB = 1024 * 1024


@pytest.fixture
def session(any_session: mlopskit.Session, monkeypatch: pytest.MonkeyPatch) -> mlopskit.Session:
    """Each backend; moto's HeadObject says ChecksumType as S3 does (tests/s3_moto.py), so
    on AWS these digests come from S3's stored checksums. tests/aws/test_s3_digests.py
    covers the streamed path."""
    patch_head_checksums(monkeypatch)
    return any_session


@pytest.mark.parametrize("data", [b"", b"model-bytes", os.urandom(3 * MIB + 17)],
                         ids=["empty", "small", "several-blocks"])
def test_digest_is_the_sha256_of_the_bytes_put(session, data):
    uri = f"s3://{session.default_bucket}/digests/model.tar.gz"
    session.backend.objects.put_bytes(data, uri)
    assert session.backend.objects.sha256(uri) == hashlib.sha256(data).hexdigest()


def test_digest_of_an_uploaded_file(session, tmp_path: Path):
    file = tmp_path / "model.tar.gz"
    file.write_bytes(b"weights" * 1000)
    uri = f"s3://{session.default_bucket}/digests/file/model.tar.gz"
    session.backend.objects.put_file(file, uri)
    assert session.backend.objects.sha256(uri) == hashlib.sha256(file.read_bytes()).hexdigest()


def test_digest_follows_a_replaced_object(session):
    uri = f"s3://{session.default_bucket}/digests/replaced.bin"
    session.backend.objects.put_bytes(b"first", uri)
    session.backend.objects.put_bytes(b"second", uri)
    assert session.backend.objects.sha256(uri) == hashlib.sha256(b"second").hexdigest()


def test_digest_of_a_missing_object_is_not_found(session):
    objects = session.backend.objects
    with pytest.raises(NotFoundError, match="nothing-here"):
        objects.sha256(f"s3://{session.default_bucket}/nothing-here/model.tar.gz")
    with pytest.raises(NotFoundError, match="model artifact"):
        sha256_of(session, f"s3://{session.default_bucket}/nothing-here/model.tar.gz")


def test_sha256_of_asks_the_store(session):
    uri = f"s3://{session.default_bucket}/digests/artifact/model.tar.gz"
    session.backend.objects.put_bytes(b"artifact-bytes", uri)
    assert sha256_of(session, uri) == hashlib.sha256(b"artifact-bytes").hexdigest()


def test_a_large_local_object_is_hashed_in_blocks(local_session, tmp_path: Path):
    size = 20 * MIB
    file = tmp_path / "big.bin"
    expected = hashlib.sha256()
    with open(file, "wb") as handle:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            expected.update(block)
            handle.write(block)
    uri = f"s3://{local_session.default_bucket}/digests/big.bin"
    local_session.backend.objects.put_file(file, uri)
    tracemalloc.start()
    try:
        digest = local_session.backend.objects.sha256(uri)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert digest == expected.hexdigest()
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB to hash a {size // MIB} MiB object"
