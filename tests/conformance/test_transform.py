"""Batch transform on every backend, and the local engine's batching rules."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import pytest
from botocore.validate import ParamValidator

import mlopskit
from mlopskit.errors import JobFailedError, ValidationError

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SCRIPTS = Path(__file__).parent.parent / "scripts" / "inference"


def _make_model(any_session, tmp_path: Path) -> mlopskit.Model:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("placeholder.txt")
        tar.addfile(info, io.BytesIO(b""))
    uri = f"s3://{any_session.default_bucket}/transform-model/model.tar.gz"
    any_session.backend.objects.put_file(archive, uri)
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(SCRIPTS / "echo_rows.py", code / "echo_rows.py")
    return mlopskit.Model(uri, image_uri=IMAGE, entry_point="echo_rows.py", source_dir=code,
                          session=any_session)


@pytest.fixture
def model(any_session, tmp_path: Path) -> mlopskit.Model:
    return _make_model(any_session, tmp_path)


def _rows(session, key: str, rows: list[str]) -> str:
    uri = f"s3://{session.default_bucket}/batch-in/{key}"
    session.backend.objects.put_bytes(("\n".join(rows) + "\n").encode(), uri)
    return uri


@pytest.mark.parametrize(("strategy", "split_type"), [
    ("MultiRecord", "Line"), ("SingleRecord", "Line"), ("MultiRecord", "None"),
    ("SingleRecord", "None")])
def test_transform_each_strategy_and_split(any_session, model, strategy, split_type):
    rows = [f"{i},{i},1" for i in range(50)]
    _rows(any_session, "a.csv", rows)
    _rows(any_session, "nested/b.csv", rows[:3])
    transformer = model.transformer(1, "ml.m5.large", strategy=strategy, split_type=split_type,
                                    assemble_with="Line" if split_type == "Line" else "None",
                                    max_payload_mb=1)
    job = transformer.transform(f"s3://{any_session.default_bucket}/batch-in/",
                                job_name=f"t-{strategy.lower()}-{split_type.lower()}")
    assert job.status == "Completed"
    described = job.describe()
    assert described.creation_time is not None and described.end_time is not None
    assert described.start_time is not None
    assert described.creation_time <= described.start_time <= described.end_time
    if any_session.backend_name == "aws":
        return  # moto records the job; it runs no container
    # a job that started a server process took measurable time on the real clock
    assert described.creation_time < described.start_time < described.end_time
    out = f"s3://{any_session.default_bucket}/{job.name}"  # the SDK's default output path
    assert sorted(job.outputs) == [f"{out}/a.csv.out", f"{out}/nested/b.csv.out"]
    body = any_session.backend.objects.get_bytes(f"{out}/a.csv.out").decode()
    assert body.split() == [str(2 * i + 1) for i in range(50)]  # in input order


def test_filters_and_join(local_session, tmp_path):
    session = local_session
    model = _make_model(session, tmp_path)
    data = _rows(session, "ids.csv", ["id1,1,2", "id2,3,4", "id3,5,6"])
    job = model.transformer(2, "ml.m5.large", input_filter="$[1:]", join_source="Input",
                            output_filter="$[0,-1]", max_concurrent_transforms=2,
                            max_payload_mb=1).transform(data, job_name="filtered")
    body = session.backend.objects.get_bytes(job.outputs[0]).decode()
    assert body.splitlines() == ["id1,3", "id2,7", "id3,11"]


def test_a_record_over_the_payload_limit_fails_the_job(local_session, tmp_path):
    model = _make_model(local_session, tmp_path)
    data = _rows(local_session, "big.csv", ["1," * 700_000 + "1"])
    with pytest.raises(JobFailedError, match="over max_payload_mb=1"):
        model.transformer(1, "ml.m5.large", max_payload_mb=1).transform(data, job_name="big")


def test_large_inputs_are_cut_into_requests_the_same_way_on_either_path(local_session,
                                                                        tmp_path):
    # Plain "\n" lines take the engine's byte-level path; CRLF endings and blank lines take
    # the per-record one. Both must cut within the limit and give the same answers in order.
    session = local_session
    model = _make_model(session, tmp_path)
    rows = [f"{i},{i % 7},1.5" for i in range(90_000)]  # ~1.4 MB: two requests at 1 MB
    plain = _rows(session, "plain/rows.csv", rows)
    messy = f"s3://{session.default_bucket}/batch-in/messy/rows.csv"
    session.backend.objects.put_bytes(
        ("\r\n".join(rows[:500]) + "\r\n\r\n" + "\r\n".join(rows[500:])).encode(), messy)
    transformer = model.transformer(2, "ml.m5.large", max_payload_mb=1,
                                    max_concurrent_transforms=2)
    first = transformer.transform(plain, job_name="cut-plain")
    second = transformer.transform(messy, job_name="cut-messy")
    expected = [f"{i + i % 7 + 1.5:g}" for i in range(90_000)]
    for job in (first, second):
        assert job.describe().records == 90_000
        body = session.backend.objects.get_bytes(job.outputs[0]).decode()
        assert body.endswith("\n")
        assert body.splitlines() == expected


def test_the_record_over_the_limit_is_named(local_session, tmp_path):
    model = _make_model(local_session, tmp_path)
    data = _rows(local_session, "middle.csv", ["1,1", "2,2", "1," * 700_000 + "1", "3,3"])
    with pytest.raises(JobFailedError, match="record 2 is 1400002 bytes, over max_payload_mb=1"):
        model.transformer(1, "ml.m5.large", max_payload_mb=1).transform(data, job_name="mid")


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"strategy": "Batch"}, "strategy"),
    ({"split_type": "Words"}, "split_type"),
    ({"assemble_with": "Comma"}, "assemble_with"),
    ({"max_payload_mb": 101}, "max_payload_mb"),
    ({"max_payload_mb": 50, "max_concurrent_transforms": 3}, "at most 100"),
    ({"input_filter": "[1:]"}, "not a JSONPath"),
    ({"join_source": "Output"}, "join_source"),
    ({"instance_type": "m5"}, "instance_type"),
])
def test_bad_transform_settings(any_session, model, kwargs, text):
    args = {"instance_count": 1, "instance_type": "ml.m5.large"} | kwargs
    with pytest.raises(ValidationError, match=text):
        model.transformer(**args)


def test_transform_request_passes_botocore_validation(aws_session):
    from mlopskit.sagemaker_api.transform import create_transform_job_request
    from mlopskit.specs import build
    from mlopskit.specs.serving import TransformJobSpec

    spec = build(TransformJobSpec, "", name="t-1", model_name="m-1",
                 input_uri="s3://bkt-1/in/", output_path="s3://bkt-1/out/",
                 instance_type="ml.m5.large", instance_count=2, accept="text/csv",
                 max_concurrent_transforms=4, input_filter="$[1:]", join_source="Input",
                 output_filter="$[0,-1]")
    shape = aws_session.backend.clients.sagemaker.meta.service_model.operation_model(
        "CreateTransformJob").input_shape
    report = ParamValidator().validate(create_transform_job_request(spec), shape)
    assert not report.has_errors(), report.generate_report()


@pytest.mark.parametrize("split_type", ["RecordIO", "TFRecord"])
def test_binary_record_splits(any_session, model, split_type):
    transformer = model.transformer(1, "ml.m5.large", split_type=split_type,
                                    assemble_with="None")
    data = _rows(any_session, "records.bin", ["x"])
    if any_session.backend_name == "local":
        with pytest.raises(mlopskit.errors.CapabilityError, match="recordio-split"):
            transformer.transform(data, content_type="application/x-recordio",
                                  job_name="binary")
        assert any_session.backend.store.query_all("SELECT name FROM models") == []
    else:
        job = transformer.transform(data, content_type="application/x-recordio",
                                    job_name="binary")
        assert job.status == "Completed"
