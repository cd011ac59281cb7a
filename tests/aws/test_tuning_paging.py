"""A tuning job's trials over many pages of ListTrainingJobsForHyperParameterTuningJob, on
moto patched as the API (``tests/conformance/moto_service.py: patch_tuning``): MaxResults 1
to 100 (default 10), NextToken, SortBy and SortOrder. moto runs no trials, so each test
gives the tuning job its trials as SageMaker would list them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sm_models

import mlopskit
from mlopskit.tuning import IntegerParameter

from ..conformance.moto_service import patch_tuning
from .test_paging import IMAGE, _throttle_once

TRIALS = 150  # two pages of 100, the most the API gives at once
METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"}]


def _requests(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of each ``operation`` call ``client`` sends, in order."""
    seen: list[dict[str, Any]] = []

    def before_build(params: dict[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-parameter-build.{service}.{operation}",
                                before_build)
    return seen


@pytest.fixture
def tuning_job(aws_session: mlopskit.AwsSession, tmp_path: Any,
               monkeypatch: pytest.MonkeyPatch) -> mlopskit.TuningJob:
    """A Random tuning job started through the tuner, its trials not yet given."""
    patch_tuning(monkeypatch)
    (tmp_path / "train.py").write_text("print('validation:auc=0.5')\n")
    estimator = mlopskit.Estimator(entry_point="train.py", source_dir=tmp_path,
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   metric_definitions=METRICS, session=aws_session)
    tuner = mlopskit.HyperparameterTuner(estimator, "validation:auc",
                                         {"depth": IntegerParameter(1, 500)},
                                         strategy="Random", max_jobs=TRIALS,
                                         max_parallel_jobs=10)
    return tuner.fit(wait=False, job_name="many-trials")


def _give_trials(session: mlopskit.AwsSession, job: mlopskit.TuningJob,
                 count: int) -> list[dict[str, Any]]:
    """``count`` trials, every tenth Failed without an objective, the others Completed with
    distinct objectives in no particular order of name; returns their summaries."""
    started = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    trials = []
    for n in range(count):
        name = f"{job.name}-{n:03d}-5a1c"
        failed = n % 10 == 3
        trial: dict[str, Any] = {
            "TrainingJobName": name, "TuningJobName": job.name,
            "TrainingJobArn": f"arn:aws:sagemaker:{session.region}:{DEFAULT_ACCOUNT_ID}:"
                              f"training-job/{name}",
            "CreationTime": started + dt.timedelta(seconds=n),
            "TrainingJobStatus": "Failed" if failed else "Completed",
            "TunedHyperParameters": {"depth": str(n + 1)}}
        if not failed:
            trial["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": "validation:auc", "Value": (n * 7 % count) / count}
        trials.append(trial)
    sm_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][session.region] \
        .hyper_parameter_tuning_jobs[job.name].trials.extend(trials)
    return trials


def _objective(trial: dict[str, Any]) -> float:
    return float(trial.get("FinalHyperParameterTuningJobObjectiveMetric",
                           {}).get("Value", -1.0))


def test_every_trial_is_read_past_the_first_page(aws_session, tuning_job):
    trials = _give_trials(aws_session, tuning_job, TRIALS)
    sent = _requests(aws_session.backend.clients.sagemaker,
                     "ListTrainingJobsForHyperParameterTuningJob")
    described = tuning_job.describe()
    assert sorted(t.job for t in described.trials) == sorted(t["TrainingJobName"]
                                                              for t in trials)
    assert len(sent) >= 2 and "NextToken" not in sent[0]
    assert all(r.get("NextToken") for r in sent[1:])  # each later page asks from a token
    by_name = {t.job: t for t in described.trials}
    for trial in trials:  # every field of every trial, whatever its page
        read = by_name[trial["TrainingJobName"]]
        assert read.params == trial["TunedHyperParameters"]
        assert read.status == trial["TrainingJobStatus"]
        assert read.objective == (None if trial["TrainingJobStatus"] == "Failed"
                                  else _objective(trial))


def test_the_best_trial_comes_first_whatever_page_it_was_on(aws_session, tuning_job):
    trials = _give_trials(aws_session, tuning_job, TRIALS)
    best = max(trials, key=_objective)
    assert trials.index(best) >= 100  # listed by name, it is on the second page of 100
    assert tuning_job.best_training_job() == best["TrainingJobName"]
    frame = tuning_job.training_jobs()
    assert len(frame) == TRIALS
    assert frame["TrainingJobName"].iloc[0] == best["TrainingJobName"]
    scored = frame["FinalObjectiveValue"].dropna()
    assert list(scored) == sorted(scored, reverse=True)  # best first, Maximize
    assert frame["FinalObjectiveValue"].iloc[len(scored):].isna().all()  # failed ones last
    assert set(frame.loc[frame["FinalObjectiveValue"].isna(), "TrainingJobStatus"]) \
        == {"Failed"}


def test_the_stand_in_sorts_and_filters_as_the_api(aws_session, tuning_job):
    """What the tests above rely on: SortBy FinalObjectiveMetricValue leaves out the
    trials with no objective, Descending puts the best first, pages follow the order."""
    trials = _give_trials(aws_session, tuning_job, TRIALS)
    pages = aws_session.backend.clients.sagemaker.get_paginator(
        "list_training_jobs_for_hyper_parameter_tuning_job").paginate(
        HyperParameterTuningJobName=tuning_job.name, SortBy="FinalObjectiveMetricValue",
        SortOrder="Descending", PaginationConfig={"PageSize": 100})
    listed = [s["TrainingJobName"] for page in pages for s in page["TrainingJobSummaries"]]
    scored = sorted((t for t in trials if "FinalHyperParameterTuningJobObjectiveMetric" in t),
                    key=_objective, reverse=True)
    assert listed == [t["TrainingJobName"] for t in scored]


def test_a_throttled_page_of_trials_is_retried(aws_session, tuning_job, fake_clock):
    _give_trials(aws_session, tuning_job, TRIALS)
    calls = _throttle_once(aws_session.backend.clients.sagemaker,
                           "ListTrainingJobsForHyperParameterTuningJob", after=2)
    assert len(tuning_job.describe().trials) == TRIALS
    assert calls() > 2 and len(fake_clock.sleeps) == 1


def test_trials_are_read_a_hundred_at_a_time(aws_session, tuning_job):
    _give_trials(aws_session, tuning_job, TRIALS)
    sent = _requests(aws_session.backend.clients.sagemaker,
                     "ListTrainingJobsForHyperParameterTuningJob")
    tuning_job.describe()
    assert [r.get("MaxResults") for r in sent] == [100, 100]
