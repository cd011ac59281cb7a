"""Data capture on every backend: configure, describe, update, tag requests, read captures."""

from __future__ import annotations

from botocore.validate import ParamValidator

import mlopskit
from mlopskit.testing import emulation_of
from mlopskit.testing.conformance import IMAGE, DataCaptureConformance
from mlopskit.testing.conformance._support import constant_model, model_in_store


class TestDataCapture(DataCaptureConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


# -- what the AWS backend sends -----------------------------------------------------------


def test_deploy_with_capture_sends_the_capture_config_on_aws(aws_session, tmp_path):
    model = model_in_store(aws_session, tmp_path, constant_model(1), "only_model_fn.py",
                           key="models/capture", image_uri=IMAGE)
    config = mlopskit.DataCaptureConfig(
        sampling_percent=30, capture=["Input"], kms_key_id="alias/capture-key",
        json_content_types=["application/json", "application/jsonlines"])
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="cap-ep",
                             data_capture_config=config)
    described = predictor.endpoint.describe()
    sent = aws_session.backend.clients.sagemaker.describe_endpoint_config(
        EndpointConfigName=described.config_name)["DataCaptureConfig"]
    assert sent == {
        "EnableCapture": True, "InitialSamplingPercentage": 30,
        "DestinationS3Uri": f"s3://{aws_session.default_bucket}/model-monitor/data-capture",
        "KmsKeyId": "alias/capture-key", "CaptureOptions": [{"CaptureMode": "Input"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json", "application/jsonlines"]}}
    predictor.delete_endpoint()


def test_the_inference_id_is_sent_as_a_header_on_aws(aws_session, tmp_path):
    """SageMaker writes the capture; the backend sends the id."""
    model = model_in_store(aws_session, tmp_path, constant_model(1), "only_model_fn.py",
                           key="models/capture", image_uri=IMAGE)
    config = mlopskit.DataCaptureConfig(destination_s3_uri="s3://capture-bucket-1/ids")
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="id-ep",
                             data_capture_config=config)
    headers: list[dict[str, str]] = []
    aws_session.backend.clients.runtime.meta.events.register(
        "before-send.sagemaker-runtime.InvokeEndpoint",
        lambda request, **_: headers.append(dict(request.headers)))
    emulation_of(aws_session).answer("[1]")
    predictor.endpoint.invoke(b"1,2,3", accept="application/json", inference_id="order-42")
    assert headers[-1]["X-Amzn-SageMaker-Inference-Id"] == b"order-42"
    predictor.delete_endpoint()


def test_capture_requests_pass_botocore_validation(aws_session):
    from mlopskit.sagemaker_api.serving import create_endpoint_config_request
    from mlopskit.specs import build
    from mlopskit.specs.serving import EndpointConfigSpec

    capture = mlopskit.DataCaptureConfig(
        sampling_percent=0, destination_s3_uri="s3://bkt-1/capture", enabled=False,
        csv_content_types=[], kms_key_id="arn:aws:kms:us-east-1:111122223333:key/k-1",
    ).spec(aws_session)
    config = build(EndpointConfigSpec, "", name="c-1", data_capture=capture, variants=[
        {"name": "AllTraffic", "model_name": "m-1", "instance_type": "ml.m5.large"}])
    request = create_endpoint_config_request(config)
    service = aws_session.backend.clients.sagemaker.meta.service_model
    report = ParamValidator().validate(
        request, service.operation_model("CreateEndpointConfig").input_shape)
    assert not report.has_errors(), report.generate_report()
    assert request["DataCaptureConfig"] == {
        "EnableCapture": False, "InitialSamplingPercentage": 0,
        "DestinationS3Uri": "s3://bkt-1/capture",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "KmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/k-1",
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]}}
    runtime = aws_session.backend.clients.runtime.meta.service_model
    report = ParamValidator().validate(
        {"EndpointName": "e-1", "Body": b"1", "InferenceId": "x" * 64},
        runtime.operation_model("InvokeEndpoint").input_shape)
    assert not report.has_errors(), report.generate_report()
