"""Batch transform on every backend, and the local engine's batching rules."""

from __future__ import annotations

import pytest
from botocore.validate import ParamValidator

from mlopskit.errors import JobFailedError
from mlopskit.testing.conformance import TransformConformance
from mlopskit.testing.conformance.transform import rows_in_store, summing_model


class TestTransform(TransformConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


# -- the local engine ---------------------------------------------------------------------


def test_filters_and_join(local_session, tmp_path):
    session = local_session
    model = summing_model(session, tmp_path)
    data = rows_in_store(session, "ids.csv", ["id1,1,2", "id2,3,4", "id3,5,6"])
    job = model.transformer(2, "ml.m5.large", input_filter="$[1:]", join_source="Input",
                            output_filter="$[0,-1]", max_concurrent_transforms=2,
                            max_payload_mb=1).transform(data, job_name="filtered")
    body = session.backend.objects.get_bytes(job.outputs[0]).decode()
    assert body.splitlines() == ["id1,3", "id2,7", "id3,11"]


def test_a_record_over_the_payload_limit_fails_the_job(local_session, tmp_path):
    model = summing_model(local_session, tmp_path)
    data = rows_in_store(local_session, "big.csv", ["1," * 700_000 + "1"])
    with pytest.raises(JobFailedError, match="over max_payload_mb=1"):
        model.transformer(1, "ml.m5.large", max_payload_mb=1).transform(data, job_name="big")


def test_large_inputs_are_cut_into_requests_the_same_way_on_either_path(local_session,
                                                                        tmp_path):
    # Plain "\n" lines take the engine's byte-level path; CRLF endings and blank lines take
    # the per-record one. Both must cut within the limit and give the same answers in order.
    session = local_session
    model = summing_model(session, tmp_path)
    rows = [f"{i},{i % 7},1.5" for i in range(90_000)]  # ~1.4 MB: two requests at 1 MB
    plain = rows_in_store(session, "plain/rows.csv", rows)
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
    model = summing_model(local_session, tmp_path)
    data = rows_in_store(local_session, "middle.csv", ["1,1", "2,2", "1," * 700_000 + "1", "3,3"])
    with pytest.raises(JobFailedError, match="record 2 is 1400002 bytes, over max_payload_mb=1"):
        model.transformer(1, "ml.m5.large", max_payload_mb=1).transform(data, job_name="mid")


# -- the AWS request ----------------------------------------------------------------------


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
