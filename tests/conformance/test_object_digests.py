"""ObjectStore.sha256 on every backend: the content's SHA-256, never read whole.

On AWS moto's HeadObject says ChecksumType as S3 does (tests/s3_moto.py, applied by
moto_service.py), so these digests come from S3's stored checksums;
tests/aws/test_s3_digests.py covers the streamed path.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

from mlopskit.testing.conformance import ObjectDigestConformance

MIB = 1024 * 1024


class TestObjectDigests(ObjectDigestConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


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
