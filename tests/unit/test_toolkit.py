"""The training toolkit's spelling rules, as pure functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlopskit.backends.local.toolkit import (
    ContainerPaths,
    to_cmd_args,
    to_env_vars,
    training_environment,
    user_hyperparameters,
)
from mlopskit.specs.training import decode_hyperparameter, encode_hyperparameters


@pytest.mark.parametrize(("value", "arg"), [
    ("plain", "plain"),
    ("with space", "with space"),
    (True, "True"),
    (False, "False"),
    (3, "3"),
    (0.25, "0.25"),
    ([1, "a"], "[1, 'a']"),
    (None, ""),
    ({"b": 2, "a": "x"}, "a=x,b=2"),
])
def test_values_after_an_encode_decode_round_trip(value, arg):
    encoded = encode_hyperparameters({"key": value})
    decoded = decode_hyperparameter(encoded["key"])
    assert to_cmd_args({"key": decoded}) == ["--key", arg]


def test_keys_sorted_verbatim_and_short_keys_get_one_dash():
    assert to_cmd_args({"z": 1, "a_b": 2, "a-b": 3}) == ["--a-b", "3", "--a_b", "2", "-z", "1"]


def test_raw_strings_that_are_not_json_stay_strings():
    user, framework = user_hyperparameters({"x": "not json", "y": "1", "sagemaker_program": "t"})
    assert user == {"x": "not json", "y": 1}
    assert framework == {"sagemaker_program": "t"}


def test_env_values_strings_raw_others_compact_json():
    assert to_env_vars({"hp_a": "s", "hp_b": [1, 2], "hp_c": {"k": True}}) == {
        "SM_HP_A": "s", "SM_HP_B": "[1,2]", "SM_HP_C": '{"k":true}'}


def test_training_environment_for_second_host(tmp_path: Path):
    paths = ContainerPaths(tmp_path / "algo-2")
    env = training_environment(
        paths=paths,
        encoded_hyperparameters={"lr": "0.1", "sagemaker_program": '"train.py"',
                                 "sagemaker_job_name": '"j"', "sagemaker_region": '"eu-west-1"',
                                 "sagemaker_submit_directory": '"s3://b-1/j/source.tar.gz"'},
        input_data_config={"train": {"TrainingInputMode": "File"}},
        resource_config={"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]},
        num_cpus=2)
    assert env["SM_CURRENT_HOST"] == "algo-2"
    assert env["SM_CHANNEL_TRAIN"] == str(paths.channel("train"))
    assert env["SM_MODULE_NAME"] == "train"
    assert env["SM_NUM_CPUS"] == "2"
    assert env["SM_HP_LR"] == "0.1"
    assert env["SAGEMAKER_REGION"] == "eu-west-1"
    assert json.loads(env["SM_TRAINING_ENV"])["is_master"] is False
    assert json.loads(env["SM_FRAMEWORK_PARAMS"]) == {}
