"""TuningStep on the local engine: a local tuning job (Random search, three trials of a tiny
script), its properties for later steps, failure and caching."""

from __future__ import annotations

import io
import tarfile

import pytest

import mlopskit
from mlopskit.errors import JobFailedError

from ..tuning_step_support import tuning_pipeline


def _steps(execution) -> dict:
    return {s.name: s for s in execution.steps()}


def _trained_x(session: mlopskit.Session, model_uri: str) -> float:
    with tarfile.open(fileobj=io.BytesIO(session.read_bytes(model_uri))) as archive:
        name = next(n for n in archive.getnames() if n.rsplit("/", 1)[-1] == "x.txt")
        member = archive.extractfile(name)
        assert member is not None
        return float(member.read())


def test_a_tuning_step_runs_and_a_model_step_gets_the_best_artifact(local_session, tmp_path):
    pipeline = tuning_pipeline(local_session, tmp_path)
    pipeline.upsert()
    execution = pipeline.start().wait(timeout=300)
    steps = _steps(execution)
    assert {n: s.status for n, s in steps.items()} == {"Tune": "Succeeded",
                                                       "Best": "Succeeded"}
    tune = steps["Tune"].properties
    assert tune["HyperParameterTuningJobStatus"] == "Completed"
    assert tune["HyperParameterTuningJobName"] == steps["Tune"].job
    assert len(steps["Tune"].job) <= 32
    job = mlopskit.TuningJob.attach(steps["Tune"].job, session=local_session)
    assert tune["HyperParameterTuningJobArn"] == job.describe().arn
    summaries = tune["TrainingJobSummaries"]
    assert len(summaries) == 3 and tune["TrainingJobStatusCounters"]["Completed"] == 3
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert values == sorted(values, reverse=True)  # Maximize: best first
    best = tune["BestTrainingJob"]
    assert best["TrainingJobName"] == summaries[0]["TrainingJobName"] == \
        job.best_training_job()
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {"MetricName": "score",
                                                                  "Value": values[0]}
    # The model step's artifact is the best trial's, and holds the x it was trained with.
    artifact = steps["Best"].properties["PrimaryContainer"]["ModelDataUrl"]
    assert artifact == mlopskit.TrainingJob(best["TrainingJobName"],
                                            session=local_session).model_data
    x = _trained_x(local_session, artifact)
    assert x == pytest.approx(float(best["TunedHyperParameters"]["x"]))
    others = [float(s["TunedHyperParameters"]["x"]) for s in summaries[1:]]
    assert all(abs(x - 3) <= abs(other - 3) for other in others)


def test_a_tuning_job_whose_trials_all_fail_fails_the_step_with_its_reason(local_session,
                                                                          tmp_path):
    pipeline = tuning_pipeline(local_session, tmp_path, "tune-fails", fail=True)
    pipeline.upsert()
    with pytest.raises(JobFailedError):
        pipeline.start().wait(timeout=300)
    execution = pipeline.executions()[0]
    record = execution.describe()
    assert record.status == "Failed"
    steps = _steps(execution)
    assert set(steps) == {"Tune"}  # the model step never started
    reason = steps["Tune"].failure_reason
    assert steps["Tune"].status == "Failed"
    assert f"tuning job {steps['Tune'].job} Failed: every training job failed" in reason
    assert record.failure_reason.startswith("Step Tune failed: tuning job")
    job = mlopskit.TuningJob.attach(steps["Tune"].job, session=local_session)
    assert job.status == "Failed" and len(job.describe().trials) == 3


def test_a_second_run_reuses_the_cached_tuning_step(local_session, tmp_path):
    pipeline = tuning_pipeline(local_session, tmp_path, "tune-cached", cache=True)
    pipeline.upsert()
    first = _steps(pipeline.start().wait(timeout=300))
    second = _steps(pipeline.start().wait(timeout=300))
    assert not first["Tune"].cache_hit and second["Tune"].cache_hit
    assert second["Tune"].properties["BestTrainingJob"] == \
        first["Tune"].properties["BestTrainingJob"]
    assert second["Best"].properties["PrimaryContainer"]["ModelDataUrl"] == \
        first["Best"].properties["PrimaryContainer"]["ModelDataUrl"]
    assert list(local_session.backend.tuning.names(None)) == [first["Tune"].job]
