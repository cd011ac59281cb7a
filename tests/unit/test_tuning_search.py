"""The tuning search engine: ranges and scaling, the four strategies, early stopping and
metric parsing. Pure functions and fixed seeds; no jobs, no subprocesses."""

from __future__ import annotations

import ast
import math
import re
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

from mlopskit.errors import MissingDependencyError, ValidationError
from mlopskit.tuning_search import (
    BayesianSearch,
    CategoricalRange,
    ContinuousRange,
    GridSearch,
    HyperbandSearch,
    IntegerRange,
    MedianStoppingRule,
    RandomSearch,
    Strategy,
    from_unit,
    hyperband_brackets,
    parse_metric,
    running_values,
    successive_halving,
)

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "mlopskit" / "tuning_search"

MIXED = [
    ContinuousRange("lr", 1e-4, 1.0, "Logarithmic"),
    ContinuousRange("momentum", 0.0, 0.999, "ReverseLogarithmic"),
    IntegerRange("depth", 1, 10),
    CategoricalRange("booster", ("gbtree", "dart", "gblinear")),
]


def _run(strategy, objective, trials: int):
    """Drive a strategy one trial at a time; the list of objectives, in order."""
    found = []
    for i in range(trials):
        [params] = strategy.suggest(1)
        value = objective(params)
        strategy.observe(f"t{i}", params, value, "Completed")
        found.append(value)
    return found


def _bowl(params) -> float:
    return (params["x"] - 0.31) ** 2 + (params["y"] + 0.27) ** 2


BOWL = [ContinuousRange("x", -1.0, 1.0), ContinuousRange("y", -1.0, 1.0)]


# ---------------------------------------------------------------- import hygiene


def test_the_package_imports_only_the_standard_library_numpy_and_errors():
    """optuna only lazily (inside a function or for type checking); no backend, no public
    module; SageMaker's metric contract (standard library only) for reading log lines."""
    allowed = {"__future__", "collections", "dataclasses", "fractions", "functools",
               "itertools", "math", "re", "statistics", "typing", "numpy", "mlopskit.errors",
               "mlopskit.sagemaker_api.metrics"}
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: functions and TYPE_CHECKING are lazy
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module or ""]
            else:
                continue
            bad += [f"{path.name}: {n}" for n in names
                    if n not in allowed and n.split(".")[0] not in allowed]
    assert not bad, bad


def test_missing_optuna_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # makes `import optuna` fail
    with pytest.raises(MissingDependencyError, match=re.escape("pip install 'mlopskit[tuning]'")) \
            as info:
        BayesianSearch(BOWL, seed=0)
    assert info.value.extra == "tuning"


def test_every_strategy_is_a_strategy():
    strategies = [RandomSearch(MIXED, seed=0), GridSearch([IntegerRange("n", 1, 2)]),
                  BayesianSearch(MIXED, seed=0),
                  HyperbandSearch(MIXED, seed=0, min_resource=1, max_resource=9)]
    assert all(isinstance(s, Strategy) for s in strategies)


# ---------------------------------------------------------------- ranges


@pytest.mark.parametrize(("factory", "words"), [
    (lambda: ContinuousRange("a", 1.0, 0.0), "min_value <= max_value"),
    (lambda: ContinuousRange("a", 0.0, 1.0, "Logarithmic"), "min_value > 0"),
    (lambda: ContinuousRange("a", 0.0, 1.0, "ReverseLogarithmic"), "max_value < 1"),
    (lambda: ContinuousRange("a", 0.0, 1.0, "Exponential"), "scaling 'Exponential'"),
    (lambda: IntegerRange("a", 0, 5, "Logarithmic"), "min_value > 0"),
    (lambda: IntegerRange("a", 1, 5, "ReverseLogarithmic"), "continuous ranges only"),
    (lambda: IntegerRange("a", 1.5, 5), "integers"),
    (lambda: CategoricalRange("a", ()), "at least one value"),
    (lambda: CategoricalRange("a", ("1", 2)), "all strings"),
    (lambda: CategoricalRange("a", ("x", "x")), "repeat"),
    (lambda: RandomSearch([]), "at least one"),
    (lambda: RandomSearch([IntegerRange("a", 1, 2), IntegerRange("a", 1, 3)]), "more than once"),
])
def test_bad_ranges_are_refused_naming_the_range(factory, words):
    with pytest.raises(ValidationError, match=re.escape(words)) as info:
        factory()
    assert "a" in str(info.value)


def test_values_are_typed_as_sagemaker_passes_them():
    for params in RandomSearch(MIXED, seed=3).suggest(50) + BayesianSearch(MIXED, seed=3) \
            .suggest(5):
        assert type(params["lr"]) is float and 1e-4 <= params["lr"] <= 1.0
        assert type(params["momentum"]) is float and 0.0 <= params["momentum"] <= 0.999
        assert type(params["depth"]) is int and 1 <= params["depth"] <= 10
        assert params["booster"] in {"gbtree", "dart", "gblinear"}


def test_unit_interval_ends_map_to_range_ends():
    for item in MIXED[:3]:
        assert from_unit(item, 0.0) == pytest.approx(item.min_value)
        assert from_unit(item, 1.0) == pytest.approx(item.max_value)


def _samples(item, n=2000, seed=11):
    return [params[item.name] for params in RandomSearch([item], seed=seed).suggest(n)]


def test_logarithmic_spreads_evenly_across_decades():
    values = _samples(ContinuousRange("lr", 1e-4, 1.0, "Logarithmic"))
    assert 10 ** -2.15 < statistics.median(values) < 10 ** -1.85
    per_decade = np.histogram(np.log10(values), bins=[-4, -3, -2, -1, 0])[0]
    assert all(400 < count < 600 for count in per_decade), per_decade  # 500 expected each


def test_linear_and_auto_are_uniform():
    for scaling in ("Linear", "Auto"):
        values = _samples(ContinuousRange("x", 1e-4, 1.0, scaling))
        assert 0.45 < statistics.median(values) < 0.55
        assert sum(v < 0.01 for v in values) < 60  # ~1% of 2000, not the ~50% of a log scale


def test_reverse_logarithmic_spreads_log_of_one_minus_x():
    values = _samples(ContinuousRange("beta", 0.0, 0.999, "ReverseLogarithmic"))
    logs = np.log10(1.0 - np.array(values))  # uniform in [-3, 0]
    assert -1.65 < float(np.median(logs)) < -1.35
    assert 0.9 < statistics.median(values) < 0.98  # bunched towards 1


def test_integer_logarithmic_favours_small_values_and_covers_the_ends():
    values = _samples(IntegerRange("trees", 1, 1000, "Logarithmic"))
    # log-uniform on [0.5, 1000.5], rounded (as optuna's log=True integers): the median is
    # near sqrt(0.5 * 1000.5) ~ 22, and 1 takes ln(3) / ln(2001) ~ 14% of the draws.
    assert 15 < statistics.median(values) < 32
    assert 0.12 < values.count(1) / len(values) < 0.17
    assert min(values) == 1 and max(values) > 800
    linear = _samples(IntegerRange("trees", 1, 1000))
    assert 450 < statistics.median(linear) < 550


def test_integer_and_categorical_values_are_equally_likely():
    depths = _samples(IntegerRange("depth", 1, 4), n=4000)
    counts = [depths.count(d) for d in (1, 2, 3, 4)]
    assert all(900 < c < 1100 for c in counts), counts
    kinds = _samples(CategoricalRange("k", ("a", "b")), n=4000)
    assert 1900 < kinds.count("a") < 2100


# ---------------------------------------------------------------- random


def test_random_is_deterministic_per_seed_and_differs_across_seeds():
    assert RandomSearch(MIXED, seed=5).suggest(20) == RandomSearch(MIXED, seed=5).suggest(20)
    assert RandomSearch(MIXED, seed=5).suggest(20) != RandomSearch(MIXED, seed=6).suggest(20)
    one_by_one = RandomSearch(MIXED, seed=5)
    assert [one_by_one.suggest(1)[0] for _ in range(4)] == RandomSearch(MIXED, seed=5).suggest(4)


def test_suggest_refuses_a_negative_count():
    with pytest.raises(ValidationError, match="n >= 0"):
        RandomSearch(MIXED, seed=0).suggest(-1)
    assert RandomSearch(MIXED, seed=0).suggest(0) == []


# ---------------------------------------------------------------- grid


def test_grid_enumerates_every_combination_in_a_fixed_order():
    grid = GridSearch([CategoricalRange("opt", ("sgd", "adam")), IntegerRange("layers", 1, 3),
                       CategoricalRange("act", ("relu",))])
    assert grid.size == 6
    everything = grid.suggest(4) + grid.suggest(10)
    assert [(p["opt"], p["layers"], p["act"]) for p in everything] == [
        ("sgd", 1, "relu"), ("sgd", 2, "relu"), ("sgd", 3, "relu"),
        ("adam", 1, "relu"), ("adam", 2, "relu"), ("adam", 3, "relu")]
    assert grid.remaining == 0 and grid.suggest(1) == []
    again = GridSearch(grid.ranges).suggest(6)
    assert again == everything


def test_grid_refuses_continuous_ranges_naming_them():
    with pytest.raises(ValidationError, match="'alpha' is continuous") as info:
        GridSearch([CategoricalRange("opt", ("sgd",)), ContinuousRange("alpha", 0.1, 1.0)])
    assert info.value.field == "alpha"


def test_a_large_grid_is_enumerated_lazily():
    grid = GridSearch([IntegerRange("a", 1, 10_000), IntegerRange("b", 1, 10_000)])
    assert grid.size == 100_000_000
    assert grid.suggest(2) == [{"a": 1, "b": 1}, {"a": 1, "b": 2}]


# ---------------------------------------------------------------- Bayesian


def test_bayesian_is_deterministic_per_seed():
    runs = [_run(BayesianSearch(BOWL, seed=seed, objective_type="Minimize"), _bowl, 15)
            for seed in (4, 4, 5)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_bayesian_beats_random_on_a_smooth_bowl():
    """Over 30 trials, median over five fixed seeds (deterministic, so never flaky): the
    best objective found, and (the wider margin) the mean of the last 10 trials, where TPE
    exploits what it learnt and random search cannot."""
    best_b, best_r, late_b, late_r = [], [], [], []
    for seed in range(5):
        bayes = _run(BayesianSearch(BOWL, seed=seed, objective_type="Minimize"), _bowl, 30)
        rand = _run(RandomSearch(BOWL, seed=seed), _bowl, 30)
        best_b.append(min(bayes))
        best_r.append(min(rand))
        late_b.append(statistics.mean(bayes[-10:]))
        late_r.append(statistics.mean(rand[-10:]))
    assert statistics.median(best_b) < statistics.median(best_r)
    assert statistics.median(best_b) < 0.02
    assert statistics.median(late_b) < statistics.median(late_r) / 1.5


def test_bayesian_maximizes_when_asked():
    found = _run(BayesianSearch(BOWL, seed=1, objective_type="Maximize"),
                 lambda p: -_bowl(p), 30)
    assert max(found) > -0.02


def test_bayesian_honours_scaling_and_keeps_reverse_log_in_range():
    search = BayesianSearch(MIXED, seed=2)
    values = search.suggest(10)  # the startup trials are independent draws
    assert all(0.0 <= p["momentum"] <= 0.999 for p in values)
    distributions = search._distributions
    assert distributions["lr"].log and distributions["momentum"].log
    assert distributions["momentum"].low == pytest.approx(0.001)
    assert not distributions["depth"].log


def test_bayesian_learns_from_failures_and_foreign_trials():
    search = BayesianSearch(BOWL, seed=0, objective_type="Minimize")
    [params] = search.suggest(1)
    search.observe("failed", params, None, "Failed")
    search.observe("warm", {"x": 0.3, "y": -0.3}, 0.001, "Completed")  # never suggested
    search.observe("ignored", {"x": 0.9, "y": 0.9}, None, "Failed")
    assert search.best_params() == {"x": 0.3, "y": -0.3}
    with pytest.raises(ValidationError, match="lack y"):
        search.observe("bad", {"x": 0.1}, 1.0, "Completed")


def test_bayesian_refuses_an_unknown_objective_type():
    with pytest.raises(ValidationError, match="objective_type"):
        BayesianSearch(BOWL, objective_type="Biggest")  # type: ignore[arg-type]


# ---------------------------------------------------------------- Hyperband


def _table(brackets):
    return [[(rung.n, rung.resource) for rung in bracket.rungs] for bracket in brackets]


def test_hyperband_brackets_match_the_published_table():
    """R = 81, eta = 3: Table 1 of Li et al. (2018), computed by hand."""
    brackets = hyperband_brackets(1, 81, eta=3)
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0]
    assert _table(brackets) == [
        [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
        [(34, 3), (11, 9), (3, 27), (1, 81)],
        [(15, 9), (5, 27), (1, 81)],
        [(8, 27), (2, 81)],
        [(5, 81)],
    ]
    assert [b.trials for b in brackets] == [121, 49, 21, 10, 5]


def test_hyperband_scales_resources_by_the_minimum():
    # R = 27 / 3 = 9: s_max = 2; n = ceil(3 * 3^s / (s + 1)) = 9, 5, 3.
    assert _table(hyperband_brackets(3, 27)) == [
        [(9, 3), (3, 9), (1, 27)], [(5, 9), (1, 27)], [(3, 27)]]
    # R = 10 (not a power of 3): s_max = 2; resources 10/9 -> 1, 10/3 -> 3, 10.
    assert _table(hyperband_brackets(1, 10)) == [
        [(9, 1), (3, 3), (1, 10)], [(5, 3), (1, 10)], [(3, 10)]]
    assert _table(hyperband_brackets(5, 5)) == [[(1, 5)]]
    assert _table(hyperband_brackets(1, 4, eta=2)) == [
        [(4, 1), (2, 2), (1, 4)], [(3, 2), (1, 4)], [(3, 4)]]


@pytest.mark.parametrize(("low", "high", "eta"), [(0, 9, 3), (10, 9, 3), (1, 9, 1)])
def test_hyperband_refuses_bad_resources(low, high, eta):
    with pytest.raises(ValidationError):
        hyperband_brackets(low, high, eta)


def test_successive_halving_keeps_the_best_and_never_a_failure():
    results = {"a": 0.5, "b": None, "c": 0.9, "d": 0.5, "e": 0.1}
    assert successive_halving(results, 2) == ["c", "a"]  # the tie goes to the smaller id
    assert successive_halving(results, 3, "Minimize") == ["e", "a", "d"]
    assert successive_halving(results, 10) == ["c", "a", "d", "e"]
    assert successive_halving(results, 0) == []


def _drive_hyperband(search, objective):
    """Run the search to the end, trial by trial: [(config, resource, rung)]."""
    log = []
    while not search.done:
        trials = search.suggest_trials(4)
        for trial in trials:
            assert search.budget(trial.params) == trial.resource
            search.observe(trial.config, trial.params, objective(trial), "Completed")
            log.append((trial.config, trial.resource, trial.rung))
    return log


def test_hyperband_search_runs_every_bracket_and_promotes_the_best():
    search = HyperbandSearch([ContinuousRange("x", 0.0, 1.0)], seed=3,
                             min_resource=1, max_resource=9, objective_type="Maximize")
    assert search.total_trials == 9 + 3 + 1 + 5 + 1 + 3
    log = _drive_hyperband(search, lambda t: t.params["x"])
    assert len(log) == search.total_trials
    assert [(r, rung) for _, r, rung in log] == (
        [(1, 0)] * 9 + [(3, 1)] * 3 + [(9, 2)] + [(3, 0)] * 5 + [(9, 1)] + [(9, 0)] * 3)
    xs = {name: search._configs[name]["x"] for name in search._configs}
    first = sorted((n for n in xs if n.startswith("b2-")), key=xs.__getitem__, reverse=True)
    assert [c for c, _, rung in log if rung == 1][:3] == first[:3]
    assert [c for c, _, rung in log if rung == 2] == first[:1]
    assert search.suggest(5) == []


def test_hyperband_waits_for_a_rung_before_promoting():
    search = HyperbandSearch([ContinuousRange("x", 0.0, 1.0)], seed=0,
                             min_resource=1, max_resource=3)  # brackets: [(3,1),(1,3)], [(2,3)]
    trials = search.suggest_trials(10)
    assert [t.resource for t in trials] == [1, 1, 1]
    for trial in trials[:2]:
        search.observe(trial.config, trial.params, 1.0, "Completed")
    assert search.suggest(10) == []  # one result still missing
    search.observe(trials[2].config, trials[2].params, 2.0, "Completed")
    [promoted] = search.suggest_trials(10)
    assert (promoted.config, promoted.resource) == (trials[2].config, 3)


def test_hyperband_ends_a_bracket_whose_rung_all_failed():
    search = HyperbandSearch([ContinuousRange("x", 0.0, 1.0)], seed=0,
                             min_resource=1, max_resource=3)
    for trial in search.suggest_trials(10):
        search.observe(trial.config, trial.params, None, "Failed")
    nxt = search.suggest_trials(10)
    assert [(t.bracket, t.resource) for t in nxt] == [(0, 3), (0, 3)]


def test_hyperband_is_deterministic_per_seed():
    def run(seed):
        search = HyperbandSearch(MIXED, seed=seed, min_resource=1, max_resource=9)
        return [(t.params, t.resource) for t in search.suggest_trials(9)]
    assert run(8) == run(8)
    assert run(8) != run(9)
    with pytest.raises(LookupError):
        HyperbandSearch(MIXED, seed=0, min_resource=1, max_resource=9).budget({"x": 1.0})


# ---------------------------------------------------------------- median stopping


def test_median_rule_stops_a_trial_below_the_median_when_maximizing():
    rule = MedianStoppingRule("Maximize", min_completed=3)
    completed = {"a": [(1, 0.5), (2, 0.7), (3, 0.9)],   # running average at 2: 0.6
                 "b": [(1, 0.4), (2, 0.6), (3, 0.8)],   # 0.5
                 "c": [(1, 0.1), (2, 0.1), (3, 0.1)]}   # 0.1 -> median 0.5
    running = {"low": [(1, 0.3), (2, 0.45)], "high": [(1, 0.2), (2, 0.55)],
               "tie": [(1, 0.5), (2, 0.4)]}           # best so far 0.5 == median: not worse
    assert rule.decide({**completed, **running}, completed.keys()) == {"low"}


def test_median_rule_when_minimizing_uses_the_lowest_value_so_far():
    rule = MedianStoppingRule("Minimize", min_completed=2)
    values = {"a": [(1, 1.0), (2, 0.5)], "b": [(1, 2.0), (2, 1.0)],  # averages 0.75, 1.5
              "r1": [(1, 1.3), (2, 1.2)],    # median 1.125 at step 2: 1.2 worse -> stop
              "r2": [(1, 1.0), (2, 1.2)]}    # its best, 1.0, beats the median -> go on
    assert rule.decide(values, {"a", "b"}) == {"r1"}


def test_median_rule_compares_at_the_trials_own_step():
    rule = MedianStoppingRule("Maximize", min_completed=1)
    done = [[(1, 0.2), (2, 0.4), (3, 0.9), (4, 0.9)]]
    assert not rule.should_stop([(1, 0.25)], done)      # median at 1: 0.2
    assert rule.should_stop([(1, 0.25), (2, 0.28)], done)  # median at 2: 0.3
    assert rule.threshold(4, done) == pytest.approx(0.6)
    # a completed trial that never reported by step k does not count at k
    assert rule.threshold(1, [[(3, 0.9)]]) is None


def test_median_rule_waits_for_enough_completed_trials_and_steps():
    values = {"a": [(1, 0.9)], "b": [(1, 0.8)], "r": [(1, 0.1)]}
    assert MedianStoppingRule(min_completed=3).decide(values, {"a", "b"}) == frozenset()
    assert MedianStoppingRule(min_completed=2).decide(values, {"a", "b"}) == {"r"}
    assert MedianStoppingRule(min_completed=2, min_steps=2).decide(values, {"a", "b"}) \
        == frozenset()
    assert MedianStoppingRule(min_completed=1).decide({"r": [(1, 0.1)]}, set()) == frozenset()


def test_median_rule_refuses_bad_settings():
    with pytest.raises(ValidationError):
        MedianStoppingRule("Largest")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MedianStoppingRule(min_completed=0)


# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize(("line", "regex", "value"), [
    ("#quality_metric: host=algo-1, train binary_classification_accuracy <score>=0.96",
     r"train binary_classification_accuracy <score>=(\S+)", 0.96),
    ("[2]#011train-rmse:0.51#011validation-rmse:0.57", r"validation-rmse:([-+]?[0-9.]+)", 0.57),
    ("Train_error=1.5e-03;", r"Train_error=(.*?);", 0.0015),
    ("loss = -2", r"loss = (\S+)", -2.0),
    ("loss = inf", r"loss = (\S+)", None),
    ("loss = abc", r"loss = (\S+)", None),
    ("accuracy 0.9", r"loss = (\S+)", None),
    ("loss = 0.5", r"loss = \S+", None),             # no capture group
    ("loss = 0.5", r"loss = (x)?", None),            # the group did not take part
    ("a=1 a=2", r"a=(\d)", 1.0),                     # the first match
])
def test_parse_metric(line, regex, value):
    assert parse_metric(line, regex) == value
    assert parse_metric(line, re.compile(regex)) == value


def test_running_values_number_the_reports():
    lines = ["epoch 1", "val_acc=0.5", "noise val_acc=oops", "val_acc=0.75", "", "val_acc=0.7"]
    assert running_values(lines, r"val_acc=([0-9.]+)") == [(1, 0.5), (2, 0.75), (3, 0.7)]
    assert running_values([], r"val_acc=(.+)") == []
    best = max(v for _, v in running_values(lines, r"val_acc=([0-9.]+)"))
    assert math.isclose(best, 0.75)


# -- the loop ------------------------------------------------------------------------------


class _FakeJobs:
    """Trials that end after a set number of looks, with an objective from their params."""

    def __init__(self, looks: int = 2, fail: set[int] | None = None) -> None:
        self.looks = looks
        self.fail = fail or set()
        self.seen: dict[str, int] = {}
        self.objective: dict[str, float] = {}
        self.most_running = 0

    def start(self, number: int, params: dict[str, object]) -> str:
        job = f"job-{number}"
        self.seen[job] = 0
        self.objective[job] = float(params["x"])  # type: ignore[arg-type]
        self.most_running = max(self.most_running, self.running())
        return job

    def running(self) -> int:
        return sum(1 for looks in self.seen.values() if looks < self.looks)

    def state(self, job: str) -> tuple[str, float | None]:
        self.seen[job] += 1
        if self.seen[job] < self.looks:
            return "InProgress", None
        if int(job.split("-")[1]) in self.fail:
            return "Failed", None
        return "Completed", self.objective[job]


def test_the_loop_keeps_max_parallel_trials_running_and_runs_max_jobs():
    from mlopskit.tuning_search import RandomSearch, run_search

    jobs = _FakeJobs(looks=3)
    trials = run_search(RandomSearch([ContinuousRange("x", 0.0, 1.0)], seed=7), max_jobs=7,
                        max_parallel=2, start=jobs.start, state=jobs.state,
                        pause=lambda s: None)
    assert len(trials) == 7 and all(t.status == "Completed" for t in trials)
    assert jobs.most_running == 2
    assert [t.number for t in trials] == list(range(1, 8))


def test_failed_trials_are_recorded_and_the_best_is_among_the_completed():
    from mlopskit.tuning_search import RandomSearch, best_trial, run_search

    jobs = _FakeJobs(fail={1, 3})
    trials = run_search(RandomSearch([ContinuousRange("x", 0.0, 1.0)], seed=1), max_jobs=5,
                        max_parallel=1, start=jobs.start, state=jobs.state,
                        pause=lambda s: None, objective_type="Minimize")
    assert [t.status for t in trials] == ["Failed", "Completed", "Failed", "Completed",
                                          "Completed"]
    best = best_trial(trials, "Minimize")
    assert best is not None and best.objective == min(
        t.objective for t in trials if t.status == "Completed" and t.objective is not None)


def test_a_target_objective_stops_new_trials():
    from mlopskit.tuning_search import GridSearch, run_search

    jobs = _FakeJobs(looks=1)
    grid = GridSearch([IntegerRange("x", 1, 10)])
    trials = run_search(grid, max_jobs=10, max_parallel=1, start=jobs.start,
                        state=jobs.state, pause=lambda s: None, target=3.0)
    assert [t.objective for t in trials] == [1.0, 2.0, 3.0]


def test_a_stop_request_starts_nothing_more():
    from mlopskit.tuning_search import RandomSearch, run_search

    jobs = _FakeJobs(looks=1)
    trials = run_search(RandomSearch([ContinuousRange("x", 0.0, 1.0)], seed=0), max_jobs=9,
                        max_parallel=1, start=jobs.start, state=jobs.state,
                        pause=lambda s: None, stop_requested=lambda: len(jobs.seen) >= 2)
    assert len(trials) == 2


class _EpochJobs:
    """Jobs that report ``value(params) * step`` once per look, for ``epochs`` looks, then
    complete; ``stop`` ends a job at its next look, as a stopped training job does."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.looks: dict[str, int] = {}
        self.params: dict[str, dict[str, object]] = {}
        self.stopped: set[str] = set()

    def start(self, number: int, params: dict[str, object]) -> str:
        job = f"job-{number}"
        self.looks[job], self.params[job] = 0, dict(params)
        return job

    def value(self, job: str) -> float:
        return float(self.params[job]["x"])  # type: ignore[arg-type]

    def values(self, job: str) -> list[tuple[int, float]]:
        return [(step, self.value(job) * step)
                for step in range(1, min(self.looks[job], self.epochs) + 1)]

    def state(self, job: str) -> tuple[str, float | None]:
        self.looks[job] += 1
        if job in self.stopped:
            return "Stopped", None
        if self.looks[job] > self.epochs:
            return "Completed", self.value(job) * self.epochs
        return "InProgress", None


def test_hyperband_trials_are_stopped_at_their_budget_with_the_value_there():
    from mlopskit.tuning_search import EarlyStopping, HyperbandSearch, run_search

    jobs = _EpochJobs(epochs=9)
    search = HyperbandSearch([ContinuousRange("x", 0.0, 1.0)], seed=2, min_resource=1,
                             max_resource=9)
    trials = run_search(search, max_jobs=100, max_parallel=3, start=jobs.start,
                        state=jobs.state, pause=lambda s: None,
                        watch=EarlyStopping(jobs.values, jobs.stopped.add))
    assert search.done and len(trials) == search.total_trials
    for trial in trials:
        assert trial.budget is not None
        assert trial.objective == pytest.approx(jobs.value(trial.job) * trial.budget)
        # Smaller budgets are stopped; the full budget runs to its own end.
        assert trial.status == ("Completed" if trial.budget == 9 else "Stopped")
        assert trial.early_stopped == (trial.budget < 9)
    assert sorted({t.budget for t in trials}) == [1, 3, 9]


def test_the_median_rule_stops_a_running_trial_below_the_median():
    from mlopskit.tuning_search import (
        CategoricalRange,
        EarlyStopping,
        GridSearch,
        MedianStoppingRule,
        run_search,
    )

    jobs = _EpochJobs(epochs=4)
    grid = GridSearch([CategoricalRange("x", ("4", "5", "6", "1", "7"))])
    trials = run_search(grid, max_jobs=5, max_parallel=1, start=jobs.start,
                        state=jobs.state, pause=lambda s: None,
                        watch=EarlyStopping(jobs.values, jobs.stopped.add,
                                            MedianStoppingRule("Maximize")))
    outcome = {t.params["x"]: (t.status, t.objective) for t in trials}
    assert outcome["1"] == ("Stopped", 1.0)  # stopped after its first value
    assert outcome["7"] == ("Completed", 28.0)  # above the median: runs on
    assert [outcome[x][0] for x in ("4", "5", "6")] == ["Completed"] * 3


def test_best_trial_counts_trials_stopped_with_an_objective():
    from mlopskit.tuning_search import Trial, best_trial

    trials = [Trial(1, "a", {}, "Completed", 0.4), Trial(2, "b", {}, "Stopped", 0.9),
              Trial(3, "c", {}, "Stopped", None), Trial(4, "d", {}, "Failed", None)]
    best = best_trial(trials, "Maximize")
    assert best is not None and best.job == "b"


def test_a_warm_start_parent_trial_is_typed_to_the_new_ranges_or_left_out():
    from mlopskit.backends.local.tuning import _typed
    from mlopskit.specs import build
    from mlopskit.specs.tuning import TuningJobSpec

    spec = build(TuningJobSpec, "", name="child", training={
        "name": "child", "entry_point": "train.py", "instance_type": "ml.m5.large",
        "source_uri": "s3://bkt/code.tar.gz", "output_path": "s3://bkt/out",
        "metric_definitions": [{"name": "auc", "regex": "auc=([0-9.]+)"}]},
        ranges={"lr": {"kind": "continuous", "min_value": 0.01, "max_value": 0.5},
                "depth": {"kind": "integer", "min_value": 2, "max_value": 8},
                "kernel": {"kind": "categorical", "values": ["rbf", "linear"]}},
        objective={"metric_name": "auc"}, strategy="Random", max_jobs=2)
    assert _typed(spec, {"lr": "0.1", "depth": "3", "kernel": "rbf"}) == {
        "lr": 0.1, "depth": 3, "kernel": "rbf"}
    assert _typed(spec, {"lr": "0.9", "depth": "3", "kernel": "rbf"}) is None  # outside
    assert _typed(spec, {"lr": "0.1", "depth": "3", "kernel": "poly"}) is None
    assert _typed(spec, {"lr": "0.1", "depth": "3"}) is None  # another set of names
    assert _typed(spec, {"lr": "x", "depth": "3", "kernel": "rbf"}) is None
