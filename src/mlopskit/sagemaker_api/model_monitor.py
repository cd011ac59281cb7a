"""SageMaker Model Monitor's files: ``statistics.json``, ``constraints.json``,
``constraint_violations.json``, model quality statistics and ground-truth records.

Shapes only, written and read as Model Monitor's analyzer and merge jobs write and read them;
what goes into them (profiles, drift tests, metrics) is computed in
:mod:`mlopskit.monitoring`.

What each numeric feature's ``distribution.kll.sketch`` holds: SageMaker writes a KLL
sketch (``data`` is a list of compactor levels; an item on level ``i`` stands for ``2**i``
values). mlopskit writes one level: a sorted sample of up to ``k`` finite values (all of
them when there are fewer). :func:`numeric_sample` reads either as weighted values.

Example:
    >>> feature = numeric_feature("age", "Integral", present=3, missing=1, summary=
    ...     NumericSummary(mean=30.0, total=90.0, std_dev=8.2, minimum=20.0, maximum=40.0,
    ...                    buckets=[(20.0, 40.0, 3.0)], sample=[20.0, 30.0, 40.0], k=100))
    >>> values, weights = numeric_sample(feature)
    >>> values.tolist(), weights.tolist()
    ([20.0, 30.0, 40.0], [1.0, 1.0, 1.0])
    >>> violation("age", MISSING_COLUMN_CHECK, "There is missing column age in the current data.")
    {'feature_name': 'age', 'constraint_check_type': 'missing_column_check', 'description': 'There is missing column age in the current data.'}
"""  # noqa: E501 - a doctest's expected line

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BASELINE_DRIFT_CHECK",
    "CATEGORICAL_VALUES_CHECK",
    "COMPLETENESS_CHECK",
    "CONSTRAINTS_FILE",
    "DATA_TYPE_CHECK",
    "EXTRA_COLUMN_CHECK",
    "MISSING_COLUMN_CHECK",
    "QUALITY_SECTIONS",
    "STATISTICS_FILE",
    "VIOLATIONS_FILE",
    "NumericSummary",
    "categorical_counts",
    "categorical_values_violation",
    "completeness_violation",
    "constraints_document",
    "data_type_violation",
    "extra_column_violation",
    "feature_completeness",
    "find_constraint",
    "find_feature",
    "ground_truth_key",
    "ground_truth_line",
    "item_count",
    "metric",
    "missing_column_violation",
    "model_quality_statistics",
    "model_quality_violation",
    "numeric_constraint",
    "numeric_feature",
    "numeric_sample",
    "parse_ground_truth_line",
    "read_baseline",
    "statistics_document",
    "string_constraint",
    "string_domains",
    "string_feature",
    "unknown_constraint",
    "unknown_feature",
    "violation",
    "violations_document",
]

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"

# constraint_check_type values of constraint_violations.json (data quality)
MISSING_COLUMN_CHECK = "missing_column_check"
EXTRA_COLUMN_CHECK = "extra_column_check"
DATA_TYPE_CHECK = "data_type_check"
COMPLETENESS_CHECK = "completeness_check"
CATEGORICAL_VALUES_CHECK = "categorical_values_check"
BASELINE_DRIFT_CHECK = "baseline_drift_check"

# The section of a model quality statistics.json, per problem type.
QUALITY_SECTIONS = {
    "BinaryClassification": "binary_classification_metrics",
    "MulticlassClassification": "multiclass_classification_metrics",
    "Regression": "regression_metrics",
}


# -- statistics.json and constraints.json: writing --------------------------------------


@dataclasses.dataclass(frozen=True)
class NumericSummary:
    """What a numeric feature's statistics hold beyond its counts: summary values, the
    histogram ``buckets`` as ``(lower, upper, count)`` and the sorted ``sample`` kept as a
    one-level sketch of parameter ``k``."""

    mean: float
    total: float
    std_dev: float
    minimum: float
    maximum: float
    buckets: Sequence[tuple[float, float, float]]
    sample: Sequence[float]
    k: int


def numeric_feature(name: str, inferred_type: str, *, present: int, missing: int,
                    infinite: int = 0, summary: NumericSummary | None = None
                    ) -> dict[str, Any]:
    """A numeric (``Integral``, ``Fractional`` or ``Unknown``) entry of ``features`` in
    statistics.json; ``summary`` None when there is no finite value."""
    stats: dict[str, Any] = {"common": {"num_present": present, "num_missing": missing}}
    if summary is not None:
        stats.update({
            "mean": summary.mean, "sum": summary.total, "std_dev": summary.std_dev,
            "min": summary.minimum, "max": summary.maximum,
            "distribution": {"kll": {
                "buckets": [{"lower_bound": lower, "upper_bound": upper, "count": count}
                            for lower, upper, count in summary.buckets],
                "sketch": {"parameters": {"c": 1.0, "k": int(summary.k)},
                           "data": [list(summary.sample)]}}}})
    if infinite:
        stats["num_infinite"] = infinite
    return {"name": name, "inferred_type": inferred_type, "numerical_statistics": stats}


def unknown_feature(name: str, missing: int) -> dict[str, Any]:
    """The statistics.json entry of a column without any value.

    Example:
        >>> unknown_feature("notes", 3)["numerical_statistics"]
        {'common': {'num_present': 0, 'num_missing': 3}}
    """
    return numeric_feature(name, "Unknown", present=0, missing=missing)


def string_feature(name: str, *, present: int, missing: int,
                   buckets: Iterable[tuple[str, float]], distinct: float) -> dict[str, Any]:
    """A ``String`` entry of statistics.json; ``buckets`` are ``(value, count)``.

    Example:
        >>> string_feature("city", present=2, missing=0, buckets=[("a", 2.0)], distinct=1.0)[
        ...     "string_statistics"]["distribution"]
        {'categorical': {'buckets': [{'value': 'a', 'count': 2.0}]}}
    """
    stats = {"common": {"num_present": present, "num_missing": missing},
             "distinct_count": distinct,
             "distribution": {"categorical": {"buckets": [
                 {"value": value, "count": count} for value, count in buckets]}}}
    return {"name": name, "inferred_type": "String", "string_statistics": stats}


def numeric_constraint(name: str, inferred_type: str, *, completeness: float,
                       non_negative: bool) -> dict[str, Any]:
    """A numeric entry of ``features`` in constraints.json."""
    return {"name": name, "inferred_type": inferred_type, "completeness": completeness,
            "num_constraints": {"is_non_negative": non_negative}}


def unknown_constraint(name: str) -> dict[str, Any]:
    """The constraints.json entry of a column without any value."""
    return {"name": name, "inferred_type": "Unknown", "completeness": 0.0}


def string_constraint(name: str, *, completeness: float,
                      domains: Iterable[str]) -> dict[str, Any]:
    """A ``String`` entry of constraints.json: its known values are its ``domains``."""
    return {"name": name, "inferred_type": "String", "completeness": completeness,
            "string_constraints": {"domains": list(domains)}}


def statistics_document(item_count: int, features: list[dict[str, Any]]) -> dict[str, Any]:
    """A data quality statistics.json."""
    return {"version": 0.0, "dataset": {"item_count": item_count}, "features": features}


def constraints_document(features: list[dict[str, Any]]) -> dict[str, Any]:
    """A constraints.json, with the analyzer's default ``monitoring_config``."""
    return {
        "version": 0.0, "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0, "domain_content_threshold": 1.0,
            "distribution_constraints": {"perform_comparison": "Enabled",
                                         "comparison_threshold": 0.1,
                                         "comparison_method": "Robust"}}}


# -- statistics.json and constraints.json: reading --------------------------------------


def read_baseline(read: Callable[[str], bytes],
                  folder: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two files of a baseline ``folder`` (ours or SageMaker's), each read with
    ``read(file name)`` and checked: JSON, a ``features`` list in statistics.json, an object
    in constraints.json. A :class:`~mlopskit.errors.ValidationError` otherwise.

    Example:
        >>> files = {STATISTICS_FILE: b'{"features": []}', CONSTRAINTS_FILE: b"{}"}
        >>> read_baseline(files.__getitem__, "s3://bkt/base")
        ({'features': []}, {})
        >>> read_baseline({**files, STATISTICS_FILE: b"{}"}.__getitem__, "s3://bkt/base")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: baseline: s3://bkt/base/statistics.json has no 'features' list
    """  # noqa: E501 - a doctest's expected line
    try:
        statistics = json.loads(read(STATISTICS_FILE))
        constraints = json.loads(read(CONSTRAINTS_FILE))
    except ValueError as exc:
        raise ValidationError(f"baseline: {folder} holds a file that is not JSON: {exc}",
                              field="baseline") from None
    if not isinstance(statistics, dict) or not isinstance(statistics.get("features"), list):
        raise ValidationError(f"baseline: {folder}/{STATISTICS_FILE} has no 'features' "
                              "list", field="baseline")
    if not isinstance(constraints, dict):
        raise ValidationError(f"baseline: {folder}/{CONSTRAINTS_FILE} is not an object",
                              field="baseline")
    return statistics, constraints


def find_feature(statistics: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """A copy of feature ``name``'s entry in a statistics.json, or None."""
    for entry in statistics.get("features", []):
        if entry["name"] == name:
            return dict(entry)
    return None


def find_constraint(constraints: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A copy of feature ``name``'s entry in a constraints.json, or ``{}``."""
    for entry in constraints.get("features", []):
        if entry["name"] == name:
            return dict(entry)
    return {}


def item_count(statistics: Mapping[str, Any]) -> int:
    """The rows a statistics.json was computed from (0 when it does not say)."""
    return int((statistics.get("dataset") or {}).get("item_count", 0))


def feature_completeness(constraint: Mapping[str, Any]) -> float:
    """A constraint's ``completeness`` (1.0 when it has none)."""
    return float(constraint.get("completeness", 1.0))


def numeric_sample(feature: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted values and weights from a numeric feature's sketch (KLL levels weigh
    ``2**level``), or from its histogram buckets' midpoints when there is no sketch; None
    when it holds neither."""
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


def categorical_counts(feature: Mapping[str, Any]) -> dict[str, float]:
    """A string feature's category counts, from its ``distribution.categorical`` buckets.

    Example:
        >>> categorical_counts(string_feature("city", present=3, missing=0, distinct=2.0,
        ...                                   buckets=[("a", 2.0), ("b", 1.0)]))
        {'a': 2.0, 'b': 1.0}
    """
    stats = feature.get("string_statistics") or {}
    buckets = ((stats.get("distribution") or {}).get("categorical") or {}).get("buckets") or []
    return {str(b["value"]): float(b["count"]) for b in buckets}


def string_domains(constraint: Mapping[str, Any], default: Iterable[str]) -> set[str]:
    """The known values of a string feature's constraint; ``default`` when it lists none."""
    return set((constraint.get("string_constraints") or {}).get("domains") or default)


# -- constraint_violations.json ---------------------------------------------------------


def violation(feature: str, check: str, description: str) -> dict[str, Any]:
    """One entry of constraint_violations.json."""
    return {"feature_name": feature, "constraint_check_type": check,
            "description": description}


def violations_document(violations: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A constraint_violations.json."""
    return {"violations": list(violations)}


def missing_column_violation(name: str) -> dict[str, Any]:
    return violation(name, MISSING_COLUMN_CHECK,
                     f"There is missing column {name} in the current data.")


def extra_column_violation(name: str) -> dict[str, Any]:
    return violation(name, EXTRA_COLUMN_CHECK,
                     f"There is an extra column {name} in the current data that the "
                     "baseline does not have.")


def data_type_violation(name: str, kind: str, *, required: float,
                        observed: float) -> dict[str, Any]:
    """``required`` and ``observed`` are shares (0..1) of values of type ``kind``."""
    return violation(name, DATA_TYPE_CHECK,
                     f"Data type match requirement is not met. Expected data type: {kind}, "
                     f"expected match: {required * 100:g}%. Observed: only "
                     f"{observed * 100:.4g}% of data is {kind}.")


def completeness_violation(name: str, *, required: float, observed: float) -> dict[str, Any]:
    """``required`` and ``observed`` are shares (0..1) of present values."""
    return violation(name, COMPLETENESS_CHECK,
                     f"Data completeness requirement is not met. Expected: at least "
                     f"{required * 100:.4g}% present. Observed: {observed * 100:.4g}%.")


def categorical_values_violation(name: str, *, required: float, observed: float,
                                 new_values: Iterable[str]) -> dict[str, Any]:
    """``required`` and ``observed`` are shares (0..1) of values in the baseline's domain;
    the first five ``new_values`` (sorted) are named."""
    return violation(name, CATEGORICAL_VALUES_CHECK,
                     f"Categorical values requirement is not met. Expected: "
                     f"{required * 100:g}% of values in the baseline's domain. Observed: "
                     f"{observed * 100:.4g}%; new values include "
                     f"{', '.join(sorted(new_values)[:5])}")


# -- model quality ----------------------------------------------------------------------


def metric(value: float, standard_deviation: float | None = None) -> dict[str, Any]:
    """One metric of a model quality statistics.json.

    Example:
        >>> metric(0.75), metric(0.75, 0.2)
        ({'value': 0.75}, {'value': 0.75, 'standard_deviation': 0.2})
    """
    entry: dict[str, Any] = {"value": value}
    if standard_deviation is not None:
        entry["standard_deviation"] = standard_deviation
    return entry


def model_quality_statistics(problem_type: str, metrics: dict[str, Any], *, item_count: int,
                             evaluation_time: _dt.datetime) -> dict[str, Any]:
    """A model quality statistics.json: ``metrics`` under the problem type's section
    (:data:`QUALITY_SECTIONS`).

    Example:
        >>> moment = _dt.datetime(2026, 3, 1, tzinfo=_dt.timezone.utc)
        >>> model_quality_statistics("Regression", {"mae": metric(0.5)}, item_count=3,
        ...                          evaluation_time=moment)
        {'version': 0.0, 'dataset': {'item_count': 3, 'evaluation_time': '2026-03-01T00:00:00+00:00'}, 'regression_metrics': {'mae': {'value': 0.5}}}
    """  # noqa: E501 - a doctest's expected line
    dataset = {"item_count": item_count,
               "evaluation_time": evaluation_time.isoformat(timespec="seconds")}
    return {"version": 0.0, "dataset": dataset, QUALITY_SECTIONS[problem_type]: metrics}


def model_quality_violation(metric_name: str, value: float, limit: float, *,
                            higher_is_better: bool) -> dict[str, Any]:
    """A model quality constraint_violations.json entry: ``value`` fell below (or rose
    above) ``limit``.

    Example:
        >>> model_quality_violation("rmse", 0.8, 0.5, higher_is_better=False)["description"]
        'Metric rmse with 0.8 was greater than the threshold 0.5'
    """
    return {"constraint_check_type": ("LessThanThreshold" if higher_is_better
                                      else "GreaterThanThreshold"),
            "metric_name": metric_name, "feature_name": metric_name,
            "description": f"Metric {metric_name} with {value:.6g} was "
                           f"{'less' if higher_is_better else 'greater'} than the "
                           f"threshold {limit:g}"}


# -- ground truth -----------------------------------------------------------------------


def ground_truth_line(inference_id: str, label: str) -> str:
    """One ground-truth record (a JSON line without its ``\\n``): the label of the
    invocation whose inference id is ``inference_id``.

    Example:
        >>> ground_truth_line("order-1017", "1")
        '{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "order-1017"}, "eventVersion": "0"}'
    """  # noqa: E501 - a doctest's expected line
    return json.dumps({"groundTruthData": {"data": label, "encoding": "CSV"},
                       "eventMetadata": {"eventId": inference_id}, "eventVersion": "0"})


def parse_ground_truth_line(line: str | bytes) -> tuple[str, str] | None:
    """The ``(inference id, label)`` of a ground-truth record, or None for a malformed one
    (SageMaker's merge job skips those).

    Example:
        >>> parse_ground_truth_line(ground_truth_line("order-1017", "1"))
        ('order-1017', '1')
        >>> parse_ground_truth_line("{}") is None
        True
    """
    try:
        record = json.loads(line)
        return record["eventMetadata"]["eventId"], str(record["groundTruthData"]["data"])
    except (ValueError, KeyError, TypeError):
        return None


def ground_truth_key(ground_truth_uri: str, moment: _dt.datetime, unique: str) -> str:
    """``<ground_truth_uri>/yyyy/mm/dd/hh/<mm>-<ss>-<unique>.jsonl`` for ``moment`` (UTC).

    Example:
        >>> ground_truth_key("s3://bkt/labels/", _dt.datetime(2026, 3, 1, 11, 30,
        ...                  tzinfo=_dt.timezone.utc), "a1")
        's3://bkt/labels/2026/03/01/11/30-00-a1.jsonl'
    """
    utc = moment.astimezone(_dt.timezone.utc)
    return f"{ground_truth_uri.rstrip('/')}/{utc:%Y/%m/%d/%H}/{utc:%M-%S}-{unique}.jsonl"
