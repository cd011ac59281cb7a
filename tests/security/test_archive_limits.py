"""Archives are unpacked within limits: a decompression bomb, too many members, corrupt or
truncated data are refused before anything is written."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest

import mlopskit
from mlopskit._archive import MAX_MEMBERS, MAX_RATIO, RATIO_FLOOR, ArchiveError, safe_extract
from mlopskit.errors import DeploymentFailedError, MlopsKitError

from .support import echo_model, nothing_left, tar_gz

CHUNK = 64 << 20  # 64 MiB of zeros, compressed once and repeated


def bomb(target: Path, size: int = 3 << 30) -> Path:
    """A real .tar.gz of one ``size``-byte file of zeros, a few MB compressed: gzip members
    concatenated (a valid gzip stream) so that building it compresses 64 MiB only once."""
    info = tarfile.TarInfo("zeros.bin")
    info.size = size
    zeros = gzip.compress(bytes(CHUNK), compresslevel=9, mtime=0)
    with open(target, "wb") as out:
        out.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT), mtime=0))
        for _ in range(size // CHUNK):
            out.write(zeros)
        out.write(gzip.compress(bytes(-size % 512) + bytes(1024), mtime=0))  # padding, end
    return target


def test_the_bomb_is_a_valid_archive_of_what_it_claims(tmp_path):
    archive = bomb(tmp_path / "bomb.tar.gz")
    assert archive.stat().st_size < 8 << 20
    with tarfile.open(archive, "r:gz") as tar:
        first = tar.next()
        assert first is not None and first.size == 3 << 30


def test_a_decompression_bomb_is_refused_with_nothing_extracted(tmp_path):
    archive = bomb(tmp_path / "bomb.tar.gz")
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match="decompression bomb") as info:
        safe_extract(archive, target)
    assert isinstance(info.value, MlopsKitError)
    assert list(target.iterdir()) == []


def test_a_deployed_bomb_fails_the_deployment_and_leaves_nothing(local_session, tmp_path):
    model = echo_model(local_session, tmp_path)
    uri = f"s3://{local_session.default_bucket}/models/bomb/model.tar.gz"
    local_session.upload(str(bomb(tmp_path / "bomb.tar.gz")), uri)
    bombed = mlopskit.Model(uri, entry_point="serve.py", source_dir=tmp_path / "models/echo" /
                            "code", session=local_session)
    assert model.model_data != bombed.model_data
    with pytest.raises(DeploymentFailedError, match="decompression bomb"):
        bombed.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="bomb-ep")
    nothing_left(local_session, "bomb-ep")


def test_too_many_members_are_refused_with_nothing_extracted(tmp_path):
    archive = tar_gz({f"f{i}": b"" for i in range(11)}, tmp_path / "many.tar.gz")
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match="more than 10 members"):
        safe_extract(archive, target, max_members=10)
    assert list(target.iterdir()) == []
    safe_extract(archive, target, max_members=11)
    assert len(list(target.iterdir())) == 11


def test_the_defaults_leave_real_models_alone():
    assert MAX_MEMBERS == 100_000
    assert (MAX_RATIO, RATIO_FLOOR) == (250, 1 << 30)


@pytest.mark.parametrize("damage", ["truncated", "corrupt", "not gzip"])
def test_a_broken_archive_is_refused_with_nothing_extracted(tmp_path, damage):
    good = tar_gz({"a.txt": b"a" * 10_000, "b.bin": bytes(range(256)) * 400},
                  tmp_path / "good.tar.gz")
    data = good.read_bytes()
    broken = {"truncated": data[: len(data) // 2],
              "corrupt": data[:20] + bytes(255 - b for b in data[20:60]) + data[60:],
              "not gzip": b"plain text, not an archive"}[damage]
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(broken)
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"not a readable \.tar\.gz"):
        safe_extract(archive, target)
    assert list(target.iterdir()) == []


def test_traversal_is_still_refused(tmp_path):
    archive = tar_gz({"../escape.txt": b"x"}, tmp_path / "escape.tar.gz")
    with pytest.raises(ArchiveError, match="outside"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
