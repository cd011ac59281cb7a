"""Bad input to a HyperparameterTuner gets an mlopskit error naming the field and what is
allowed, and creates nothing: no tuning job, no training job, no uploaded object."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, NotFoundError, ValidationError

from ...backends.base import Capability
from ...session import Session
from ...tuning import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    WarmStartConfig,
)
from ..plugin import Inventory, notimpl
from ._support import IMAGE, Conformance

__all__ = ["TuningBadInputConformance"]

METRICS = [{"Name": "validation:score", "Regex": r"validation:score=([-0-9.]+)"}]
_HYPERBAND = {"strategy": "Hyperband", "max_jobs": 4}


def _ranges(make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Ranges built inside the test, where their constructor's error is expected."""
    return {"ranges": make}


# (case id, tuner overrides (callables are called inside the test; "ranges" replaces the
# ranges, "estimator" updates the Estimator's arguments), fit overrides, field the error
# names, texts its message holds)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, tuple[str, ...]]] = [
    ("ranges-empty", {"ranges": {}}, {}, "hyperparameter_ranges", ("at least one range",)),
    ("ranges-a-list", {"ranges": [IntegerParameter(1, 8)]}, {}, "hyperparameter_ranges",
     ("a mapping of name ->",)),
    ("range-unknown-object", {"ranges": {"depth": "1-8"}}, {}, "hyperparameter_ranges.depth",
     ("ContinuousParameter, IntegerParameter or CategoricalParameter", "got str")),
    ("range-a-wire-dict", {"ranges": {"depth": {"MinValue": "1", "MaxValue": "8"}}}, {},
     "hyperparameter_ranges.depth", ("got dict",)),
    ("continuous-min-over-max", _ranges(lambda: {"rate": ContinuousParameter(1.0, 0.1)}), {},
     "max_value", ("must be >= min_value (1.0)",)),
    ("integer-min-over-max", _ranges(lambda: {"depth": IntegerParameter(8, 1)}), {},
     "max_value", ("must be >= min_value (8)",)),
    ("continuous-log-from-zero",
     _ranges(lambda: {"rate": ContinuousParameter(0.0, 1.0, "Logarithmic")}), {},
     "scaling_type", ("Logarithmic", "min_value > 0")),
    ("integer-log-from-zero",
     _ranges(lambda: {"depth": IntegerParameter(0, 8, "Logarithmic")}), {}, "scaling_type",
     ("Logarithmic", "min_value > 0")),
    ("continuous-log-negative",
     _ranges(lambda: {"rate": ContinuousParameter(-1.0, 1.0, "Logarithmic")}), {},
     "scaling_type", ("min_value > 0", "-1.0")),
    ("reverse-log-up-to-one",
     _ranges(lambda: {"rate": ContinuousParameter(0.1, 1.0, "ReverseLogarithmic")}), {},
     "scaling_type", ("ReverseLogarithmic", "max_value < 1")),
    ("reverse-log-integer",
     _ranges(lambda: {"depth": IntegerParameter(1, 8, "ReverseLogarithmic")}), {},
     "scaling_type", ("continuous ranges only", "'Auto', 'Linear', 'Logarithmic'")),
    ("scaling-unknown",
     _ranges(lambda: {"rate": ContinuousParameter(0.1, 0.9, "Exponential")}), {},
     "scaling_type", ("'Auto', 'Linear', 'Logarithmic' or 'ReverseLogarithmic'",
                      "'Exponential'")),
    ("categorical-empty", _ranges(lambda: {"loss": CategoricalParameter([])}), {}, "values",
     ("allowed: 1 to 30",)),
    ("categorical-31-values", _ranges(lambda: {"k": CategoricalParameter(range(31))}), {},
     "values", ("31 values given", "allowed: 1 to 30")),
    ("categorical-duplicate", _ranges(lambda: {"k": CategoricalParameter(["a", "a"])}), {},
     "values", ("'a' is given twice",)),
    ("range-also-static", {"estimator": {"hyperparameters": {"depth": 3}}}, {}, "ranges",
     ("'depth' is both tuned and a static hyperparameter",)),
    ("range-reserved-prefix", _ranges(lambda: {"sagemaker_program": IntegerParameter(1, 2)}),
     {}, "ranges", ("'sagemaker_' prefix is reserved",)),
    ("31-ranges", _ranges(lambda: {f"p{i}": IntegerParameter(1, 2) for i in range(31)}), {},
     "ranges", ("31 ranges given", "at most 30")),
    ("grid-with-continuous", {"strategy": "Grid", "max_jobs": None,
                              **_ranges(lambda: {"rate": ContinuousParameter(0.1, 0.9)})},
     {}, "strategy", ("categorical ranges only", "['rate']")),
    ("grid-max-jobs-not-its-size",
     {"strategy": "Grid", "max_jobs": 2, **_ranges(lambda: {"k": CategoricalParameter([1, 2,
                                                                                      3])})},
     {}, "max_jobs", ("allowed: None (inferred) or 3",)),
    ("grid-over-750-combinations",
     {"strategy": "Grid", "max_jobs": None,
      **_ranges(lambda: {f"k{n}": CategoricalParameter(range(10)) for n in range(3)})},
     {}, "max_jobs", ("1000 combinations", "at most 750")),
    ("parallel-over-max-jobs", {"max_jobs": 2, "max_parallel_jobs": 3}, {},
     "max_parallel_jobs", ("max_jobs is 2", "allowed: 1 to 2")),
    ("parallel-zero", {"max_parallel_jobs": 0}, {}, "max_parallel_jobs",
     ("allowed: 1 to 100",)),
    ("parallel-over-100", {"max_jobs": 200, "max_parallel_jobs": 101}, {},
     "max_parallel_jobs", ("allowed: 1 to 100",)),
    ("max-jobs-missing", {"max_jobs": None, "strategy": "Bayesian"}, {}, "max_jobs",
     ("required for strategy 'Bayesian'", "1 to 750")),
    ("max-jobs-zero", {"max_jobs": 0}, {}, "max_jobs", ("1 to 10000",)),
    ("max-jobs-over-750", {"max_jobs": 751, "strategy": "Bayesian"}, {}, "max_jobs",
     ("allowed for strategy 'Bayesian': 1 to 750",)),
    ("max-jobs-over-10000-random", {"max_jobs": 10_001}, {}, "max_jobs",
     ("allowed for strategy 'Random': 1 to 10000",)),
    ("max-jobs-a-boolean", {"max_jobs": True}, {}, "max_jobs", ("boolean",)),
    ("objective-not-defined", {"objective": "validation:auc"}, {}, "objective",
     ("'validation:auc'", "allowed: ['validation:score']")),
    ("objective-no-metric-definitions", {"estimator": {"metric_definitions": None}}, {},
     "objective", ("none defined: add metric_definitions with a regex",)),
    ("objective-regex-without-group",
     {"metric_definitions": [{"Name": "validation:score", "Regex": "score=.*"}]}, {},
     "metric_definitions.0.regex", ("capture group",)),
    ("objective-type-unknown", {"objective_type": "Maximise"}, {}, "objective.type",
     ("'Maximize' or 'Minimize'", "'Maximise'")),
    ("strategy-unknown", {"strategy": "Genetic"}, {}, "strategy",
     ("'Bayesian', 'Random', 'Grid' or 'Hyperband'", "'Genetic'")),
    ("hyperband-without-config", _HYPERBAND, {}, "hyperband",
     ("strategy_config", "min_resource and max_resource")),
    ("hyperband-with-early-stopping",
     {**_HYPERBAND, "early_stopping_type": "Auto",
      "strategy_config": {"min_resource": 1, "max_resource": 9}}, {},
     "early_stopping_type", ("Hyperband stops training jobs itself", "'Off'")),
    ("hyperband-min-over-max-resource",
     {**_HYPERBAND, "strategy_config": {"min_resource": 10, "max_resource": 9}}, {},
     "hyperband.max_resource", ("must be >= min_resource (10)",)),
    ("hyperband-resource-zero",
     {**_HYPERBAND, "strategy_config": {"min_resource": 0, "max_resource": 9}}, {},
     "hyperband.min_resource", ("greater than or equal to 1",)),
    ("hyperband-unknown-option",
     {**_HYPERBAND, "strategy_config": {"min_resource": 1, "max_resource": 9, "eta": 3}},
     {}, "hyperband.eta", ("unknown option",)),
    ("strategy-config-without-hyperband",
     {"strategy_config": {"min_resource": 1, "max_resource": 9}}, {}, "hyperband",
     ("strategy_config is only for strategy 'Hyperband'", "allowed: None")),
    ("early-stopping-unknown", {"early_stopping_type": "On"}, {}, "early_stopping_type",
     ("'Off' or 'Auto'",)),
    ("warm-start-6-parents",
     {"warm_start": lambda: WarmStartConfig([f"tune-{n}" for n in range(6)])}, {},
     "parents", ("6 parent tuning jobs given", "allowed: 1 to 5")),
    ("warm-start-bad-parent-name", {"warm_start": lambda: WarmStartConfig(["tune_1"])}, {},
     "parents", ("letters, digits and hyphens",)),
    ("warm-start-not-a-config", {"warm_start": {"parents": ["tune-1"]}}, {}, "warm_start",
     ("expected a WarmStartConfig",)),
    ("random-seed-a-word", {"random_seed": "seven"}, {}, "random_seed", ("valid integer",)),
    ("random-seed-fraction", {"random_seed": 7.5}, {}, "random_seed",
     ("fractional part",)),
    ("random-seed-a-boolean", {"random_seed": True}, {}, "random_seed", ("boolean",)),
    ("random-seed-negative", {"random_seed": -1}, {}, "random_seed",
     ("greater than or equal to 0",)),
    ("random-seed-over-int32", {"random_seed": 2**31}, {}, "random_seed",
     ("less than or equal to 2147483647",)),
    ("51-tags", {"tags": {f"t{n}": "v" for n in range(51)}}, {}, "tags", ("at most 50",)),
    ("tag-reserved-prefix", {"tags": {"aws:owner": "me"}}, {}, "tags", ("reserved",)),
    ("max-runtime-under-120", {"max_runtime": 60}, {}, "max_runtime",
     ("greater than or equal to 120",)),
    ("max-runtime-over-30-days", {"max_runtime": 30 * 24 * 3600 + 1}, {}, "max_runtime",
     ("less than or equal to 2592000",)),
    ("completion-not-improving-2",
     {"completion_criteria": {"max_jobs_not_improving": 2}}, {},
     "completion_criteria.max_jobs_not_improving", ("greater than or equal to 3",)),
    ("completion-unknown-option", {"completion_criteria": {"target": 0.9}}, {},
     "completion_criteria.target", ("unknown option",)),
    ("estimator-not-an-estimator", {"estimator": "xgboost"}, {}, "estimator",
     ("expected an mlopskit.Estimator",)),
    ("job-name-too-long", {}, {"job_name": "t" * 33}, "job_name",
     ("33 characters", "allowed: 1 to 32")),
    ("job-name-underscore", {}, {"job_name": "tune_1"}, "job_name",
     ("letters, digits and hyphens",)),
    ("job-name-leading-hyphen", {}, {"job_name": "-tune"}, "job_name",
     ("starting and ending with a letter or digit",)),
    ("inputs-local-path-missing", {}, {"inputs": {"train": "/no/such/folder"}}, "s3_data",
     ("neither an s3:// URI",)),
]


def _folder(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _called(value: Any) -> Any:
    return value() if callable(value) else value


def _tuner(session: Session, code: Path, overrides: dict[str, Any]) -> Any:
    """A Random tuner of ``code/train.py`` over ``depth``, with ``overrides`` applied."""
    settings: dict[str, Any] = {"strategy": "Random", "max_jobs": 4}
    settings.update({k: _called(v) for k, v in overrides.items()})
    estimator = settings.pop("estimator", {})
    if isinstance(estimator, dict):
        estimator = mlopskit.Estimator(**{
            "entry_point": "train.py", "source_dir": code, "image_uri": IMAGE,
            "instance_type": "ml.m5.large", "metric_definitions": METRICS,
            "session": session, **estimator})
    return mlopskit.HyperparameterTuner(
        estimator, settings.pop("objective", "validation:score"),
        settings.pop("ranges", {"depth": IntegerParameter(1, 8)}), **settings)


class TuningBadInputConformance(Conformance):
    """HyperparameterTuner(...) and .fit(...): each bad value is refused with an mlopskit
    error naming the field and what is allowed, before any tuning job, training job or
    object exists."""

    @pytest.fixture
    def code(self, tmp_path: Path) -> Path:
        return _folder(tmp_path / "code", {"train.py": "print('validation:score=1.0')\n"})

    @pytest.fixture
    def data(self, tmp_path: Path) -> Path:
        """A local channel: a fit that got as far as uploading would leave it behind."""
        return _folder(tmp_path / "data", {"train.csv": "1,2,3\n"})

    @pytest.fixture
    def nothing_created(self, session: Session, conformance_inventory: Inventory
                        ) -> Callable[[], None]:
        """Checks, after the test's call, that the session holds what it held before."""
        bucket = f"s3://{session.default_bucket}/"

        def held() -> tuple[Any, ...]:
            return ([j.name for j in mlopskit.TuningJob.list(session=session)],
                    [j.name for j in mlopskit.TrainingJob.list(session=session)],
                    session.backend.objects.list(bucket), conformance_inventory(session))

        before = held()
        assert before[:3] == ([], [], [])

        def check() -> None:
            assert held() == before

        return check

    @pytest.mark.parametrize(("tuner_args", "fit_args", "field", "texts"),
                             [pytest.param(a, f, d, t, id=i) for i, a, f, d, t in CASES])
    def test_bad_tuning_input_is_refused_and_creates_nothing(
            self, session: Session, code: Path, data: Path,
            nothing_created: Callable[[], None], tuner_args: dict[str, Any],
            fit_args: dict[str, Any], field: str, texts: tuple[str, ...]) -> None:
        with pytest.raises(ValidationError) as info:
            _tuner(session, code, tuner_args).fit(
                **{"inputs": {"train": str(data)}, "wait": False, **fit_args})
        assert info.value.field is not None and info.value.field.startswith(field), \
            info.value.field
        message = str(info.value)
        assert message.startswith(f"{field}") or f"{field}:" in message, message
        for text in texts:
            assert text in message, message
        assert "strategy None" not in message  # one refused field is one error
        nothing_created()

    def test_a_bad_base_tuning_job_name_is_refused_at_construction(
            self, session: Session, code: Path, nothing_created: Callable[[], None]) -> None:
        """As ``Estimator(base_job_name="my_job")`` is: the name is not rewritten."""
        with pytest.raises(ValidationError) as info:
            _tuner(session, code, {"base_tuning_job_name": "my_tuning"})
        assert info.value.field == "base_tuning_job_name"
        nothing_created()

    def _fit_from_missing_parent(self, session: Session, code: Path, data: Path,
                                 nothing_created: Callable[[], None]) -> str:
        tuner = _tuner(session, code, {"warm_start": WarmStartConfig(["no-such-tuning"])})
        try:
            with pytest.raises(NotFoundError) as info:
                tuner.fit({"train": str(data)}, wait=False)
        except CapabilityError:
            nothing_created()  # refused up front
            raise
        nothing_created()
        assert "no-such-tuning" in str(info.value)
        return str(info.value)

    @notimpl(Capability.TUNING_WARM_START, reason="a backend without warm start refuses it")
    def test_warm_start_from_a_missing_tuning_job_is_refused_at_fit(
            self, session: Session, code: Path, data: Path,
            nothing_created: Callable[[], None]) -> None:
        self._fit_from_missing_parent(session, code, data, nothing_created)

    def test_a_missing_warm_start_parent_is_named_as_such(
            self, session: Session, code: Path, data: Path,
            nothing_created: Callable[[], None]) -> None:
        message = self._fit_from_missing_parent(session, code, data, nothing_created)
        assert "warm_start.parents" in message, message
