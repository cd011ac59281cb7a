"""Notebook display (``_repr_html_``) and wait progress bars, on real local objects."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import mlopskit
from mlopskit import _display
from mlopskit._display import WaitProgress, progress_enabled, progress_sink
from mlopskit._waiting import poll_until
from mlopskit.clock import FakeClock
from mlopskit.errors import JobFailedError
from mlopskit.pipeline import ConditionStep, FailStep, GreaterThan, ParameterFloat, Pipeline
from mlopskit.pipeline.execution import PipelineExecution

from ..helpers import IMAGE, INFERENCE_SCRIPTS

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SVG = "{http://www.w3.org/2000/svg}"


def _svgs(page: str) -> list[ET.Element]:
    """Every inline SVG of a page, parsed as XML (so each must be well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def _nodes(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-step", ""): g for g in svg.iter(f"{SVG}g")
            if g.get("class") == "mlopskit-node"}


def _edges(svg: ET.Element) -> set[tuple[str | None, str | None]]:
    found = [(p.get("data-from"), p.get("data-to")) for p in svg.iter(f"{SVG}path")
             if p.get("class") == "mlopskit-edge"]
    assert len(found) == len(set(found))
    return set(found)


def _assert_safe(page: str) -> None:
    assert "<script" not in page.lower()
    assert "javascript:" not in page.lower()


# -- helpers -------------------------------------------------------------------------------


def test_escape_badge_and_tables_escape_user_text():
    page = _display.card("Thing", EVIL, EVIL, rows=[(EVIL, EVIL)],
                         parts=[_display.table([EVIL], [[EVIL]])])
    _assert_safe(page)
    assert page.count(ESCAPED) == 6  # name, badge, label, value, header, cell


def test_dag_svg_layers_nodes_and_draws_one_edge_per_dependency():
    parents = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c", "a"}}
    svg = ET.fromstring(_display.dag_svg(list(parents), parents,
                                         statuses={"a": "Succeeded", "b": "Failed"}))
    nodes = _nodes(svg)
    assert set(nodes) == {"a", "b", "c", "d"}
    assert _edges(svg) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")}
    x = {name: float(next(node.iter(f"{SVG}rect")).get("x", "0"))
         for name, node in nodes.items()}
    assert x["a"] < x["b"] == x["c"] < x["d"]  # one column per layer, left to right
    fills = {name: next(node.iter(f"{SVG}rect")).get("fill") for name, node in nodes.items()}
    assert fills["a"] != fills["b"] and fills["c"] == fills["d"]  # c, d not started


def test_dag_svg_survives_a_cycle_and_unknown_parents():
    svg = ET.fromstring(_display.dag_svg(["x", "y"], {"x": {"y"}, "y": {"x", "ghost"}}))
    assert set(_nodes(svg)) == {"x", "y"}


def test_durations_and_times_for_people():
    import datetime as dt

    start = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert _display.duration_text(start, start + dt.timedelta(seconds=3.25)) == "3.2 s"
    assert _display.duration_text(start, start + dt.timedelta(hours=2, minutes=5)) == \
        "2 h 5 min"
    assert _display.duration_text(start, None) == ""
    assert _display.time_text(start) == "2024-05-01 12:00:00 UTC"


# -- reprs of real local objects -----------------------------------------------------------


@pytest.fixture
def train_code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import os\nprint('loss=0.25')\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')\n")
    return folder


def _job(session: mlopskit.Session, code: Path, **kwargs) -> mlopskit.TrainingJob:
    return mlopskit.Estimator(
        entry_point="train.py", source_dir=code, image_uri=IMAGE, instance_type="ml.m5.large",
        hyperparameters={"note": EVIL}, environment={"API_TOKEN": "s3cr3t-value"},
        metric_definitions=[{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
        session=session).fit(logs=False, **kwargs)


def test_training_job_repr_shows_status_timings_metrics_and_no_secrets(local_session,
                                                                      train_code):
    job = _job(local_session, train_code)
    page = job._repr_html_()
    _assert_safe(page)
    assert job.name in page and "Completed" in page and "mlopskit-status" in page
    assert ESCAPED in page  # the hyperparameter, escaped
    assert "loss" in page and "0.25" in page
    assert "duration" in page and "started" in page
    assert "s3cr3t-value" not in page and "API_TOKEN" not in page
    assert repr(job) == f"TrainingJob(name={job.name!r}, status='Completed')"


def test_a_failing_backend_call_gives_a_note_not_an_exception(local_session):
    for handle in (mlopskit.TrainingJob("gone", session=local_session),
                   mlopskit.ProcessingJob("gone", session=local_session),
                   mlopskit.TransformJob("gone", session=local_session),
                   mlopskit.Endpoint("gone", session=local_session),
                   PipelineExecution("arn:aws:sagemaker:us-east-1:0:pipeline/p/execution/x",
                                     local_session)):
        page = handle._repr_html_()
        assert "unavailable" in page and "NotFoundError" in page, type(handle).__name__
        assert "mlopskit-note" in page


def test_processing_job_repr(local_session, tmp_path):
    script = tmp_path / "prep.py"
    script.write_text("import os\nos.makedirs('/opt/ml/processing/out', exist_ok=True)\n")
    job = mlopskit.Processor(image_uri=IMAGE, instance_type="ml.m5.large",
                             environment={"PASSWORD": "hunter2-secret"}, session=local_session).run(
        script, arguments=["--label", EVIL],
        outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/out", output_name="out")],
        logs=False)
    page = job._repr_html_()
    _assert_safe(page)
    assert job.name in page and "Completed" in page and ESCAPED in page
    assert "Outputs" in page and "hunter2-secret" not in page


def test_model_package_and_group_reprs(local_session):
    local_session.backend.objects.put_bytes(b"model", "s3://mlopskit-local/m/model.tar.gz")
    group = mlopskit.ModelPackageGroup("churn", description=EVIL, session=local_session)
    assert "no versions" in group.create()._repr_html_()
    model = mlopskit.Model("s3://mlopskit-local/m/model.tar.gz", image_uri="img:1",
                           environment={"DB_PASSWORD": "pw-do-not-show"})
    package = group.register(model, metrics={"auc": 0.91}, description=EVIL,
                             metadata={"owner": EVIL})
    package.approve(by="alice", note=EVIL)
    page = package._repr_html_()
    _assert_safe(page)
    assert "churn v1" in page and "Approved" in page and "0.91" in page
    assert page.count(ESCAPED) == 3  # description, metadata value, history note
    assert "pw-do-not-show" not in page
    page = group._repr_html_()
    _assert_safe(page)
    assert "churn" in page and ESCAPED in page and "Approved" in page and "auc=0.91" in page


def _dag_pipeline(session: mlopskit.Session) -> Pipeline:
    size = ParameterFloat("Size", default_value=2.0)
    first = ConditionStep("First", [GreaterThan(size, 1)])
    left = ConditionStep("Left", [GreaterThan(size, 0)], depends_on=[first])
    right = ConditionStep("Right", [GreaterThan(size, 0)], depends_on=[first])
    last = FailStep("Last", EVIL, depends_on=[left, right], description=EVIL)
    return Pipeline("dag-demo", parameters=[size], steps=[first, left, right, last],
                    session=session)


def test_pipeline_repr_draws_one_node_per_step_and_one_edge_per_dependency(local_session):
    pipeline = _dag_pipeline(local_session)
    page = pipeline._repr_html_()
    _assert_safe(page)
    assert "dag-demo" in page and "Size" in page and ESCAPED in page
    (svg,) = _svgs(page)
    assert set(_nodes(svg)) == {"First", "Left", "Right", "Last"}
    assert _edges(svg) == {("First", "Left"), ("First", "Right"), ("Left", "Last"),
                           ("Right", "Last")}


def test_pipeline_repr_of_a_bad_definition_says_why(local_session):
    broken = Pipeline("broken", steps=[FailStep("A", "x", depends_on=["Nowhere"])],
                      session=local_session)
    page = broken._repr_html_()
    assert "DAG unavailable" in page and "Nowhere" in page
    assert "<svg" not in page and "A" in page


def test_execution_repr_colours_steps_and_tabulates_them(local_session):
    pipeline = _dag_pipeline(local_session)
    pipeline.upsert()
    execution = pipeline.start(execution_name="run-1")
    with pytest.raises(JobFailedError):
        execution.wait(timeout=60, progress=False)
    page = execution._repr_html_()
    _assert_safe(page)
    assert "Failed" in page and "run-1" in page and ESCAPED in page  # the failure reason
    assert "duration" in page and "cache hit" in page
    (svg,) = _svgs(page)
    nodes = _nodes(svg)
    assert set(nodes) == {"First", "Left", "Right", "Last"}
    assert len(_edges(svg)) == 4
    titles = {name: node.find(f"{SVG}title").text for name, node in nodes.items()}
    assert titles["First"].endswith("Succeeded") and titles["Last"].endswith("Failed")
    assert repr(execution) == f"PipelineExecution({execution.arn!r})"


def test_execution_wait_with_progress_forced_on_still_reports_the_outcome(local_session):
    pipeline = _dag_pipeline(local_session)
    pipeline.upsert()
    with pytest.raises(JobFailedError, match="Step Last failed"):
        pipeline.start().wait(timeout=60, progress=True)
    quiet = Pipeline("quiet", parameters=[ParameterFloat("Size", default_value=0.0)],
                     steps=[ConditionStep("Check", [GreaterThan(ParameterFloat("Size"), 1)],
                                          if_steps=[FailStep("Boom")])],
                     session=local_session)
    quiet.upsert()
    assert quiet.start().wait(timeout=60, progress=True).status == "Succeeded"


@pytest.fixture
def echo_model(local_session, tmp_path: Path) -> mlopskit.Model:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("placeholder.txt"), io.BytesIO(b""))
    uri = f"s3://{local_session.default_bucket}/display-model/model.tar.gz"
    local_session.backend.objects.put_file(archive, uri)
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(INFERENCE_SCRIPTS / "echo_rows.py", code / "echo_rows.py")
    return mlopskit.Model(uri, image_uri=IMAGE, entry_point="echo_rows.py", source_dir=code,
                          session=local_session)


def test_transform_repr_and_a_bar_by_files_when_forced_on(local_session, echo_model, capsys):
    bucket = local_session.default_bucket
    for key in ("a.csv", "b.csv"):
        local_session.backend.objects.put_bytes(b"1,2\n3,4\n", f"s3://{bucket}/in/{key}")
    transformer = echo_model.transformer(1, "ml.m5.large")
    capsys.readouterr()
    job = transformer.transform(f"s3://{bucket}/in/", job_name="shown-job", progress=True)
    err = capsys.readouterr().err
    assert "transform shown-job" in err and "2/2" in err and "4 records" in err
    page = job._repr_html_()
    _assert_safe(page)
    assert "shown-job" in page and "Completed" in page and "records" in page
    assert "b.csv.out" in page
    transformer.transform(f"s3://{bucket}/in/", job_name="quiet-job")  # default: off here
    assert "quiet-job" not in capsys.readouterr().err


def test_endpoint_repr_shows_variants_weights_capture_and_local_url(local_session,
                                                                    echo_model, capsys):
    capture = mlopskit.DataCaptureConfig(
        destination_s3_uri=f"s3://{local_session.default_bucket}/capture")
    capsys.readouterr()
    endpoint = mlopskit.Endpoint.create(
        "shown-ep", [mlopskit.ProductionVariant(echo_model, "A", weight=3.0),
                     mlopskit.ProductionVariant(echo_model, "B", weight=1.0)],
        session=local_session, data_capture_config=capture, progress=True)
    try:
        err = capsys.readouterr().err
        assert "endpoint shown-ep" in err and "2/2" in err and "InService" in err
        page = endpoint._repr_html_()
        _assert_safe(page)
        assert "shown-ep" in page and "InService" in page
        assert "75%" in page and "25%" in page and "ml.m5.large" in page
        assert re.search(r"http://127\.0\.0\.1:\d+/invocations", page)
        assert "Data capture" in page and "/capture" in page
    finally:
        endpoint.delete()


# -- progress ------------------------------------------------------------------------------


def test_progress_is_off_under_pytest_by_default(monkeypatch):
    monkeypatch.delenv("MLOPSKIT_PROGRESS", raising=False)
    assert progress_enabled() is False
    assert WaitProgress.create("x", lambda v: (str(v), None, None)) is None


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("on", True), ("0", False),
                                                 ("false", False)])
def test_the_environment_variable_forces_progress(monkeypatch, value, expected):
    monkeypatch.setenv("MLOPSKIT_PROGRESS", value)
    assert progress_enabled() is expected
    assert progress_enabled(progress=not expected) is (not expected)
    assert progress_enabled(progress=False) is False


def test_a_progress_sink_is_none_when_off_and_draws_a_counted_bar_when_on(monkeypatch):
    with progress_sink("transform t", unit="file", progress=False) as sink:
        assert sink is None
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # where a bar without a file draws
    with progress_sink("transform t", unit="file", progress=True) as sink:
        assert sink is not None
        sink("0 records", 0, 3)
        sink("40 records", 2, 3)
    shown = stream.getvalue()
    assert "transform t" in shown and "2/3" in shown and "40 records" in shown


def test_a_forced_bar_writes_status_changes_to_its_stream():
    stream = io.StringIO()
    states = iter(["Starting", "InProgress", "InProgress", "Completed"])
    bar = WaitProgress.create("job demo", lambda s: (s, None, None), progress=True,
                              file=stream)
    assert bar is not None
    result = poll_until(lambda: next(states), lambda s: s == "Completed", clock=FakeClock(),
                        timeout=600, initial=1, maximum=5, describe=str, progress=bar)
    assert result == "Completed"
    text = stream.getvalue()
    assert "job demo" in text and "Starting" in text and "Completed" in text
    assert bar.statuses == ["Starting", "InProgress", "Completed"]


def test_a_forced_bar_counts_when_totals_are_known():
    stream = io.StringIO()
    states = iter([(0, "InProgress"), (2, "InProgress"), (5, "Completed")])
    bar = WaitProgress.create("files", lambda s: (s[1], s[0], 5), progress=True, file=stream,
                              unit="file")
    poll_until(lambda: next(states), lambda s: s[1] == "Completed", clock=FakeClock(),
               timeout=600, initial=1, maximum=5, describe=str, progress=bar)
    assert "5/5" in stream.getvalue()


def test_a_wait_that_is_over_at_once_shows_no_bar():
    stream = io.StringIO()
    bar = WaitProgress.create("done", lambda s: (s, None, None), progress=True, file=stream)
    poll_until(lambda: "Completed", lambda s: s == "Completed", clock=FakeClock(),
               timeout=60, initial=1, maximum=5, describe=str, progress=bar)
    assert stream.getvalue() == ""


def test_a_timed_out_wait_closes_its_bar():
    stream = io.StringIO()
    bar = WaitProgress.create("slow", lambda s: (s, None, None), progress=True, file=stream)
    with pytest.raises(mlopskit.errors.WaitTimeoutError):
        poll_until(lambda: "InProgress", lambda s: False, clock=FakeClock(), timeout=30,
                   initial=1, maximum=5, describe=str, progress=bar)
    assert "slow" in stream.getvalue() and bar is not None and bar._bar is None


def test_a_detached_training_wait_shows_a_bar_when_forced(local_session, train_code,
                                                         tmp_path, monkeypatch):
    # The job blocks on a FIFO until the bar has been drawn, so the wait's first check
    # always finds it running: no timing assumption. The gate opens in any case, so a
    # failing test leaves no job behind.
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    (train_code / "train.py").write_text(
        f"import os\nopen({str(gate)!r}).read()  # until the test opens the gate\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('m')\n")
    job = _job(local_session, train_code, wait=False)
    drawn = threading.Event()

    class Stderr(io.StringIO):
        def write(self, text: str) -> int:
            if f"training {job.name}" in text:
                drawn.set()
            return super().write(text)

    stream = Stderr()
    monkeypatch.setattr(sys, "stderr", stream)

    def open_gate() -> None:
        drawn.wait(timeout=60)
        with open(gate, "w"):
            pass  # the writer closing gives the job its end of file

    opener = threading.Thread(target=open_gate)
    opener.start()
    try:
        job.wait(timeout=120, progress=True)
    finally:
        opener.join()
    assert drawn.is_set()
    assert job.status == "Completed"
    assert "Completed" in stream.getvalue()


def test_importing_mlopskit_does_not_import_tqdm():
    code = "import sys, mlopskit, mlopskit._display; print('tqdm' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert found.stdout.strip() == "False"


def test_monitoring_run_repr_uses_the_same_card(local_session):
    import pandas as pd

    from mlopskit.monitoring import DataQualityMonitor, baseline

    reference = pd.DataFrame({"x": [float(i % 10) for i in range(200)]})
    monitor = DataQualityMonitor(None, baseline(reference), name="drift-demo",
                                 session=local_session)
    page = monitor.run(reference.assign(x=reference.x * 3))._repr_html_()
    _assert_safe(page)
    assert "mlopskit-repr" in page and "CompletedWithViolations" in page
    assert "drift-demo" in page and "Violations" in page
