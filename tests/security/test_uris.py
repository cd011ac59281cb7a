"""S3 URIs mlopskit refuses, through every entry point that takes one, on both backends.

S3 takes these keys, but locally a key is a file path: ``a//b`` and ``./a`` would name the
object ``a/b`` or ``a``, a NUL cannot be in a file name, a trailing newline hides in logs.
mlopskit refuses them everywhere (the same on AWS, so code that passes locally passes
there) with a ValidationError naming the argument, before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError
from mlopskit.specs._common import check_s3_uri, s3_uri_problem

from ..helpers import IMAGE

# (id, key): each key is appended to "s3://<bucket>/".
BAD_KEYS: list[tuple[str, str]] = [
    ("nul", "data/a\x00b.csv"),
    ("trailing-newline", "data/train.csv\n"),
    ("inner-newline", "data/tra\nin.csv"),
    ("carriage-return", "data/train.csv\r"),
    ("tab", "data/tr\tain.csv"),
    ("escape-sequence", "data/\x1b[31mred.csv"),
    ("delete", "data/train\x7f.csv"),
    ("c1-control", "data/train\x85.csv"),
    ("empty-segment", "data//train.csv"),
    ("leading-slash", "/data/train.csv"),
    ("dot-segment", "./data/train.csv"),
    ("inner-dot-segment", "data/./train.csv"),
    ("dot-dot-segment", "data/../train.csv"),
    ("climbing-out", "../../etc/passwd"),
    ("trailing-dot-dot", "data/.."),
    ("segment-over-255-bytes", "data/" + "x" * 256 + ".csv"),
    ("multibyte-segment-over-255-bytes", "data/" + "é" * 128),
]

# Keys S3 and mlopskit both take: the rule must not be broader than it says.
GOOD_KEYS = ["data/with space.csv", "data/ünïcödé.csv", "data/back\\slash.csv",
             "data/.hidden", "data/..dots..", "data/" + "x" * 255, "data/a.b/c-d_e~f"]


def _uri(session: mlopskit.Session, key: str) -> str:
    return f"s3://{session.default_bucket}/{key}"


def _state(session: mlopskit.Session) -> tuple[list[str], list[str]]:
    """What the store holds: its object URIs, and (locally) every file under the root's s3/
    (so an object written under another key, or a stray temporary file, shows too)."""
    objects = session.list(f"s3://{session.default_bucket}/")
    files: list[str] = []
    if isinstance(session, mlopskit.LocalSession):
        s3 = session.root / "s3"
        files = sorted(p.relative_to(s3).as_posix() for p in s3.rglob("*") if p.is_file())
    return objects, files


def test_every_bad_key_is_named_by_the_check():
    for case, key in BAD_KEYS:
        uri = "s3://bucket-1/" + key
        with pytest.raises(ValueError, match="bucket-1") as info:
            check_s3_uri(uri)
        assert s3_uri_problem(uri) is not None, case
        assert "\n" not in str(info.value) and "\x00" not in str(info.value), case
    for key in GOOD_KEYS:
        assert check_s3_uri("s3://bucket-1/" + key) == "s3://bucket-1/" + key


def test_a_newline_after_the_bucket_is_refused_too():
    for uri in ("s3://bucket-1\n", "s3://bucket-1/\n", "s3://bucket-1\n/key"):
        with pytest.raises(ValueError, match="control character"):
            check_s3_uri(uri)


# (id, field the error must name, call(session, uri, tmp_path)); every call is refused.
Entry = tuple[str, str, Callable[[mlopskit.Session, str, Path], Any]]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_text("1,2\n")
    return path


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "code" / "train.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text("print('never runs')\n")
    return path


def _estimator(session: mlopskit.Session, tmp_path: Path, **kwargs: Any) -> mlopskit.Estimator:
    script = _script(tmp_path)
    return mlopskit.Estimator(entry_point="train.py", source_dir=script.parent, image_uri=IMAGE,
                              instance_type="ml.m5.large", session=session, **kwargs)


def _model(session: mlopskit.Session) -> mlopskit.Model:
    return mlopskit.Model(_uri(session, "models/m/model.tar.gz"), image_uri=IMAGE,
                          session=session)


ENTRY_POINTS: list[Entry] = [
    # the session's data API
    ("session.upload", "uri", lambda s, u, t: s.upload(_file(t), u)),
    ("session.download", "uri", lambda s, u, t: s.download(u, t / "out")),
    ("session.read_bytes", "uri", lambda s, u, t: s.read_bytes(u)),
    ("session.write_bytes", "uri", lambda s, u, t: s.write_bytes(b"x", u)),
    ("session.list", "uri", lambda s, u, t: s.list(u)),
    # the backend's object store, under the public layer
    ("objects.put_bytes", "uri", lambda s, u, t: s.backend.objects.put_bytes(b"x", u)),
    ("objects.put_file", "uri", lambda s, u, t: s.backend.objects.put_file(_file(t), u)),
    ("objects.get_bytes", "uri", lambda s, u, t: s.backend.objects.get_bytes(u)),
    ("objects.sha256", "uri", lambda s, u, t: s.backend.objects.sha256(u)),
    ("objects.download", "uri", lambda s, u, t: s.backend.objects.download(u, t / "o")),
    ("objects.exists", "uri", lambda s, u, t: s.backend.objects.exists(u)),
    ("objects.list", "uri", lambda s, u, t: s.backend.objects.list(u)),
    ("objects.delete", "uri", lambda s, u, t: s.backend.objects.delete(u)),
    # training
    ("TrainingInput", "s3_data", lambda s, u, t: mlopskit.TrainingInput(u)),
    ("Estimator.fit inputs", "inputs.train",
     lambda s, u, t: _estimator(s, t).fit({"train": {"s3_data": u}}, logs=False)),
    ("Estimator output_path", "output_path",
     lambda s, u, t: _estimator(s, t, output_path=u)),
    # processing
    ("ProcessingInput", "source",
     lambda s, u, t: mlopskit.ProcessingInput(u, "/opt/ml/processing/input/data")),
    ("ProcessingOutput", "destination",
     lambda s, u, t: mlopskit.ProcessingOutput("/opt/ml/processing/out", destination=u)),
    ("Processor.run code", "code",
     lambda s, u, t: mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                                        session=s).run(u, logs=False)),
    # models, batch transform and data capture
    ("Model model_data", "model_data", lambda s, u, t: mlopskit.Model(u, image_uri=IMAGE,
                                                                      session=s)),
    ("Transformer.transform data", "data",
     lambda s, u, t: _model(s).transformer(1, "ml.m5.large").transform(u)),
    ("Transformer output_path", "output_path",
     lambda s, u, t: _model(s).transformer(1, "ml.m5.large", output_path=u).transform(
         _uri(s, "in/"))),
    ("DataCaptureConfig destination", "data_capture_config.destination_s3_uri",
     lambda s, u, t: mlopskit.DataCaptureConfig(destination_s3_uri=u)),
]


@pytest.mark.parametrize(("field", "call"), [pytest.param(f, c, id=i)
                                             for i, f, c in ENTRY_POINTS])
def test_bad_keys_are_refused_naming_the_argument_and_nothing_is_written(
        any_session, tmp_path, field, call):
    before = _state(any_session)
    for case, key in BAD_KEYS:
        uri = _uri(any_session, key)
        with pytest.raises(ValidationError) as info:
            call(any_session, uri, tmp_path)
        error = info.value
        assert error.field is not None and error.field.endswith(field), (case, error.field)
        assert str(error).startswith(field), (case, str(error))
        # the message shows the URI escaped: no raw control character reaches a log line
        assert not any(ch in str(error) for ch in "\x00\n\r\t\x1b\x7f\x85"), (case, str(error))
        assert _state(any_session) == before, case
    assert not (tmp_path / "out").exists() and not (tmp_path / "o").exists()


def test_good_keys_still_round_trip(any_session):
    for key in GOOD_KEYS:
        uri = _uri(any_session, key)
        any_session.write_bytes(key.encode(), uri)
        assert any_session.read_bytes(uri) == key.encode()
    assert any_session.list(f"s3://{any_session.default_bucket}/data/") == sorted(
        _uri(any_session, key) for key in GOOD_KEYS)


def test_a_key_and_a_prefix_of_it_cannot_both_be_local_objects(local_session):
    # S3 holds "a" and "a/b" side by side; a folder cannot: a ConflictError, not an OSError,
    # and the object that was there is untouched.
    local_session.write_bytes(b"file", _uri(local_session, "a"))
    local_session.write_bytes(b"inside", _uri(local_session, "c/d"))
    before = _state(local_session)
    for uri in (_uri(local_session, "a/b"), _uri(local_session, "a/b/c"),
                _uri(local_session, "c")):
        with pytest.raises(ConflictError, match="a file cannot also be a folder"):
            local_session.write_bytes(b"x", uri)
        assert _state(local_session) == before
    local_session.backend.objects.delete(_uri(local_session, "c"))  # no such object: no-op
    assert local_session.read_bytes(_uri(local_session, "a")) == b"file"


def test_temporary_files_never_show_as_objects(local_session):
    # Partial writes live outside every bucket, so no key is reserved for them.
    uri = _uri(local_session, "data/.upload-abc123")
    local_session.write_bytes(b"mine", uri)
    assert local_session.list(_uri(local_session, "data/")) == [uri]
    assert list((local_session.root / "s3" / ".partial").iterdir()) == []


@pytest.mark.parametrize("key", ["p/a//b.csv", "p/x\n", "p/./c.csv"])
def test_download_refuses_a_listed_key_written_by_another_tool(aws_session, tmp_path, key):
    s3 = aws_session.backend.clients.s3
    bucket = aws_session.default_bucket
    s3.put_object(Bucket=bucket, Key="p/fine.csv", Body=b"1")
    s3.put_object(Bucket=bucket, Key=key, Body=b"2")
    with pytest.raises(ValidationError, match="cannot be downloaded") as info:
        aws_session.download(f"s3://{bucket}/p/", tmp_path / "out")
    assert info.value.field == "uri"
    assert not (tmp_path / "out").exists()


def test_a_missing_object_with_a_good_key_is_still_not_found(any_session):
    with pytest.raises(NotFoundError):
        any_session.read_bytes(_uri(any_session, "data/nothing-here.csv"))
