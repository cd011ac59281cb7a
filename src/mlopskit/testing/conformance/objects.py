"""The object store on every backend: digests, and Session.upload / download /
read_bytes / write_bytes / list."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlopskit.errors import NotFoundError, ValidationError
from mlopskit.models import sha256_of

from ...session import Session
from ._support import Conformance

__all__ = ["ObjectDigestConformance", "SessionDataConformance"]

MIB = 1024 * 1024


class ObjectDigestConformance(Conformance):
    """ObjectStore.sha256: the SHA-256 of an object's content, whatever wrote it."""

    @pytest.mark.parametrize("data", [b"", b"model-bytes", os.urandom(3 * MIB + 17)],
                             ids=["empty", "small", "several-blocks"])
    def test_digest_is_the_sha256_of_the_bytes_put(self, session: Session,
                                                   data: bytes) -> None:
        uri = f"s3://{session.default_bucket}/digests/model.tar.gz"
        session.backend.objects.put_bytes(data, uri)
        assert session.backend.objects.sha256(uri) == hashlib.sha256(data).hexdigest()

    def test_digest_of_an_uploaded_file(self, session: Session, tmp_path: Path) -> None:
        file = tmp_path / "model.tar.gz"
        file.write_bytes(b"weights" * 1000)
        uri = f"s3://{session.default_bucket}/digests/file/model.tar.gz"
        session.backend.objects.put_file(file, uri)
        assert session.backend.objects.sha256(uri) == hashlib.sha256(
            file.read_bytes()).hexdigest()

    def test_digest_follows_a_replaced_object(self, session: Session) -> None:
        uri = f"s3://{session.default_bucket}/digests/replaced.bin"
        session.backend.objects.put_bytes(b"first", uri)
        session.backend.objects.put_bytes(b"second", uri)
        assert session.backend.objects.sha256(uri) == hashlib.sha256(b"second").hexdigest()

    def test_digest_of_a_missing_object_is_not_found(self, session: Session) -> None:
        objects = session.backend.objects
        with pytest.raises(NotFoundError, match="nothing-here"):
            objects.sha256(f"s3://{session.default_bucket}/nothing-here/model.tar.gz")
        with pytest.raises(NotFoundError, match="model artifact"):
            sha256_of(session, f"s3://{session.default_bucket}/nothing-here/model.tar.gz")

    def test_sha256_of_asks_the_store(self, session: Session) -> None:
        uri = f"s3://{session.default_bucket}/digests/artifact/model.tar.gz"
        session.backend.objects.put_bytes(b"artifact-bytes", uri)
        assert sha256_of(session, uri) == hashlib.sha256(b"artifact-bytes").hexdigest()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _everything(session: Session) -> list[str]:
    return session.list(f"s3://{session.default_bucket}/")


def _bad_calls(tmp_path: Path, bucket: str) -> list[tuple[str, Callable[[Any], Any], str]]:
    (tmp_path / "empty").mkdir()
    (tmp_path / "f.csv").write_bytes(b"1\n")
    file = tmp_path / "f.csv"
    return [
        ("upload", lambda s: s.upload(123), "path: expected a local file or folder"),
        ("upload", lambda s: s.upload(""), "path: expected .* got an empty string"),
        ("upload", lambda s: s.upload(tmp_path / "missing.csv"),
         "path: .* is not an existing local file or folder"),
        ("upload", lambda s: s.upload(f"s3://{bucket}/x"), "path: .* is an S3 URI"),
        ("upload", lambda s: s.upload(tmp_path / "empty"), "path: folder .* holds no files"),
        ("upload", lambda s: s.upload(file, "https://example.com/x"),
         "uri: .* is not an S3 URI"),
        ("upload", lambda s: s.upload(file, f"s3://{bucket}/a/../b"), "uri: .*'\\.\\.'"),
        ("upload", lambda s: s.upload(file, 7), "uri: expected an s3://bucket/key URI string"),
        ("write_bytes", lambda s: s.write_bytes("text", f"s3://{bucket}/t"),
         "data: expected bytes, got str; encode"),
        ("write_bytes", lambda s: s.write_bytes(b"x", f"s3://{bucket}/prefix/"),
         "uri: .* names a prefix, not an object"),
        ("write_bytes", lambda s: s.write_bytes(b"x", "s3://B/x"), "uri: .* is not an S3 URI"),
        ("read_bytes", lambda s: s.read_bytes(f"s3://{bucket}"), "uri: .* names a prefix"),
        ("read_bytes", lambda s: s.read_bytes("/local/file"), "uri: .* is not an S3 URI"),
        ("list", lambda s: s.list(None), "uri: expected an s3://bucket/key URI string"),
        ("download", lambda s: s.download("data/x", tmp_path / "d"), "uri: .* is not an S3"),
        ("download", lambda s: s.download(f"s3://{bucket}/x", 3.5), "path: expected"),
    ]


class SessionDataConformance(Conformance):
    """Moving data in and out of the session's object store; bad input writes nothing,
    neither to the store nor to local disk."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        root = tmp_path / "iris"
        (root / "train" / "deep").mkdir(parents=True)
        (root / "a.csv").write_bytes(b"1,2\n")
        (root / "train" / "b.csv").write_bytes(b"3,4\n")
        (root / "train" / "deep" / "c.bin").write_bytes(bytes(range(256)) * 4)
        return root

    def test_a_file_goes_under_data_by_default_and_reads_back(self, session: Session,
                                                              tmp_path: Path) -> None:
        file = tmp_path / "train.csv"
        file.write_bytes(b"x,y\n1,2\n")
        uri = session.upload(file)
        assert uri == f"s3://{session.default_bucket}/data/train.csv"
        assert session.read_bytes(uri) == b"x,y\n1,2\n"
        assert session.upload(str(file)) == uri  # a str path too; replaced in place
        assert _everything(session) == [uri]

    def test_a_folder_keeps_its_relative_paths_and_downloads_back(
            self, session: Session, folder: Path, tmp_path: Path) -> None:
        prefix = session.upload(folder)
        bucket = session.default_bucket
        assert prefix == f"s3://{bucket}/data/iris/"
        assert session.list(prefix) == [f"{prefix}a.csv", f"{prefix}train/b.csv",
                                        f"{prefix}train/deep/c.bin"]
        target = tmp_path / "copy"
        assert session.download(prefix, target) == target
        assert _tree(target) == _tree(folder)
        # without the trailing slash the prefix means the same folder, not data/iris-2/...
        again = session.download(prefix.rstrip("/"), tmp_path / "again")
        assert _tree(again) == _tree(folder)

    def test_explicit_destinations(self, session: Session, folder: Path) -> None:
        bucket = session.default_bucket
        file = folder / "a.csv"
        assert session.upload(file, f"s3://{bucket}/exact/name.csv") == \
            f"s3://{bucket}/exact/name.csv"
        assert session.upload(file, f"s3://{bucket}/into/") == f"s3://{bucket}/into/a.csv"
        assert session.upload(folder, f"s3://{bucket}/tree") == f"s3://{bucket}/tree/"
        assert session.list(f"s3://{bucket}/tree/") == [
            f"s3://{bucket}/tree/a.csv", f"s3://{bucket}/tree/train/b.csv",
            f"s3://{bucket}/tree/train/deep/c.bin"]
        assert session.read_bytes(f"s3://{bucket}/exact/name.csv") == b"1,2\n"

    def test_file_uris_are_local_paths(self, session: Session, folder: Path,
                                       tmp_path: Path) -> None:
        uri = session.upload(f"file://{folder / 'train' / 'b.csv'}")
        assert uri.endswith("/data/b.csv")
        prefix = session.upload(f"file://{folder}", f"s3://{session.default_bucket}/f/")
        written = session.download(prefix, f"file://{tmp_path / 'out'}")
        assert _tree(written) == _tree(folder)

    def test_download_one_object_to_a_file_or_into_a_folder(self, session: Session,
                                                            tmp_path: Path) -> None:
        uri = session.write_bytes(b"payload", f"s3://{session.default_bucket}/o/p.txt")
        file = session.download(uri, tmp_path / "new" / "name.txt")
        assert file == tmp_path / "new" / "name.txt"
        assert file.read_bytes() == b"payload"
        (tmp_path / "dir").mkdir()
        into = session.download(uri, tmp_path / "dir")
        assert into == tmp_path / "dir" / "p.txt"
        assert into.read_bytes() == b"payload"

    def test_write_read_and_list(self, session: Session) -> None:
        bucket = session.default_bucket
        for key in ("in/b.csv", "in/a.csv", "in-2/c.csv", "other/d.csv"):
            assert session.write_bytes(key.encode(), f"s3://{bucket}/{key}") == \
                f"s3://{bucket}/{key}"
        written = session.write_bytes(bytearray(b"ba"), f"s3://{bucket}/ba")  # type: ignore[arg-type]
        assert written == f"s3://{bucket}/ba"
        assert session.read_bytes(f"s3://{bucket}/ba") == b"ba"
        assert session.list(f"s3://{bucket}/in/") == [f"s3://{bucket}/in/a.csv",
                                                      f"s3://{bucket}/in/b.csv"]
        # a prefix, as S3 has it: "in" matches in-2/ too
        assert session.list(f"s3://{bucket}/in") == [f"s3://{bucket}/in-2/c.csv",
                                                     f"s3://{bucket}/in/a.csv",
                                                     f"s3://{bucket}/in/b.csv"]
        assert session.list(f"s3://{bucket}/nothing/") == []
        assert session.read_bytes(f"s3://{bucket}/in/a.csv") == b"in/a.csv"

    def test_missing_objects_are_not_found(self, session: Session, tmp_path: Path) -> None:
        bucket = session.default_bucket
        with pytest.raises(NotFoundError):
            session.read_bytes(f"s3://{bucket}/no/such.csv")
        with pytest.raises(NotFoundError, match="no object at or under"):
            session.download(f"s3://{bucket}/no/such/", tmp_path / "out")
        assert not (tmp_path / "out").exists()

    @pytest.mark.parametrize("index", range(16))
    def test_bad_input_is_refused_and_writes_nothing(self, session: Session, tmp_path: Path,
                                                     index: int) -> None:
        calls = _bad_calls(tmp_path, session.default_bucket)
        assert len(calls) == 16
        _, call, message = calls[index]
        assert _everything(session) == []
        store = tmp_path / "mlopskit"  # where the plugin's local_session keeps its store

        def files() -> list[Path]:
            return sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(store))

        before = files()
        with pytest.raises(ValidationError, match=message):
            call(session)
        assert _everything(session) == []
        assert files() == before

    def test_a_folder_with_one_unusable_key_uploads_none_of_it(self, session: Session,
                                                               tmp_path: Path) -> None:
        root = tmp_path / "tree"
        deep = root.joinpath(*["d" * 200] * 5)
        deep.mkdir(parents=True)
        (root / "ok.csv").write_bytes(b"1\n")
        (deep / "long.csv").write_bytes(b"2\n")  # its key passes S3's 1024-character limit
        with pytest.raises(ValidationError, match="at most 1024"):
            session.upload(root)
        assert _everything(session) == []
