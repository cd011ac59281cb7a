"""``mlopskit demo``: the whole lifecycle on the local backend, in about a minute.

It makes a small churn data set, runs a pipeline (preprocess -> train -> evaluate ->
register if good enough), approves the package, deploys it to a realtime endpoint with
data capture, sends predictions, scores a file with a batch transform, trains a second
version and canaries it in, then prints where everything is stored and how to look at it
again. Its endpoint servers are stopped at the end, even when a step fails.

The scripts it runs (``mlopskit/demo/scripts``) are ordinary SageMaker scripts: the
processing steps use ``/opt/ml/processing`` paths, training reads ``SM_CHANNEL_TRAIN``
and writes to ``SM_MODEL_DIR``, inference defines ``model_fn`` and ``predict_fn``.

Example::

    $ mlopskit demo                      # stores under ./.mlopskit
    $ mlopskit --root /tmp/mk demo       # or anywhere else

    >>> from mlopskit.demo import DEMO_NAMES
    >>> DEMO_NAMES["group"]
    'demo-churn-models'
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import CapabilityError

if TYPE_CHECKING:
    import pandas as pd

    from ..session import LocalSession

__all__ = ["DEMO_NAMES", "DemoResult", "run_demo"]

SCRIPTS = Path(__file__).parent / "scripts"
# SageMaker's scikit-learn image: locally it picks the scikit-learn serving defaults; the
# pipeline definition names it as SageMaker would (no lookup, so no `sagemaker` package).
IMAGE = ("683313688378.dkr.ecr.us-east-1.amazonaws.com/"
         "sagemaker-scikit-learn:1.2-1-cpu-py3")
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_years"]
DEMO_NAMES = {"group": "demo-churn-models", "pipeline": "demo-churn-pipeline",
              "endpoint": "demo-churn"}
STEPS = 7


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What the demo made: names, versions, figures and where things are stored.

    Example:
        >>> DemoResult(root=Path("r"), versions=(1, 2), accuracies=(0.8, 0.9),
        ...            executions=(), batch_output="s3://b/k", captures="s3://b/c",
        ...            rollout="Canary", seconds=60.0).versions
        (1, 2)
    """

    root: Path
    versions: tuple[int, ...]
    accuracies: tuple[float, ...]
    executions: tuple[str, ...]
    batch_output: str
    captures: str
    rollout: str
    seconds: float


class _Progress:
    """Numbered steps with their time; one line each, flushed, so a pipe sees them live."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.number = 0
        self.started = time.perf_counter()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.number += 1
        self.say(f"[{self.number}/{STEPS}] {title}")
        began = time.perf_counter()
        yield
        self.say(f"      done in {time.perf_counter() - began:.1f} s")


def make_data(rows: int, seed: int) -> pd.DataFrame:
    """A churn table: four numeric features and a ``churned`` label with an interaction a
    linear model only partly captures (so a forest does better)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows)
    charges = rng.normal(70, 25, rows).clip(15, 150).round(2)
    calls = rng.poisson(1.5, rows)
    contract = rng.choice([0, 1, 2], rows, p=[0.5, 0.3, 0.2])
    risk = (1.2 * (calls >= 3) + 0.9 * ((charges > 85) & (tenure < 18))
            - 0.8 * contract - 0.02 * tenure + rng.normal(0, 0.35, rows))
    frame: pd.DataFrame = pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges,
                         "support_calls": calls, "contract_years": contract,
                         "churned": (risk > 0).astype(int)})
    return frame


def _pipeline(session: LocalSession, raw_uri: str) -> Any:
    import mlopskit
    from mlopskit.pipeline import (
        CacheConfig,
        ConditionStep,
        FailStep,
        GreaterThanOrEqualTo,
        Join,
        JsonGet,
        ParameterFloat,
        ParameterString,
        Pipeline,
        ProcessingStep,
        PropertyFile,
        RegisterModelStep,
        TrainingStep,
    )

    data = ParameterString("InputDataUrl", default_value=raw_uri)
    model_type = ParameterString("ModelType", default_value="logistic")
    bar = ParameterFloat("AccuracyThreshold", default_value=0.7)
    cache = CacheConfig(expire_after="P30D")
    processor = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large")
    preprocess = ProcessingStep(
        "Preprocess", processor, SCRIPTS / "preprocess.py",
        inputs=[mlopskit.ProcessingInput(data, "/opt/ml/processing/input")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/train", output_name="train"),
                 mlopskit.ProcessingOutput("/opt/ml/processing/test", output_name="test")],
        cache_config=cache)
    estimator = mlopskit.Estimator(
        str(SCRIPTS / "train.py"), image_uri=IMAGE, instance_type="ml.m5.large",
        hyperparameters={"model-type": model_type},
        metric_definitions=[{"Name": "train:accuracy", "Regex": r"train_accuracy=([0-9.]+)"}])
    train = TrainingStep("Train", estimator,
                         inputs={"train": preprocess.properties.output("train")},
                         cache_config=cache)
    report = PropertyFile("Evaluation", output_name="evaluation", path="evaluation.json")
    evaluate = ProcessingStep(
        "Evaluate", processor, SCRIPTS / "evaluate.py",
        inputs=[mlopskit.ProcessingInput(train.properties.model_data,
                                         "/opt/ml/processing/model"),
                mlopskit.ProcessingInput(preprocess.properties.output("test"),
                                         "/opt/ml/processing/test")],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/evaluation",
                                           output_name="evaluation")],
        property_files=[report], cache_config=cache)
    model = mlopskit.Model(train.properties.model_data, image_uri=IMAGE,
                           entry_point="inference.py", source_dir=SCRIPTS)
    register = RegisterModelStep(
        "Register", DEMO_NAMES["group"], model, approval_status="PendingManualApproval",
        model_metrics=Join(on="/", values=[evaluate.properties.output("evaluation"),
                                           "evaluation.json"]),
        description="churn model trained by mlopskit demo")
    gate = ConditionStep(
        "GoodEnough",
        [GreaterThanOrEqualTo(JsonGet(evaluate, report, "metrics.accuracy.value"), bar)],
        if_steps=[register],
        else_steps=[FailStep("TooWeak", Join(on=" ", values=["accuracy below", bar]))])
    return Pipeline(DEMO_NAMES["pipeline"], parameters=[data, model_type, bar],
                    steps=[preprocess, train, evaluate, gate], session=session)


def _run_pipeline(progress: _Progress, pipeline: Any, parameters: dict[str, Any]) -> Any:
    """Start an execution and report each step as it finishes."""
    execution = pipeline.start(parameters, workers=2)
    reported: set[str] = set()
    while True:
        status = execution.status
        finished = [s for s in execution.steps()
                    if s.name not in reported and s.status != "Executing"]
        for step in sorted(finished, key=lambda s: (s.end_time is None, s.end_time or 0)):
            reported.add(step.name)
            took = (f"{(step.end_time - step.start_time).total_seconds():.1f} s"
                    if step.start_time and step.end_time else "")
            cached = ", from the cache" if step.cache_hit else ""
            progress.say(f"      {step.name:<12} {step.status} {took}{cached}")
        if status not in ("Executing", "Stopping"):
            break
        time.sleep(0.2)  # polling a local execution that runs in this process's threads
    execution.wait(timeout=60)  # raises JobFailedError, naming the failed step
    return execution


def _predictions(predictor: Any, frame: pd.DataFrame) -> list[int]:
    answer = predictor.predict(frame[FEATURES].to_numpy())
    return [int(float(x)) for x in str(answer).replace("[", " ").replace("]", " ").split()]


def _accuracy(predicted: list[int], frame: pd.DataFrame) -> float:
    truth = frame["churned"].tolist()
    return sum(int(a == b) for a, b in zip(predicted, truth, strict=True)) / len(truth)


def run_demo(session: LocalSession, *, out: TextIO | None = None, rows: int = 3000,
             canary_wait: float = 3.0) -> DemoResult:
    """Run the demo on ``session`` (a :class:`~mlopskit.LocalSession`), printing progress
    to ``out`` (stdout by default). Its endpoint is deleted at the end, even on failure.

    Example::

        import mlopskit
        from mlopskit.demo import run_demo
        result = run_demo(mlopskit.LocalSession(root="/tmp/demo"))
        result.versions, result.accuracies
    """
    import mlopskit
    from mlopskit.serving.rollout import Canary, ErrorRateAbove

    if not isinstance(session, mlopskit.LocalSession):
        raise CapabilityError("the demo runs on the local backend only (it needs no AWS "
                              "account); drop --backend aws")
    progress = _Progress(out if out is not None else sys.stdout)
    bucket = session.default_bucket
    objects = session.backend.objects
    endpoint = mlopskit.Endpoint(DEMO_NAMES["endpoint"], session=session)
    progress.say(f"mlopskit demo: the whole lifecycle on the local backend, stored under "
                 f"{session.root}")
    try:
        with progress.step(f"Making data: {rows:,} customers, 4 features, a churn label"):
            data = make_data(rows, seed=7)
            scoring = make_data(1000, seed=8)
            raw_uri = f"s3://{bucket}/demo/raw/"
            objects.put_bytes(data.to_csv(index=False).encode(), raw_uri + "customers.csv")
            scoring_uri = f"s3://{bucket}/demo/scoring/"
            objects.put_bytes(scoring[FEATURES].to_csv(index=False, header=False).encode(),
                              scoring_uri + "customers-to-score.csv")
            progress.say(f"      raw data in {raw_uri}")

        with progress.step("Running the pipeline: preprocess -> train -> evaluate -> "
                           "register"):
            group = mlopskit.ModelPackageGroup(
                DEMO_NAMES["group"], description="churn models made by mlopskit demo",
                session=session).create()
            pipeline = _pipeline(session, raw_uri)
            pipeline.upsert()
            first_run = _run_pipeline(progress, pipeline, {"ModelType": "logistic"})
            first = group.latest("PendingManualApproval")
            assert first is not None, "the pipeline registered no version"
            progress.say(f"      registered version {first.version} (PendingManualApproval), "
                         f"test accuracy {first.metrics['accuracy']:.3f}")

        with progress.step(f"Approving version {first.version}"):
            first.approve(by="demo", note="passed the evaluation gate")
            progress.say(f"      {DEMO_NAMES['group']} v{first.version}: "
                         f"{first.refresh().approval_status.value}")

        with progress.step("Deploying a realtime endpoint, with data capture"):
            if any(e.name == DEMO_NAMES["endpoint"] for e in mlopskit.Endpoint.list(session)):
                endpoint.delete()  # left over from an interrupted run
            predictor = first.deploy(
                mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name=DEMO_NAMES["endpoint"],
                data_capture_config=mlopskit.DataCaptureConfig(sampling_percent=100))
            progress.say(f"      endpoint {DEMO_NAMES['endpoint']!r} is "
                         f"{endpoint.describe().status}")

        with progress.step("Sending predictions"):
            sample = scoring.iloc[:5]
            progress.say(f"      5 customers -> {_predictions(predictor, sample)} "
                         f"(truth {sample['churned'].tolist()})")
            held_out = scoring.iloc[:300]
            first_accuracy = _accuracy(_predictions(predictor, held_out), held_out)
            progress.say(f"      accuracy on 300 new customers: {first_accuracy:.3f}")

        with progress.step("Scoring a file with a batch transform"):
            transformer = first.model.transformer(
                instance_count=1, instance_type="ml.m5.large", strategy="MultiRecord",
                split_type="Line", assemble_with="Line", accept="text/csv")
            job = transformer.transform(scoring_uri, content_type="text/csv")
            output = job.outputs[0]
            lines = objects.get_bytes(output).decode().splitlines()
            progress.say(f"      {job.name}: {job.status}, {len(lines)} predictions in "
                         f"{output}")

        with progress.step("Training version 2 (a random forest) and canarying it in"):
            second_run = _run_pipeline(progress, pipeline, {"ModelType": "forest"})
            second = group.latest("PendingManualApproval")
            assert second is not None and second.version > first.version
            second.approve(by="demo", note="better accuracy than the deployed version")
            progress.say(f"      version {second.version}: test accuracy "
                         f"{second.metrics['accuracy']:.3f}, approved")
            report = endpoint.update(second, Canary(percent=20, wait=canary_wait,
                                                    rollback_on=[ErrorRateAbove(0.05)]))
            shares = " -> ".join(f"{step['share']:.0%}" for step in report.steps)
            outcome = "completed" if report.completed else f"rolled back: {report.reason}"
            progress.say(f"      canary {shares}: {outcome}")
            second_accuracy = _accuracy(_predictions(predictor, held_out), held_out)
            progress.say(f"      accuracy on the same 300 customers now: "
                         f"{second_accuracy:.3f}")

        capture = endpoint.describe().data_capture
        captures = (f"{capture.destination_s3_uri.rstrip('/')}/{DEMO_NAMES['endpoint']}/"
                    if capture is not None else "(not captured)")
        result = DemoResult(
            root=Path(session.root), versions=(first.version, second.version),
            accuracies=(first_accuracy, second_accuracy),
            executions=(first_run.arn, second_run.arn), batch_output=output,
            captures=captures, rollout=report.strategy,
            seconds=time.perf_counter() - progress.started)
        _print_summary(progress, session, result)
    finally:
        if any(e.name == DEMO_NAMES["endpoint"] for e in mlopskit.Endpoint.list(session)):
            endpoint.delete()
            progress.say(f"Stopped the endpoint's servers and deleted {DEMO_NAMES['endpoint']!r}"
                         " (its model versions stay in the registry).")
    return result


def _local_path(root: Path, uri: str) -> Path:
    """Where the local backend keeps ``s3://bucket/key``."""
    return root / "s3" / uri.removeprefix("s3://")


def _print_summary(progress: _Progress, session: LocalSession, result: DemoResult) -> None:
    root = result.root
    where = f"--root {root} " if Path.cwd() / ".mlopskit" != root else ""
    store = root / "s3" / session.default_bucket
    lines = [
        f"All done in {result.seconds:.0f} s. Everything is stored under {root}:",
        f"  metadata (SQLite)        {root / 'metadata.db'}",
        f"  objects (the local S3)   {store}",
        f"  registry                 {DEMO_NAMES['group']}: versions "
        f"{', '.join(str(v) for v in result.versions)} (both Approved; "
        f"accuracy {result.accuracies[0]:.3f} -> {result.accuracies[1]:.3f} served)",
        f"  pipeline executions      {', '.join(result.executions)}",
        f"  batch transform output   {result.batch_output}",
        f"                           = {_local_path(root, result.batch_output)}",
        f"  captured requests        {result.captures}",
        f"                           = {_local_path(root, result.captures)}",
        "",
        "Look at it again:",
        f"  mlopskit {where}registry versions {DEMO_NAMES['group']}",
        f"  mlopskit {where}pipelines executions {DEMO_NAMES['pipeline']}",
        f"  mlopskit {where}jobs list",
        f"  python -c \"import mlopskit; s = mlopskit.LocalSession(root='{root}'); "
        f"print(mlopskit.ModelPackageGroup('{DEMO_NAMES['group']}', session=s).versions())\"",
    ]
    for line in lines:
        progress.say(line)
