"""Model quality: predictions merged with ground truth by inference id, scored, checked.

Ground truth is written in SageMaker's record format, one JSON line per label, under
``<ground_truth_uri>/<yyyy>/<mm>/<dd>/<hh>/<name>.jsonl``::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<the inference id>"}, "eventVersion": "0"}

(:mod:`mlopskit.sagemaker_api.model_monitor` holds that format and the reports' shapes.)

Example:
    >>> check_quality_thresholds({"accuracy": 0.8}, "BinaryClassification")
    {'accuracy': 0.8}
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError, ValidationError
from ..sagemaker_api import model_monitor as mm

if TYPE_CHECKING:
    import pandas as pd

    from ..session import Session

__all__ = ["QualityReport", "check_problem_type", "check_quality_thresholds",
           "evaluate_quality", "labelled_predictions", "put_ground_truth"]

PROBLEM_TYPES = ("BinaryClassification", "MulticlassClassification", "Regression")
# Metrics where bigger is better: a threshold is the lowest acceptable value.
_HIGHER = {"accuracy", "precision", "recall", "f1", "auc", "r2", "weighted_f1"}
# Metrics where smaller is better: a threshold is the highest acceptable value.
_LOWER = {"rmse", "mae", "mse"}
_METRICS = {
    "BinaryClassification": ("accuracy", "precision", "recall", "f1", "auc"),
    "MulticlassClassification": ("accuracy", "weighted_f1"),
    "Regression": ("rmse", "mae", "mse", "r2"),
}


def check_problem_type(problem_type: str) -> str:
    if problem_type not in PROBLEM_TYPES:
        raise ValidationError(f"problem_type: {problem_type!r} is not one of "
                              f"{', '.join(PROBLEM_TYPES)}", field="problem_type")
    return problem_type


def check_quality_thresholds(thresholds: Mapping[str, float], problem_type: str
                             ) -> dict[str, float]:
    """``thresholds`` checked: known metric names for the problem type, finite numbers."""
    if not isinstance(thresholds, Mapping):
        raise ValidationError("thresholds: a mapping of metric name to value",
                              field="thresholds")
    allowed = _METRICS[problem_type]
    checked: dict[str, float] = {}
    for metric, value in thresholds.items():
        if metric not in allowed:
            raise ValidationError(f"thresholds.{metric}: not a {problem_type} metric; allowed: "
                                  f"{', '.join(allowed)}", field=f"thresholds.{metric}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value):
            raise ValidationError(f"thresholds.{metric}: a finite number, got {value!r}",
                                  field=f"thresholds.{metric}")
        checked[metric] = float(value)
    return checked


def put_ground_truth(labels: Mapping[str, Any], ground_truth_uri: str, *,
                     session: Session | None = None, at: _dt.datetime | None = None) -> str:
    """Write ``labels`` (inference id -> true label) as one SageMaker ground-truth file in
    the hour folder of ``at`` (default: the session clock's now); returns its URI.

    Use the inference ids the predictions were made with; a
    :class:`~mlopskit.monitoring.ModelQualityMonitor` joins labels to captures on them.

    Example:
        >>> import datetime as dt, json, tempfile, mlopskit
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> at = dt.datetime(2026, 3, 1, 11, 30, tzinfo=dt.timezone.utc)
        >>> uri = put_ground_truth({"order-1017": 1, "order-1018": 0},
        ...                        "s3://mlopskit-local/ground-truth/churn", at=at, session=session)
        >>> uri
        's3://mlopskit-local/ground-truth/churn/2026/03/01/11/30-00-....jsonl'
        >>> [json.loads(line)["eventMetadata"]["eventId"]
        ...  for line in session.backend.objects.get_bytes(uri).splitlines()]
        ['order-1017', 'order-1018']
    """
    from .._data import checked_uri
    from ..session import resolve_session

    resolved = resolve_session(session)
    checked_uri(ground_truth_uri, "ground_truth_uri")
    if not isinstance(labels, Mapping) or not labels:
        raise ValidationError("labels: a non-empty mapping of inference id to label",
                              field="labels")
    lines = []
    for inference_id, label in labels.items():
        if not isinstance(inference_id, str) or not inference_id:
            raise ValidationError(f"labels: key {inference_id!r} is not an inference id",
                                  field="labels")
        if isinstance(label, bool) or not isinstance(label, (int, float, str)):
            raise ValidationError(f"labels.{inference_id}: a number or a string, got "
                                  f"{type(label).__name__}", field=f"labels.{inference_id}")
        lines.append(mm.ground_truth_line(inference_id, str(label)))
    moment = (at or resolved.clock.now()).astimezone(_dt.timezone.utc)
    uri = mm.ground_truth_key(ground_truth_uri, moment, os.urandom(8).hex())
    resolved.backend.objects.put_bytes(("\n".join(lines) + "\n").encode(), uri)
    return uri


def _read_ground_truth(ground_truth_uri: str, session: Session,
                       since: _dt.datetime | None) -> dict[str, str]:
    """inference id -> label text; labels written in hour folders before ``since`` are
    skipped (labels arrive after the predictions they label)."""
    objects = session.backend.objects
    labels: dict[str, str] = {}
    floor = since.strftime("%Y/%m/%d/%H") if since else None
    prefix = ground_truth_uri.rstrip("/") + "/"
    for uri in sorted(objects.list(prefix)):
        if not uri.endswith(".jsonl"):
            continue
        hour = "/".join(uri[len(prefix):].split("/")[:4])
        if floor is not None and hour < floor:
            continue
        for line in objects.get_bytes(uri).decode().splitlines():
            if not line.strip():
                continue
            parsed = mm.parse_ground_truth_line(line)
            if parsed is not None:  # a malformed line is skipped, as SageMaker's merge job does
                labels[parsed[0]] = parsed[1]
    return labels


def labelled_predictions(records: Sequence[Any], ground_truth_uri: str, *,
                         start: _dt.datetime | None, session: Session,
                         empty_message: str) -> pd.DataFrame:
    """Captured predictions with their true labels: columns ``inference_id``,
    ``prediction``, ``label``. Records without an inference id, or without a label yet,
    are left out."""
    import pandas as pd

    labels = _read_ground_truth(ground_truth_uri, session, start)
    rows = []
    for record in records:
        inference_id = getattr(record, "inference_id", None)
        output = getattr(record, "output", None)
        if not inference_id or inference_id not in labels or output is None:
            continue
        data = output.data.decode() if isinstance(output.data, bytes) else str(output.data)
        first = data.strip().splitlines()[0] if data.strip() else ""
        try:
            prediction: Any = json.loads(first)
            if isinstance(prediction, list):
                prediction = prediction[0]
            if isinstance(prediction, dict):  # {"predictions": [...]} and the like
                prediction = next(iter(prediction.values()))
                prediction = prediction[0] if isinstance(prediction, list) else prediction
        except ValueError:
            prediction = first.split(",")[0]
        rows.append({"inference_id": inference_id, "prediction": prediction,
                     "label": labels[inference_id]})
    if not rows:
        raise NotFoundError(empty_message)
    frame: pd.DataFrame = pd.DataFrame(rows)
    return frame


@dataclasses.dataclass(frozen=True)
class QualityReport:
    """Metrics of one window of labelled predictions, and the thresholds they broke.

    ``ModelQualityMonitor.run()`` puts one on ``run.report``; ``save()`` writes SageMaker's
    ``statistics.json`` and ``constraint_violations.json`` plus ``report.html``.

    Example:
        >>> import pandas as pd
        >>> scored = pd.DataFrame({"label": [2.0, 3.5, 5.0], "prediction": [2.5, 3.5, 4.0]})
        >>> report = evaluate_quality(scored, problem_type="Regression", thresholds={"rmse": 0.5})
        >>> report.rows, report.metrics["mae"], [v["metric_name"] for v in report.violations]
        (3, 0.5, ['rmse'])
    """

    problem_type: str
    rows: int
    metrics: dict[str, float]
    thresholds: dict[str, float]
    violations: tuple[dict[str, Any], ...]
    sagemaker_metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, folder: str, session: Session | None = None) -> None:
        """``statistics.json`` (SageMaker's model quality metrics shape),
        ``constraint_violations.json`` and ``report.html`` under ``folder``."""
        from ..session import resolve_session

        objects = resolve_session(session).backend.objects
        objects.put_bytes(json.dumps(self.sagemaker_metrics, indent=2).encode(),
                          f"{folder}/{mm.STATISTICS_FILE}")
        objects.put_bytes(json.dumps(mm.violations_document(self.violations),
                                     indent=2).encode(), f"{folder}/{mm.VIOLATIONS_FILE}")
        objects.put_bytes(self.to_html().encode(), f"{folder}/report.html")

    def to_html(self) -> str:
        rows = []
        for metric, value in sorted(self.metrics.items()):
            limit = self.thresholds.get(metric)
            bad = limit is not None and _breaks(metric, value, limit)
            style = " style='background:#ffebe9'" if bad else ""
            shown = "" if limit is None else f"{'>=' if metric in _HIGHER else '<='} {limit:g}"
            rows.append(f"<tr{style}><td>{html.escape(metric)}</td><td>{value:.6g}</td>"
                        f"<td>{html.escape(shown)}</td><td>{'yes' if bad else 'no'}</td></tr>")
        return ("<!doctype html><html><head><meta charset='utf-8'><title>Model quality"
                "</title><style>body{font-family:sans-serif}td,th{padding:4px 10px;"
                "border-bottom:1px solid #ddd}</style></head><body>"
                f"<h2>Model quality ({html.escape(self.problem_type)}, {self.rows} labelled "
                "predictions)</h2><table><tr><th>metric</th><th>value</th><th>required</th>"
                f"<th>violated</th></tr>{''.join(rows)}</table></body></html>")

    def _repr_html_(self) -> str:
        return self.to_html()


def _breaks(metric: str, value: float, limit: float) -> bool:
    if math.isnan(value):
        return True
    return value < limit if metric in _HIGHER else value > limit


def evaluate_quality(data: pd.DataFrame, *, problem_type: str,
                     thresholds: Mapping[str, float],
                     probability_threshold: float | None = None) -> QualityReport:
    """Score ``data`` (columns ``label`` and ``prediction``) and check ``thresholds``."""
    import numpy as np
    import pandas as pd

    from .quality_metrics import model_quality_metrics

    if not isinstance(data, pd.DataFrame) or not {"label", "prediction"} <= set(data.columns):
        raise ValidationError("data: a DataFrame with 'label' and 'prediction' columns",
                              field="data")
    if len(data) == 0:
        raise NotFoundError("no data: no labelled predictions")
    probability = None
    if problem_type == "Regression":
        y_true = pd.to_numeric(data["label"], errors="coerce").to_numpy(dtype=float)
        y_pred = pd.to_numeric(data["prediction"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(y_true).any() or np.isnan(y_pred).any():
            raise ValidationError("data: regression labels and predictions must be numbers",
                                  field="data")
    elif probability_threshold is not None:
        probability = pd.to_numeric(data["prediction"], errors="coerce").to_numpy(dtype=float)
        if np.isnan(probability).any():
            raise ValidationError("data: with probability_threshold, predictions must be "
                                  "probabilities", field="data")
        y_pred = (probability >= probability_threshold).astype(int)
        y_true = pd.to_numeric(data["label"], errors="coerce").to_numpy(dtype=float)
    else:
        y_true = data["label"].astype(str).to_numpy()
        y_pred = data["prediction"].astype(str).to_numpy()
    shaped = model_quality_metrics(y_true, y_pred, problem_type=problem_type,
                                   probability=probability)
    section = next(value for key, value in shaped.items() if key.endswith("_metrics"))
    metrics = {name: float(entry["value"]) for name, entry in section.items()
               if isinstance(entry, Mapping) and "value" in entry}
    violations = []
    for metric, limit in thresholds.items():
        value = metrics.get(metric, float("nan"))
        if _breaks(metric, value, limit):
            violations.append(mm.model_quality_violation(metric, value, limit,
                                                         higher_is_better=metric in _HIGHER))
    return QualityReport(problem_type=problem_type, rows=len(data), metrics=metrics,
                         thresholds=dict(thresholds), violations=tuple(violations),
                         sagemaker_metrics=shaped)
