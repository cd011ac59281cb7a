"""Drift statistics against scipy on known distributions, and the edge cases a window of
real traffic brings (empty, constant, all missing, new categories, NaN/inf, mixed types)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from mlopskit.errors import NotFoundError, ValidationError
from mlopskit.monitoring import (
    Baseline,
    DriftThresholds,
    baseline,
    compare,
    model_quality_metrics,
)
from mlopskit.monitoring.distributions import PSI_EPSILON, chi2_sf, kolmogorov_sf, psi

RNG = np.random.default_rng(2026)


def _decile_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI as documented, computed independently: decile bins of the reference, both
    sides' shares clipped to PSI_EPSILON, then KL(a||e) + KL(e||a) via scipy."""
    ordered = np.sort(reference)
    cuts = np.unique(ordered[np.ceil(np.arange(1, 10) / 10 * ordered.size).astype(int) - 1])
    e = np.bincount(np.searchsorted(cuts, reference, side="right"), minlength=cuts.size + 1)
    a = np.bincount(np.searchsorted(cuts, current, side="right"), minlength=cuts.size + 1)
    e = np.clip(e / e.sum(), PSI_EPSILON, None)
    a = np.clip(a / a.sum(), PSI_EPSILON, None)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


@pytest.mark.parametrize(("reference", "current"), [
    (RNG.normal(0, 1, 5000), RNG.normal(0, 1, 3000)),
    (RNG.normal(0, 1, 5000), RNG.normal(0.5, 1, 3000)),
    (RNG.normal(0, 1, 4000), RNG.normal(0, 2, 2500)),
    (RNG.uniform(0, 1, 3000), RNG.uniform(0.2, 1.2, 3000)),
    (RNG.exponential(1, 2000), RNG.exponential(1.5, 700)),
])
def test_numeric_drift_matches_scipy(reference, current):
    report = compare(baseline(pd.DataFrame({"x": reference})), pd.DataFrame({"x": current}))
    drift = report.feature("x")
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert drift.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    en = reference.size * current.size / (reference.size + current.size)
    assert drift.ks_p_value == pytest.approx(
        stats.kstwobign.sf(expected.statistic * math.sqrt(en)), abs=1e-6)
    assert drift.psi == pytest.approx(_decile_psi(reference, current), abs=1e-6)


def test_psi_is_the_symmetrised_kl_divergence():
    e, a = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.25, 0.25, 0.25, 0.25])
    assert psi(e, a) == pytest.approx(float(np.sum(rel_entr(a, e) + rel_entr(e, a))),
                                      abs=1e-12)
    assert psi(e, e) == 0.0


@pytest.mark.parametrize("x", [0.05, 0.3, 0.7, 0.99, 1.0, 1.2, 1.8, 2.5, 4.0])
def test_the_kolmogorov_tail_matches_scipy(x):
    assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), abs=1e-9)


@pytest.mark.parametrize(("statistic", "dof"), [
    (0.5, 1), (3.84, 1), (10.0, 3), (2.0, 7), (55.0, 20), (400.0, 300), (1e-3, 2)])
def test_the_chi_squared_tail_matches_scipy(statistic, dof):
    assert chi2_sf(statistic, dof) == pytest.approx(stats.chi2.sf(statistic, dof), abs=1e-9)


def test_categorical_drift_matches_scipy():
    reference = pd.Series(RNG.choice(["red", "green", "blue"], 4000, p=[0.5, 0.3, 0.2]))
    current = pd.Series(RNG.choice(["red", "green", "blue", "violet"], 1500,
                                   p=[0.3, 0.3, 0.3, 0.1]))
    report = compare(baseline(pd.DataFrame({"colour": reference})),
                     pd.DataFrame({"colour": current}))
    drift = report.feature("colour")
    categories = ["red", "green", "blue", "violet"]
    base = np.array([(reference == c).sum() for c in categories], dtype=float)
    cur = np.array([(current == c).sum() for c in categories], dtype=float)
    chi2, p_value, _, _ = stats.chi2_contingency(np.vstack([base, cur]), correction=False)
    assert drift.chi2_statistic == pytest.approx(chi2, rel=1e-9)
    assert drift.chi2_p_value == pytest.approx(p_value, abs=1e-9)
    assert drift.js_distance == pytest.approx(
        jensenshannon(base / base.sum(), cur / cur.sum(), base=2), abs=1e-9)
    e, a = np.clip(base / base.sum(), PSI_EPSILON, None), np.clip(cur / cur.sum(),
                                                                   PSI_EPSILON, None)
    assert drift.psi == pytest.approx(float(np.sum(rel_entr(a, e) + rel_entr(e, a))),
                                      abs=1e-6)
    assert drift.new_categories == ("violet",)
    checks = {v["constraint_check_type"] for v in report.violations}
    assert {"categorical_values_check", "baseline_drift_check"} <= checks


def test_the_same_data_does_not_drift():
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 2000),
                          "c": RNG.choice(["a", "b"], 2000)})
    report = compare(baseline(frame), frame)
    assert report.drifted_features == ()
    assert report.violations == ()
    assert report.feature("x").ks_statistic == 0.0


# -- edge cases --------------------------------------------------------------------------


def test_an_empty_window_is_a_clear_error():
    with pytest.raises(NotFoundError, match="no data"):
        compare(baseline(pd.DataFrame({"x": [1.0, 2.0]})), pd.DataFrame({"x": []}))


def test_constant_columns_have_defined_statistics():
    constant = pd.DataFrame({"x": [3.5] * 200})
    same = compare(baseline(constant), constant).feature("x")
    assert (same.ks_statistic, same.psi, same.drifted) == (0.0, 0.0, False)
    moved = compare(baseline(constant), pd.DataFrame({"x": [4.5] * 50})).feature("x")
    assert moved.ks_statistic == 1.0 and moved.drifted
    assert math.isfinite(moved.psi)
    spread = compare(baseline(constant), pd.DataFrame({"x": RNG.normal(3.5, 1, 300)}))
    assert spread.feature("x").drifted


def test_an_all_missing_column_breaks_completeness_without_a_crash():
    base = baseline(pd.DataFrame({"x": RNG.normal(0, 1, 100)}))
    report = compare(base, pd.DataFrame({"x": [None] * 40}))
    drift = report.feature("x")
    assert drift.completeness == 0.0 and drift.ks_statistic is None
    assert drift.note == "no finite values to compare"
    assert [v["constraint_check_type"] for v in report.violations] == ["completeness_check"]


def test_an_all_missing_baseline_column_is_unknown():
    base = baseline(pd.DataFrame({"x": [np.nan] * 10, "y": [1.5] * 10}))
    assert base.feature("x")["inferred_type"] == "Unknown"
    drift = compare(base, pd.DataFrame({"x": [1.0], "y": [1.5]})).feature("x")
    assert drift.drifted is False and "no values" in (drift.note or "")


def test_nan_is_missing_and_infinity_is_a_type_violation():
    base = baseline(pd.DataFrame({"x": RNG.normal(0, 1, 500)}))
    values = RNG.normal(0, 1, 100)
    values[:10] = np.nan
    values[10:12] = np.inf
    values[12] = -np.inf
    report = compare(base, pd.DataFrame({"x": values}))
    drift = report.feature("x")
    assert drift.completeness == pytest.approx(0.9)
    assert drift.type_violations == pytest.approx(3 / 90)
    assert math.isfinite(drift.ks_statistic)
    checks = sorted(v["constraint_check_type"] for v in report.violations)
    assert checks == ["completeness_check", "data_type_check"]


def test_mixed_types_in_a_numeric_column_are_counted_not_fatal():
    base = baseline(pd.DataFrame({"x": RNG.normal(0, 1, 300)}))
    mixed = pd.Series([0.1, "oops", 0.3, "7", None, 1.2] * 20, dtype=object)
    report = compare(base, pd.DataFrame({"x": mixed}))
    drift = report.feature("x")
    assert drift.type_violations == pytest.approx(20 / 100)  # "oops" of 100 present values
    assert next(v["constraint_check_type"] for v in report.violations) == "data_type_check"
    lenient = compare(base, pd.DataFrame({"x": mixed}),
                      thresholds=DriftThresholds(datatype=0.7, completeness_drop=0.2))
    assert "data_type_check" not in {v["constraint_check_type"] for v in lenient.violations}


def test_integral_features_flag_fractions():
    base = baseline(pd.DataFrame({"n": RNG.integers(0, 10, 300)}))
    assert base.feature("n")["inferred_type"] == "Integral"
    report = compare(base, pd.DataFrame({"n": [1.5, 2.0, 3.0, 4.0]}))
    assert report.feature("n").type_violations == pytest.approx(0.25)


def test_missing_and_extra_columns_are_violations():
    base = baseline(pd.DataFrame({"a": [1.5, 2.5] * 20, "b": ["x", "y"] * 20}))
    report = compare(base, pd.DataFrame({"a": [1.5, 2.5] * 5, "z": [0] * 10}))
    found = {(v["feature_name"], v["constraint_check_type"]) for v in report.violations}
    assert found == {("b", "missing_column_check"), ("z", "extra_column_check")}


def test_per_feature_thresholds_override_the_defaults():
    reference = pd.DataFrame({"x": RNG.normal(0, 1, 3000), "y": RNG.normal(0, 1, 3000)})
    current = pd.DataFrame({"x": RNG.normal(0.4, 1, 3000), "y": RNG.normal(0.4, 1, 3000)})
    limits = DriftThresholds(features={"y": {"psi": 10.0, "ks_statistic": 0.9}})
    assert compare(baseline(reference), current, thresholds=limits).drifted_features == ("x",)


@pytest.mark.parametrize(("values", "message"), [
    ({"psi": -0.1}, "thresholds.psi"),
    ({"ks_p_value": 1.5}, "thresholds.ks_p_value"),
    ({"js_distance": "big"}, "thresholds.js_distance"),
    ({"domain_content": 2}, "thresholds.domain_content"),
    ({"loudness": 3}, "thresholds.loudness"),
    ({"features": {"x": {"colour": 1}}}, r"thresholds.features.x: unknown threshold"),
    ({"features": {"x": {"psi": -1}}}, "thresholds.psi"),
])
def test_bad_thresholds_name_the_field(values, message):
    with pytest.raises(ValidationError, match=message):
        DriftThresholds(**values)


def test_a_baseline_needs_data():
    with pytest.raises(ValidationError, match="data: a baseline needs at least one row"):
        baseline(pd.DataFrame({"x": []}))
    with pytest.raises(ValidationError, match="data: expected a pandas DataFrame"):
        baseline([1, 2, 3])
    with pytest.raises(ValidationError, match="sample_size"):
        baseline(pd.DataFrame({"x": [1.0]}), sample_size=5)


# -- files --------------------------------------------------------------------------------


def test_a_baseline_round_trips_through_its_files(tmp_path):
    frame = pd.DataFrame({"x": RNG.normal(0, 1, 300), "c": RNG.choice(["a", "b"], 300)})
    base = baseline(frame, output_uri=str(tmp_path / "base"))
    loaded = Baseline.load(str(tmp_path / "base"))
    assert loaded == base
    assert compare(loaded, frame).to_dict()["features"] == \
        compare(base, frame).to_dict()["features"]
    constraints = json.loads((tmp_path / "base" / "constraints.json").read_text())
    assert constraints["monitoring_config"]["distribution_constraints"][
        "comparison_method"] == "Robust"


SAGEMAKER_STATISTICS = {
    "version": 0.0, "dataset": {"item_count": 1000},
    "features": [
        {"name": "age", "inferred_type": "Integral", "numerical_statistics": {
            "common": {"num_present": 1000, "num_missing": 0}, "mean": 40.1, "sum": 40100,
            "std_dev": 12.0, "min": 18, "max": 80,
            "distribution": {"kll": {
                "buckets": [{"lower_bound": 18.0, "upper_bound": 49.0, "count": 700.0},
                            {"lower_bound": 49.0, "upper_bound": 80.0, "count": 300.0}],
                "sketch": {"parameters": {"c": 0.64, "k": 2048.0},
                           "data": [[18.0, 25.0, 33.0, 41.0, 47.0, 55.0, 62.0, 80.0],
                                    [30.0, 38.0, 44.0, 52.0]]}}}}},
        {"name": "plan", "inferred_type": "String", "string_statistics": {
            "common": {"num_present": 1000, "num_missing": 0}, "distinct_count": 2.0,
            "distribution": {"categorical": {"buckets": [
                {"value": "basic", "count": 600}, {"value": "pro", "count": 400}]}}}},
    ]}
SAGEMAKER_CONSTRAINTS = {
    "version": 0.0,
    "features": [
        {"name": "age", "inferred_type": "Integral", "completeness": 1.0,
         "num_constraints": {"is_non_negative": True}},
        {"name": "plan", "inferred_type": "String", "completeness": 1.0,
         "string_constraints": {"domains": ["basic", "pro"]}}],
    "monitoring_config": {"evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
                          "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
                          "distribution_constraints": {"perform_comparison": "Enabled",
                                                       "comparison_threshold": 0.1,
                                                       "comparison_method": "Robust"}}}


def test_files_shaped_as_sagemaker_writes_them_load_and_compare(tmp_path):
    (tmp_path / "statistics.json").write_text(json.dumps(SAGEMAKER_STATISTICS))
    (tmp_path / "constraints.json").write_text(json.dumps(SAGEMAKER_CONSTRAINTS))
    base = Baseline.load(str(tmp_path))
    current = pd.DataFrame({"age": RNG.integers(18, 80, 500),
                            "plan": RNG.choice(["basic", "pro", "enterprise"], 500)})
    report = compare(base, current)
    assert report.feature("age").ks_statistic is not None
    assert report.feature("plan").new_categories == ("enterprise",)
    assert report.baseline_rows == 1000


def test_a_folder_without_statistics_is_a_clear_error(tmp_path):
    with pytest.raises(NotFoundError, match=r"statistics\.json does not exist"):
        Baseline.load(str(tmp_path))
    (tmp_path / "statistics.json").write_text("{not json")
    (tmp_path / "constraints.json").write_text("{}")
    with pytest.raises(ValidationError, match="not JSON"):
        Baseline.load(str(tmp_path))


def test_the_html_report_escapes_names_and_draws_every_feature():
    frame = pd.DataFrame({"<script>x</script>": RNG.normal(0, 1, 200),
                          "c": RNG.choice(["a&b", "c"], 200)})
    page = compare(baseline(frame), frame).to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<svg") == 2 and "a&amp;b" in page


# -- model quality ------------------------------------------------------------------------


def test_binary_metrics_match_scikit_learn():
    from sklearn import metrics

    truth = RNG.integers(0, 2, 500)
    score = np.clip(truth * 0.3 + RNG.uniform(0, 0.7, 500), 0, 1).round(2)  # with ties
    predicted = (score >= 0.5).astype(int)
    shaped = model_quality_metrics(truth, predicted, probability=score)
    got = shaped["binary_classification_metrics"]
    assert got["accuracy"]["value"] == pytest.approx(metrics.accuracy_score(truth, predicted))
    assert got["precision"]["value"] == pytest.approx(metrics.precision_score(truth,
                                                                              predicted))
    assert got["recall"]["value"] == pytest.approx(metrics.recall_score(truth, predicted))
    assert got["f1"]["value"] == pytest.approx(metrics.f1_score(truth, predicted))
    assert got["auc"]["value"] == pytest.approx(metrics.roc_auc_score(truth, score),
                                                abs=1e-9)


def test_regression_and_multiclass_metrics_match_scikit_learn():
    from sklearn import metrics

    truth, guess = RNG.normal(0, 1, 300), RNG.normal(0, 1, 300)
    got = model_quality_metrics(truth, guess, problem_type="Regression")["regression_metrics"]
    assert got["rmse"]["value"] == pytest.approx(math.sqrt(metrics.mean_squared_error(truth,
                                                                                       guess)))
    assert got["mae"]["value"] == pytest.approx(metrics.mean_absolute_error(truth, guess))
    assert got["r2"]["value"] == pytest.approx(metrics.r2_score(truth, guess))
    labels = RNG.choice(["a", "b", "c"], 300)
    guesses = np.where(RNG.uniform(size=300) < 0.7, labels, "b")
    multi = model_quality_metrics(labels, guesses, problem_type="MulticlassClassification")
    assert multi["multiclass_classification_metrics"]["weighted_f1"]["value"] == \
        pytest.approx(metrics.f1_score(labels, guesses, average="weighted"))


def test_model_quality_refuses_mismatched_inputs():
    with pytest.raises(ValidationError, match="y_pred: 2 predictions for 3 labels"):
        model_quality_metrics([1, 0, 1], [1, 0])
    with pytest.raises(ValidationError, match="problem_type"):
        model_quality_metrics([1], [1], problem_type="Ranking")
