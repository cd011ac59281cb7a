"""Baselines, drift statistics and violations, in SageMaker Model Monitor's file formats.

``baseline(data)`` profiles a DataFrame into ``statistics.json`` and ``constraints.json``
shaped as Model Monitor's analyzer writes them; ``compare(baseline, current)`` checks a
window of data against it and gives a :class:`DriftReport` with per-feature statistics,
``constraint_violations.json`` and an HTML report. Files written by SageMaker load too.

What each numeric feature's ``distribution.kll.sketch`` holds: SageMaker writes a KLL
sketch (``data`` is a list of compactor levels; an item on level ``i`` stands for ``2**i``
values). mlopskit writes one level: a sorted sample of up to ``sample_size`` finite values
(all of them when there are fewer), so drift against its own baselines is exact against
that sample, and drift against a SageMaker baseline is computed from the weighted sketch.

Example:
    >>> import pandas as pd
    >>> reference = pd.DataFrame({"x": [i % 10 + 0.5 for i in range(500)],
    ...                           "city": ["a", "b"] * 250})
    >>> base = baseline(reference)
    >>> [f["inferred_type"] for f in base.statistics["features"]]
    ['Fractional', 'String']
    >>> report = compare(base, reference.assign(x=reference.x + 5))
    >>> report.drifted_features
    ('x',)
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..session import Session

__all__ = ["Baseline", "DriftReport", "DriftThresholds", "FeatureDrift", "baseline",
           "chi2_sf", "compare", "kolmogorov_sf", "model_quality_metrics"]

PSI_EPSILON = 1e-4
"""Bin proportions are clipped to at least this before PSI takes their logarithm."""

_PSI_BINS = 10
_HIST_BUCKETS = 10
_MAX_CATEGORIES = 10_000


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


# -- reading data -----------------------------------------------------------------------


def _read_frame(data: Any, session: Session | None) -> pd.DataFrame:
    import io
    from pathlib import Path

    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if not isinstance(data, (str, Path)):
        raise ValidationError(f"data: expected a pandas DataFrame, a path or an s3:// URI, "
                              f"got {type(data).__name__}", field="data")
    text = str(data)
    if text.startswith("s3://"):
        from ..session import resolve_session

        objects = resolve_session(session).backend.objects
        uris = [text] if objects.exists(text) else sorted(
            u for u in objects.list(text.rstrip("/") + "/")
            if u.endswith((".csv", ".jsonl", ".json")))
        if not uris:
            raise NotFoundError(f"data: nothing to read at {text}")
        blobs = [(u, objects.get_bytes(u)) for u in uris]
    else:
        path = Path(text)
        if not path.exists():
            raise ValidationError(f"data: {text!r} is neither an s3:// URI nor an existing "
                                  "file or folder", field="data")
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.suffix in (".csv", ".jsonl", ".json"))
        blobs = [(str(p), p.read_bytes()) for p in files]
    frames = [pd.read_json(io.BytesIO(blob), lines=True) if uri.endswith((".jsonl", ".json"))
              else pd.read_csv(io.BytesIO(blob)) for uri, blob in blobs]
    frame: pd.DataFrame = pd.concat(frames, ignore_index=True)
    return frame


def _numeric_values(column: pd.Series) -> tuple[np.ndarray, int]:
    """Float values (NaN where missing or unparseable) and how many present values did
    not parse as numbers."""
    import numpy as np
    import pandas as pd

    if column.dtype == bool:
        return column.to_numpy(dtype=float), 0
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan), 0
    parsed = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    present = column.notna().to_numpy()
    return parsed, int(np.count_nonzero(present & np.isnan(parsed)))


def _infer_type(column: pd.Series) -> str:
    import numpy as np
    import pandas as pd

    if column.notna().sum() == 0:
        return "Unknown"
    if column.dtype == bool or pd.api.types.is_integer_dtype(column.dtype):
        return "Integral"
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        return "Integral" if finite.size and np.all(finite == np.round(finite)) and \
            np.all(np.isfinite(values[~np.isnan(values)])) else "Fractional"
    values, bad = _numeric_values(column)
    if bad == 0:
        finite = values[np.isfinite(values)]
        return "Integral" if finite.size and np.all(finite == np.round(finite)) \
            else "Fractional"
    return "String"


# -- baseline ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A profile of reference data: Model Monitor's ``statistics.json`` and
    ``constraints.json`` (plain dicts, as written to disk).

    Example:
        >>> import pandas as pd, tempfile
        >>> base = baseline(pd.DataFrame({"age": [23, 35, 47, 59],
        ...                               "channel": ["web", "app", "web", "web"]}))
        >>> base.feature_names, base.feature("age")["inferred_type"]
        (['age', 'channel'], 'Integral')
        >>> folder = base.save(tempfile.mkdtemp())  # statistics.json and constraints.json
        >>> Baseline.load(folder) == base
        True
    """

    statistics: dict[str, Any]
    constraints: dict[str, Any]

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.statistics.get("features", [])]

    def feature(self, name: str) -> dict[str, Any]:
        for entry in self.statistics.get("features", []):
            if entry["name"] == name:
                return dict(entry)
        raise NotFoundError(f"feature {name!r} is not in the baseline")

    def constraint(self, name: str) -> dict[str, Any]:
        for entry in self.constraints.get("features", []):
            if entry["name"] == name:
                return dict(entry)
        return {}

    def save(self, folder: str, session: Session | None = None) -> str:
        """Write ``statistics.json`` and ``constraints.json`` under ``folder`` (an s3://
        URI on the session's object store, or a local folder); returns ``folder``."""
        _write(folder, "statistics.json", json.dumps(self.statistics, indent=2).encode(),
               session)
        _write(folder, "constraints.json", json.dumps(self.constraints, indent=2).encode(),
               session)
        return folder

    @classmethod
    def load(cls, folder: str, session: Session | None = None) -> Baseline:
        """Read a baseline folder, ours or one written by SageMaker."""
        try:
            statistics = json.loads(_read(folder, "statistics.json", session))
            constraints = json.loads(_read(folder, "constraints.json", session))
        except ValueError as exc:
            raise ValidationError(f"baseline: {folder} holds a file that is not JSON: {exc}",
                                  field="baseline") from None
        if not isinstance(statistics, dict) or not isinstance(statistics.get("features"),
                                                               list):
            raise ValidationError(f"baseline: {folder}/statistics.json has no 'features' "
                                  "list", field="baseline")
        if not isinstance(constraints, dict):
            raise ValidationError(f"baseline: {folder}/constraints.json is not an object",
                                  field="baseline")
        return cls(statistics, constraints)


def _write(folder: str, name: str, data: bytes, session: Session | None) -> None:
    from pathlib import Path

    if folder.startswith("s3://"):
        from ..session import resolve_session

        resolve_session(session).backend.objects.put_bytes(data,
                                                           f"{folder.rstrip('/')}/{name}")
    else:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(data)


def _read(folder: str, name: str, session: Session | None) -> bytes:
    from pathlib import Path

    if folder.startswith("s3://"):
        from ..session import resolve_session

        uri = f"{folder.rstrip('/')}/{name}"
        objects = resolve_session(session).backend.objects
        if not objects.exists(uri):
            raise NotFoundError(f"baseline: {uri} does not exist")
        return objects.get_bytes(uri)
    path = Path(folder) / name
    if not path.exists():
        raise NotFoundError(f"baseline: {path} does not exist")
    return path.read_bytes()


def _sample(values: np.ndarray, size: int, seed: int) -> np.ndarray:
    import numpy as np

    if values.size <= size:
        return np.sort(values)
    return np.sort(np.random.default_rng(seed).choice(values, size=size, replace=False))


def _numeric_profile(name: str, column: pd.Series, kind: str, sample_size: int,
                     seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    values, _ = _numeric_values(column)
    missing = int(np.count_nonzero(np.isnan(values)))
    finite = values[np.isfinite(values)]
    infinite = int(values.size - missing - finite.size)
    present = int(values.size - missing)
    stats: dict[str, Any] = {"common": {"num_present": present, "num_missing": missing}}
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        edges = np.linspace(low, high, _HIST_BUCKETS + 1) if high > low else \
            np.array([low, high])
        counts = np.histogram(finite, bins=edges)[0] if high > low else \
            np.array([finite.size])
        stats.update({
            "mean": float(finite.mean()), "sum": float(finite.sum()),
            "std_dev": float(finite.std()), "min": low, "max": high,
            "distribution": {"kll": {
                "buckets": [{"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]),
                             "count": float(counts[i])} for i in range(len(counts))],
                "sketch": {"parameters": {"c": 1.0, "k": int(sample_size)},
                           "data": [_sample(finite, sample_size, seed).tolist()]}}}})
    if infinite:
        stats["num_infinite"] = infinite
    constraint: dict[str, Any] = {
        "name": name, "inferred_type": kind,
        "completeness": present / values.size if values.size else 0.0,
        "num_constraints": {"is_non_negative": bool(finite.size and finite.min() >= 0)}}
    return {"name": name, "inferred_type": kind, "numerical_statistics": stats}, constraint


def _string_profile(name: str, column: pd.Series) -> tuple[dict[str, Any], dict[str, Any]]:
    present = column.dropna().astype(str)
    counts = present.value_counts()
    top = counts.iloc[:_MAX_CATEGORIES]
    stats = {"common": {"num_present": int(present.size),
                        "num_missing": int(column.size - present.size)},
             "distinct_count": float(counts.size),
             "distribution": {"categorical": {"buckets": [
                 {"value": str(value), "count": float(count)}
                 for value, count in top.items()]}}}
    constraint = {"name": name, "inferred_type": "String",
                  "completeness": present.size / column.size if column.size else 0.0,
                  "string_constraints": {"domains": [str(v) for v in top.index]}}
    return {"name": name, "inferred_type": "String", "string_statistics": stats}, constraint


def baseline(data: Any, *, session: Session | None = None, sample_size: int = 100_000,
             seed: int = 0, output_uri: str | None = None) -> Baseline:
    """Profile ``data`` (a DataFrame, a CSV/JSON-lines file or folder, or an s3:// URI of
    them) into a :class:`Baseline`; with ``output_uri``, also write its two files there.

    Column types are inferred as Model Monitor does: Integral, Fractional, String, or
    Unknown for a column with no values. ``sample_size`` bounds the numeric sample kept
    for drift tests (seeded, so a baseline is reproducible).

    Example:
        >>> import pandas as pd
        >>> base = baseline(pd.DataFrame({"income": [51000.0, 64000.5, 38000.0],
        ...                               "channel": ["web", "app", None]}))
        >>> [(f["name"], f["inferred_type"]) for f in base.statistics["features"]]
        [('income', 'Fractional'), ('channel', 'String')]
        >>> channel = base.constraint("channel")  # a None counts against completeness
        >>> channel["string_constraints"], channel["completeness"]
        ({'domains': ['web', 'app']}, 0.666...)
    """
    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 100:
        raise ValidationError(f"sample_size: a whole number >= 100, got {sample_size!r}",
                              field="sample_size")
    frame = _read_frame(data, session)
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ValidationError("data: a baseline needs at least one row and one column",
                              field="data")
    features, constraints = [], []
    for index, name in enumerate(frame.columns):
        column = frame[name]
        kind = _infer_type(column)
        if kind == "String":
            feature, constraint = _string_profile(str(name), column)
        elif kind == "Unknown":
            feature = {"name": str(name), "inferred_type": "Unknown",
                       "numerical_statistics": {"common": {"num_present": 0,
                                                           "num_missing": int(column.size)}}}
            constraint = {"name": str(name), "inferred_type": "Unknown", "completeness": 0.0}
        else:
            feature, constraint = _numeric_profile(str(name), column, kind, sample_size,
                                                   seed + index)
        features.append(feature)
        constraints.append(constraint)
    statistics = {"version": 0.0, "dataset": {"item_count": len(frame)}, "features": features}
    constraints_doc = {
        "version": 0.0, "features": constraints,
        "monitoring_config": {
            "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
            "distribution_constraints": {"perform_comparison": "Enabled",
                                         "comparison_threshold": 0.1,
                                         "comparison_method": "Robust"}}}
    result = Baseline(statistics, constraints_doc)
    if output_uri is not None:
        result.save(output_uri, session=session)
    return result


# -- distributions held by a baseline ---------------------------------------------------


def _weighted_sample(feature: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted values and weights from a numeric feature's sketch (KLL levels weigh
    ``2**level``), or from its histogram buckets' midpoints when there is no sketch."""
    import numpy as np

    stats = feature.get("numerical_statistics") or {}
    kll = (stats.get("distribution") or {}).get("kll") or {}
    levels = (kll.get("sketch") or {}).get("data") or []
    if levels and any(levels):
        values = np.concatenate([np.asarray(level, dtype=float) for level in levels])
        weights = np.concatenate([np.full(len(level), float(2 ** i))
                                  for i, level in enumerate(levels)])
    else:
        buckets = kll.get("buckets") or []
        if not buckets:
            return None
        values = np.array([(_lower(b) + _upper(b)) / 2 for b in buckets], dtype=float)
        weights = np.array([float(b.get("count", 0)) for b in buckets])
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return None
    order = np.argsort(values[keep], kind="stable")
    return values[keep][order], weights[keep][order]


def _lower(bucket: Mapping[str, Any]) -> float:
    return float(bucket.get("lower_bound", bucket.get("lower_surface", 0.0)))


def _upper(bucket: Mapping[str, Any]) -> float:
    return float(bucket.get("upper_bound", bucket.get("upper_surface", 0.0)))


def _weighted_quantile_edges(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Inner bin edges at the baseline's deciles (duplicates dropped)."""
    import numpy as np

    cumulative = np.cumsum(weights) / weights.sum()
    targets = np.arange(1, _PSI_BINS) / _PSI_BINS
    index = np.searchsorted(cumulative, targets, side="left")
    edges: np.ndarray = np.unique(values[np.minimum(index, values.size - 1)])
    return edges


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two proportion vectors (zeros clipped to
    :data:`PSI_EPSILON`): ``sum((a - e) * ln(a / e))``."""
    import numpy as np

    e = np.clip(np.asarray(expected, dtype=float), PSI_EPSILON, None)
    a = np.clip(np.asarray(actual, dtype=float), PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def kolmogorov_sf(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the two-sample KS test's asymptotic
    p-value at ``x = D * sqrt(n*m/(n+m))``); equals ``scipy.stats.kstwobign.sf``."""
    if x <= 0:
        return 1.0
    if x < 1.0:
        # Small x: the theta-function form converges fast here.
        factor = math.sqrt(2 * math.pi) / x
        total = sum(math.exp(-((2 * k - 1) ** 2) * math.pi ** 2 / (8 * x * x))
                    for k in range(1, 8))
        return max(0.0, min(1.0, 1.0 - factor * total))
    total = 0.0
    for k in range(1, 101):
        term = 2 * (-1) ** (k - 1) * math.exp(-2 * k * k * x * x)
        total += term
        if abs(term) < 1e-18:
            break
    return max(0.0, min(1.0, total))


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X > statistic) for chi-squared with ``dof`` degrees of freedom (the regularised
    upper incomplete gamma function Q(dof/2, statistic/2)); equals ``scipy.stats.chi2.sf``."""
    if dof <= 0:
        return float("nan")
    if statistic <= 0:
        return 1.0
    a, x = dof / 2.0, statistic / 2.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for P, then Q = 1 - P
        term = total = 1.0 / a
        n = a
        for _ in range(10_000):
            n += 1
            term *= x / n
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    # Lentz's continued fraction for Q
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, math.exp(log_prefix) * h)


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
        _write(folder, "constraint_violations.json",
               json.dumps({"violations": list(self.violations)}, indent=2).encode(), session)
        _write(folder, "drift_report.json", self.to_json().encode(), session)
        _write(folder, "report.html", self.to_html().encode(), session)
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


def _violation(feature: str, check: str, description: str) -> dict[str, Any]:
    return {"feature_name": feature, "constraint_check_type": check,
            "description": description}


def _ks(base_values: np.ndarray, base_weights: np.ndarray, current: np.ndarray
        ) -> tuple[float, float]:
    """Two-sample KS distance of a weighted baseline (sorted) and a sample (``current``,
    sorted), and its asymptotic p-value (effective baseline size: the total weight).

    Both CDFs are right-continuous steps, so the largest gap is found at a jump of either:
    the baseline's points and the last copy of each distinct current value (whose CDF is
    its 1-based position). Only the baseline's points are looked up in the current
    sample, which keeps a million-row window to one pass.
    """
    import numpy as np

    total = float(base_weights.sum())
    cumulative = np.concatenate([[0.0], np.cumsum(base_weights)])
    size = current.size
    last = np.flatnonzero(np.append(current[1:] != current[:-1], True))
    at_current = np.abs(
        cumulative[np.searchsorted(base_values, current[last], side="right")] / total
        - (last + 1) / size)
    at_base = np.abs(
        cumulative[np.searchsorted(base_values, base_values, side="right")] / total
        - np.searchsorted(current, base_values, side="right") / size)
    distance = float(max(at_current.max(), at_base.max()))
    n, m = total, float(size)
    return distance, kolmogorov_sf(distance * math.sqrt(n * m / (n + m)))


def _sorted_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of ``sorted_values`` in the bins ``np.histogram`` would use for ``edges``
    (half-open, the last bin closed)."""
    import numpy as np

    cuts = np.searchsorted(sorted_values, edges[:-1], side="left")
    cuts = np.append(cuts, np.searchsorted(sorted_values, edges[-1], side="right"))
    return np.diff(cuts)


def _numeric_drift(name: str, feature: Mapping[str, Any], constraint: Mapping[str, Any],
                   column: pd.Series, limits: DriftThresholds,
                   violations: list[dict[str, Any]]) -> FeatureDrift:
    import numpy as np

    kind = feature["inferred_type"]
    values, unparsed = _numeric_values(column)
    rows = int(values.size)
    missing = int(np.count_nonzero(np.isnan(values))) - unparsed
    finite = values[np.isfinite(values)]
    infinite = int(np.count_nonzero(np.isinf(values)))
    present = rows - missing
    completeness = present / rows if rows else 0.0
    baseline_completeness = float(constraint.get("completeness", 1.0))
    bad_type = unparsed + infinite
    if kind == "Integral":
        bad_type += int(np.count_nonzero(finite != np.round(finite)))
    type_share = bad_type / present if present else 0.0
    if present and (1 - type_share) < limits.datatype - 1e-12:
        violations.append(_violation(
            name, "data_type_check",
            f"Data type match requirement is not met. Expected data type: {kind}, "
            f"expected match: {limits.datatype * 100:g}%. Observed: only "
            f"{(1 - type_share) * 100:.4g}% of data is {kind}."))
    result: dict[str, Any] = {"name": name, "inferred_type": kind, "rows": rows,
                              "completeness": completeness,
                              "baseline_completeness": baseline_completeness,
                              "type_violations": type_share, "drifted": False}
    sample = _weighted_sample(feature)
    if finite.size == 0 or sample is None:
        result["note"] = "no finite values to compare" if sample is not None else \
            "the baseline holds no distribution for this feature"
        return FeatureDrift(**result)
    base_values, base_weights = sample
    finite = np.sort(finite)
    distance, p_value = _ks(base_values, base_weights, finite)
    edges = _weighted_quantile_edges(base_values, base_weights)
    base_bins = np.bincount(np.searchsorted(edges, base_values, side="right"),
                            weights=base_weights, minlength=edges.size + 1)
    current_bins = np.diff(np.concatenate(
        [[0], np.searchsorted(finite, edges, side="left"), [finite.size]]))
    expected = base_bins / base_bins.sum()
    actual = current_bins / current_bins.sum()
    index = psi(expected, actual)
    drifted = ((limits.psi is not None and index > limits.psi)
               or (limits.ks_statistic is not None and limits.ks_p_value is not None
                   and distance > limits.ks_statistic and p_value < limits.ks_p_value))
    low, high = float(min(base_values[0], finite[0])), float(max(base_values[-1],
                                                                 finite[-1]))
    plot_edges = np.linspace(low, high, 21) if high > low else np.array([low, low + 1])
    result.update(psi=index, ks_statistic=distance, ks_p_value=p_value, drifted=drifted,
                  histogram={"edges": plot_edges.tolist(),
                             "baseline": (np.histogram(base_values, plot_edges,
                                                       weights=base_weights)[0]
                                          / base_weights.sum()).tolist(),
                             "current": (_sorted_counts(finite, plot_edges)
                                         / finite.size).tolist()})
    if drifted:
        violations.append(_violation(
            name, "baseline_drift_check",
            f"Baseline drift distance: {distance:.6g} exceeds threshold: "
            f"{limits.ks_statistic}; PSI {index:.6g} (threshold {limits.psi}), KS p-value "
            f"{p_value:.3g} (threshold {limits.ks_p_value})"))
    return FeatureDrift(**result)


def _categorical_drift(name: str, feature: Mapping[str, Any], constraint: Mapping[str, Any],
                       column: pd.Series, limits: DriftThresholds,
                       violations: list[dict[str, Any]]) -> FeatureDrift:
    import numpy as np

    rows = int(column.size)
    present_values = column.dropna()
    present = int(present_values.size)
    completeness = present / rows if rows else 0.0
    baseline_completeness = float(constraint.get("completeness", 1.0))
    stats = feature.get("string_statistics") or {}
    buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    base_counts = {str(b["value"]): float(b["count"]) for b in buckets}
    domain = set((constraint.get("string_constraints") or {}).get("domains") or base_counts)
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
        violations.append(_violation(
            name, "categorical_values_check",
            f"Categorical values requirement is not met. Expected: {limits.domain_content * 100:g}"
            f"% of values in the baseline's domain. Observed: {known_share * 100:.4g}%; new "
            f"values include {', '.join(sorted(new)[:5])}"))
    categories = list(base_counts) + [v for v in current.index if v not in base_counts]
    base = np.array([base_counts.get(c, 0.0) for c in categories])
    cur = np.array([float(current.get(c, 0)) for c in categories])
    expected, actual = base / base.sum(), cur / cur.sum()
    index = psi(expected, actual)
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
    drifted = ((limits.psi is not None and index > limits.psi)
               or (limits.js_distance is not None and limits.chi2_p_value is not None
                   and js > limits.js_distance and p_value < limits.chi2_p_value))
    shown = categories[:30]
    result.update(psi=index, chi2_statistic=statistic, chi2_p_value=p_value, js_distance=js,
                  new_categories=tuple(new), drifted=drifted,
                  histogram={"categories": shown,
                             "baseline": [float(x) for x in expected[:30]],
                             "current": [float(x) for x in actual[:30]]})
    if drifted:
        violations.append(_violation(
            name, "baseline_drift_check",
            f"Baseline drift distance: {js:.6g} (Jensen-Shannon) exceeds threshold: "
            f"{limits.js_distance}; PSI {index:.6g} (threshold {limits.psi}), chi-squared "
            f"p-value {p_value:.3g} (threshold {limits.chi2_p_value})"))
    return FeatureDrift(**result)


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
    frame = _read_frame(current, session)
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
            violations.append(_violation(name, "missing_column_check",
                                         f"There is missing column {name} in the current "
                                         "data."))
            results.append(FeatureDrift(name, feature.get("inferred_type", "Unknown"), 0,
                                        0.0, float(constraint.get("completeness", 1.0)),
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
            violations.append(_violation(
                name, "completeness_check",
                f"Data completeness requirement is not met. Expected: at least "
                f"{(drift.baseline_completeness - feature_limits.completeness_drop) * 100:.4g}"
                f"% present. Observed: {drift.completeness * 100:.4g}%."))
        results.append(drift)
    known = set(base.feature_names)
    for name in frame.columns:
        if name not in known:
            violations.append(_violation(name, "extra_column_check",
                                         f"There is an extra column {name} in the current "
                                         "data that the baseline does not have."))
    return DriftReport(
        features=tuple(results), violations=tuple(violations), rows=len(frame),
        baseline_rows=int((base.statistics.get("dataset") or {}).get("item_count", 0)),
        thresholds=limits,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))


# -- model quality ----------------------------------------------------------------------


def _labels(values: Any) -> np.ndarray:
    """Labels as comparable values: numbers when every label is numeric, else text."""
    import numpy as np
    import pandas as pd

    series = pd.Series(np.asarray(values).ravel())
    parsed = pd.to_numeric(series, errors="coerce")
    result: np.ndarray = parsed.to_numpy(dtype=float) if parsed.notna().all() else \
        series.astype(str).to_numpy()
    return result


def _auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged): the Mann-Whitney statistic."""
    import pandas as pd

    positives = int(y_true.sum())
    negatives = int(y_true.size - positives)
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(score).rank(method="average").to_numpy()
    return float((ranks[y_true == 1].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))


def _metric(value: float, n: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"value": value}
    if n:  # the binomial standard error, for proportions
        entry["standard_deviation"] = math.sqrt(max(value * (1 - value), 0.0) / n)
    return entry


def model_quality_metrics(y_true: Sequence[Any] | np.ndarray, y_pred: Sequence[Any] | np.ndarray,
                          *, problem_type: str = "BinaryClassification",
                          probability: Sequence[float] | np.ndarray | None = None,
                          positive_label: Any = 1) -> dict[str, Any]:
    """Quality metrics in the shape of Model Monitor's model quality ``statistics.json``:
    ``binary_classification_metrics`` (confusion matrix, accuracy, precision, recall, f1,
    auc from ``probability``), ``multiclass_classification_metrics`` (accuracy,
    weighted_f1) or ``regression_metrics`` (mae, mse, rmse, r2).

    Example:
        >>> m = model_quality_metrics([1, 0, 1, 1], [1, 0, 0, 1])
        >>> m["binary_classification_metrics"]["accuracy"]["value"]
        0.75
    """
    import numpy as np

    truth, predicted = _labels(y_true), _labels(y_pred)
    if truth.size != predicted.size or truth.size == 0:
        raise ValidationError(f"y_pred: {predicted.size} predictions for {truth.size} labels "
                              "(need the same number, at least one)", field="y_pred")
    n = int(truth.size)
    dataset = {"item_count": n,
               "evaluation_time": _dt.datetime.now(_dt.timezone.utc).isoformat(
                   timespec="seconds")}
    if problem_type == "Regression":
        if truth.dtype.kind not in "fi" or predicted.dtype.kind not in "fi":
            raise ValidationError("y_true/y_pred: regression needs numbers", field="y_true")
        error = predicted - truth
        mse = float(np.mean(error ** 2))
        spread = float(np.sum((truth - truth.mean()) ** 2))
        r2 = 1 - float(np.sum(error ** 2)) / spread if spread > 0 else float("nan")
        return {"version": 0.0, "dataset": dataset, "regression_metrics": {
            "mae": _metric(float(np.mean(np.abs(error)))), "mse": _metric(mse),
            "rmse": _metric(math.sqrt(mse)), "r2": _metric(r2)}}
    accuracy = float(np.mean(truth == predicted))
    if problem_type == "MulticlassClassification":
        classes = np.unique(np.concatenate([truth, predicted]))
        weighted = 0.0
        for label in classes:
            tp = float(np.sum((predicted == label) & (truth == label)))
            support = float(np.sum(truth == label))
            guessed = float(np.sum(predicted == label))
            precision = tp / guessed if guessed else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            weighted += f1 * support / n
        return {"version": 0.0, "dataset": dataset, "multiclass_classification_metrics": {
            "accuracy": _metric(accuracy, n), "weighted_f1": _metric(weighted)}}
    if problem_type != "BinaryClassification":
        raise ValidationError(f"problem_type: {problem_type!r} is not one of "
                              "BinaryClassification, MulticlassClassification, Regression",
                              field="problem_type")
    positive = float(positive_label) if truth.dtype.kind == "f" else str(positive_label)
    actual, guessed = truth == positive, predicted == positive
    tp = int(np.sum(actual & guessed))
    fp = int(np.sum(~actual & guessed))
    fn = int(np.sum(actual & ~guessed))
    tn = int(np.sum(~actual & ~guessed))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    metrics: dict[str, Any] = {
        "confusion_matrix": {"1": {"1": tp, "0": fn}, "0": {"1": fp, "0": tn}},
        "accuracy": _metric(accuracy, n), "precision": _metric(precision),
        "recall": _metric(recall), "f1": _metric(f1),
        "true_positive_rate": _metric(recall),
        "false_positive_rate": _metric(fp / (fp + tn) if fp + tn else 0.0)}
    if probability is not None:
        scores = np.asarray(probability, dtype=float).ravel()
        if scores.size != n:
            raise ValidationError(f"probability: {scores.size} scores for {n} labels",
                                  field="probability")
        metrics["auc"] = _metric(_auc(actual.astype(int), scores))
    return {"version": 0.0, "dataset": dataset, "binary_classification_metrics": metrics}
