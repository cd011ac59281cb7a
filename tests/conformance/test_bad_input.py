"""Bad input gets a clear ValidationError naming the field and creates nothing, anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ValidationError

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"

# (case id, Estimator overrides, fit overrides, text the message must contain)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("instance-type-no-ml-prefix", {"instance_type": "m5.large"}, {}, "instance_type"),
    ("instance-type-no-size", {"instance_type": "ml.m5"}, {}, "instance_type"),
    ("instance-type-empty", {"instance_type": ""}, {}, "instance_type"),
    ("instance-count-zero", {"instance_count": 0}, {}, "instance_count"),
    ("too-many-hyperparameters", {"hyperparameters": {f"k{i}": i for i in range(96)}}, {},
     "hyperparameters: 96 given; at most 95"),
    ("hyperparameter-key-too-long", {"hyperparameters": {"k" * 257: 1}}, {}, "hyperparameters"),
    ("hyperparameter-value-too-long", {"hyperparameters": {"k": "v" * 2501}}, {},
     "at most 2500"),
    ("hyperparameter-reserved-key", {"hyperparameters": {"sagemaker_program": "x"}}, {},
     "reserved"),
    ("hyperparameter-not-json", {"hyperparameters": {"k": object()}}, {},
     "not JSON-serialisable"),
    ("environment-bad-name", {"environment": {"1BAD": "x"}}, {}, "environment"),
    ("environment-non-string", {"environment": {"GOOD": 1}}, {}, "environment"),
    ("metric-regex-without-group", {"metric_definitions": [{"Name": "a", "Regex": "acc=.*"}]},
     {}, "capture group"),
    ("metric-regex-invalid", {"metric_definitions": [{"Name": "a", "Regex": "acc=(["}]}, {},
     "does not compile"),
    ("metric-missing-regex", {"metric_definitions": [{"Name": "a"}]}, {},
     "metric_definitions.0.regex: required"),
    ("output-path-not-s3", {"output_path": "http://bucket/x"}, {}, "output_path"),
    ("output-path-bad-bucket", {"output_path": "s3://Bad_Bucket/x"}, {}, "output_path"),
    ("max-run-zero", {"max_run": 0}, {}, "max_run"),
    ("max-run-over-28-days", {"max_run": 28 * 24 * 3600 + 1}, {}, "max_run"),
    ("tag-reserved-prefix", {"tags": {"aws:owner": "me"}}, {}, "tags"),
    ("too-many-tags", {"tags": {f"t{i}": "v" for i in range(51)}}, {}, "at most 50"),
    ("entry-point-missing", {"entry_point": "nope.py"}, {}, "entry_point"),
    ("entry-point-empty", {"entry_point": ""}, {}, "entry_point"),
    ("entry-point-not-a-script", {"entry_point": "notes.txt"}, {}, "entry_point"),
    ("entry-point-outside-source", {"entry_point": "../outside.py"}, {}, "entry_point"),
    ("source-dir-not-a-folder", {"source_dir": "/does/not/exist"}, {}, "source_dir"),
    ("job-name-underscore", {}, {"job_name": "bad_name"}, "name"),
    ("job-name-too-long", {}, {"job_name": "a" * 64}, "at most 63"),
    ("job-name-leading-hyphen", {}, {"job_name": "-lead"}, "name"),
    ("inputs-empty", {}, {"inputs": {}}, "inputs: empty"),
    ("inputs-wrong-type", {}, {"inputs": 42}, "inputs"),
    ("input-s3-uri-without-bucket", {}, {"inputs": {"train": "s3://"}}, "s3_data"),
    ("input-s3-bucket-too-short", {}, {"inputs": {"train": "s3://ab/key"}}, "s3_data"),
    ("input-local-path-missing", {}, {"inputs": {"train": "/no/such/folder"}}, "s3_data"),
    ("input-unknown-channel-option", {},
     {"inputs": {"train": {"s3_data": "s3://bucket-1/x", "shuffle": True}}},
     "inputs.train"),
    ("input-bad-distribution", {},
     {"inputs": {"train": {"s3_data": "s3://bucket-1/x", "distribution": "Random"}}},
     "distribution"),
    ("input-bad-input-mode", {},
     {"inputs": {"train": {"s3_data": "s3://bucket-1/x", "input_mode": "Pipe"}}},
     "input_mode"),
    ("channel-name-invalid", {}, {"inputs": {"bad name!": "s3://bucket-1/x"}}, "channel name"),
]


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('never runs')\n")
    (folder / "notes.txt").write_text("not a script\n")
    (tmp_path / "outside.py").write_text("print('outside')\n")
    return folder


def _nothing_created(session: mlopskit.Session) -> None:
    assert list(session.backend.list_training_jobs()) == []
    assert session.backend.objects.list(f"s3://{session.default_bucket}/") == []


@pytest.mark.parametrize(("estimator_args", "fit_args", "message"),
                         [pytest.param(e, f, m, id=i) for i, e, f, m in CASES])
def test_bad_input_is_rejected_and_creates_nothing(any_session, code, estimator_args, fit_args,
                                                   message):
    args: dict[str, Any] = {"entry_point": "train.py", "source_dir": code, "image_uri": IMAGE,
                            "instance_type": "ml.m5.large", "session": any_session}
    args.update(estimator_args)
    with pytest.raises(ValidationError) as info:
        mlopskit.Estimator(**args).fit(logs=False, **fit_args)
    assert message in str(info.value)
    _nothing_created(any_session)



@pytest.mark.parametrize("base", ["my_job", "-x", "a" * 40])
def test_bad_base_job_name_is_reported_at_construction(any_session, code, base):
    with pytest.raises(ValidationError, match="base_job_name"):
        mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                           instance_type="ml.m5.large", base_job_name=base,
                           session=any_session)
