"""What data capture adds to a local invocation: p50 and p90 with capture on and off.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_capture.py            # 5 rounds of 2,000 requests each
    .venv/bin/python benchmarks/bench_capture.py --quick    # 3 rounds of 500

One local endpoint (a constant scikit-learn model behind ``dict_output.py``), one thread,
one request in flight: ``Endpoint.invoke(b"1000,1,2")`` (one CSV row, JSON answer). The two
cases run interleaved, round by round, on the same endpoint: capture off (no data capture
config) and capture on (``DataCaptureConfig(sampling_percent=100)``, every request written),
switched with ``update_data_capture``. Added p50 = median over rounds of (p50 on - p50 off).
Aim: under 0.1 ms. Writes ``benchmarks/results/bench_capture.json``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import RESULTS_DIR, environment, table, write_json
from tests.helpers import constant_model, model_in_store

import mlopskit


def _latencies(endpoint: mlopskit.Endpoint, requests: int) -> list[float]:
    samples = []
    for i in range(requests):
        body = f"{1000 + i},1,2".encode()
        start = time.perf_counter()
        endpoint.invoke(body)
        samples.append(time.perf_counter() - start)
    return samples


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--requests", type=int)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    requests = args.requests or (500 if args.quick else 2000)
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        session = mlopskit.LocalSession(root=Path(tmp) / "root")
        try:
            model = model_in_store(session, Path(tmp), constant_model(3), "dict_output.py",
                                   key="bench")
            endpoint = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                    endpoint_name="bench-capture").endpoint
            _latencies(endpoint, 200)  # warm-up: connections, caches
            off: list[dict[str, float]] = []
            on: list[dict[str, float]] = []
            for _ in range(rounds):
                endpoint.update_data_capture(None)
                samples = _latencies(endpoint, requests)
                off.append({"p50": _percentile(samples, 0.5), "p90": _percentile(samples, 0.9)})
                endpoint.update_data_capture(mlopskit.DataCaptureConfig())
                samples = _latencies(endpoint, requests)
                on.append({"p50": _percentile(samples, 0.5), "p90": _percentile(samples, 0.9)})
            folder = session.backend.objects.path_for(
                f"s3://{session.default_bucket}/model-monitor/data-capture/")
            captured = sum(len(f.read_text().splitlines()) for f in folder.rglob("*.jsonl"))
        finally:
            session.close()
    added = statistics.median(b["p50"] - a["p50"] for a, b in zip(off, on, strict=True))
    rows = [["capture off", f"{statistics.median(r['p50'] for r in off):.3f}",
             f"{statistics.median(r['p90'] for r in off):.3f}"],
            ["capture on (100%)", f"{statistics.median(r['p50'] for r in on):.3f}",
             f"{statistics.median(r['p90'] for r in on):.3f}"],
            ["added p50", f"{added:.3f}", "PASS" if added < 0.1 else "MISS"]]
    print(table(["case (1 thread, ms)", "p50", "p90"], rows))
    write_json(RESULTS_DIR / "bench_capture.json", {
        "environment": environment(), "rounds": rounds, "requests": requests,
        "off": off, "on": on, "added_p50_ms": round(added, 4),
        "records_captured": captured, "records_expected": rounds * requests})
    if captured != rounds * requests:
        print(f"captured {captured} records, expected {rounds * requests}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
