"""Session.upload / download / read_bytes / write_bytes / list on every backend."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "iris"
    (root / "train" / "deep").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"1,2\n")
    (root / "train" / "b.csv").write_bytes(b"3,4\n")
    (root / "train" / "deep" / "c.bin").write_bytes(bytes(range(256)) * 4)
    return root


def _everything(session: mlopskit.Session) -> list[str]:
    return session.list(f"s3://{session.default_bucket}/")


def test_a_file_goes_under_data_by_default_and_reads_back(any_session, tmp_path):
    file = tmp_path / "train.csv"
    file.write_bytes(b"x,y\n1,2\n")
    uri = any_session.upload(file)
    assert uri == f"s3://{any_session.default_bucket}/data/train.csv"
    assert any_session.read_bytes(uri) == b"x,y\n1,2\n"
    assert any_session.upload(str(file)) == uri  # a str path too; replaced in place
    assert _everything(any_session) == [uri]


def test_a_folder_keeps_its_relative_paths_and_downloads_back(any_session, folder, tmp_path):
    prefix = any_session.upload(folder)
    bucket = any_session.default_bucket
    assert prefix == f"s3://{bucket}/data/iris/"
    assert any_session.list(prefix) == [f"{prefix}a.csv", f"{prefix}train/b.csv",
                                        f"{prefix}train/deep/c.bin"]
    target = tmp_path / "copy"
    assert any_session.download(prefix, target) == target
    assert _tree(target) == _tree(folder)
    # without the trailing slash the prefix means the same folder, not data/iris-2/...
    again = any_session.download(prefix.rstrip("/"), tmp_path / "again")
    assert _tree(again) == _tree(folder)


def test_explicit_destinations(any_session, folder, tmp_path):
    bucket = any_session.default_bucket
    file = folder / "a.csv"
    assert any_session.upload(file, f"s3://{bucket}/exact/name.csv") == \
        f"s3://{bucket}/exact/name.csv"
    assert any_session.upload(file, f"s3://{bucket}/into/") == f"s3://{bucket}/into/a.csv"
    assert any_session.upload(folder, f"s3://{bucket}/tree") == f"s3://{bucket}/tree/"
    assert any_session.list(f"s3://{bucket}/tree/") == [
        f"s3://{bucket}/tree/a.csv", f"s3://{bucket}/tree/train/b.csv",
        f"s3://{bucket}/tree/train/deep/c.bin"]
    assert any_session.read_bytes(f"s3://{bucket}/exact/name.csv") == b"1,2\n"


def test_file_uris_are_local_paths(any_session, folder, tmp_path):
    uri = any_session.upload(f"file://{folder / 'train' / 'b.csv'}")
    assert uri.endswith("/data/b.csv")
    prefix = any_session.upload(f"file://{folder}", f"s3://{any_session.default_bucket}/f/")
    written = any_session.download(prefix, f"file://{tmp_path / 'out'}")
    assert _tree(written) == _tree(folder)


def test_download_one_object_to_a_file_or_into_a_folder(any_session, tmp_path):
    uri = any_session.write_bytes(b"payload", f"s3://{any_session.default_bucket}/o/p.txt")
    file = any_session.download(uri, tmp_path / "new" / "name.txt")
    assert file == tmp_path / "new" / "name.txt"
    assert file.read_bytes() == b"payload"
    (tmp_path / "dir").mkdir()
    into = any_session.download(uri, tmp_path / "dir")
    assert into == tmp_path / "dir" / "p.txt"
    assert into.read_bytes() == b"payload"


def test_write_read_and_list(any_session):
    bucket = any_session.default_bucket
    for key in ("in/b.csv", "in/a.csv", "in-2/c.csv", "other/d.csv"):
        assert any_session.write_bytes(key.encode(), f"s3://{bucket}/{key}") == \
            f"s3://{bucket}/{key}"
    assert any_session.write_bytes(bytearray(b"ba"), f"s3://{bucket}/ba") == f"s3://{bucket}/ba"
    assert any_session.read_bytes(f"s3://{bucket}/ba") == b"ba"
    assert any_session.list(f"s3://{bucket}/in/") == [f"s3://{bucket}/in/a.csv",
                                                      f"s3://{bucket}/in/b.csv"]
    # a prefix, as S3 has it: "in" matches in-2/ too
    assert any_session.list(f"s3://{bucket}/in") == [f"s3://{bucket}/in-2/c.csv",
                                                     f"s3://{bucket}/in/a.csv",
                                                     f"s3://{bucket}/in/b.csv"]
    assert any_session.list(f"s3://{bucket}/nothing/") == []
    assert any_session.read_bytes(f"s3://{bucket}/in/a.csv") == b"in/a.csv"


def test_missing_objects_are_not_found(any_session, tmp_path):
    bucket = any_session.default_bucket
    with pytest.raises(NotFoundError):
        any_session.read_bytes(f"s3://{bucket}/no/such.csv")
    with pytest.raises(NotFoundError, match="no object at or under"):
        any_session.download(f"s3://{bucket}/no/such/", tmp_path / "out")
    assert not (tmp_path / "out").exists()


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
        ("upload", lambda s: s.upload(file, "https://example.com/x"), "uri: .* is not an S3 URI"),
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


@pytest.mark.parametrize("index", range(16))
def test_bad_input_is_refused_and_writes_nothing(any_session, tmp_path, index):
    calls = _bad_calls(tmp_path, any_session.default_bucket)
    assert len(calls) == 16
    _, call, message = calls[index]
    assert _everything(any_session) == []
    store = tmp_path / "mlopskit"  # the local session's root, when it is the local one

    def files() -> list[Path]:
        return sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(store))

    before = files()
    with pytest.raises(ValidationError, match=message):
        call(any_session)
    assert _everything(any_session) == []
    assert files() == before


def test_a_folder_with_one_unusable_key_uploads_none_of_it(any_session, tmp_path):
    root = tmp_path / "tree"
    deep = root.joinpath(*["d" * 200] * 5)
    deep.mkdir(parents=True)
    (root / "ok.csv").write_bytes(b"1\n")
    (deep / "long.csv").write_bytes(b"2\n")  # its key passes S3's 1024-character limit
    with pytest.raises(ValidationError, match="at most 1024"):
        any_session.upload(root)
    assert _everything(any_session) == []


def test_a_failed_upload_removes_what_it_had_written(local_session, tmp_path):
    # The local store cannot put the object "up/sub/x.csv" where the object "up/sub" is a
    # file: the second upload fails after the first succeeded, and the first is undone.
    bucket = local_session.default_bucket
    local_session.write_bytes(b"in the way", f"s3://{bucket}/up/sub")
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"1\n")
    (root / "sub" / "x.csv").write_bytes(b"2\n")
    with pytest.raises(ConflictError, match="a file cannot also be a folder"):
        local_session.upload(root, f"s3://{bucket}/up/")
    assert _everything(local_session) == [f"s3://{bucket}/up/sub"]


def test_download_refuses_keys_that_leave_the_folder(aws_session, tmp_path):
    # Real S3 keys may hold "..": such an object must never be written outside the target.
    s3 = aws_session.backend.clients.s3
    bucket = aws_session.default_bucket
    s3.put_object(Bucket=bucket, Key="p/fine.csv", Body=b"1")
    s3.put_object(Bucket=bucket, Key="p/../../escape.csv", Body=b"2")
    target = tmp_path / "inside" / "out"
    with pytest.raises(ValidationError, match=re.escape("p/../../escape.csv")):
        aws_session.download(f"s3://{bucket}/p/", target)
    assert not (tmp_path / "escape.csv").exists()
    assert not target.exists()


def test_download_refuses_an_object_that_is_also_a_folder(aws_session, tmp_path):
    s3 = aws_session.backend.clients.s3
    bucket = aws_session.default_bucket
    s3.put_object(Bucket=bucket, Key="q/a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="q/a/b", Body=b"2")
    with pytest.raises(ConflictError, match="cannot both be files"):
        aws_session.download(f"s3://{bucket}/q/", tmp_path / "out")
    assert not (tmp_path / "out").exists()
