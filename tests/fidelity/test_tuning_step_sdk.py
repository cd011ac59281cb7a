"""The official SDK v2's TuningStep: its definition (made offline, on moto) next to ours for
the same tuner, and run as written by the local engine.

Differences between the two Tuning steps, each normalised below with its reason:

- ``StaticHyperParameters.sagemaker_estimator_class_name``/``_module``: the SDK's
  bookkeeping to rebuild its estimator in ``attach()``; the container ignores them.
- ``StaticHyperParameters.sagemaker_job_name``: the SDK names its estimator's would-be job;
  SageMaker names every trial itself, so mlopskit leaves it out (as for a TrainingStep).
- ``StaticHyperParameters.sagemaker_submit_directory``: where the code archive is; the SDK
  uploads it under a timestamped prefix while building the definition, mlopskit under
  ``<pipeline>/code/<digest>/`` when the pipeline is upserted.
- ``HyperParameterTuningResourceConfig`` (SDK) and ``ResourceConfig`` (mlopskit): the same
  instance type, count and volume; for one instance type they mean the same.
- ``MinValue``/``MaxValue``: the SDK sends ``str()`` of the number as the user typed it
  (``"0"``), mlopskit of the validated float (``"0.0"``): the same number.
- ``PrimaryContainer.Environment``: the SDK sends an empty one, mlopskit ``SAGEMAKER_REGION``.
- The model step's name: the SDK's ``ModelStep`` names its step ``<name>-CreateModel``.

``get_top_model_s3_uri`` gives the same JSON on both sides.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
pytest.importorskip("sagemaker")

import mlopskit  # noqa: E402
from mlopskit.pipeline import ModelStep, Pipeline, TuningStep  # noqa: E402
from mlopskit.tuning import ContinuousParameter  # noqa: E402

from ..tuning_step_support import METRICS, SERVE_IMAGE, write_script  # noqa: E402

BUCKET = "sdk-tuning-bucket"
ROLE = "arn:aws:iam::111122223333:role/mlopskit-tests"
# No telemetry, and no config file of this machine adds defaults to the SDK's requests.
SDK_CONFIG = {"SchemaVersion": "1.0",
              "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
pytestmark = [  # the SDK's own notices while it builds a definition offline
    pytest.mark.filterwarnings("ignore:Running within a PipelineSession:UserWarning"),
    pytest.mark.filterwarnings("ignore:We are deprecating:DeprecationWarning")]
SDK_ONLY = ("sagemaker_estimator_class_name", "sagemaker_estimator_module",
            "sagemaker_job_name")


def _sdk_definition(moto_aws: Any, code: Path) -> tuple[dict[str, Any], Any]:
    """The SDK's Tune -> Best pipeline, and the boto3 session holding its code upload."""
    import boto3
    from sagemaker.model import Model
    from sagemaker.sklearn import SKLearn
    from sagemaker.tuner import ContinuousParameter as SdkContinuous
    from sagemaker.tuner import HyperparameterTuner
    from sagemaker.workflow.model_step import ModelStep as SdkModelStep
    from sagemaker.workflow.pipeline import Pipeline as SdkPipeline
    from sagemaker.workflow.pipeline_context import PipelineSession
    from sagemaker.workflow.steps import TuningStep as SdkTuningStep

    boto = boto3.Session(region_name="us-east-1")
    boto.client("s3").create_bucket(Bucket=BUCKET)
    session = PipelineSession(boto_session=boto, default_bucket=BUCKET,
                              sagemaker_config=SDK_CONFIG)
    estimator = SKLearn(entry_point="train.py", source_dir=str(code), framework_version="1.2-1",
                        py_version="py3", instance_type="ml.m5.large", instance_count=1,
                        role=ROLE, hyperparameters={"fail": 0}, metric_definitions=METRICS,
                        sagemaker_session=session)
    tuner = HyperparameterTuner(estimator, "score", {"x": SdkContinuous(0, 6)},
                                metric_definitions=METRICS, strategy="Random", max_jobs=3,
                                max_parallel_jobs=3, random_seed=11)
    tune = SdkTuningStep("Tune", step_args=tuner.fit())
    model = Model(image_uri=SERVE_IMAGE, role=ROLE, sagemaker_session=session,
                  model_data=tune.get_top_model_s3_uri(top_k=0, s3_bucket=BUCKET))
    best = SdkModelStep("Best", step_args=model.create(instance_type="ml.m5.large"))
    pipeline = SdkPipeline("sdk-tuning", steps=[tune, best], sagemaker_session=session)
    return json.loads(pipeline.definition()), boto


def _ours(session: mlopskit.Session, code: Path) -> dict[str, Any]:
    estimator = mlopskit.Estimator("train.py", source_dir=str(code), framework="sklearn",
                                   framework_version="1.2-1", instance_type="ml.m5.large",
                                   hyperparameters={"fail": 0}, metric_definitions=METRICS,
                                   session=session)
    tuner = mlopskit.HyperparameterTuner(estimator, "score", {"x": ContinuousParameter(0, 6)},
                                         strategy="Random", max_jobs=3, max_parallel_jobs=3,
                                         random_seed=11)
    tune = TuningStep("Tune", tuner)
    model = mlopskit.Model(tune.get_top_model_s3_uri(0, BUCKET), image_uri=SERVE_IMAGE)
    pipeline = Pipeline("sdk-tuning", steps=[tune, ModelStep("Best", model)],
                        session=session)
    definition: dict[str, Any] = json.loads(pipeline.definition())
    return definition


def _normalised(arguments: dict[str, Any]) -> dict[str, Any]:
    """A Tuning step's arguments with the differences listed above taken out."""
    found = copy.deepcopy(arguments)
    definition = found["TrainingJobDefinition"]
    static = definition["StaticHyperParameters"]
    for key in SDK_ONLY:
        static.pop(key, None)
    assert json.loads(static.pop("sagemaker_submit_directory")).endswith("/sourcedir.tar.gz")
    if "HyperParameterTuningResourceConfig" in definition:
        definition["ResourceConfig"] = definition.pop("HyperParameterTuningResourceConfig")
    for ranges in found["HyperParameterTuningJobConfig"]["ParameterRanges"].values():
        for item in ranges:
            for bound in ("MinValue", "MaxValue"):
                if bound in item:
                    item[bound] = float(item[bound])
    return found


def test_our_tuning_step_matches_the_sdk_for_the_same_tuner(moto_aws, tmp_path):
    code = write_script(tmp_path / "code").parent
    sdk, _ = _sdk_definition(moto_aws, code)
    session = mlopskit.LocalSession(root=tmp_path / "store", bucket=BUCKET, role_arn=ROLE)
    try:
        ours = _ours(session, code)
    finally:
        session.close()
    sdk_tune, our_tune = sdk["Steps"][0], ours["Steps"][0]
    assert (sdk_tune["Name"], sdk_tune["Type"]) == (our_tune["Name"], our_tune["Type"])
    assert _normalised(our_tune["Arguments"]) == _normalised(sdk_tune["Arguments"])
    sdk_static = sdk_tune["Arguments"]["TrainingJobDefinition"]["StaticHyperParameters"]
    assert set(SDK_ONLY) <= set(sdk_static)  # the listed differences are still there
    sdk_model, our_model = sdk["Steps"][1], ours["Steps"][1]
    assert sdk_model["Name"] == "Best-CreateModel" and sdk_model["Type"] == our_model["Type"]
    assert our_model["Arguments"]["PrimaryContainer"]["ModelDataUrl"] == \
        sdk_model["Arguments"]["PrimaryContainer"]["ModelDataUrl"]


def test_the_sdk_made_tuning_pipeline_runs_on_the_local_engine(moto_aws, local_session,
                                                               tmp_path):
    code = write_script(tmp_path / "code").parent
    definition, boto = _sdk_definition(moto_aws, code)
    # The SDK uploaded the code archive while building the definition: bring it along.
    static = definition["Steps"][0]["Arguments"]["TrainingJobDefinition"][
        "StaticHyperParameters"]
    source = json.loads(static["sagemaker_submit_directory"])
    key = source.removeprefix(f"s3://{BUCKET}/")
    archive = boto.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    objects = local_session.backend.objects
    objects.make_bucket(BUCKET)
    objects.put_bytes(archive, source)

    pipeline = Pipeline.from_definition(definition, name="sdk-tuning", session=local_session)
    pipeline.upsert()
    execution = pipeline.start().wait(timeout=300)
    steps = {s.name: s for s in execution.steps()}
    assert {n: s.status for n, s in steps.items()} == {"Tune": "Succeeded",
                                                       "Best-CreateModel": "Succeeded"}
    best = steps["Tune"].properties["BestTrainingJob"]["TrainingJobName"]
    artifact = steps["Best-CreateModel"].properties["PrimaryContainer"]["ModelDataUrl"]
    assert artifact == f"s3://{BUCKET}/{best}/output/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(local_session.read_bytes(artifact))) as tar:
        assert [n.rsplit("/", 1)[-1] for n in tar.getnames() if n.endswith(".txt")] == [
            "x.txt"]
