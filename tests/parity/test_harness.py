"""The parity harness itself: a new difference, a broken rule and a stale rule all fail,
with the paths and both values in the message. No AWS, no SDK calls."""

from __future__ import annotations

import pytest

from .harness import (
    ABSENT,
    Allowed,
    Is,
    Matches,
    Name,
    Recording,
    assert_operations,
    compare,
    diff,
)


class _Model:
    def __init__(self, name: str) -> None:
        self.name = name


def _recording(sdk: dict, mlopskit: dict, operation: str = "CreateModel") -> Recording:
    recording = Recording()
    recording.sdk(sdk, _Model(operation))
    recording.mlopskit(mlopskit, _Model(operation))
    return recording


SDK = {"ModelName": "sdk-2026-01-01", "PrimaryContainer": {
    "Image": "img:1", "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "LEVEL": "20"}},
    "Tags": []}
MLOPSKIT = {"ModelName": "mk-2026-01-01", "PrimaryContainer": {
    "Image": "img:1", "Environment": {"SAGEMAKER_PROGRAM": "inference.py"}}}
NAME = Name("CreateModel", "ModelName", sdk=r"sdk-[0-9-]+", mlopskit=r"mk-[0-9-]+",
            reason="generated")
TAGS = Allowed("CreateModel", "Tags", sdk=Is([]), mlopskit=ABSENT, reason="no tags either way")


def test_a_difference_no_rule_allows_fails_with_its_path_and_both_values():
    with pytest.raises(AssertionError) as failure:
        compare(_recording(SDK, MLOPSKIT), "CreateModel", [NAME, TAGS])
    message = str(failure.value)
    assert "1 difference(s) no rule allows" in message
    assert "PrimaryContainer.Environment.LEVEL" in message
    assert 'sdk:      "20"' in message and "mlopskit: <absent>" in message


def test_rules_cover_their_differences():
    mlopskit = {**MLOPSKIT, "PrimaryContainer": SDK["PrimaryContainer"]}
    compare(_recording(SDK, mlopskit), "CreateModel", [NAME, TAGS])


def test_a_rule_whose_condition_fails_says_why():
    rule = Allowed("CreateModel", "Tags", sdk=Is([{"Key": "a", "Value": "b"}]), mlopskit=ABSENT,
                   reason="the SDK's own tag")
    mlopskit = {**MLOPSKIT, "PrimaryContainer": SDK["PrimaryContainer"]}
    with pytest.raises(AssertionError, match=r"allowed only when .*the SDK's own tag"):
        compare(_recording(SDK, mlopskit), "CreateModel", [NAME, rule])


def test_a_stale_rule_fails():
    same = {**SDK, "ModelName": "mk-2026-01-01"}
    stale = Allowed("CreateModel", "ExecutionRoleArn", reason="gone")
    with pytest.raises(AssertionError, match="no longer occur"):
        compare(_recording(SDK, same), "CreateModel", [NAME, TAGS, stale])


def test_a_name_of_the_wrong_shape_fails():
    renamed = {**SDK, "ModelName": "unexpected"}
    with pytest.raises(AssertionError, match="unexpected shape"):
        compare(_recording(SDK, renamed), "CreateModel", [NAME, TAGS])


def test_names_are_compared_where_they_are_referenced():
    sdk = {"Job": "sdk-1", "Output": "s3://b/sdk-1/output"}
    wrong = {"Job": "mk-1", "Output": "s3://b/other/output"}
    with pytest.raises(AssertionError, match=r"Output"):
        compare(_recording(sdk, wrong, "CreateJob"), "CreateJob",
                [Name("CreateJob", "Job", sdk="sdk-1", mlopskit="mk-1", reason="generated")])


def test_numbers_compare_by_value_booleans_only_to_booleans():
    assert diff({"w": 1, "f": True}, {"w": 1.0, "f": True}) == []
    assert [d.path for d in diff({"f": True}, {"f": 1})] == ["f"]


def test_patterns_match_one_segment_per_star():
    rule = Allowed("Op", "Channels.*.Mode", sdk=ABSENT, mlopskit=Matches("File"), reason="r")
    assert diff({"Channels": [{}, {}]}, {"Channels": [{"Mode": "File"}] * 2}, [rule]) == []


def test_operations_must_match_in_order():
    recording = _recording({}, {}, "CreateModel")
    recording.mlopskit({}, _Model("CreateEndpointConfig"))
    recording.mlopskit({}, _Model("DescribeEndpoint"))  # reads are not compared
    with pytest.raises(AssertionError, match="sequence of write operations"):
        assert_operations(recording, ["CreateModel"])
