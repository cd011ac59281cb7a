"""A pipeline with a TuningStep on every backend: upserted (CreatePipeline, then
UpdatePipeline), its definition read back as sent, and an execution that succeeds (run by
the local engine; on moto, the lifecycle ``moto_service.patch_pipelines`` gives it)."""

from __future__ import annotations

import json

import mlopskit

from ..tuning_step_support import tuning_pipeline


def test_a_tuning_pipeline_is_accepted_and_runs(any_session: mlopskit.Session,
                                                moto_service, tmp_path):
    pipeline = tuning_pipeline(any_session, tmp_path, "tune-conformance")
    arn = pipeline.upsert()
    assert pipeline.upsert() == arn  # the second upsert updates in place
    stored = any_session.backend.pipelines.describe_pipeline("tune-conformance")
    assert json.loads(stored["PipelineDefinition"]) == json.loads(pipeline.definition())
    steps = json.loads(stored["PipelineDefinition"])["Steps"]
    assert [(s["Name"], s["Type"]) for s in steps] == [("Tune", "Tuning"), ("Best", "Model")]
    code = steps[0]["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"][
        "sagemaker_submit_directory"]
    assert any_session.backend.objects.exists(json.loads(code))  # uploaded by upsert
    execution = pipeline.start().wait(timeout=300)
    assert execution.describe().status == "Succeeded"
    # (moto_service's steps carry no Metadata, so no step type there)
    assert {s.name: s.status for s in execution.steps()} == {"Tune": "Succeeded",
                                                             "Best": "Succeeded"}
