"""Early stopping of trials from their intermediate objective values.

:class:`MedianStoppingRule` is what SageMaker's ``TrainingJobEarlyStoppingType="Auto"``
describes: a trial whose best objective so far at step ``k`` is worse than the median of
the running averages of the completed trials' objectives up to step ``k`` is stopped.
Intermediate values are ``{trial_id: [(step, value), ...]}``, as
:func:`mlopskit.tuning_search.running_values` reads them from a trial's log.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from mlopskit.errors import ValidationError

from .strategies import ObjectiveType

__all__ = ["IntermediateValues", "MedianStoppingRule"]

IntermediateValues = Mapping[str, Sequence[tuple[int, float]]]


@dataclass(frozen=True)
class MedianStoppingRule:
    """The median stopping rule, as a pure function of intermediate values.

    For a running trial whose latest step is ``k``: its best value up to ``k`` (the highest
    when maximizing, the lowest when minimizing) is compared with the median, over the
    completed trials that reported at or before ``k``, of each one's running average (the
    mean of its values at steps ``<= k``). Strictly worse: stop. Nothing is stopped until
    ``min_completed`` completed trials can be compared (SageMaker publishes no number; 3 is
    our default) or before the trial has reported ``min_steps`` values.

    Example:
        >>> rule = MedianStoppingRule("Maximize", min_completed=2)
        >>> values = {"a": [(1, 0.6), (2, 0.8)], "b": [(1, 0.5), (2, 0.7)],
        ...           "c": [(1, 0.2), (2, 0.3)], "d": [(1, 0.9)]}
        >>> sorted(rule.decide(values, completed={"a", "b"}))
        ['c']
    """

    objective_type: ObjectiveType = "Maximize"
    min_completed: int = 3
    min_steps: int = 1

    def __post_init__(self) -> None:
        if self.objective_type not in ("Maximize", "Minimize"):
            raise ValidationError(
                f"objective_type must be 'Maximize' or 'Minimize', got {self.objective_type!r}",
                field="objective_type")
        if self.min_completed < 1 or self.min_steps < 1:
            raise ValidationError("min_completed and min_steps must be at least 1")

    def threshold(self, step: int, completed: Sequence[Sequence[tuple[int, float]]]
                  ) -> float | None:
        """The median of the completed trials' running averages at ``step``, or None when
        fewer than ``min_completed`` of them reported by then.

        Example:
            >>> MedianStoppingRule(min_completed=1).threshold(2, [[(1, 1.0), (2, 3.0), (3, 9.0)]])
            2.0
        """
        averages = []
        for values in completed:
            upto = [value for at, value in values if at <= step]
            if upto:
                averages.append(sum(upto) / len(upto))
        if len(averages) < self.min_completed:
            return None
        return float(statistics.median(averages))

    def should_stop(self, values: Sequence[tuple[int, float]],
                    completed: Sequence[Sequence[tuple[int, float]]]) -> bool:
        """Whether a running trial with these intermediate values should stop now.

        Example:
            >>> rule = MedianStoppingRule("Minimize", min_completed=1)
            >>> rule.should_stop([(1, 0.9), (2, 0.7)], [[(1, 0.5), (2, 0.4)]])
            True
            >>> rule.should_stop([(1, 0.9), (2, 0.3)], [[(1, 0.5), (2, 0.4)]])
            False
        """
        if len(values) < self.min_steps:
            return False
        step = max(at for at, _ in values)
        median = self.threshold(step, completed)
        if median is None:
            return False
        seen = [value for _, value in values]
        if self.objective_type == "Maximize":
            return max(seen) < median
        return min(seen) > median

    def decide(self, intermediate: IntermediateValues, completed: Collection[str]
               ) -> frozenset[str]:
        """The trials (of those in ``intermediate`` not in ``completed``) to stop now."""
        finished = [intermediate[name] for name in sorted(completed) if name in intermediate]
        return frozenset(name for name, values in intermediate.items()
                         if name not in completed and self.should_stop(values, finished))
