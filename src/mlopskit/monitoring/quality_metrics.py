"""Model quality metrics, in the shape of Model Monitor's model quality ``statistics.json``
(:func:`mlopskit.sagemaker_api.model_monitor.model_quality_statistics`).

Example:
    >>> m = model_quality_metrics([2.0, 4.0], [2.5, 3.5], problem_type="Regression")
    >>> m["regression_metrics"]["mae"]
    {'value': 0.5}
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..sagemaker_api import model_monitor as mm

if TYPE_CHECKING:
    import numpy as np

__all__ = ["model_quality_metrics"]


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
    if n:  # the binomial standard error, for proportions
        return mm.metric(value, math.sqrt(max(value * (1 - value), 0.0) / n))
    return mm.metric(value)


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
    now = _dt.datetime.now(_dt.timezone.utc)
    if problem_type == "Regression":
        if truth.dtype.kind not in "fi" or predicted.dtype.kind not in "fi":
            raise ValidationError("y_true/y_pred: regression needs numbers", field="y_true")
        error = predicted - truth
        mse = float(np.mean(error ** 2))
        spread = float(np.sum((truth - truth.mean()) ** 2))
        r2 = 1 - float(np.sum(error ** 2)) / spread if spread > 0 else float("nan")
        return mm.model_quality_statistics(problem_type, {
            "mae": _metric(float(np.mean(np.abs(error)))), "mse": _metric(mse),
            "rmse": _metric(math.sqrt(mse)), "r2": _metric(r2)}, item_count=n,
            evaluation_time=now)
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
        return mm.model_quality_statistics(problem_type, {
            "accuracy": _metric(accuracy, n), "weighted_f1": _metric(weighted)},
            item_count=n, evaluation_time=now)
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
    return mm.model_quality_statistics(problem_type, metrics, item_count=n,
                                       evaluation_time=now)
