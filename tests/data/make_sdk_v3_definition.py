# NOT RUN IN CI, and not a test. A one-off generator kept for provenance only.
#
# Regenerates ``sdk-v3-register-definition.json`` with the official SageMaker Python SDK v3
# (``pip install "sagemaker>=3" "moto[all]"`` in a scratch venv, never in the project venv).
# It works fully offline: fake credentials, every AWS call served by moto, telemetry opted
# out, and an explicit role, bucket and image, so nothing leaves the machine.
#
#     python3 -m venv /tmp/sdkv3
#     /tmp/sdkv3/bin/pip install "sagemaker>=3" "moto[all]"
#     /tmp/sdkv3/bin/python tests/data/make_sdk_v3_definition.py
#
# The pipeline mirrors the SDK's v3 example "v3-pipeline-train-create-registry": a script-mode
# training step (ModelTrainer + SourceCode) whose model artifact is registered through
# ``ModelBuilder(...).register(...)`` inside a ``ModelStep``.
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

ACCOUNT = "111122223333"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerRole"
BUCKET = f"sagemaker-{REGION}-{ACCOUNT}"
OUT = Path(__file__).with_name("sdk-v3-register-definition.json")

# Set in main(), not at import: pytest's --doctest-modules imports this file.
OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # The SDK's documented switch for its client-side IAM role check (SimulatePrincipalPolicy).
    "SAGEMAKER_VALIDATE_ROLE": "false",
}

TRAIN_SCRIPT = """\
import argparse
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, default=1.0)
    args = parser.parse_args()
    train_dir = os.environ["SM_CHANNEL_TRAIN"]
    df = pd.read_csv(os.path.join(train_dir, "train.csv"), header=None)
    model = LogisticRegression(C=args.C).fit(df.iloc[:, 1:], df.iloc[:, 0])
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
"""


def build_definition(source_dir: str) -> dict:
    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.steps import TrainingStep
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, SourceCode

    boto_session = boto3.Session(region_name=REGION)
    boto_session.client("s3").create_bucket(Bucket=BUCKET)
    session = PipelineSession(
        boto_session=boto_session,
        default_bucket=BUCKET,
        sagemaker_config={
            "SchemaVersion": "1.0",
            "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
        },
    )

    input_data = ParameterString(
        name="InputDataUrl", default_value=f"s3://{BUCKET}/mlopskit-v3/data/train"
    )
    approval_status = ParameterString(
        name="ModelApprovalStatus", default_value="PendingManualApproval"
    )

    train_image = image_uris.retrieve(
        framework="sklearn",
        region=REGION,
        version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.xlarge",
        image_scope="training",
    )
    inference_image = image_uris.retrieve(
        framework="sklearn",
        region=REGION,
        version="1.2-1",
        py_version="py3",
        instance_type="ml.m5.xlarge",
        image_scope="inference",
    )

    trainer = ModelTrainer(
        training_image=train_image,
        source_code=SourceCode(source_dir=source_dir, entry_script="train.py"),
        compute=Compute(instance_type="ml.m5.xlarge", instance_count=1),
        base_job_name="mlopskit-v3-train",
        hyperparameters={"C": 0.5},
        input_data_config=[
            InputData(channel_name="train", data_source=input_data, content_type="text/csv")
        ],
        sagemaker_session=session,
        role=ROLE,
    )
    step_train = TrainingStep(name="TrainModel", step_args=trainer.train())

    builder = ModelBuilder(
        s3_model_data_url=step_train.properties.ModelArtifacts.S3ModelArtifacts,
        image_uri=inference_image,
        sagemaker_session=session,
        role_arn=ROLE,
    )
    step_register = ModelStep(
        name="RegisterModel",
        step_args=builder.register(
            model_package_group_name="mlopskit-v3-models",
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.xlarge"],
            transform_instances=["ml.m5.xlarge"],
            approval_status=approval_status,
        ),
    )

    pipeline = Pipeline(
        name="mlopskit-sdk-v3-register",
        parameters=[input_data, approval_status],
        steps=[step_train, step_register],
        sagemaker_session=session,
    )
    return json.loads(pipeline.definition())


def main() -> None:
    os.environ.update(OFFLINE_ENV)
    import moto

    with tempfile.TemporaryDirectory() as source_dir, moto.mock_aws():
        Path(source_dir, "train.py").write_text(TRAIN_SCRIPT)
        definition = build_definition(source_dir)
    OUT.write_text(json.dumps(definition, indent=2, sort_keys=False) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
