"""Local data capture: SageMaker's files and records, on the session clock, under load.

One endpoint serves the whole module; each test points its capture at its own destination
with ``update_data_capture``, so tests do not see each other's records.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlopskit
from mlopskit.errors import InvocationError
from mlopskit.monitoring.capture import captures_to_frame, read_captures
from mlopskit.serializers import JSONDeserializer

from ..helpers import constant_model, model_in_store

START = dt.datetime(2026, 3, 1, 9, 58, 30, 250000, tzinfo=dt.timezone.utc)
FILE_NAME = re.compile(r"(\d\d)-(\d\d)-(\d\d\d)-[0-9a-f-]{36}\.jsonl")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[mlopskit.Endpoint]:
    """An endpoint on a FakeClock session (seeded), shared by the module's tests."""
    tmp = tmp_path_factory.mktemp("capture")
    session = mlopskit.LocalSession(root=tmp / "root", clock=mlopskit.FakeClock(START),
                                    seed=11)
    model = model_in_store(session, tmp, constant_model(3), "dict_output.py", key="m")
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="cap")
    try:
        yield predictor.endpoint
    finally:
        session.close()


def _capture_to(endpoint: mlopskit.Endpoint, **kwargs: Any) -> str:
    """Point the endpoint's capture at a fresh destination; return it."""
    destination = f"s3://mlopskit-local/captures/{uuid.uuid4().hex[:8]}"
    endpoint.update_data_capture(mlopskit.DataCaptureConfig(destination_s3_uri=destination,
                                                            **kwargs))
    return destination


def _files(endpoint: mlopskit.Endpoint, destination: str) -> list[Path]:
    objects = endpoint.session.backend.objects
    return [objects.path_for(uri) for uri in objects.list(f"{destination}/")]


def _lines(endpoint: mlopskit.Endpoint, destination: str) -> list[dict[str, Any]]:
    return [json.loads(line) for path in _files(endpoint, destination)
            for line in path.read_text().splitlines()]


def test_records_go_to_hour_folders_of_the_session_clock(served):
    destination = _capture_to(served)
    clock = served.session.clock
    top = (clock.now() + dt.timedelta(minutes=1)).replace(minute=0, second=0, microsecond=0) \
        + dt.timedelta(hours=1)
    clock.advance((top - clock.now()).total_seconds() - 4.75)  # hh:59:55.250
    first_hour = clock.now()
    for i in range(5):
        served.invoke(b"1,2,3", inference_id=f"a-{i}")
    clock.advance(10)  # hh+1:00:05.250: a new hour, a new folder and file
    served.invoke(b"4,5,6\n7,8,9", content_type="text/csv", accept="application/json")
    files = _files(served, destination)
    relative = [p.relative_to(served.session.backend.objects.path_for(f"{destination}/"))
                for p in files]
    assert [str(r.parent) for r in relative] == [
        f"cap/AllTraffic/{first_hour:%Y/%m/%d/%H}", f"cap/AllTraffic/{top:%Y/%m/%d/%H}"]
    stamp = FILE_NAME.fullmatch(relative[0].name)
    assert stamp is not None
    assert stamp.groups() == (f"{first_hour:%M}", f"{first_hour:%S}",
                              f"{first_hour.microsecond // 1000:03d}")
    assert [len(p.read_text().splitlines()) for p in files] == [5, 1]
    assert _lines(served, destination)[-1]["eventMetadata"]["inferenceTime"] == \
        f"{top:%Y-%m-%dT%H}:00:05Z"


def test_record_is_sagemakers_shape(served):
    destination = _capture_to(served)
    served.invoke(b"1,2,3", inference_id="order-17")
    served.invoke(b"1,2,3")
    with_id, without_id = _lines(served, destination)
    assert set(with_id) == {"captureData", "eventMetadata", "eventVersion"}
    assert with_id["eventVersion"] == "0"
    assert with_id["captureData"] == {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                          "data": "1,2,3", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                           "data": '{"predictions": [3]}', "encoding": "JSON"}}
    metadata = with_id["eventMetadata"]
    assert list(metadata) == ["eventId", "inferenceId", "inferenceTime"]
    assert uuid.UUID(metadata["eventId"]).version == 4
    assert metadata["inferenceId"] == "order-17"
    assert metadata["inferenceTime"] == \
        served.session.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "inferenceId" not in without_id["eventMetadata"]
    assert metadata["eventId"] != without_id["eventMetadata"]["eventId"]


def test_sampling_zero_captures_nothing_and_hundred_everything(served):
    destination = _capture_to(served, sampling_percent=0)
    for _ in range(30):
        served.invoke(b"1,2,3")
    assert _files(served, destination) == []
    destination = _capture_to(served, sampling_percent=100)
    for _ in range(30):
        served.invoke(b"1,2,3")
    assert len(_lines(served, destination)) == 30


def test_seeded_sampling_is_reproducible(served):
    root = served.session.root
    captured = []
    for _ in range(2):  # two sessions with the same seed draw the same requests
        session = mlopskit.LocalSession(root=root, clock=served.session.clock, seed=5)
        endpoint = mlopskit.Endpoint("cap", session=session)
        destination = _capture_to(endpoint, sampling_percent=50)
        for i in range(200):
            endpoint.invoke(b"1,2,3", inference_id=f"r-{i}")
        captured.append([r.inference_id for r in read_captures(destination, session=session)])
        session.close()
    assert captured[0] == captured[1]
    assert 70 <= len(captured[0]) <= 130  # about half of 200


def test_input_only_capture_has_no_output(served):
    destination = _capture_to(served, capture=["Input"])
    served.invoke(b"1,2,3")
    (record,) = _lines(served, destination)
    assert list(record["captureData"]) == ["endpointInput"]


def test_binary_bodies_are_base64(served):
    destination = _capture_to(served)
    predictor = mlopskit.Predictor("cap", session=served.session,
                                   deserializer=JSONDeserializer())  # NPY in
    features = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert predictor.predict(features, inference_id="npy-1") == {"predictions": [3, 3]}
    (record,) = _lines(served, destination)
    sent = record["captureData"]["endpointInput"]
    assert (sent["observedContentType"], sent["encoding"]) == ("application/x-npy", "BASE64")
    assert np.load(io.BytesIO(base64.b64decode(sent["data"]))).tolist() == features.tolist()
    assert record["captureData"]["endpointOutput"]["encoding"] == "JSON"
    frame = captures_to_frame(read_captures(destination, session=served.session))
    assert frame[["_c0", "_c1", "_c2", "prediction"]].values.tolist() == [
        [1.0, 2.0, 3.0, 3], [4.0, 5.0, 6.0, 3]]
    assert frame["inference_id"].tolist() == ["npy-1", "npy-1"]


def test_failed_invocations_are_not_captured(served):
    destination = _capture_to(served)
    with pytest.raises(InvocationError) as info:
        served.invoke(b"999,1,2")  # dict_output.py raises on 999
    assert info.value.status == 500
    served.invoke(b"1,2,3")
    assert [r["captureData"]["endpointInput"]["data"]
            for r in _lines(served, destination)] == ["1,2,3"]


def test_a_deleted_capture_file_is_started_again(served):
    destination = _capture_to(served)
    served.invoke(b"1,2,3")
    objects = served.session.backend.objects
    for uri in objects.list(f"{destination}/"):
        objects.delete(uri)
    served.invoke(b"4,5,6")
    assert [r["captureData"]["endpointInput"]["data"]
            for r in _lines(served, destination)] == ["4,5,6"]


def test_eight_threads_lose_and_tear_no_line(served):
    destination = _capture_to(served)
    requests, threads = 800, 8
    errors: list[BaseException] = []

    def client(worker: int) -> None:
        try:
            for i in range(worker, requests, threads):
                served.invoke(f"{i},1,2".encode(), inference_id=f"t-{i}")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    workers = [threading.Thread(target=client, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    records = _lines(served, destination)  # json.loads fails on any torn line
    assert len(records) == requests
    assert sorted(r["eventMetadata"]["inferenceId"] for r in records) == \
        sorted(f"t-{i}" for i in range(requests))
    assert len({r["eventMetadata"]["eventId"] for r in records}) == requests
    assert len(_files(served, destination)) == 1  # one file per process and hour


_CLIENT = """
import sys, mlopskit
session = mlopskit.LocalSession(root=sys.argv[1])
endpoint = mlopskit.Endpoint("cap", session=session)
for i in range(int(sys.argv[3])):
    endpoint.invoke(b"1,2,3", inference_id=f"{sys.argv[2]}-{i}")
"""


def test_processes_write_their_own_files(served):
    destination = _capture_to(served)
    clients = [subprocess.Popen([sys.executable, "-c", _CLIENT, str(served.session.root),
                                 f"p{n}", "60"]) for n in range(3)]
    for _ in range(60):
        served.invoke(b"1,2,3", inference_id="parent")
    assert [c.wait(timeout=120) for c in clients] == [0, 0, 0]
    writers = []
    for path in _files(served, destination):
        ids = [json.loads(line)["eventMetadata"]["inferenceId"]
               for line in path.read_text().splitlines()]
        writers.append({i.split("-")[0] for i in ids})
        assert len(writers[-1]) == 1  # no file is shared by two processes
    assert sorted(w.pop() for w in writers) == ["p0", "p1", "p2", "parent"]
    ids = [r["eventMetadata"]["inferenceId"] for r in _lines(served, destination)]
    assert len(ids) == 240
    assert sorted(set(ids) - {"parent"}) == sorted(f"p{n}-{i}" for n in range(3)
                                                  for i in range(60))


def test_blue_green_update_keeps_capture(local_session, tmp_path):
    model = model_in_store(local_session, tmp_path, constant_model(3), "dict_output.py",
                           key="bg")
    config = mlopskit.DataCaptureConfig(sampling_percent=40, capture=["Output"],
                                        destination_s3_uri="s3://mlopskit-local/bg")
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="bg",
                             data_capture_config=config)
    before = predictor.endpoint.describe()
    report = predictor.endpoint.update(model)
    assert report.completed
    after = predictor.endpoint.describe()
    assert after.config_name != before.config_name
    assert after.data_capture == before.data_capture
    assert after.data_capture is not None
    assert (after.data_capture.sampling_percent, after.data_capture.capture) == (40, ("Output",))
