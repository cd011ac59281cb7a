"""The hyperparameter tuning job spec: ranges, objective, strategy and limits.

SageMaker's rules for ``CreateHyperParameterTuningJob`` live here once, so a bad tuner is
refused before anything is uploaded, on every backend. Where the limits come from:

- botocore's service model of ``CreateHyperParameterTuningJob`` (the API reference): a
  tuning job name of 1 to 32 characters, ``MaxRuntimeInSeconds`` 120..15768000, at most 30
  ranges of each kind, 1 to 30 values per categorical range, 1 to 5 warm start parents,
  ``MaxNumberOfTrainingJobsNotImproving`` at least 3, ``RandomSeed`` at least 0 (an int32),
  Hyperband's ``MinResource``/``MaxResource`` at least 1, at most 48 environment variables
  in a training job definition;
- the SageMaker developer guide ("Resource Limits for Automatic Model Tuning", ranges,
  strategies): at most 30 searched hyperparameters in all, at most 20 metric definitions,
  at most 750 training jobs per tuning job (10,000 for Random search, whose quota can be
  raised that far), at most 100 concurrent training jobs (the default quota is 10), a
  tuning job runs at most 30 days, ``Logarithmic`` scaling only for ranges of values above
  0, ``ReverseLogarithmic`` only for continuous ranges within ``0 <= x < 1``, Grid search
  over categorical ranges only, with the job count inferred from the grid (at most 750
  combinations; a ``max_jobs`` given must be that count), and Hyperband stopping jobs itself
  (early stopping must be ``Off``; ``MaxResource`` at most 20,000).

mlopskit's own decisions:

- A tuned name may be absent from the estimator's hyperparameters (that is the usual case:
  SageMaker has no notion of an "unknown" hyperparameter, the script receives it). A tuned
  name that is *also* a static hyperparameter is refused: the SDK silently drops the static
  value, which hides a mistake; say which one you mean.
- The objective metric must be one of the estimator's metric definitions: a script-mode
  image has no built-in metrics, so SageMaker could never read the objective.
- ``max_jobs`` is required for every strategy but Grid.
- Hyperband needs ``hyperband`` (min and max resource) given: SageMaker can infer
  ``MaxResource`` from an ``epochs``-like static hyperparameter, but a guess is not a spec.
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from ._common import Spec, Tags, check_name
from .training import TrainingJobSpec

__all__ = [
    "CategoricalRange",
    "CompletionCriteria",
    "ContinuousRange",
    "HyperbandConfig",
    "IntegerRange",
    "ParameterRange",
    "SCALING_TYPES",
    "STRATEGIES",
    "TuningJobSpec",
    "TuningObjective",
    "WarmStartSpec",
]

SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
STRATEGIES = ("Bayesian", "Random", "Grid", "Hyperband")
MAX_RANGES = 30
MAX_CATEGORICAL_VALUES = 30
MAX_TRAINING_JOBS = 750
MAX_RANDOM_TRAINING_JOBS = 10_000  # Random search's quota can be raised to 10,000
MAX_PARALLEL_JOBS = 100
MAX_TUNING_RUNTIME = 30 * 24 * 3600  # the quota; the API itself takes up to 15,768,000
MAX_TUNING_METRICS = 20
MAX_HYPERBAND_RESOURCE = 20_000
MIN_TUNING_RUNTIME = 120
MAX_RANDOM_SEED = 2**31 - 1
MAX_WARM_START_PARENTS = 5
MAX_DEFINITION_ENVIRONMENT = 48

ScalingType = Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"]


def _no_bool(value: Any) -> Any:
    """Refuse ``True``/``False`` where a number is meant (pydantic would take them as 1/0)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a boolean; allowed: a number")
    return value


# A tuning job's name: 1 to 32 letters, digits and hyphens (SageMaker's limit).
TuningJobName = Annotated[str, AfterValidator(
    functools.partial(check_name, kind="tuning job name", max_length=32))]


def _check_scaling(kind: str, scaling: str, low: float, high: float) -> None:
    if scaling == "Logarithmic" and low <= 0:
        raise ValueError(f"Logarithmic scaling needs min_value > 0 (got {low!r}); use "
                         "Auto or Linear for ranges that reach 0 or below")
    if scaling == "ReverseLogarithmic":
        if kind == "integer":
            raise ValueError("ReverseLogarithmic scaling is for continuous ranges only; "
                             "use one of 'Auto', 'Linear', 'Logarithmic' for integers")
        if low < 0 or high >= 1:
            raise ValueError(f"ReverseLogarithmic scaling needs 0 <= min_value and "
                             f"max_value < 1 (got {low!r}..{high!r})")


class _NumericRange(Spec):
    """What continuous and integer ranges share: ordered bounds and a scaling they allow."""

    @field_validator("max_value", check_fields=False)
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_value")
        if low is not None and value < low:
            raise ValueError(f"must be >= min_value ({low!r})")
        return value

    @field_validator("scaling_type", check_fields=False)
    @classmethod
    def _scaling(cls, value: str, info: ValidationInfo) -> str:
        if "min_value" in info.data and "max_value" in info.data:
            _check_scaling(info.data.get("kind", "continuous"), value,
                           info.data["min_value"], info.data["max_value"])
        return value


class ContinuousRange(_NumericRange):
    """A range of real values searched for one hyperparameter.

    Example:
        >>> from mlopskit.specs import build
        >>> build(ContinuousRange, min_value=0.001, max_value=0.1,
        ...       scaling_type="Logarithmic").scaling_type
        'Logarithmic'
    """

    kind: Literal["continuous"] = "continuous"
    min_value: float
    max_value: float
    scaling_type: ScalingType = "Auto"

    _numbers = field_validator("min_value", "max_value", mode="before")(_no_bool)

    @field_validator("min_value", "max_value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class IntegerRange(_NumericRange):
    """A range of whole values searched for one hyperparameter.

    Example:
        >>> from mlopskit.specs import build
        >>> build(IntegerRange, min_value=10, max_value=200).max_value
        200
    """

    kind: Literal["integer"] = "integer"
    min_value: int
    max_value: int
    scaling_type: ScalingType = "Auto"

    _numbers = field_validator("min_value", "max_value", mode="before")(_no_bool)


CategoricalValue = str | bool | int | float


class CategoricalRange(Spec):
    """A list of values searched for one hyperparameter (1 to 30, no duplicates).

    Example:
        >>> from mlopskit.specs import build
        >>> build(CategoricalRange, values=["gini", "entropy"]).values
        ('gini', 'entropy')
    """

    kind: Literal["categorical"] = "categorical"
    values: tuple[CategoricalValue, ...]

    @field_validator("values")
    @classmethod
    def _values(cls, values: tuple[CategoricalValue, ...]) -> tuple[CategoricalValue, ...]:
        if not 1 <= len(values) <= MAX_CATEGORICAL_VALUES:
            raise ValueError(f"{len(values)} values given; allowed: 1 to "
                             f"{MAX_CATEGORICAL_VALUES}")
        seen: list[tuple[type, CategoricalValue]] = []
        for value in values:
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{value!r} is not allowed; values must be strings, "
                                 "booleans or finite numbers")
            key = (type(value), value)
            if key in seen:
                raise ValueError(f"{value!r} is given twice; each value must be unique")
            seen.append(key)
        return values


ParameterRange = Annotated[ContinuousRange | IntegerRange | CategoricalRange,
                           Field(discriminator="kind")]


class TuningObjective(Spec):
    """The metric a tuning job optimises, and in which direction.

    Example:
        >>> from mlopskit.specs import build
        >>> build(TuningObjective, metric_name="validation:auc", type="Maximize").type
        'Maximize'
    """

    metric_name: str = Field(min_length=1, max_length=255)
    type: Literal["Maximize", "Minimize"] = "Maximize"


class HyperbandConfig(Spec):
    """Hyperband's resource bounds (in the unit the script reports, such as epochs).

    Example:
        >>> from mlopskit.specs import build
        >>> build(HyperbandConfig, min_resource=1, max_resource=27).max_resource
        27
    """

    min_resource: int = Field(ge=1, le=MAX_HYPERBAND_RESOURCE)
    max_resource: int = Field(ge=1, le=MAX_HYPERBAND_RESOURCE)

    @field_validator("max_resource")
    @classmethod
    def _ordered(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("min_resource")
        if low is not None and value < low:
            raise ValueError(f"must be >= min_resource ({low!r})")
        return value


class WarmStartSpec(Spec):
    """Earlier tuning jobs (1 to 5) whose results seed a new one.

    Example:
        >>> from mlopskit.specs import build
        >>> build(WarmStartSpec, parents=("tune-1",), type="TransferLearning").parents
        ('tune-1',)
    """

    parents: tuple[TuningJobName, ...]
    type: Literal["IdenticalDataAndAlgorithm", "TransferLearning"] = \
        "IdenticalDataAndAlgorithm"

    @field_validator("parents")
    @classmethod
    def _count(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not 1 <= len(value) <= MAX_WARM_START_PARENTS:
            raise ValueError(f"{len(value)} parent tuning jobs given; allowed: 1 to "
                             f"{MAX_WARM_START_PARENTS}")
        if len(set(value)) != len(value):
            raise ValueError("a parent tuning job is named twice")
        return value


class CompletionCriteria(Spec):
    """When a tuning job may stop before ``max_jobs``: SageMaker's
    ``TuningJobCompletionCriteria`` (a target objective value, a number of jobs without
    improvement (at least 3), or automatic convergence detection).

    Example:
        >>> from mlopskit.specs import build
        >>> build(CompletionCriteria, max_jobs_not_improving=5).max_jobs_not_improving
        5
    """

    target_objective_value: float | None = None
    max_jobs_not_improving: int | None = Field(default=None, ge=3)
    complete_on_convergence: bool | None = None

    @field_validator("target_objective_value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class TuningJobSpec(Spec):
    """Everything needed to start one hyperparameter tuning job.

    ``training`` is the template of every training job the tuner starts; ``ranges`` maps a
    hyperparameter name to the values searched for it. Fields are checked in order, each
    against those before it, so an error names the field that breaks a rule.

    Example:
        >>> from mlopskit.specs import build
        >>> training = build(TrainingJobSpec, name="t", entry_point="train.py",
        ...     source_uri="s3://bkt/src.tar.gz", instance_type="ml.m5.large",
        ...     output_path="s3://bkt/out",
        ...     metric_definitions=[{"name": "auc", "regex": "auc=([0-9.]+)"}])
        >>> spec = build(TuningJobSpec, name="tune-1", training=training,
        ...     ranges={"lr": {"kind": "continuous", "min_value": 0.01, "max_value": 0.1}},
        ...     objective={"metric_name": "auc"}, strategy="Random", max_jobs=4)
        >>> spec.ranges["lr"].max_value, spec.max_parallel_jobs
        (0.1, 1)
    """

    name: TuningJobName
    training: TrainingJobSpec
    ranges: dict[str, ParameterRange]
    objective: TuningObjective
    strategy: Literal["Bayesian", "Random", "Grid", "Hyperband"] = "Bayesian"
    max_jobs: int | None = None
    max_parallel_jobs: int = 1
    early_stopping_type: Literal["Off", "Auto"] = "Off"
    random_seed: int | None = Field(default=None, ge=0, le=MAX_RANDOM_SEED)
    hyperband: HyperbandConfig | None = None
    warm_start: WarmStartSpec | None = None
    max_runtime: int | None = Field(default=None, ge=MIN_TUNING_RUNTIME,
                                    le=MAX_TUNING_RUNTIME)
    completion_criteria: CompletionCriteria | None = None
    tags: Tags = Field(default_factory=dict)

    # True is not a count or a seed (pydantic would take it as 1).
    _counts = field_validator("max_jobs", "max_parallel_jobs", "random_seed", "max_runtime",
                              mode="before")(_no_bool)

    @field_validator("training")
    @classmethod
    def _definition_environment(cls, value: TrainingJobSpec) -> TrainingJobSpec:
        if len(value.metric_definitions) > MAX_TUNING_METRICS:
            raise ValueError(f"{len(value.metric_definitions)} metric definitions; a tuning "
                             f"job allows at most {MAX_TUNING_METRICS}")
        if len(value.environment) > MAX_DEFINITION_ENVIRONMENT:
            raise ValueError(f"environment has {len(value.environment)} variables; a tuning "
                             f"job's training definition allows at most "
                             f"{MAX_DEFINITION_ENVIRONMENT}")
        return value

    @field_validator("ranges")
    @classmethod
    def _ranges(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if not value:
            raise ValueError("no hyperparameter ranges given; allowed: 1 to "
                             f"{MAX_RANGES} ranges (continuous, integer or categorical)")
        if len(value) > MAX_RANGES:
            raise ValueError(f"{len(value)} ranges given; allowed: at most {MAX_RANGES} "
                             "searched hyperparameters in all")
        training = info.data.get("training")
        static = set(training.hyperparameters) if training is not None else set()
        for key in value:
            if not 1 <= len(key) <= 256:
                raise ValueError(f"hyperparameter name {key!r} must be 1 to 256 characters")
            if key.startswith("sagemaker_"):
                raise ValueError(f"{key!r}: the 'sagemaker_' prefix is reserved for the "
                                 "framework's own hyperparameters")
            if key in static:
                raise ValueError(
                    f"{key!r} is both tuned and a static hyperparameter of the estimator; "
                    "allowed: a name in either the ranges or the estimator's "
                    "hyperparameters, not both (remove one)")
        return value

    @field_validator("objective")
    @classmethod
    def _objective(cls, value: TuningObjective, info: ValidationInfo) -> TuningObjective:
        training = info.data.get("training")
        if training is None:
            return value
        names = [m.name for m in training.metric_definitions]
        if value.metric_name not in names:
            allowed = names or "none defined: add metric_definitions with a regex"
            raise ValueError(f"metric {value.metric_name!r} is not one of the estimator's "
                             f"metric definitions; allowed: {allowed}")
        return value

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str, info: ValidationInfo) -> str:
        ranges = info.data.get("ranges") or {}
        if value == "Grid":
            numeric = sorted(k for k, r in ranges.items() if r.kind != "categorical")
            if numeric:
                raise ValueError(f"Grid search takes categorical ranges only; {numeric} "
                                 "are continuous or integer; allowed: strategy 'Bayesian', "
                                 "'Random' or 'Hyperband', or categorical ranges")
        return value

    @field_validator("max_jobs")
    @classmethod
    def _max_jobs(cls, value: int | None, info: ValidationInfo) -> int | None:
        if "strategy" not in info.data:  # the strategy was refused: that error says it all
            return value
        strategy = info.data["strategy"]
        if strategy == "Grid":
            ranges = info.data.get("ranges") or {}
            combinations = math.prod(len(r.values) for r in ranges.values()
                                     if r.kind == "categorical")
            if combinations > MAX_TRAINING_JOBS:
                raise ValueError(f"the grid has {combinations} combinations of values; "
                                 f"allowed: at most {MAX_TRAINING_JOBS}")
            if value is not None and value != combinations:
                raise ValueError(f"Grid search runs every combination of the categorical "
                                 f"values; allowed: None (inferred) or {combinations}")
            return value
        most = MAX_RANDOM_TRAINING_JOBS if strategy == "Random" else MAX_TRAINING_JOBS
        if value is None:
            raise ValueError(f"required for strategy {strategy!r}; allowed: 1 to {most}")
        if not 1 <= value <= most:
            raise ValueError(f"{value} training jobs; allowed for strategy {strategy!r}: "
                             f"1 to {most}")
        return value

    @field_validator("max_parallel_jobs")
    @classmethod
    def _max_parallel(cls, value: int, info: ValidationInfo) -> int:
        if not 1 <= value <= MAX_PARALLEL_JOBS:
            raise ValueError(f"{value} parallel jobs; allowed: 1 to {MAX_PARALLEL_JOBS}")
        most = info.data.get("max_jobs")
        if most is not None and value > most:
            raise ValueError(f"{value} parallel jobs but max_jobs is {most}; allowed: "
                             f"1 to {most}")
        return value

    @field_validator("early_stopping_type")
    @classmethod
    def _early_stopping(cls, value: str, info: ValidationInfo) -> str:
        if value == "Auto" and info.data.get("strategy") == "Hyperband":
            raise ValueError("Hyperband stops training jobs itself; allowed with Hyperband: "
                             "'Off'")
        return value

    @field_validator("hyperband")
    @classmethod
    def _hyperband(cls, value: HyperbandConfig | None,
                   info: ValidationInfo) -> HyperbandConfig | None:
        strategy = info.data.get("strategy")
        if strategy == "Hyperband" and value is None:
            raise ValueError("required for strategy 'Hyperband': give min_resource and "
                             "max_resource in strategy_config (allowed: whole numbers >= 1)")
        if strategy is not None and strategy != "Hyperband" and value is not None:
            raise ValueError(f"strategy_config is only for strategy 'Hyperband' (strategy "
                             f"is {strategy!r}); allowed: None")
        return value
