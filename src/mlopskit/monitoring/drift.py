"""Drift: a window of data compared with a :class:`~mlopskit.monitoring.Baseline`, and the
report, with SageMaker-style ``constraint_violations.json`` and an HTML rendering.

``compare(baseline, current)`` gives a :class:`DriftReport` with per-feature statistics
(KS and PSI for numeric features, Jensen-Shannon, chi-squared and PSI for categorical ones;
:mod:`~mlopskit.monitoring.distributions` computes them) and the violations Model Monitor
would report.

Example:
    >>> import pandas as pd
    >>> from mlopskit.monitoring import baseline
    >>> reference = pd.DataFrame({"x": [i % 10 + 0.5 for i in range(500)],
    ...                           "city": ["a", "b"] * 250})
    >>> report = compare(baseline(reference), reference.assign(x=reference.x + 5))
    >>> report.drifted_features
    ('x',)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ..errors import NotFoundError, ValidationError
from ..sagemaker_api import model_monitor as mm
from ._data import numeric_values, read_frame, write_file
from .baselines import Baseline
from .distributions import chi2_sf, ks_two_sample, psi, sorted_counts, weighted_quantile_edges

if TYPE_CHECKING:
    import pandas as pd

    from ..session import Session

__all__ = ["DriftReport", "DriftThresholds", "FeatureDrift", "compare"]


# -- thresholds -------------------------------------------------------------------------


class DriftThresholds(BaseModel):
    """When a feature counts as drifted, and what else is a violation.

    Numeric: drifted when the Kolmogorov-Smirnov distance exceeds ``ks_statistic`` *and*
    its p-value is below ``ks_p_value`` (a distance alone is noisy on small windows, a
    p-value alone flags trivial shifts on big ones), or PSI exceeds ``psi``.
    Categorical: drifted when the Jensen-Shannon distance (base 2) exceeds ``js_distance``
    and the chi-squared p-value is below ``chi2_p_value``, or PSI exceeds ``psi``. ``None``
    turns a test off. ``completeness_drop`` is how far (absolute fraction) a feature's
    share of present values may fall below the baseline's; ``domain_content`` the share
    of categorical values that must be known categories; ``datatype`` the share of values
    that must parse as the baseline type. ``features`` overrides any of these per feature.

    Example:
        >>> DriftThresholds(psi=0.3, features={"age": {"psi": 0.5}}).for_feature("age").psi
        0.5
        >>> DriftThresholds(psi=-1)
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: thresholds.psi: ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi: float | None = Field(0.2, gt=0)
    ks_statistic: float | None = Field(0.1, ge=0, le=1)
    ks_p_value: float | None = Field(0.05, gt=0, le=1)
    js_distance: float | None = Field(0.1, ge=0, le=1)
    chi2_p_value: float | None = Field(0.05, gt=0, le=1)
    completeness_drop: float = Field(0.01, ge=0, le=1)
    domain_content: float = Field(1.0, ge=0, le=1)
    datatype: float = Field(1.0, ge=0, le=1)
    features: dict[str, dict[str, float | None]] = Field(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        import pydantic

        from ..specs._common import format_pydantic_error

        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise format_pydantic_error(exc, "thresholds.") from None
        for name, overrides in self.features.items():
            unknown = set(overrides) - (set(type(self).model_fields) - {"features"})
            if unknown:
                raise ValidationError(
                    f"thresholds.features.{name}: unknown threshold(s) {sorted(unknown)}; "
                    f"allowed: {', '.join(sorted(set(type(self).model_fields) - {'features'}))}",
                    field=f"thresholds.features.{name}")
            self.for_feature(name)  # checks the overridden values

    def for_feature(self, name: str) -> DriftThresholds:
        """These thresholds with ``name``'s overrides applied."""
        overrides = self.features.get(name)
        if not overrides:
            return self
        values = self.model_dump(exclude={"features"})
        values.update(overrides)
        return DriftThresholds(**values)


# -- comparing --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison: statistics (None where not defined) and the verdict."""

    name: str
    inferred_type: str
    rows: int
    completeness: float
    baseline_completeness: float
    drifted: bool
    psi: float | None = None
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    chi2_statistic: float | None = None
    chi2_p_value: float | None = None
    js_distance: float | None = None
    type_violations: float = 0.0
    new_categories: tuple[str, ...] = ()
    note: str | None = None
    histogram: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["new_categories"] = list(self.new_categories)
        return data


@dataclasses.dataclass(frozen=True)
class DriftReport:
    """The result of :func:`compare`: per-feature drift, SageMaker-style violations, and
    renderings (``to_json``, ``to_html``, ``save``).

    Example:
        >>> import os, pandas as pd, tempfile
        >>> from mlopskit.monitoring import baseline
        >>> reference = pd.DataFrame({"age": [float(20 + i % 40) for i in range(400)]})
        >>> report = compare(baseline(reference), reference.assign(age=reference.age + 15))
        >>> age = report.feature("age")
        >>> age.drifted, round(age.ks_statistic, 3), age.psi > 0.2
        (True, 0.375, True)
        >>> sorted(os.listdir(report.save(tempfile.mkdtemp())))
        ['constraint_violations.json', 'drift_report.json', 'report.html']
    """

    features: tuple[FeatureDrift, ...]
    violations: tuple[dict[str, Any], ...]
    rows: int
    baseline_rows: int
    thresholds: DriftThresholds
    created: str

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features if f.drifted)

    def feature(self, name: str) -> FeatureDrift:
        for entry in self.features:
            if entry.name == name:
                return entry
        raise NotFoundError(f"feature {name!r} is not in this report")

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "rows": self.rows, "baseline_rows": self.baseline_rows,
                "drifted_features": list(self.drifted_features),
                "thresholds": self.thresholds.model_dump(),
                "features": [f.to_dict() for f in self.features],
                "violations": list(self.violations)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_json_default)

    def save(self, folder: str, session: Session | None = None) -> str:
        """Write ``constraint_violations.json``, ``drift_report.json`` and ``report.html``
        under ``folder`` (s3:// on the session's object store, or a local folder)."""
        write_file(folder, mm.VIOLATIONS_FILE,
                   json.dumps(mm.violations_document(self.violations), indent=2).encode(),
                   session)
        write_file(folder, "drift_report.json", self.to_json().encode(), session)
        write_file(folder, "report.html", self.to_html().encode(), session)
        return folder

    def to_html(self) -> str:
        from ._report import render_report

        return render_report(self)

    def _repr_html_(self) -> str:
        from ._report import render_report

        return render_report(self, standalone=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class _Test(NamedTuple):
    """A feature's distribution test: a distance and a p-value, each with its threshold
    (``None`` turns the test off)."""

    distance_note: str  # after the distance in the violation: " (Jensen-Shannon)", or ""
    distance: float
    max_distance: float | None
    name: str
    p_value: float
    max_p_value: float | None

    def fails(self) -> bool:
        return (self.max_distance is not None and self.max_p_value is not None
                and self.distance > self.max_distance and self.p_value < self.max_p_value)


def _verdict(name: str, result: dict[str, Any], violations: list[dict[str, Any]],
             index: float, max_psi: float | None, test: _Test) -> FeatureDrift:
    """``result`` with its PSI and verdict: drifted when PSI is over ``max_psi`` or the
    ``test`` fails, which adds a ``baseline_drift_check`` violation."""
    drifted = (max_psi is not None and index > max_psi) or test.fails()
    result.update(psi=index, drifted=drifted)
    if drifted:
        violations.append(mm.violation(
            name, mm.BASELINE_DRIFT_CHECK,
            f"Baseline drift distance: {test.distance:.6g}{test.distance_note} exceeds "
            f"threshold: {test.max_distance}; PSI {index:.6g} (threshold {max_psi}), "
            f"{test.name} p-value {test.p_value:.3g} (threshold {test.max_p_value})"))
    return FeatureDrift(**result)


def _numeric_drift(name: str, feature: Mapping[str, Any], constraint: Mapping[str, Any],
                   column: pd.Series, limits: DriftThresholds,
                   violations: list[dict[str, Any]]) -> FeatureDrift:
    import numpy as np

    kind = feature["inferred_type"]
    values, unparsed = numeric_values(column)
    rows = int(values.size)
    missing = int(np.count_nonzero(np.isnan(values))) - unparsed
    finite = values[np.isfinite(values)]
    infinite = int(np.count_nonzero(np.isinf(values)))
    present = rows - missing
    completeness = present / rows if rows else 0.0
    baseline_completeness = mm.feature_completeness(constraint)
    bad_type = unparsed + infinite
    if kind == "Integral":
        bad_type += int(np.count_nonzero(finite != np.round(finite)))
    type_share = bad_type / present if present else 0.0
    if present and (1 - type_share) < limits.datatype - 1e-12:
        violations.append(mm.data_type_violation(name, kind, required=limits.datatype,
                                                 observed=1 - type_share))
    result: dict[str, Any] = {"name": name, "inferred_type": kind, "rows": rows,
                              "completeness": completeness,
                              "baseline_completeness": baseline_completeness,
                              "type_violations": type_share, "drifted": False}
    sample = mm.numeric_sample(feature)
    if finite.size == 0 or sample is None:
        result["note"] = "no finite values to compare" if sample is not None else \
            "the baseline holds no distribution for this feature"
        return FeatureDrift(**result)
    base_values, base_weights = sample
    finite = np.sort(finite)
    distance, p_value = ks_two_sample(base_values, base_weights, finite)
    edges = weighted_quantile_edges(base_values, base_weights)
    base_bins = np.bincount(np.searchsorted(edges, base_values, side="right"),
                            weights=base_weights, minlength=edges.size + 1)
    current_bins = np.diff(np.concatenate(
        [[0], np.searchsorted(finite, edges, side="left"), [finite.size]]))
    expected = base_bins / base_bins.sum()
    actual = current_bins / current_bins.sum()
    low, high = float(min(base_values[0], finite[0])), float(max(base_values[-1],
                                                                 finite[-1]))
    plot_edges = np.linspace(low, high, 21) if high > low else np.array([low, low + 1])
    result.update(ks_statistic=distance, ks_p_value=p_value,
                  histogram={"edges": plot_edges.tolist(),
                             "baseline": (np.histogram(base_values, plot_edges,
                                                       weights=base_weights)[0]
                                          / base_weights.sum()).tolist(),
                             "current": (sorted_counts(finite, plot_edges)
                                         / finite.size).tolist()})
    ks = _Test(distance_note="", distance=distance, max_distance=limits.ks_statistic,
               name="KS", p_value=p_value, max_p_value=limits.ks_p_value)
    return _verdict(name, result, violations, psi(expected, actual), limits.psi, ks)


def _categorical_drift(name: str, feature: Mapping[str, Any], constraint: Mapping[str, Any],
                       column: pd.Series, limits: DriftThresholds,
                       violations: list[dict[str, Any]]) -> FeatureDrift:
    import numpy as np

    rows = int(column.size)
    present_values = column.dropna()
    present = int(present_values.size)
    completeness = present / rows if rows else 0.0
    baseline_completeness = mm.feature_completeness(constraint)
    base_counts = mm.categorical_counts(feature)
    domain = mm.string_domains(constraint, base_counts)
    result: dict[str, Any] = {"name": name, "inferred_type": "String", "rows": rows,
                              "completeness": completeness,
                              "baseline_completeness": baseline_completeness,
                              "drifted": False}
    if present == 0 or not base_counts:
        result["note"] = "no values to compare" if base_counts else \
            "the baseline holds no categories for this feature"
        return FeatureDrift(**result)
    current = present_values.astype(str).value_counts()
    new = [str(v) for v in current.index if v not in domain]
    known_share = 1 - float(current[new].sum()) / present if new else 1.0
    if known_share < limits.domain_content - 1e-12:
        violations.append(mm.categorical_values_violation(
            name, required=limits.domain_content, observed=known_share, new_values=new))
    categories = list(base_counts) + [v for v in current.index if v not in base_counts]
    base = np.array([base_counts.get(c, 0.0) for c in categories])
    cur = np.array([float(current.get(c, 0)) for c in categories])
    expected, actual = base / base.sum(), cur / cur.sum()
    middle = (expected + actual) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(expected > 0, expected * np.log2(expected / middle), 0.0)
        right = np.where(actual > 0, actual * np.log2(actual / middle), 0.0)
    js = float(math.sqrt(max(0.0, (left.sum() + right.sum()) / 2)))
    table = np.vstack([base, cur])
    totals = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - totals) ** 2 / totals).sum())
    dof = len(categories) - 1
    p_value = chi2_sf(statistic, dof) if dof > 0 else 1.0
    shown = categories[:30]
    result.update(chi2_statistic=statistic, chi2_p_value=p_value, js_distance=js,
                  new_categories=tuple(new),
                  histogram={"categories": shown,
                             "baseline": [float(x) for x in expected[:30]],
                             "current": [float(x) for x in actual[:30]]})
    chi2 = _Test(distance_note=" (Jensen-Shannon)", distance=js, max_distance=limits.js_distance,
                 name="chi-squared", p_value=p_value, max_p_value=limits.chi2_p_value)
    return _verdict(name, result, violations, psi(expected, actual), limits.psi, chi2)


def compare(base: Baseline, current: Any, *, thresholds: DriftThresholds | None = None,
            session: Session | None = None) -> DriftReport:
    """Compare ``current`` (a DataFrame, file, folder or s3:// URI) with ``base``.

    Checks, as Model Monitor names them: ``missing_column_check``, ``extra_column_check``,
    ``data_type_check``, ``completeness_check``, ``categorical_values_check`` and
    ``baseline_drift_check``. Missing values (None, NaN) count against completeness;
    infinities and values that do not parse as the baseline's type count against the
    data type check and are left out of the distributions. An empty window raises
    :class:`~mlopskit.errors.NotFoundError` ("no data").

    Example:
        >>> import pandas as pd
        >>> from mlopskit.monitoring import baseline
        >>> reference = pd.DataFrame({"age": [float(20 + i % 40) for i in range(400)]})
        >>> base = baseline(reference)
        >>> compare(base, reference.assign(age=reference.age + 15)).drifted_features
        ('age',)
        >>> renamed = reference.rename(columns={"age": "years"})
        >>> [v["constraint_check_type"] for v in compare(base, renamed).violations]
        ['missing_column_check', 'extra_column_check']
    """
    if not isinstance(base, Baseline):
        raise ValidationError(f"baseline: expected a Baseline, got {type(base).__name__}",
                              field="baseline")
    limits = thresholds if thresholds is not None else DriftThresholds()
    if not isinstance(limits, DriftThresholds):
        raise ValidationError("thresholds: expected DriftThresholds", field="thresholds")
    frame = read_frame(current, session)
    if len(frame) == 0:
        raise NotFoundError("no data: the window to compare has no rows")
    frame.columns = [str(c) for c in frame.columns]
    violations: list[dict[str, Any]] = []
    results: list[FeatureDrift] = []
    for feature in base.statistics["features"]:
        name = feature["name"]
        feature_limits = limits.for_feature(name)
        constraint = base.constraint(name)
        if name not in frame.columns:
            violations.append(mm.missing_column_violation(name))
            results.append(FeatureDrift(name, feature.get("inferred_type", "Unknown"), 0,
                                        0.0, mm.feature_completeness(constraint),
                                        False, note="missing from the current data"))
            continue
        column = frame[name]
        kind = feature.get("inferred_type", "Unknown")
        if kind == "String":
            drift = _categorical_drift(name, feature, constraint, column, feature_limits,
                                       violations)
        elif kind in ("Integral", "Fractional"):
            drift = _numeric_drift(name, feature, constraint, column, feature_limits,
                                   violations)
        else:
            present = int(column.notna().sum())
            drift = FeatureDrift(name, kind, int(column.size),
                                 present / column.size if column.size else 0.0, 0.0, False,
                                 note="the baseline has no values for this feature")
        if drift.completeness < drift.baseline_completeness - feature_limits.completeness_drop:
            violations.append(mm.completeness_violation(
                name, required=drift.baseline_completeness - feature_limits.completeness_drop,
                observed=drift.completeness))
        results.append(drift)
    known = set(base.feature_names)
    for name in frame.columns:
        if name not in known:
            violations.append(mm.extra_column_violation(name))
    return DriftReport(
        features=tuple(results), violations=tuple(violations), rows=len(frame),
        baseline_rows=mm.item_count(base.statistics),
        thresholds=limits,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
