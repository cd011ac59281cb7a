"""What serving a small model through mlopskit costs: realtime endpoints and batch transform.

Run it from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/bench_serving.py            # 4,000 requests, 1,000,000 rows
    .venv/bin/python benchmarks/bench_serving.py --quick    # 800 requests, 100,000 rows
    .venv/bin/python benchmarks/bench_serving.py --threads 8 --requests 4000 --rows 1000000
    .venv/bin/python benchmarks/bench_serving.py --only batch --batch-runs 7

One run prints two tables and writes every figure to ``benchmarks/results/bench_serving.json``.

* Realtime: one scikit-learn ``LogisticRegression`` on 4 features, served by a local
  endpoint (``Model(...).deploy(RealtimeConfig("ml.m5.large"))``), hit by the same load
  client (N threads, each with its own kept-alive connection, M requests in all) three or
  four ways: raw ``http.client`` POSTs to the variant's port, ``Endpoint(name).invoke(body)``
  (our client path, routing included), ``mlflow models serve --env-manager local`` on the
  same model (skipped when it does not start within 60 s), and in-process ``model.predict``.
  Every request carries the same two CSV rows of 4 floats (MLflow's CSV parser wants a
  header line, so its body has one more line: the same two rows under ``f0,f1,f2,f3``).
  Latency is also measured with one request in flight (one thread), the latency serving
  adds without queueing; with 8 threads on a 2-core machine p50 is mostly waiting in line.
  Aims: our throughput >= 2x MLflow's; our one-in-flight p50 minus single-thread
  in-process predict p50 under 1 ms.
* Batch: R CSV rows of 4 floats in one object of the local store, transformed end to end by
  ``model.transformer(2, "ml.m5.large", max_payload_mb=6, max_concurrent_transforms=2,
  accept="text/csv").transform(uri)``, against plain pandas in one process (read_csv,
  predict, write the predictions as CSV). The two run interleaved, ``--batch-runs`` times
  (default 5), and the medians are compared. Aim: transform rows/s >= 0.5x pandas rows/s
  (our time at most twice pandas').

The script exits 0 whatever the figures are (PASS/MISS is printed, not enforced); it exits 1
only when a measurement could not be taken, after printing what it could.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, environment, table, version_of, write_json

DEFAULT_THREADS = 8
DEFAULT_REQUESTS = 4000
QUICK_REQUESTS = 800
DEFAULT_ROWS = 1_000_000
QUICK_ROWS = 100_000
WARMUP_PER_THREAD = 20
MLFLOW_START_TIMEOUT = 60.0
THROUGHPUT_AIM_RATIO = 2.0
P50_AIM_MS = 1.0
BATCH_AIM_RATIO = 0.5
DEFAULT_BATCH_RUNS = 5
QUICK_BATCH_RUNS = 2
ENDPOINT_NAME = "bench-serving"

ROW = "0.25,-1.5,3.0,0.75"
BODY = f"{ROW}\n{ROW}".encode()  # two rows, so the default CSV decoding gives a 2-D array
MLFLOW_BODY = f"f0,f1,f2,f3\n{ROW}\n{ROW}".encode()  # pandas.read_csv takes line 1 as header

INFERENCE_SCRIPT = '''\
import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
'''


# -- the model ---------------------------------------------------------------------------


def _train() -> Any:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 4))
    labels = (features @ np.array([1.0, -2.0, 0.5, 1.5]) > 0).astype(int)
    return LogisticRegression().fit(features, labels)


def _model_in_store(session: Any, work: Path, estimator: Any) -> Any:
    """model.joblib in a model.tar.gz in the local store, and a Model serving it."""
    import joblib

    import mlopskit

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    archive = work / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(buffer.getvalue())
        tar.addfile(info, io.BytesIO(buffer.getvalue()))
    uri = f"s3://{session.default_bucket}/bench-serving/model.tar.gz"
    session.backend.objects.put_file(archive, uri)
    code = work / "code"
    code.mkdir()
    (code / "inference.py").write_text(INFERENCE_SCRIPT, encoding="utf-8")
    return mlopskit.Model(uri, entry_point="inference.py", source_dir=code, session=session)


# -- the load client ---------------------------------------------------------------------


def run_load(make_sender: Callable[[], Callable[[], bool]], threads: int,
             total: int) -> dict[str, Any]:
    """``threads`` threads share ``total`` requests; each makes its own sender (connection).

    Each thread sends a few warm-up requests first; the clock starts when all are warm.
    """
    per_thread = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    failures: list[str] = []
    barrier = threading.Barrier(threads + 1)
    done_at = [0.0] * threads

    def worker(index: int) -> None:
        try:
            send = make_sender()
            for _ in range(WARMUP_PER_THREAD):
                send()
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
            send = None
        barrier.wait()
        if send is None:
            errors[index] = per_thread[index]
            return
        samples = latencies[index]
        clock = time.perf_counter
        for _ in range(per_thread[index]):
            start = clock()
            try:
                ok = send()
            except Exception as exc:
                ok = False
                if len(failures) < 5:
                    failures.append(f"{type(exc).__name__}: {exc}")
            samples.append(clock() - start)
            if not ok:
                errors[index] += 1
        done_at[index] = clock()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join(timeout=600)
    elapsed = max(max(done_at), started) - started
    flat = sorted(s for samples in latencies for s in samples)
    return {
        "threads": threads,
        "requests": len(flat),
        "errors": sum(errors),
        "elapsed_s": round(elapsed, 3),
        "requests_per_s": round(len(flat) / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": round(_percentile(flat, 50) * 1000, 3) if flat else None,
        "p99_ms": round(_percentile(flat, 99) * 1000, 3) if flat else None,
        "failures": failures[:5],
    }


def _percentile(sorted_values: list[float], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def http_sender(port: int, path: str, body: bytes, content_type: str) -> Callable[[], bool]:
    """One kept-alive connection; each call POSTs ``body`` and reads the whole answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": content_type}

    def send() -> bool:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status == 200

    return send


# -- mlflow --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_mlflow(model_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes] | None,
                                                             int, str | None]:
    """``mlflow models serve`` on a free port; (process, port, None) or (None, port, why)."""
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
               "--env-manager", "local", "-p", str(port), "--host", "127.0.0.1"]
    env = dict(os.environ)  # as if the venv were activated: mlflow execs `uvicorn` by name
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log = log_path.open("wb")
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, env=env)
    log.close()
    deadline = time.monotonic() + MLFLOW_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            lines = log_path.read_text(errors="replace").strip().splitlines() or [""]
            return None, port, f"exited with {proc.returncode}: {lines[-1][-300:]}"
        for path in ("/ping", "/health"):
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                try:
                    conn.request("GET", path)
                    if conn.getresponse().status == 200:
                        return proc, port, None
                finally:
                    conn.close()
        time.sleep(0.25)
    _stop_mlflow(proc)
    return None, port, f"not ready within {MLFLOW_START_TIMEOUT:g} s (log: {log_path})"


def _stop_mlflow(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# -- realtime ------------------------------------------------------------------------------


def bench_realtime(session: Any, work: Path, estimator: Any, model: Any, threads: int,
                   requests: int) -> dict[str, Any]:
    import numpy as np

    import mlopskit

    result: dict[str, Any] = {"threads": threads, "requests": requests,
                              "body": BODY.decode(), "targets": {}, "skipped": {}}
    targets = result["targets"]
    sequential: dict[str, Any] = {}
    result["sequential"] = sequential
    sequential_requests = max(200, requests // 4)

    # (c) in-process predict on the same two rows, single thread and under the load client
    features = np.array([[float(v) for v in ROW.split(",")]] * 2, dtype=np.float32)
    expected = estimator.predict(features)
    for _ in range(200):
        estimator.predict(features)
    solo = []
    for _ in range(2000):
        start = time.perf_counter()
        estimator.predict(features)
        solo.append(time.perf_counter() - start)
    result["predict_single_thread_p50_ms"] = round(statistics.median(solo) * 1000, 3)

    def predict_sender() -> Callable[[], bool]:
        return lambda: len(estimator.predict(features)) == 2

    # (a) our local endpoint
    deploy_start = time.perf_counter()
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name=ENDPOINT_NAME)
    result["deploy_s"] = round(time.perf_counter() - deploy_start, 2)
    endpoint = mlopskit.Endpoint(ENDPOINT_NAME, session)
    try:
        answer = endpoint.invoke(BODY)
        result["endpoint_answer"] = answer.body.decode(errors="replace")
        result["in_process_answer"] = expected.tolist()
        row = session.backend.store.query_one("SELECT servers FROM endpoints WHERE name = ?",
                                              (ENDPOINT_NAME,))
        port = int(next(iter(json.loads(row["servers"]).values()))["port"])

        def endpoint_sender() -> Callable[[], bool]:
            def send() -> bool:
                endpoint.invoke(BODY)  # raises InvocationError on a 4xx/5xx
                return True
            return send

        targets["mlopskit endpoint, raw http.client"] = run_load(
            lambda: http_sender(port, "/invocations", BODY, "text/csv"), threads, requests)
        targets["mlopskit Endpoint.invoke()"] = run_load(endpoint_sender, threads, requests)
        # one request in flight: the latency serving adds, without queueing behind 7 others
        sequential["mlopskit endpoint, raw http.client"] = run_load(
            lambda: http_sender(port, "/invocations", BODY, "text/csv"), 1, sequential_requests)
    finally:
        endpoint.delete()

    # (b) mlflow models serve on the same model
    if version_of("mlflow") is None:
        result["skipped"]["mlflow models serve"] = "mlflow is not installed"
    else:
        import mlflow.sklearn

        model_dir = work / "mlflow-model"
        mlflow.sklearn.save_model(estimator, str(model_dir))
        start = time.perf_counter()
        proc, mlflow_port, why = _start_mlflow(model_dir, work / "mlflow-serve.log")
        result["mlflow_start_s"] = round(time.perf_counter() - start, 2)
        if proc is None:
            result["skipped"]["mlflow models serve"] = why
        else:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", mlflow_port, timeout=10)
                conn.request("POST", "/invocations", body=MLFLOW_BODY,
                             headers={"Content-Type": "text/csv"})
                reply = conn.getresponse()
                result["mlflow_answer"] = f"{reply.status} {reply.read().decode(errors='replace')}"
                conn.close()
                targets["mlflow models serve, raw http.client"] = run_load(
                    lambda: http_sender(mlflow_port, "/invocations", MLFLOW_BODY, "text/csv"),
                    threads, requests)
                sequential["mlflow models serve, raw http.client"] = run_load(
                    lambda: http_sender(mlflow_port, "/invocations", MLFLOW_BODY, "text/csv"),
                    1, sequential_requests)
            finally:
                _stop_mlflow(proc)

    targets["in-process model.predict"] = run_load(predict_sender, threads, requests)

    ours = targets["mlopskit endpoint, raw http.client"]
    peer = targets.get("mlflow models serve, raw http.client")
    aims: dict[str, Any] = {}
    if peer and peer["requests_per_s"] and ours["requests_per_s"]:
        ratio = ours["requests_per_s"] / peer["requests_per_s"]
        aims["throughput_vs_mlflow"] = {"ratio": round(ratio, 2), "aim": THROUGHPUT_AIM_RATIO,
                                        "verdict": "PASS" if ratio >= THROUGHPUT_AIM_RATIO
                                        else "MISS"}
    else:
        aims["throughput_vs_mlflow"] = {"ratio": None, "aim": THROUGHPUT_AIM_RATIO,
                                        "verdict": "n/a"}
    gap = sequential["mlopskit endpoint, raw http.client"]["p50_ms"] - result[
        "predict_single_thread_p50_ms"]
    aims["p50_over_predict"] = {"gap_ms": round(gap, 3), "aim_ms": P50_AIM_MS,
                                "verdict": "PASS" if gap < P50_AIM_MS else "MISS"}
    result["aims"] = aims
    return result


def print_realtime(result: dict[str, Any]) -> None:
    print(f"Realtime: LogisticRegression(4 features), {result['requests']} requests from "
          f"{result['threads']} threads (own kept-alive connection each), 2 CSV rows a request")
    rows = [(label, r["requests_per_s"], f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
             r["errors"]) for label, r in result["targets"].items()]
    rows += [(label, "skipped", None, None, None) for label in result["skipped"]]
    print(table(["target", "requests/s", "p50 ms", "p99 ms", "errors"], rows))
    print("One request in flight (the latency serving adds, no queueing):")
    rows = [(label, r["requests_per_s"], f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
             r["errors"]) for label, r in result["sequential"].items()]
    rows.append(("in-process model.predict", None,
                 f"{result['predict_single_thread_p50_ms']:.3f}", None, None))
    print(table(["target", "requests/s", "p50 ms", "p99 ms", "errors"], rows))
    for label, why in result["skipped"].items():
        print(f"  skipped {label}: {why}")
    for label, r in result["targets"].items():
        for failure in r["failures"]:
            print(f"  {label}: {failure}")
    print(f"  single-thread in-process predict p50: {result['predict_single_thread_p50_ms']:.3f}"
          f" ms; deploy took {result['deploy_s']} s; endpoint answered "
          f"{result['endpoint_answer']!r} (predict: {result['in_process_answer']})")
    if "mlflow_answer" in result:
        print(f"  mlflow started in {result['mlflow_start_s']} s and answered "
              f"{result['mlflow_answer']!r}")
    t = result["aims"]["throughput_vs_mlflow"]
    ratio = "-" if t["ratio"] is None else f"{t['ratio']:.2f}x"
    print(f"{t['verdict']}  our throughput >= {THROUGHPUT_AIM_RATIO:g}x MLflow's (got {ratio})")
    g = result["aims"]["p50_over_predict"]
    print(f"{g['verdict']}  our one-in-flight p50 - in-process predict p50 < {P50_AIM_MS:g} ms "
          f"(got {g['gap_ms']:.2f} ms)")


# -- batch -----------------------------------------------------------------------------------


def bench_batch(session: Any, work: Path, estimator: Any, model: Any,
                rows: int, runs: int) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.normal(size=(rows, 4)).round(5))
    csv_path = work / "rows.csv"
    data.to_csv(csv_path, header=False, index=False)
    size_mb = csv_path.stat().st_size / 1e6
    uri = f"s3://{session.default_bucket}/bench-batch-in/rows.csv"
    session.backend.objects.put_file(csv_path, uri)
    out_path = work / "rows.csv.pandas.out"

    def plain_pandas() -> Any:
        frame = pd.read_csv(csv_path, header=None)
        found = estimator.predict(frame.to_numpy(dtype=np.float32))
        pd.Series(found).to_csv(out_path, header=False, index=False)
        return found

    transformer = model.transformer(2, "ml.m5.large", max_payload_mb=6,
                                    max_concurrent_transforms=2, accept="text/csv")
    pandas_samples: list[float] = []
    transform_samples: list[float] = []
    startup_samples: list[float] = []
    steady_samples: list[float] = []
    predictions: Any = None
    job: Any = None
    cold: dict[str, float] = {}
    # One discarded round first (OS file cache, first-use imports in this process), then
    # `runs` rounds, pandas and the transform interleaved so drift hits both alike.
    for round_index in range(runs + 1):
        start = time.perf_counter()
        predictions = plain_pandas()
        pandas_s = time.perf_counter() - start
        start = time.perf_counter()
        job = transformer.transform(uri)
        transform_s = time.perf_counter() - start
        if round_index == 0:
            cold = {"pandas_s": round(pandas_s, 3), "transform_s": round(transform_s, 3)}
            described = job.describe()
            if described.start_time and described.creation_time:
                cold["startup_s"] = round(
                    (described.start_time - described.creation_time).total_seconds(), 3)
            continue
        pandas_samples.append(pandas_s)
        transform_samples.append(transform_s)
        # The job's own clock: start-up (instances importing the model's libraries and
        # loading it) apart from the transform proper, as TransformStartTime splits them.
        described = job.describe()
        if described.start_time and described.creation_time and described.end_time:
            startup_samples.append(
                (described.start_time - described.creation_time).total_seconds())
            steady_samples.append(
                (described.end_time - described.start_time).total_seconds())

    outputs = job.outputs
    out_lines = None
    matches = None
    if outputs:
        body = session.backend.objects.get_bytes(outputs[0])
        answer = body.decode().split()
        out_lines = len(answer)
        matches = out_lines == rows and all(
            float(a) == float(b) for a, b in zip(answer[:1000], predictions[:1000], strict=False))

    pandas_s = statistics.median(pandas_samples)
    transform_s = statistics.median(transform_samples)
    pandas_rps = rows / pandas_s
    transform_rps = rows / transform_s
    ratio = transform_rps / pandas_rps
    startup_s = statistics.median(startup_samples) if startup_samples else None
    steady_s = statistics.median(steady_samples) if steady_samples else None
    return {
        "runs": runs,
        "method": f"median of {runs} interleaved rounds (pandas, then the transform) after "
                  "one discarded round; ratio = pandas median time / transform median time",
        "startup_s": startup_s, "steady_s": steady_s,
        "steady_rows_per_s": round(rows / steady_s, 1) if steady_s else None,
        "steady_ratio": round(rows / steady_s / pandas_rps, 3) if steady_s else None,
        "rows": rows, "input_mb": round(size_mb, 1),
        "pandas_s": round(pandas_s, 3), "pandas_rows_per_s": round(pandas_rps, 1),
        "transform_s": round(transform_s, 3), "transform_rows_per_s": round(transform_rps, 1),
        "pandas_samples_s": [round(v, 3) for v in pandas_samples],
        "transform_samples_s": [round(v, 3) for v in transform_samples],
        "startup_samples_s": [round(v, 3) for v in startup_samples],
        "steady_samples_s": [round(v, 3) for v in steady_samples],
        "first_round": cold,
        "transform_job": job.name, "transform_status": job.status, "outputs": list(outputs),
        "output_lines": out_lines, "first_1000_match_pandas": matches,
        "ratio": round(ratio, 3), "aim": BATCH_AIM_RATIO,
        "verdict": "PASS" if ratio >= BATCH_AIM_RATIO else "MISS",
    }


def print_batch(result: dict[str, Any]) -> None:
    print(f"Batch: {result['rows']:,} CSV rows of 4 floats ({result['input_mb']} MB), "
          f"one object, predictions written as CSV; median of {result['runs']} interleaved "
          "runs")

    def secs(value: float | None) -> str | None:
        return None if value is None else f"{value:.3f}"

    def row(label: str, samples: list[float], median: float | None, rate: float | None,
            ratio: str | None) -> tuple[object, ...]:
        return (label, secs(median), secs(min(samples)), secs(max(samples)), rate, ratio)

    rows = [
        row("pandas in one process (read_csv, predict, to_csv)", result["pandas_samples_s"],
            result["pandas_s"], result["pandas_rows_per_s"], None),
        row("transformer(2, max_payload_mb=6, max_concurrent_transforms=2)",
            result["transform_samples_s"], result["transform_s"],
            result["transform_rows_per_s"], f"{result['ratio']:.2f}x"),
    ]
    if result["steady_s"]:
        rows.append(row("  of which instances running (TransformStartTime on)",
                        result["steady_samples_s"], result["steady_s"],
                        result["steady_rows_per_s"], f"{result['steady_ratio']:.2f}x"))
    if result["startup_s"] is not None:
        rows.append(row("  of which instance start-up (creation to TransformStartTime)",
                        result["startup_samples_s"], result["startup_s"], None, None))
    print(table(["path", "median s", "min", "max", "rows/s", "vs pandas"], rows))
    cold = result.get("first_round") or {}
    if cold:
        print(f"  first round (discarded; the model's first transform in this process): "
              f"pandas {cold['pandas_s']:.3f} s, transform {cold['transform_s']:.3f} s"
              + (f", of which start-up {cold['startup_s']:.3f} s" if "startup_s" in cold
                 else ""))
    print(f"  transform job {result['transform_status']}; output lines "
          f"{result['output_lines']} (first 1,000 equal to pandas': "
          f"{result['first_1000_match_pandas']})")
    print(f"{result['verdict']}  transform rows/s >= {BATCH_AIM_RATIO:g}x pandas "
          f"(got {result['ratio']:.2f}x)")


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="load client threads (default %(default)s)")
    parser.add_argument("--requests", type=int, default=None,
                        help=f"requests per target (default {DEFAULT_REQUESTS}; "
                             f"{QUICK_REQUESTS} with --quick)")
    parser.add_argument("--rows", type=int, default=None,
                        help=f"batch rows (default {DEFAULT_ROWS:,}; {QUICK_ROWS:,} with --quick)")
    parser.add_argument("--batch-runs", type=int, default=None,
                        help=f"batch rounds (default {DEFAULT_BATCH_RUNS}; {QUICK_BATCH_RUNS} "
                             "with --quick)")
    parser.add_argument("--only", choices=["realtime", "batch"], default=None,
                        help="run one section only")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "bench_serving.json",
                        help="where to write the results (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer requests and rows: a smoke check, not a measurement")
    args = parser.parse_args(argv)
    requests = args.requests or (QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS)
    rows = args.rows or (QUICK_ROWS if args.quick else DEFAULT_ROWS)
    batch_runs = args.batch_runs or (QUICK_BATCH_RUNS if args.quick else DEFAULT_BATCH_RUNS)
    if args.threads < 1 or requests < args.threads or rows < 1 or batch_runs < 1:
        parser.error("need --threads >= 1, --requests >= --threads, --rows >= 1 and "
                     "--batch-runs >= 1")

    import mlopskit

    env = {**environment(), "mlflow": version_of("mlflow"),
           "scikit-learn": version_of("scikit-learn"), "pandas": version_of("pandas")}
    print(f"mlopskit serving benchmark: mlopskit {env['mlopskit']}, mlflow {env['mlflow']}, "
          f"scikit-learn {env['scikit-learn']}, Python {env['python']}, "
          f"{env['cpu_count']} CPUs, {env['platform']}")
    print()
    started = time.perf_counter()
    payload: dict[str, Any] = {"benchmark": "bench_serving", "quick": args.quick,
                               "environment": env, "aims": {}, "errors": {}}
    work = Path(tempfile.mkdtemp(prefix="mlopskit-bench-serving-"))
    session = mlopskit.LocalSession(root=work / "store")
    try:
        estimator = _train()
        model = _model_in_store(session, work, estimator)
        sections: list[tuple[str, Callable[[], dict[str, Any]],
                             Callable[[dict[str, Any]], None]]] = [
            ("realtime", lambda: bench_realtime(session, work, estimator, model, args.threads,
                                                requests), print_realtime),
            ("batch", lambda: bench_batch(session, work, estimator, model, rows, batch_runs),
             print_batch),
        ]
        sections = [section for section in sections if args.only in (None, section[0])]
        for key, measure, show in sections:
            try:
                payload[key] = measure()
            except Exception:  # report what broke and carry on with the other section
                payload["errors"][key] = traceback.format_exc()
                print(f"{key}: the measurement failed:\n{payload['errors'][key]}",
                      file=sys.stderr)
                continue
            show(payload[key])
            print()
    finally:
        with contextlib.suppress(Exception):
            for endpoint in mlopskit.Endpoint.list(session=session):
                endpoint.delete()
        session.close()
        shutil.rmtree(work, ignore_errors=True)

    if "realtime" in payload:
        aims = payload["realtime"]["aims"]
        payload["aims"]["throughput_vs_mlflow_2x"] = aims["throughput_vs_mlflow"]["verdict"]
        payload["aims"]["p50_over_predict_under_1ms"] = aims["p50_over_predict"]["verdict"]
    if "batch" in payload:
        payload["aims"][f"transform_vs_pandas_{BATCH_AIM_RATIO:g}x"] = \
            payload["batch"]["verdict"]
    payload["elapsed_s"] = round(time.perf_counter() - started, 1)
    path = write_json(args.json, payload)
    summary_line = ", ".join(f"{k} {v}" for k, v in payload["aims"].items())
    print(f"Aims: {summary_line or 'none measured'}")
    print(f"Took {payload['elapsed_s']} s; results in {_shown(path)}")
    return 1 if payload["errors"] else 0


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
