"""Session.upload / download / read_bytes / write_bytes / list on every backend."""

from __future__ import annotations

import re

import pytest

from mlopskit.errors import ConflictError, ValidationError
from mlopskit.testing.conformance import SessionDataConformance


class TestSessionData(SessionDataConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


def _everything(session) -> list[str]:
    return session.list(f"s3://{session.default_bucket}/")


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
