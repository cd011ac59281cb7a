"""The local transform's byte-level path, read in place, against its definition: plain
lines are printable ASCII and tabs between single newlines with no blank line, and a
request is the greediest run of whole lines within the payload limit."""

from __future__ import annotations

import random
import re

import pytest

from mlopskit.backends.local.transform import _JobFailed, _plain_lines, _Requests
from mlopskit.specs import build
from mlopskit.specs.serving import TransformJobSpec

_PLAIN = bytes([9, 10, *range(0x20, 0x7F)])


def _defined_plain(data: bytes) -> bool:
    body = data[:-1] if data.endswith(b"\n") else data
    return (bool(body) and not body.translate(None, _PLAIN)
            and re.search(rb"\n[ \t]*\n", b"\n" + body + b"\n") is None)


def _defined_cut(data: bytes, limit: int) -> tuple[list[bytes], list[int]]:
    lines = (data[:-1] if data.endswith(b"\n") else data).split(b"\n")
    bodies: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for line in lines:
        if len(line) + 1 > limit:
            raise _JobFailed("over the limit")
        if current and size + len(line) + 1 > limit:
            bodies.append(b"\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    bodies.append(b"\n".join(current))
    return bodies, [body.count(b"\n") + 1 for body in bodies]


def _spec(max_payload_mb: int) -> TransformJobSpec:
    return build(TransformJobSpec, "", name="t-1", model_name="m-1",
                 input_uri="s3://bkt-1/in/", output_path="s3://bkt-1/out/",
                 instance_type="ml.m5.large", instance_count=1, max_payload_mb=max_payload_mb)


def _samples(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    alphabet = [b"1", b"2", b",", b" ", b"\t", b"\n", b"\n", b"\r", b"\xc3\xa9", b"x"]
    found = [b"", b"\n", b"\n\n", b" ", b" \n", b"a", b"a\n", b"a\n\n", b"\na", b"a\n \n",
             b"\t\na", b"a\nb", b"a\nb\n", b"a\n\tb\n", b"a\n\t\n", b"a \nb"]
    for _ in range(count):
        found.append(b"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
    return found


def test_plain_lines_matches_its_definition():
    samples = _samples(7, 5000)
    assert [_plain_lines(data) for data in samples] == [_defined_plain(d) for d in samples]
    assert sum(map(_defined_plain, samples)) > 100  # both answers are well represented


def test_cutting_in_place_matches_its_definition():
    rng = random.Random(11)
    limit = 1024 * 1024  # max_payload_mb=1
    spec = _spec(1)
    for _ in range(20):
        lines = [b"%d,%d" % (rng.randint(0, 10**9), rng.randint(0, 10**rng.randint(1, 60)))
                 for _ in range(rng.randint(1, 200_000))]
        data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
        assert _plain_lines(data)
        requests = _Requests(data, spec)
        assert requests.fast
        assert (requests.bodies, requests.counts) == _defined_cut(data, limit)


def test_a_record_over_the_limit_is_named_and_measured():
    data = b"1,1\n2,2\n" + b"1," * 700_000 + b"1\n3,3\n"
    with pytest.raises(_JobFailed, match="record 2 is 1400002 bytes, over max_payload_mb=1"):
        _Requests(data, _spec(1))
