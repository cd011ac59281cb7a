"""Baselines: a profile of reference data, in Model Monitor's ``statistics.json`` and
``constraints.json`` (:mod:`mlopskit.sagemaker_api.model_monitor` holds the shapes).

``baseline(data)`` profiles a DataFrame as Model Monitor's analyzer does; baselines written by
SageMaker load too. Numeric features keep a sorted sample of up to ``sample_size`` finite
values as their sketch, so drift against mlopskit's own baselines is exact against that
sample (see :func:`mlopskit.monitoring.compare`).

Example:
    >>> import pandas as pd
    >>> reference = pd.DataFrame({"x": [i % 10 + 0.5 for i in range(500)],
    ...                           "city": ["a", "b"] * 250})
    >>> [f["inferred_type"] for f in baseline(reference).statistics["features"]]
    ['Fractional', 'String']
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..sagemaker_api import model_monitor as mm
from ._data import infer_type, numeric_values, read_file, read_frame, write_file

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ..session import Session

__all__ = ["Baseline", "baseline"]

_HIST_BUCKETS = 10
_MAX_CATEGORIES = 10_000


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
        entry = mm.find_feature(self.statistics, name)
        if entry is None:
            raise NotFoundError(f"feature {name!r} is not in the baseline")
        return entry

    def constraint(self, name: str) -> dict[str, Any]:
        return mm.find_constraint(self.constraints, name)

    def save(self, folder: str, session: Session | None = None) -> str:
        """Write ``statistics.json`` and ``constraints.json`` under ``folder`` (an s3://
        URI on the session's object store, or a local folder); returns ``folder``."""
        write_file(folder, mm.STATISTICS_FILE, json.dumps(self.statistics, indent=2).encode(),
                   session)
        write_file(folder, mm.CONSTRAINTS_FILE,
                   json.dumps(self.constraints, indent=2).encode(), session)
        return folder

    @classmethod
    def load(cls, folder: str, session: Session | None = None) -> Baseline:
        """Read a baseline folder, ours or one written by SageMaker."""
        statistics, constraints = mm.read_baseline(
            lambda name: read_file(folder, name, session), folder)
        return cls(statistics, constraints)


def _sample(values: np.ndarray, size: int, seed: int) -> np.ndarray:
    import numpy as np

    if values.size <= size:
        return np.sort(values)
    return np.sort(np.random.default_rng(seed).choice(values, size=size, replace=False))


def _numeric_profile(name: str, column: pd.Series, kind: str, sample_size: int,
                     seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    values, _ = numeric_values(column)
    missing = int(np.count_nonzero(np.isnan(values)))
    finite = values[np.isfinite(values)]
    infinite = int(values.size - missing - finite.size)
    present = int(values.size - missing)
    summary = None
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        edges = np.linspace(low, high, _HIST_BUCKETS + 1) if high > low else \
            np.array([low, high])
        counts = np.histogram(finite, bins=edges)[0] if high > low else \
            np.array([finite.size])
        summary = mm.NumericSummary(
            mean=float(finite.mean()), total=float(finite.sum()),
            std_dev=float(finite.std()), minimum=low, maximum=high,
            buckets=[(float(edges[i]), float(edges[i + 1]), float(counts[i]))
                     for i in range(len(counts))],
            sample=_sample(finite, sample_size, seed).tolist(), k=int(sample_size))
    feature = mm.numeric_feature(name, kind, present=present, missing=missing,
                                 infinite=infinite, summary=summary)
    constraint = mm.numeric_constraint(
        name, kind, completeness=present / values.size if values.size else 0.0,
        non_negative=bool(finite.size and finite.min() >= 0))
    return feature, constraint


def _string_profile(name: str, column: pd.Series) -> tuple[dict[str, Any], dict[str, Any]]:
    present = column.dropna().astype(str)
    counts = present.value_counts()
    top = counts.iloc[:_MAX_CATEGORIES]
    feature = mm.string_feature(name, present=int(present.size),
                                missing=int(column.size - present.size),
                                buckets=[(str(value), float(count))
                                         for value, count in top.items()],
                                distinct=float(counts.size))
    constraint = mm.string_constraint(
        name, completeness=present.size / column.size if column.size else 0.0,
        domains=[str(v) for v in top.index])
    return feature, constraint


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
    frame = read_frame(data, session)
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ValidationError("data: a baseline needs at least one row and one column",
                              field="data")
    features, constraints = [], []
    for index, name in enumerate(frame.columns):
        column = frame[name]
        kind = infer_type(column)
        if kind == "String":
            feature, constraint = _string_profile(str(name), column)
        elif kind == "Unknown":
            feature = mm.unknown_feature(str(name), int(column.size))
            constraint = mm.unknown_constraint(str(name))
        else:
            feature, constraint = _numeric_profile(str(name), column, kind, sample_size,
                                                   seed + index)
        features.append(feature)
        constraints.append(constraint)
    result = Baseline(mm.statistics_document(len(frame), features),
                      mm.constraints_document(constraints))
    if output_uri is not None:
        result.save(output_uri, session=session)
    return result
