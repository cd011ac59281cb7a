"""Bad input gets a clear ValidationError naming the field and creates nothing, anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ValidationError

from ...session import Session
from ..plugin import Inventory
from ._support import IMAGE, Conformance, constant_model, model_in_store

__all__ = ["BadInputConformance"]

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
    ("job-name-too-long", {}, {"job_name": "a" * 64}, "1 to 63"),
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


_IN = "/opt/ml/processing/input/data"
_OUT = "/opt/ml/processing/out"


def _input(*args: Any, **kwargs: Any) -> Any:
    """Builds the ProcessingInput inside the test, where its error is expected."""
    return lambda: mlopskit.ProcessingInput(*args, **kwargs)


def _output(*args: Any, **kwargs: Any) -> Any:
    return lambda: mlopskit.ProcessingOutput(*args, **kwargs)


# (case id, Processor overrides, run overrides (callables are called first), field, message)
PROCESSING_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("instance-type-no-ml-prefix", {"instance_type": "m5.large"}, {}, "instance_type",
     "expected ml.<family>.<size>"),
    ("instance-count-over-100", {"instance_count": 101}, {}, "instance_count",
     "less than or equal to 100"),
    ("command-empty", {"command": []}, {}, "command", "at least 1 item"),
    ("command-a-string", {"command": "python3"}, {}, "command", "expected a list"),
    ("command-not-strings", {"command": ["python3", 3]}, {}, "command", "must be a string"),
    ("environment-value-over-256", {"environment": {"MODE": "x" * 257}}, {}, "environment",
     "at most 256"),
    ("environment-bad-name", {"environment": {"1BAD": "x"}}, {}, "environment",
     "[a-zA-Z_][a-zA-Z0-9_]*"),
    ("max-runtime-zero", {"max_runtime": 0}, {}, "max_runtime", "greater than or equal to 1"),
    ("max-runtime-over-9-days", {"max_runtime": 777_601}, {}, "max_runtime",
     "less than or equal to 777600"),
    ("tag-reserved-prefix", {"tags": {"aws:owner": "me"}}, {}, "tags", "reserved"),
    ("image-uri-too-long", {"image_uri": "i" * 256}, {}, "image_uri", "at most 255"),
    ("base-job-name-too-long", {"base_job_name": "a" * 40}, {}, "base_job_name",
     "at most 39"),
    ("code-missing", {}, {"code": "/no/such/script.py"}, "code", "does not exist"),
    ("code-s3-prefix", {}, {"code": "s3://bucket-1/code/"}, "code", "names a prefix"),
    ("code-bad-s3-bucket", {}, {"code": "s3://Bad_Bucket/p.py"}, "code", "not an S3 URI"),
    ("job-name-underscore", {}, {"job_name": "bad_name"}, "job_name", "must match"),
    ("inputs-not-a-list", {}, {"inputs": _input("s3://bucket-1/x", _IN)}, "inputs",
     "expected a list of ProcessingInput"),
    ("input-not-an-input", {}, {"inputs": ["s3://bucket-1/x"]}, "inputs[0]",
     "expected a ProcessingInput"),
    ("input-destination-outside", {}, {"inputs": [_input("s3://bucket-1/x", "/data")]},
     "destination", "under /opt/ml/processing/"),
    ("input-destination-dotdot", {},
     {"inputs": [_input("s3://bucket-1/x", "/opt/ml/processing/../x")]}, "destination",
     "normalised"),
    ("input-destination-in-code", {},
     {"inputs": [_input("s3://bucket-1/x", "/opt/ml/processing/input/code/x")]}, "inputs",
     "holds the script"),
    ("input-source-missing", {}, {"inputs": [_input("/no/such/folder", _IN)]}, "source",
     "neither an s3:// URI"),
    ("input-bad-distribution", {},
     {"inputs": [_input("s3://bucket-1/x", _IN, s3_data_distribution_type="Random")]},
     "s3_data_distribution_type", "'FullyReplicated' or 'ShardedByS3Key'"),
    ("input-name-reserved", {}, {"inputs": [_input("s3://bucket-1/x", _IN, "code")]},
     "inputs", "reserved"),
    ("input-names-duplicate", {}, {"inputs": [_input("s3://bucket-1/x", _IN, "a"),
                                              _input("s3://bucket-1/y", _IN + "2", "a")]},
     "inputs", "duplicate input names ['a']"),
    ("input-destinations-shared", {}, {"inputs": [_input("s3://bucket-1/x", _IN),
                                                  _input("s3://bucket-1/y", _IN)]},
     "inputs", "share the destination"),
    ("input-option-unknown", {},
     {"inputs": [{"source": "s3://bucket-1/x", "destination": _IN, "shuffle": True}]},
     "inputs[0]", "unexpected keyword argument 'shuffle'"),
    ("too-many-inputs", {},
     {"inputs": [_input("s3://bucket-1/x", f"{_IN}{i}") for i in range(10)]}, "inputs",
     "at most 9 items"),
    ("output-source-outside", {}, {"outputs": [_output("/tmp/out")]}, "source",  # noqa: S108
     "under /opt/ml/processing/"),
    ("output-destination-not-s3", {}, {"outputs": [_output(_OUT, "http://bucket-1/x")]},
     "destination", "not an S3 URI"),
    ("output-name-bad", {}, {"outputs": [_output(_OUT, output_name="no spaces")]},
     "output_name", "letters, digits"),
    ("output-names-duplicate", {}, {"outputs": [_output(_OUT, output_name="o"),
                                                _output(_OUT + "2", output_name="o")]},
     "outputs", "duplicate output names ['o']"),
    ("arguments-a-string", {}, {"arguments": "--rows 10"}, "arguments", "a list of strings"),
    ("argument-not-a-string", {}, {"arguments": ["--rows", 10]}, "arguments",
     "arguments[1]: must be a string"),
    ("argument-over-256", {}, {"arguments": ["a" * 257]}, "arguments", "at most 256"),
]


def _build_and_run(processor_args: dict[str, Any], run_args: dict[str, Any]) -> None:
    """Make the inputs and outputs (their constructors may be what fails), then run."""
    built: dict[str, Any] = {
        key: [v() if callable(v) else v for v in value] if isinstance(value, list)
        else value() if callable(value) else value
        for key, value in run_args.items()}
    mlopskit.Processor(**processor_args).run(logs=False, **built)


# (case id, DataCaptureConfig arguments, or what to pass as data_capture_config, field, text)
CAPTURE_CASES: list[tuple[str, Any, str, str]] = [
    ("sampling-over-100", {"sampling_percent": 101}, "sampling_percent", "from 0 to 100"),
    ("sampling-negative", {"sampling_percent": -1}, "sampling_percent", "from 0 to 100"),
    ("sampling-fraction", {"sampling_percent": 12.5}, "sampling_percent", "whole number"),
    ("sampling-bool", {"sampling_percent": True}, "sampling_percent", "whole number"),
    ("capture-unknown-mode", {"capture": ("Foo",)}, "capture",
     "'Foo' is not a capture mode; allowed: 'Input' and/or 'Output'"),
    ("capture-empty", {"capture": ()}, "capture", "at least one of 'Input' and/or 'Output'"),
    ("capture-twice", {"capture": ["Input", "Input"]}, "capture", "names a mode twice"),
    ("destination-not-s3", {"destination_s3_uri": "http://bucket-1/capture"},
     "destination_s3_uri", "not an S3 URI"),
    ("destination-bad-bucket", {"destination_s3_uri": "s3://Bad_Bucket/capture"},
     "destination_s3_uri", "not an S3 URI"),
    ("destination-over-512", {"destination_s3_uri": "s3://bucket-1/" + "k/" * 250},
     "destination_s3_uri", "at most 512"),
    ("csv-type-with-parameters", {"csv_content_types": ["text/csv; charset=utf-8"]},
     "csv_content_types", "no parameters"),
    ("too-many-json-types", {"json_content_types": [f"application/x-{i}" for i in range(11)]},
     "json_content_types", "at most 10"),
    ("kms-key-bad-characters", {"kms_key_id": "my key!"}, "kms_key_id", "KMS key"),
    ("enabled-not-bool", {"enabled": "yes"}, "enabled", "True or False"),
    ("not-a-config", {"sampling_percent": 50, "as_dict": True}, "data_capture_config",
     "expected a DataCaptureConfig"),
]


def _nothing_created(session: Session) -> None:
    assert mlopskit.TrainingJob.list(session=session) == []
    assert session.backend.objects.list(f"s3://{session.default_bucket}/") == []


class BadInputConformance(Conformance):
    """Estimator, Processor, DataCaptureConfig and inference ids: every bad value is a
    ValidationError naming its field, raised before any job, model, endpoint config or
    object exists."""

    @pytest.fixture
    def code(self, tmp_path: Path) -> Path:
        folder = tmp_path / "code"
        folder.mkdir()
        (folder / "train.py").write_text("print('never runs')\n")
        (folder / "notes.txt").write_text("not a script\n")
        (tmp_path / "outside.py").write_text("print('outside')\n")
        return folder

    @pytest.fixture
    def processing_script(self, tmp_path: Path) -> Path:
        path = tmp_path / "prep.py"
        path.write_text("print('never runs')\n")
        return path

    @pytest.fixture
    def served_model(self, session: Session, tmp_path: Path) -> mlopskit.Model:
        return model_in_store(session, tmp_path, constant_model(1), "only_model_fn.py",
                              key="models/bad-capture", image_uri=IMAGE)

    @pytest.mark.parametrize(("estimator_args", "fit_args", "message"),
                             [pytest.param(e, f, m, id=i) for i, e, f, m in CASES])
    def test_bad_input_is_rejected_and_creates_nothing(
            self, session: Session, code: Path, estimator_args: dict[str, Any],
            fit_args: dict[str, Any], message: str) -> None:
        args: dict[str, Any] = {"entry_point": "train.py", "source_dir": code,
                                "image_uri": IMAGE, "instance_type": "ml.m5.large",
                                "session": session}
        args.update(estimator_args)
        with pytest.raises(ValidationError) as info:
            mlopskit.Estimator(**args).fit(logs=False, **fit_args)
        assert message in str(info.value)
        _nothing_created(session)

    @pytest.mark.parametrize("base", ["my_job", "-x", "a" * 40])
    def test_bad_base_job_name_is_reported_at_construction(self, session: Session, code: Path,
                                                           base: str) -> None:
        with pytest.raises(ValidationError, match="base_job_name"):
            mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                               instance_type="ml.m5.large", base_job_name=base,
                               session=session)

    @pytest.mark.parametrize(("processor_args", "run_args", "field", "message"),
                             [pytest.param(p, r, f, m, id=i)
                              for i, p, r, f, m in PROCESSING_CASES])
    def test_bad_processing_input_is_rejected_and_creates_nothing(
            self, session: Session, processing_script: Path,
            conformance_inventory: Inventory, processor_args: dict[str, Any],
            run_args: dict[str, Any], field: str, message: str) -> None:
        args: dict[str, Any] = {"image_uri": IMAGE, "instance_type": "ml.m5.large",
                                "session": session}
        args.update(processor_args)
        before = conformance_inventory(session)
        with pytest.raises(ValidationError) as info:
            _build_and_run(args, {"code": processing_script, **run_args})
        assert info.value.field is not None and info.value.field.startswith(field), \
            info.value.field
        assert field in str(info.value) and message in str(info.value)
        assert mlopskit.ProcessingJob.list(session=session) == []
        assert session.backend.objects.list(f"s3://{session.default_bucket}/") == []
        assert conformance_inventory(session) == before  # no job folder, no record

    @pytest.mark.parametrize(("arguments", "field", "message"),
                             [pytest.param(a, f, m, id=i) for i, a, f, m in CAPTURE_CASES])
    def test_bad_data_capture_is_rejected_and_creates_nothing(
            self, session: Session, served_model: mlopskit.Model,
            conformance_inventory: Inventory, arguments: Any, field: str,
            message: str) -> None:
        before = session.backend.objects.list(f"s3://{session.default_bucket}/")
        held = conformance_inventory(session)

        def deploy() -> None:  # the config's constructor may be what fails
            kwargs = dict(arguments)
            config: Any = (kwargs if kwargs.pop("as_dict", False)
                      else mlopskit.DataCaptureConfig(**kwargs))
            served_model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                endpoint_name="bad-cap", data_capture_config=config)

        with pytest.raises(ValidationError) as info:
            deploy()
        assert info.value.field is not None and info.value.field.endswith(field), \
            info.value.field
        assert field in str(info.value) and message in str(info.value)
        assert mlopskit.Endpoint.list(session=session) == []
        assert session.backend.objects.list(f"s3://{session.default_bucket}/") == before
        assert conformance_inventory(session) == held  # no model, no endpoint config

    @pytest.mark.parametrize("inference_id", ["", " leading-space", "x" * 65, "tab\there",
                                              "caf\u00e9", 42])
    def test_bad_inference_id_is_rejected_before_any_request(self, session: Session,
                                                             inference_id: Any) -> None:
        predictor = mlopskit.Predictor("no-such-endpoint", session=session)
        with pytest.raises(ValidationError) as info:  # not NotFoundError: nothing was sent
            predictor.predict([[1.0, 2.0]], inference_id=inference_id)
        assert info.value.field == "inference_id"
        assert "1 to 64 printable ASCII characters" in str(info.value)
        assert session.backend.objects.list(f"s3://{session.default_bucket}/") == []
