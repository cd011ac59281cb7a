"""The objective chart of a tuning job's notebook card (``_display.objective_chart``)."""

from __future__ import annotations

import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import mlopskit
from mlopskit._display import objective_chart
from mlopskit.backends.base import TrialSummary, TuningJobDescription
from mlopskit.tuning import CategoricalParameter

SVG = "{http://www.w3.org/2000/svg}"
TRIALS = [("t-1", "Completed", 0.70), ("t-2", "Failed", None), ("t-3", "Completed", 0.65),
          ("t-4", "Stopped", 0.99), ("t-5", "Completed", 0.90), ("t-6", "InProgress", None),
          ("t-7", "Completed", math.nan), ("t-8", "Completed", 0.80)]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _circles(root: ET.Element) -> dict[str, ET.Element]:
    found = [c for c in root.iter(f"{SVG}circle")]
    names = [c.get("data-trial", "") for c in found]
    assert len(names) == len(set(names))
    return dict(zip(names, found, strict=True))


def _line(root: ET.Element) -> list[tuple[float, float]]:
    (line,) = [p for p in root.iter(f"{SVG}polyline")
               if p.get("class") == "mlopskit-best-so-far"]
    return [(float(a), float(b)) for a, b in
            (pair.split(",") for pair in (line.get("points") or "").split())]


def test_one_circle_per_trial_with_a_finite_objective():
    root = _parse(objective_chart(TRIALS, "Maximize", "auc", best="t-5"))
    assert set(_circles(root)) == {"t-1", "t-3", "t-4", "t-5", "t-8"}
    crosses = [p.get("data-trial") for p in root.iter(f"{SVG}path")
               if p.get("class") == "mlopskit-unscored"]
    assert crosses == ["t-2", "t-7"]  # an ended trial without an objective; not InProgress


def test_trials_are_placed_in_the_order_given():
    circles = _circles(_parse(objective_chart(TRIALS, "Maximize", "auc")))
    xs = [float(circles[name].get("cx", "nan")) for name in ("t-1", "t-3", "t-4", "t-5")]
    assert xs == sorted(xs) and len(set(xs)) == 4


@pytest.mark.parametrize("objective_type", ["Maximize", "Minimize"])
def test_the_best_so_far_line_is_monotone_and_ends_at_the_best(objective_type):
    root = _parse(objective_chart(TRIALS, objective_type, "auc"))
    line = _line(root)
    xs, ys = [x for x, _ in line], [y for _, y in line]
    assert xs == sorted(xs)
    # SVG y grows downwards: a rising maximum is a falling y
    assert ys == (sorted(ys, reverse=True) if objective_type == "Maximize" else sorted(ys))
    circles = _circles(root)
    # a trial stopped with a value counts (early stopping, Hyperband), as in best_trial
    best = "t-4" if objective_type == "Maximize" else "t-3"
    assert ys[-1] == pytest.approx(float(circles[best].get("cy", "nan")))
    assert xs[0] == pytest.approx(float(circles["t-1"].get("cx", "nan")))
    assert xs[-1] == pytest.approx(max(float(c.get("cx", "nan")) for c in circles.values()))


def test_only_trials_that_count_for_the_best_move_the_line():
    trials = [("a", "Completed", 0.5), ("b", "InProgress", 0.9), ("c", "Completed", 0.6)]
    root = _parse(objective_chart(trials, "Maximize", "auc"))
    circles = _circles(root)
    assert set(circles) == {"a", "b", "c"}  # a running trial's value is drawn...
    levels = {y for _, y in _line(root)}
    # ... but the line only steps from a's value to c's
    assert levels == {float(circles[n].get("cy", "nan")) for n in ("a", "c")}


def test_the_best_trial_is_highlighted():
    circles = _circles(_parse(objective_chart(TRIALS, "Maximize", "auc", best="t-5")))
    assert circles["t-5"].get("class") == "mlopskit-trial mlopskit-best"
    assert {c.get("class") for n, c in circles.items() if n != "t-5"} == {"mlopskit-trial"}
    assert float(circles["t-5"].get("r", "0")) > float(circles["t-1"].get("r", "0"))


def test_axis_label_and_ticks_name_the_metric_and_its_range():
    root = _parse(objective_chart(TRIALS, "Maximize", "validation:auc", best="t-5"))
    labels = [t.text for t in root.iter(f"{SVG}text")
              if t.get("class") == "mlopskit-axis-label"]
    assert labels == ["validation:auc"]
    ticks = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "mlopskit-tick"}
    assert ticks == {"0.99", "0.65", "1", "8"}


def test_user_text_is_escaped():
    evil = '<script>alert("x")</script>&'
    svg = objective_chart([(evil, "Completed", 1.0), ("b", "Failed", None)], "Maximize",
                          evil, best=evil)
    assert "<script" not in svg
    root = _parse(svg)
    assert [t.text for t in root.iter(f"{SVG}text")
            if t.get("class") == "mlopskit-axis-label"] == [evil]
    assert set(_circles(root)) == {evil}


def test_a_single_value_and_a_single_trial_draw_without_dividing_by_zero():
    root = _parse(objective_chart([("only", "Completed", 3.0)], "Minimize", "loss"))
    (circle,) = _circles(root).values()
    assert all(math.isfinite(float(circle.get(k, "nan"))) for k in ("cx", "cy"))


def test_no_trials_no_chart():
    assert objective_chart([], "Maximize", "auc") == ""
    assert objective_chart([("t-1", "InProgress", None)], "Maximize", "auc") == ""


SCRIPT = """\
import json, os
n = int(json.loads(os.environ["SM_HP_N"]))
if n == 2:
    raise SystemExit("n=2 is not allowed")
print(f"score={10 - (n - 3) ** 2}")
"""


def test_a_tuning_jobs_card_shows_the_chart(tmp_path: Path):
    (tmp_path / "train.py").write_text(SCRIPT)
    session = mlopskit.LocalSession(root=tmp_path / "store")
    try:
        estimator = mlopskit.Estimator(
            entry_point=str(tmp_path / "train.py"), instance_type="ml.m5.large",
            session=session, metric_definitions=[{"Name": "score<&>",
                                                  "Regex": "score=([-0-9.]+)"}])
        tuner = mlopskit.HyperparameterTuner(
            estimator, "score<&>", {"n": CategoricalParameter([1, 2, 3, 4])}, strategy="Grid")
        job = tuner.fit()
        page = job._repr_html_()
    finally:
        session.close()
    (svg,) = re.findall(r'<svg class="mlopskit-objective-chart".*?</svg>', page, flags=re.S)
    assert page.index(svg) < page.index("Trials")  # above the trials table
    root = _parse(svg)
    circles = _circles(root)
    described = job.describe()
    scored = {t.job for t in described.trials if t.objective is not None}
    assert set(circles) == scored and len(scored) == 3
    assert circles[job.best_training_job()].get("class") == "mlopskit-trial mlopskit-best"
    assert [p.get("data-trial") for p in root.iter(f"{SVG}path")
            if p.get("class") == "mlopskit-unscored"] == [
        t.job for t in described.trials if t.status == "Failed"]
    assert "score&lt;&amp;&gt;" in svg


def test_the_card_orders_trials_by_creation_time_when_every_trial_has_one(tmp_path: Path):
    # AWS lists a tuning job's trials in its own order; the chart places them as started
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    listed = [("t-3", 3, 0.7), ("t-1", 1, 0.9), ("t-2", 2, 0.8)]
    described = TuningJobDescription(
        name="tj", arn="arn:tj", status="Completed", failure_reason=None, strategy="Random",
        objective_metric="auc", objective_type="Maximize", best_training_job="t-1",
        best_objective=0.9, creation_time=start,
        trials=tuple(TrialSummary(job, {}, "Completed", value,
                                  creation_time=start + dt.timedelta(minutes=minute))
                     for job, minute, value in listed))
    session = mlopskit.LocalSession(root=tmp_path / "store")
    try:
        _, parts = mlopskit.TuningJob("tj", session=session)._card(described)
    finally:
        session.close()
    circles = _circles(_parse(parts[0]))
    xs = [float(circles[name].get("cx", "nan")) for name in ("t-1", "t-2", "t-3")]
    assert xs == sorted(xs)
