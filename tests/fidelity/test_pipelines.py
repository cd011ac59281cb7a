"""Definitions made by the official SDK v3, run by the local engine as SageMaker runs them."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import joblib
import pytest
from sklearn.dummy import DummyClassifier

import mlopskit
from mlopskit.errors import CapabilityError
from mlopskit.pipeline import Pipeline

V3 = Path(__file__).resolve().parents[1] / "data" / "sdk-v3-register-definition.json"


def _v3_definition() -> dict:
    return json.loads(V3.read_text())


def test_an_sdk_v3_registration_with_empty_script_variables_registers(local_session,
                                                                     tmp_path):
    """ModelBuilder.register() writes SAGEMAKER_PROGRAM and SAGEMAKER_SUBMIT_DIRECTORY as
    empty strings: "no custom script". Registration is metadata and succeeds; only a local
    deploy needs a script, and says so before any server starts."""
    joblib.dump(DummyClassifier().fit([[0], [1]], [0, 1]), tmp_path / "model.joblib")
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "model.joblib", arcname="model.joblib")
    artifact = local_session.upload(tmp_path / "model.tar.gz",
                                    "s3://sagemaker-us-east-1-111122223333/v3/model.tar.gz")
    definition = _v3_definition()
    register = next(s for s in definition["Steps"] if s["Type"] == "RegisterModel")
    container = register["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == ""  # as the SDK wrote it
    # The v3 training step runs the SDK's own driver scripts (refused locally: see the next
    # test); the registration takes a model made here instead.
    container["ModelDataUrl"] = artifact
    definition["Steps"] = [register]
    group = mlopskit.ModelPackageGroup("mlopskit-v3-models", session=local_session).create()

    pipeline = Pipeline.from_definition(definition, name="v3-register", session=local_session)
    pipeline.upsert()
    execution = pipeline.start().wait(timeout=300)
    assert execution.step("RegisterModel").status == "Succeeded"
    package = group.latest(None)
    assert package is not None
    assert package.approval_status.value == "PendingManualApproval"
    assert package.model.entry_point is None and package.model.model_data == artifact
    assert package.model.environment == {"SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                                         "SAGEMAKER_REGION": "us-east-1"}

    with pytest.raises(CapabilityError, match="has no inference script") as info:
        package.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="v3", force=True)
    assert "sagemaker-scikit-learn" in str(info.value) and "entry_point=" in str(info.value)
    for table in ("endpoints", "endpoint_configs", "models"):
        assert local_session.backend.store.query_all(f"SELECT name FROM {table}") == []


def test_the_sdk_v3_training_step_is_refused_before_anything_runs(local_session):
    """v3's ModelTrainer runs its own driver (``/bin/bash`` on ``sm_train.sh``) as the
    container entry point; the local engine runs script mode only, and says so at start."""
    pipeline = Pipeline.from_definition(_v3_definition(), name="v3-full",
                                        session=local_session)
    pipeline.upsert()
    with pytest.raises(CapabilityError, match=r"step 'TrainModel': "
                                              r"AlgorithmSpecification.ContainerEntrypoint"):
        pipeline.start()
    assert pipeline.executions() == []
