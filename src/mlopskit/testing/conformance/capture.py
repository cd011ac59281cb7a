"""Data capture on every backend: configure, describe, update, send inference ids, read
captures back."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import NotFoundError, ValidationError
from mlopskit.monitoring.capture import captures_to_frame, read_captures
from mlopskit.specs.serving import DataCaptureDescription

from ...session import Session
from ..plugin import Emulation, Inventory
from ._support import IMAGE, Conformance, constant_model, model_in_store

__all__ = ["DataCaptureConformance"]

UTC = dt.timezone.utc


def _line(time: str, body: Any, *, content_type: str = "text/csv", output: str | None = "1",
          inference_id: str | None = None, event: str = "e") -> str:
    if isinstance(body, bytes):
        sent = {"observedContentType": content_type, "mode": "INPUT",
                "data": base64.b64encode(body).decode(), "encoding": "BASE64"}
    else:
        sent = {"observedContentType": content_type, "mode": "INPUT", "data": body,
                "encoding": "JSON" if content_type == "application/json" else "CSV"}
    data: dict[str, Any] = {"endpointInput": sent}
    if output is not None:
        data["endpointOutput"] = {"observedContentType": "text/csv; charset=utf-8",
                                  "mode": "OUTPUT", "data": output, "encoding": "CSV"}
    metadata = {"eventId": event, **({"inferenceId": inference_id} if inference_id else {}),
                "inferenceTime": time}
    return json.dumps({"captureData": data, "eventMetadata": metadata, "eventVersion": "0"})


class DataCaptureConformance(Conformance):
    """DataCaptureConfig on deploy and update, inference ids, and read_captures /
    captures_to_frame over files in SageMaker's capture layout."""

    @pytest.fixture
    def model(self, session: Session, tmp_path: Path) -> mlopskit.Model:
        return model_in_store(session, tmp_path, constant_model(1), "only_model_fn.py",
                              key="models/capture", image_uri=IMAGE)

    @pytest.fixture
    def sagemaker_files(self, session: Session) -> str:
        """Capture files as SageMaker writes them, put in the store by hand."""
        import numpy as np

        destination = f"s3://{session.default_bucket}/datacapture"
        npy = io.BytesIO()
        np.save(npy, np.array([[7.0, 8.0]]))
        files = {
            "churn/A/2026/03/01/09/58-59-120-aaa.jsonl": [
                _line("2026-03-01T09:58:59Z", "1,2", inference_id="i-1", event="e1"),
                _line("2026-03-01T09:59:30Z", "3,4\n5,6", output="0\n1", event="e2")],
            "churn/A/2026/03/01/10/00-01-005-bbb.jsonl": [
                _line("2026-03-01T10:00:01Z", "[[9, 10]]", content_type="application/json",
                      output="1", event="e3")],
            "churn/B/2026/03/01/10/20-00-000-ccc.jsonl": [
                _line("2026-03-01T10:20:00Z", npy.getvalue(), content_type="application/x-npy",
                      event="e4", inference_id="i-4")],
            "other/A/2026/03/01/11/00-00-000-ddd.jsonl": [
                _line("2026-03-01T11:00:00Z", "0,0", output=None, event="e5")],
        }
        objects = session.backend.objects
        for key, lines in files.items():
            objects.put_bytes("\n".join(lines).encode() + b"\n", f"{destination}/{key}")
        # a line still being written, and a file that is not a capture
        objects.put_bytes(_line("2026-03-01T10:21:00Z", "1,1", event="e6").encode() + b"\n" +
                          b'{"captureData": {"endpointIn',
                          f"{destination}/churn/B/2026/03/01/10/21-00-000-eee.jsonl")
        objects.put_bytes(b"not a capture", f"{destination}/churn/README.txt")
        return destination

    def test_deploy_with_capture_is_described(self, session: Session,
                                              model: mlopskit.Model) -> None:
        config = mlopskit.DataCaptureConfig(
            sampling_percent=30, capture=["Input"], kms_key_id="alias/capture-key",
            json_content_types=["application/json", "application/jsonlines"])
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                 endpoint_name="cap-ep", data_capture_config=config)
        described = predictor.endpoint.describe()
        assert described.data_capture == DataCaptureDescription(
            enabled=True, sampling_percent=30,
            destination_s3_uri=f"s3://{session.default_bucket}/model-monitor/data-capture",
            status="Started", capture=("Input",), csv_content_types=("text/csv",),
            json_content_types=("application/json", "application/jsonlines"),
            kms_key_id="alias/capture-key")
        predictor.delete_endpoint()

    def test_update_data_capture_swaps_the_config_and_keeps_serving(
            self, session: Session, model: mlopskit.Model, conformance_emulation: Emulation,
            conformance_inventory: Inventory) -> None:
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="upd-ep")
        endpoint = predictor.endpoint
        first = endpoint.describe()
        assert first.data_capture is None
        paused = endpoint.update_data_capture(mlopskit.DataCaptureConfig(
            enabled=False, destination_s3_uri=f"s3://{session.default_bucket}/paused"))
        assert paused.data_capture is not None
        assert (paused.data_capture.enabled, paused.data_capture.status) == (False, "Stopped")
        assert paused.config_name != first.config_name
        assert [(v.name, v.model_name) for v in paused.variants] == \
            [(v.name, v.model_name) for v in first.variants]
        started = endpoint.update_data_capture(mlopskit.DataCaptureConfig(sampling_percent=5))
        assert started.data_capture is not None
        assert (started.data_capture.status, started.data_capture.sampling_percent) == (
            "Started", 5)
        removed = endpoint.update_data_capture(None)
        assert removed.data_capture is None
        conformance_emulation.answer("[1, 1]")
        assert json.loads(endpoint.invoke(b"1,2,3\n4,5,6").body) == [1, 1]
        configs = conformance_inventory(session).get("endpoint_configs")
        if configs is not None:  # the harness lists them: the replaced configs are gone
            assert configs == [removed.config_name]
        endpoint.delete()

    def test_inference_id_is_sent_with_the_request(self, session: Session,
                                                   model: mlopskit.Model,
                                                   conformance_emulation: Emulation) -> None:
        config = mlopskit.DataCaptureConfig(destination_s3_uri="s3://capture-bucket-1/ids")
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="id-ep",
                                 data_capture_config=config)
        conformance_emulation.answer("[1]")
        predictor.endpoint.invoke(b"1,2,3", accept="application/json", inference_id="order-42")
        if conformance_emulation.executes:  # the service wrote the capture, with the id
            (record,) = read_captures("id-ep", session=session)
            assert record.input is not None
            assert (record.inference_id, record.variant, record.input.data) == (
                "order-42", "AllTraffic", "1,2,3")
        predictor.delete_endpoint()

    def test_read_captures_of_sagemaker_files(self, session: Session,
                                              sagemaker_files: str) -> None:
        records = read_captures(sagemaker_files, session=session)
        assert [(r.event_id, r.endpoint, r.variant) for r in records] == [
            ("e1", "churn", "A"), ("e2", "churn", "A"), ("e3", "churn", "A"),
            ("e4", "churn", "B"), ("e6", "churn", "B"), ("e5", "other", "A")]
        assert records[0].inference_time == dt.datetime(2026, 3, 1, 9, 58, 59, tzinfo=UTC)
        assert records[0].output is not None
        assert (records[0].output.content_type, records[0].output.data) == (
            "text/csv; charset=utf-8", "1")
        assert records[3].input is not None and records[4].input is not None
        assert isinstance(records[3].input.data, bytes)  # BASE64 comes back as bytes
        assert records[4].input.data == "1,1"  # complete line before the torn one
        only_a = read_captures(sagemaker_files, endpoint_name="churn", variant_name="A",
                               session=session)
        assert [r.event_id for r in only_a] == ["e1", "e2", "e3"]
        window = read_captures(sagemaker_files, endpoint_name="churn",
                               start=dt.datetime(2026, 3, 1, 9, 59, tzinfo=UTC),
                               end=dt.datetime(2026, 3, 1, 10, 20, tzinfo=UTC),
                               session=session)
        assert [r.event_id for r in window] == ["e2", "e3"]
        variant_folder = read_captures(f"{sagemaker_files}/churn/A/",
                                       start=dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
                                       session=session)
        assert [(r.event_id, r.endpoint, r.variant) for r in variant_folder] == [
            ("e3", "churn", "A")]

    def test_captures_to_frame_decodes_csv_json_and_npy(self, session: Session,
                                                        sagemaker_files: str) -> None:
        records = read_captures(sagemaker_files, endpoint_name="churn", session=session)
        frame = captures_to_frame(records, columns=["x", "y"])
        assert list(frame.columns) == ["x", "y", "prediction", "inference_id",
                                       "inference_time"]
        assert frame[["x", "y", "prediction"]].values.tolist() == [
            [1, 2, 1], [3, 4, 0], [5, 6, 1], [9, 10, 1], [7, 8, 1], [1, 1, 1]]
        assert frame["inference_id"].tolist()[:1] == ["i-1"]
        assert str(frame["inference_time"].dt.tz) == "UTC"
        unnamed = captures_to_frame(records[:1], include_output=False)
        assert list(unnamed.columns) == ["_c0", "_c1", "inference_id", "inference_time"]

    def test_read_captures_of_an_endpoint_without_capture(self, session: Session,
                                                          model: mlopskit.Model) -> None:
        with pytest.raises(NotFoundError):
            read_captures("no-such-ep", session=session)
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                 endpoint_name="plain-ep")
        with pytest.raises(ValidationError, match="has no data capture"):
            read_captures("plain-ep", session=session)
        predictor.delete_endpoint()
