"""Load: 20,000 requests from 8 client threads against one local endpoint."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter

import pytest

import mlopskit
from mlopskit.errors import InvocationError

from ..helpers import constant_model, model_in_store

REQUESTS, THREADS = 20_000, 8


@pytest.mark.slow
def test_twenty_thousand_requests_lose_nothing_and_errors_stay_exact(local_session, tmp_path):
    model = model_in_store(local_session, tmp_path, constant_model(3), "dict_output.py",
                           key="load")  # dict_output raises on 999
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="load")
    endpoint = mlopskit.Endpoint("load", session=local_session)
    outcomes: Counter[str] = Counter()
    wrong: list[object] = []
    lock = threading.Lock()

    def client(worker: int) -> None:
        seen: Counter[str] = Counter()
        for i in range(worker, REQUESTS, THREADS):
            poison = i % 100 == 0  # exactly 1% of the inputs make the handler raise
            body = f"{999 if poison else 1000 + i},1,2".encode()  # only poison is 999
            try:
                answer = json.loads(endpoint.invoke(body).body)
                seen["ok"] += 1
                if answer != {"predictions": [3]}:
                    with lock:
                        wrong.append(i)
            except InvocationError as exc:
                seen[f"{exc.status}-{'poison' if poison else 'clean'}"] += 1
                if not poison:
                    with lock:
                        wrong.append(f"{i}: {exc}")
        with lock:
            outcomes.update(seen)

    threads = [threading.Thread(target=client, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []
    assert dict(outcomes) == {"ok": REQUESTS - REQUESTS // 100, "500-poison": REQUESTS // 100}
    row = local_session.backend.store.query_one("SELECT servers FROM endpoints WHERE name = ?",
                                                ("load",))
    port = next(iter(json.loads(row["servers"]).values()))["port"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/mlopskit/metrics")
    served = json.loads(conn.getresponse().read())
    conn.close()
    assert (served["requests"], served["errors_5xx"]) == (REQUESTS, REQUESTS // 100)
    endpoint.delete()
