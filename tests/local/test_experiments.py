"""``mlopskit.Experiment`` and ``mlopskit experiments`` on a local session's own MLflow store
(``sqlite:///<root>/mlflow.db``), with runs written through the session's tracker."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import mlopskit
from mlopskit.cli import main
from mlopskit.errors import NotFoundError, ValidationError
from mlopskit.tracking import Comparison, RunSummary
from mlopskit.tracking.recorder import MetricPoint

pytest.importorskip("mlflow")

T0 = 1_700_000_000_000
SVG = "{http://www.w3.org/2000/svg}"
# (run name, lr, auc, status): lr 0.1 twice, one failed run that must not count.
RUNS = [("a", "0.1", 0.80, "FINISHED"), ("b", "0.1", 0.84, "FINISHED"),
        ("c", "0.01", 0.90, "FINISHED"), ("d", "1", 0.60, "FINISHED"),
        ("e", "0.01", 0.99, "FAILED")]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A local session whose store holds experiment 'churn' (RUNS, in order, each a child
    of run 'sweep'), an empty experiment 'empty' and 'other' with one run."""
    root = tmp_path_factory.mktemp("experiments")
    made = mlopskit.LocalSession(root=root)
    tracker = made.tracker()
    sweep = tracker.start_run("churn", "sweep", tags={"mlopskit.kind": "tuning"})
    for name, lr, auc, status in RUNS:
        run_id = tracker.start_run("churn", name, params={"lr": lr},
                                   tags={"mlopskit.kind": "trial",
                                         "mlopskit.job_name": f"job-{name}"},
                                   parent_run_id=sweep)
        curve = [MetricPoint("auc", auc * step / 3, step, T0 + 1000 * step)
                 for step in (1, 2, 3)]
        tracker.finish_run(run_id, status=status, metrics=curve, end_time_ms=None)
    tracker.experiment_id("empty")
    tracker.start_run("other", "elsewhere")
    return made


def test_runs_is_a_frame_newest_first_with_params_and_metrics(session):
    frame = mlopskit.Experiment("churn", session=session).runs()
    assert list(frame.columns) == [
        "run_id", "run_name", "status", "start_time", "end_time", "duration_s", "job",
        "kind", "parent_run_id", "params.lr", "metrics.auc"]
    assert list(frame["run_name"]) == ["e", "d", "c", "b", "a", "sweep"]
    trials = frame[frame["kind"] == "trial"]
    assert list(trials["job"]) == ["job-e", "job-d", "job-c", "job-b", "job-a"]
    sweep_id = frame.loc[frame["run_name"] == "sweep", "run_id"].item()
    assert set(trials["parent_run_id"]) == {sweep_id}
    assert list(trials["metrics.auc"]) == pytest.approx([0.99, 0.60, 0.90, 0.84, 0.80])
    assert list(trials["status"]) == ["FAILED", *["FINISHED"] * 4]
    sweep = frame[frame["run_name"] == "sweep"].iloc[0]
    assert sweep["status"] == "RUNNING" and math.isnan(sweep["duration_s"])
    assert (trials["duration_s"] >= 0).all()
    assert str(frame["start_time"].dt.tz) == "UTC"


def test_runs_filter_is_mlflow_s(session):
    experiment = mlopskit.Experiment("churn", session=session)
    assert sorted(experiment.runs(filter="params.lr = '0.1'")["run_name"]) == ["a", "b"]
    assert sorted(experiment.runs(filter="metrics.auc > 0.85")["run_name"]) == ["c", "e"]
    with pytest.raises(ValidationError, match="filter"):
        experiment.runs(filter="params.lr = 0.1")


def test_an_empty_experiment_has_an_empty_frame_with_the_columns(session):
    frame = mlopskit.Experiment("empty", session=session).runs()
    assert frame.empty
    assert list(frame.columns)[:3] == ["run_id", "run_name", "status"]


def test_an_unknown_experiment_names_the_known_ones(session):
    experiment = mlopskit.Experiment("nope", session=session)
    assert experiment.id is None
    with pytest.raises(NotFoundError, match=r"experiment 'nope' does not exist .*known: "
                                            r"Default, churn, empty, other\)"):
        experiment.runs()
    assert mlopskit.Experiment.list(session=session) == ["Default", "churn", "empty", "other"]


def test_best_counts_finished_runs_only(session):
    experiment = mlopskit.Experiment("churn", session=session)
    best = experiment.best("auc")
    assert isinstance(best, RunSummary)
    assert (best.run_name, best.job, best.status, dict(best.params)) == (
        "c", "job-c", "FINISHED", {"lr": "0.01"})
    assert best.metrics["auc"] == pytest.approx(0.90)
    assert experiment.best("auc", mode="min").run_name == "d"
    with pytest.raises(ValidationError, match="mode: 'median' is not one of max, min"):
        experiment.best("auc", mode="median")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="has metric 'loss'"):
        experiment.best("loss")


def test_compare_groups_the_metric_by_the_param(session):
    comparison = mlopskit.Experiment("churn", session=session).compare("auc", by="lr")
    assert isinstance(comparison, Comparison)
    assert comparison.numeric
    assert comparison.groups() == ["0.01", "0.1", "1"]
    assert {k: sorted(round(x, 6) for x in v) for k, v in comparison.values.items()} == {
        "0.01": [0.90], "0.1": [0.80, 0.84], "1": [0.60]}
    assert comparison.means() == pytest.approx({"0.01": 0.90, "0.1": 0.82, "1": 0.60})
    with pytest.raises(NotFoundError, match="param 'depth'"):
        mlopskit.Experiment("churn", session=session).compare("auc", by="depth")


def test_the_chart_is_svg_with_a_column_per_value_and_marked_means(session):
    comparison = mlopskit.Experiment("churn", session=session).compare("auc", by="lr")
    root = ET.fromstring(comparison._repr_html_())
    assert root.tag == f"{SVG}svg"
    dots = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "mlopskit-run"]
    means = [m for m in root.iter(f"{SVG}line") if m.get("class") == "mlopskit-mean"]
    assert (len(dots), len(means)) == (4, 3)
    columns = sorted({float(c.get("cx", "nan")) for c in dots})
    assert len(columns) == 3
    # Numeric axis: 0.01 and 0.1 sit close together, 1 far from both.
    assert columns[1] - columns[0] < (columns[2] - columns[1]) / 5
    highest = min(dots, key=lambda c: float(c.get("cy", "nan")))
    assert "auc=0.9" in highest.findtext(f"{SVG}title", "")


def test_a_text_param_gets_evenly_spaced_columns_and_escaped_labels():
    comparison = Comparison("e", "acc", "model", {"<b>xgb</b>": (0.9,), "rf": (0.8, 0.7)})
    assert not comparison.numeric
    root = ET.fromstring(comparison.svg())
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "mlopskit-tick"]
    assert "<b>xgb</b>" in labels and "rf" in labels


def test_save_writes_svg_and_png_and_refuses_other_suffixes(session, tmp_path):
    comparison = mlopskit.Experiment("churn", session=session).compare("auc", by="lr")
    svg = comparison.save(tmp_path / "c.svg")
    assert ET.parse(svg).getroot().tag == f"{SVG}svg"
    png = comparison.save(tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValidationError, match=r"path: .*c\.pdf' must end in \.svg or \.png"):
        comparison.save(tmp_path / "c.pdf")
    assert not (tmp_path / "c.pdf").exists()


def test_history_is_the_whole_series_by_step(session):
    experiment = mlopskit.Experiment("churn", session=session)
    run_id = experiment.best("auc").run_id
    history = experiment.history(run_id, "auc")
    assert list(history.columns) == ["step", "value", "timestamp"]
    assert list(history["step"]) == [1, 2, 3]
    assert list(history["value"]) == pytest.approx([0.30, 0.60, 0.90])
    assert [int(t.timestamp() * 1000) for t in history["timestamp"]] == [
        T0 + 1000, T0 + 2000, T0 + 3000]
    with pytest.raises(NotFoundError, match="run 'feedbeef' does not exist"):
        experiment.history("feedbeef", "auc")
    other = mlopskit.Experiment("other", session=session).runs()["run_id"].item()
    with pytest.raises(NotFoundError, match=f"run '{other}' is not a run of experiment 'churn'"):
        experiment.history(other, "auc")
    assert experiment.history(run_id, "no-such-metric").empty


def test_the_card_shows_name_store_and_newest_runs(session):
    card = mlopskit.Experiment("churn", session=session)._repr_html_()
    assert "churn" in card and "mlflow.db" in card and "newest runs" in card
    assert "and 1 more" in card  # 6 runs, 5 shown
    empty = mlopskit.Experiment("never-made", session=session)._repr_html_()
    assert "not created yet" in empty


def test_ui_command_points_mlflow_at_the_session_store(session):
    command = mlopskit.Experiment.ui_command(session)
    root = Path(session.root)
    assert command == (f"mlflow ui --backend-store-uri sqlite:///{root}/mlflow.db "
                       f"--default-artifact-root {(root / 's3/mlopskit-local/mlflow').as_uri()}")
    served = mlopskit.LocalSession(root=root, tracking_uri="http://127.0.0.1:5000")
    assert mlopskit.Experiment.ui_command(served) is None


def _cli(session, capsys, *argv):
    code = main(["--root", str(session.root), "experiments", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_counts_runs_and_prints_the_ui_command(session, capsys):
    code, out, _ = _cli(session, capsys, "list", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["experiments"] == [{"name": "Default", "runs": 0}, {"name": "churn", "runs": 6},
                                   {"name": "empty", "runs": 0}, {"name": "other", "runs": 1}]
    assert data["ui_command"] == mlopskit.Experiment.ui_command(session)
    code, out, _ = _cli(session, capsys, "list")
    assert "churn       6" in out and f"MLflow UI: {data['ui_command']}" in out


def test_cli_runs_best_and_compare(session, capsys, tmp_path):
    code, out, _ = _cli(session, capsys, "runs", "churn", "--filter", "params.lr = '0.1'",
                        "--json")
    assert code == 0
    assert sorted(r["run_name"] for r in json.loads(out)) == ["a", "b"]
    code, out, _ = _cli(session, capsys, "best", "churn", "auc", "--mode", "min", "--json")
    assert (code, json.loads(out)["run_name"], json.loads(out)["params"]) == (
        0, "d", {"lr": "1"})
    chart = tmp_path / "auc.svg"
    code, out, _ = _cli(session, capsys, "compare", "churn", "auc", "--by", "lr",
                        "--output", str(chart), "--json")
    data = json.loads(out)
    assert code == 0 and data["output"] == str(chart)
    assert [(g["value"], g["runs"]) for g in data["groups"]] == [("0.01", 1), ("0.1", 2),
                                                                 ("1", 1)]
    assert ET.parse(chart).getroot().tag == f"{SVG}svg"
    code, out, _ = _cli(session, capsys, "runs", "churn")
    assert code == 0 and out.splitlines()[0].split() == ["RUN", "STATUS", "JOB", "DURATION",
                                                         "AUC"]


def test_cli_errors_are_one_line_with_exit_codes(session, capsys):
    code, _, err = _cli(session, capsys, "runs", "nope", "--json")
    assert code == 1 and err.startswith("mlopskit: NotFoundError: experiment 'nope'")
    code, _, err = _cli(session, capsys, "compare", "churn", "auc", "--by", "lr",
                        "--output", "x.pdf")
    assert code == 2 and "must end in .svg or .png" in err
