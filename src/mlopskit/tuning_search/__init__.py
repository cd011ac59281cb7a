"""A backend-neutral search engine for hyperparameter tuning (SageMaker's automatic model
tuning, emulated): ranges, strategies (random, grid, Bayesian, Hyperband), early stopping
and metric parsing.

Standard library and numpy only; :class:`BayesianSearch` imports optuna when built
(``pip install 'mlopskit[tuning]'``). Nothing here knows a backend or runs a job: a tuner
calls ``suggest``, runs the trials, and calls ``observe``.

Example:
    >>> from mlopskit.tuning_search import GridSearch, CategoricalRange
    >>> GridSearch([CategoricalRange("kernel", ("rbf", "linear"))]).suggest(5)
    [{'kernel': 'rbf'}, {'kernel': 'linear'}]
"""

from .bayesian import BayesianSearch
from .hyperband import (
    Bracket,
    HyperbandSearch,
    HyperbandTrial,
    Rung,
    hyperband_brackets,
    successive_halving,
)
from .loop import EarlyStopping, Trial, best_trial, run_search
from .metrics import parse_metric, running_values
from .ranges import (
    SCALINGS,
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParameterRange,
    ParamValue,
    Scaling,
    from_unit,
)
from .stopping import IntermediateValues, MedianStoppingRule
from .strategies import (
    GridSearch,
    ObjectiveType,
    Params,
    RandomSearch,
    Strategy,
    TrialStatus,
    params_key,
)

__all__ = [
    "EarlyStopping",
    "Trial",
    "best_trial",
    "run_search",
    "SCALINGS",
    "BayesianSearch",
    "Bracket",
    "CategoricalRange",
    "ContinuousRange",
    "GridSearch",
    "HyperbandSearch",
    "HyperbandTrial",
    "IntegerRange",
    "IntermediateValues",
    "MedianStoppingRule",
    "ObjectiveType",
    "ParamValue",
    "ParameterRange",
    "Params",
    "RandomSearch",
    "Rung",
    "Scaling",
    "Strategy",
    "TrialStatus",
    "from_unit",
    "hyperband_brackets",
    "params_key",
    "parse_metric",
    "running_values",
    "successive_halving",
]
