"""Pipeline executions whose process dies mid-step, or whose session closes mid-step."""

from __future__ import annotations

import pytest

import mlopskit
from mlopskit.pipeline import Pipeline, TrainingStep
from mlopskit.pipeline.execution import PipelineExecution

from .chaos import GATE_FUNCTION, IMAGE, assert_settled

pytestmark = pytest.mark.slow

RUNNING = GATE_FUNCTION + """\
gate(f"running {os.getpid()}")
threading.Event().wait()
"""


def test_execution_whose_process_is_killed_mid_step(scenario):
    code = scenario.code("train.py", RUNNING)
    caller = scenario.caller(f"""\
from mlopskit.pipeline import Pipeline, TrainingStep

estimator = mlopskit.Estimator("train.py", source_dir={str(code)!r}, image_uri={IMAGE!r},
                               instance_type="ml.m5.large")
pipeline = Pipeline("chaos", steps=[TrainingStep("Train", estimator)], session=session)
pipeline.upsert()
execution = pipeline.start()
print(execution.arn, flush=True)
execution.wait()
""")
    assert scenario.gate.wait(watch=caller.pid).startswith("running")
    caller.kill()
    arn = caller.output.read_text().split()[0]
    execution = PipelineExecution(arn, scenario.session)
    record = execution.describe()
    assert record.status == "Failed"
    assert f"(pid {caller.pid}) exited before it finished" in record.failure_reason
    assert record.end_time is not None
    step = execution.step("Train")
    assert step.status == "Failed" and "exited while the step ran" in step.failure_reason
    job = mlopskit.TrainingJob.attach(step.job, session=scenario.session)
    assert job.status == "Failed" and f"(pid {caller.pid})" in job.failure_reason
    assert_settled(scenario.root)


def test_closing_the_session_stops_its_executions(scenario):
    # This process runs the execution; closing its session must not leave it running.
    session = mlopskit.LocalSession(root=scenario.root)
    estimator = mlopskit.Estimator("train.py", source_dir=scenario.code("train.py", RUNNING),
                                   image_uri=IMAGE, instance_type="ml.m5.large",
                                   environment={"CHAOS_GATE": str(scenario.gate.path)})
    pipeline = Pipeline("chaos", steps=[TrainingStep("Train", estimator)], session=session)
    pipeline.upsert()
    execution = pipeline.start()
    assert scenario.gate.wait().startswith("running")
    session.close()
    record = PipelineExecution(execution.arn, scenario.session).describe()
    assert record.status == "Stopped"
    step = execution.steps()[0]
    assert step.status == "Stopped"
    assert mlopskit.TrainingJob.attach(step.job, session=scenario.session).status == "Stopped"
    assert_settled(scenario.root)
