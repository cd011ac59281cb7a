"""Registering a framework model into a model package group, then approving it
(docs/registry.md).

SDK: ``SKLearnModel(...).register(model_package_group_name=..., model_metrics=...)`` (which
creates the group when it is missing) then ``ModelPackage.update_approval_status(
"Approved", approval_description=...)``. mlopskit: ``ModelPackageGroup(name).create()``,
``group.register(model, metrics_report_uri=...)`` then ``package.approve(note=...)``. Same
artifact, inference code, content types, instance types, description, metadata and
evaluation report.
"""

from __future__ import annotations

import json

import mlopskit

from .harness import (
    ABSENT,
    BUCKET,
    MODEL_URI,
    ROLE_ARN,
    STAMP,
    Allowed,
    Is,
    Matches,
    assert_documented,
    assert_operations,
    assert_same_code,
    compare,
    value_at,
)

GROUP = "churn"
REPORT_URI = f"s3://{BUCKET}/evaluation/run-1/evaluation.json"
REPORT = {"binary_classification_metrics": {
    "accuracy": {"value": 0.93, "standard_deviation": "NaN"}}}
METADATA = {"owner": "churn-team"}
NOTE = "offline eval ok"
SUBMIT_DIRECTORY = "InferenceSpecification.Containers.0.Environment.SAGEMAKER_SUBMIT_DIRECTORY"

RULES = [
    Allowed("CreateModelPackage", SUBMIT_DIRECTORY,
            sdk=Matches(rf"s3://{BUCKET}/sagemaker-scikit-learn-{STAMP}/sourcedir\.tar\.gz"),
            mlopskit=Matches(rf"s3://{BUCKET}/mlopskit/code/[0-9a-f]{{64}}/sourcedir\.tar\.gz"),
            reason="the inference code's key: the SDK uploads it under a new timestamped "
                   "prefix, mlopskit under the archive's SHA-256 (uploaded once); the archives "
                   "hold the same files (checked by the test)"),
    Allowed("CreateModelPackage", "CertifyForMarketplace", sdk=Is(False), mlopskit=ABSENT,
            reason="false is the API's default: the SDK spells it out"),
    Allowed("CreateModelPackage", "SkipModelValidation", sdk=Is("None"), mlopskit=ABSENT,
            reason="'None' (validate the model) is the API's default: the SDK spells it out"),
    Allowed("CreateModelPackage", "ModelMetrics.Bias", sdk=Is({}), mlopskit=ABSENT,
            reason="an empty Bias section is no bias report, as is none"),
    Allowed("CreateModelPackage", "ModelMetrics.Explainability", sdk=Is({}),
            mlopskit=ABSENT,
            reason="an empty Explainability section is no explainability report, as is none"),
    Allowed("CreateModelPackage", "MetadataProperties",
            sdk=ABSENT,
            mlopskit=Is({"GeneratedBy": Matches(
                rf"s3://{BUCKET}/mlopskit/registry/{GROUP}/[0-9a-f]{{32}}/record\.json")}),
            reason="mlopskit points the package's informational GeneratedBy at its record "
                   "(lineage and approval history) in S3; SageMaker only displays it, "
                   "serving and approval ignore it"),
    Allowed("UpdateModelPackage", "CustomerMetadataProperties", sdk=ABSENT,
            mlopskit=Is(METADATA),
            reason="mlopskit sends the version's whole metadata map with every update (an "
                   "update that leaves it out can reset it, docs/registry.md); here it is "
                   "the map as registered, unchanged"),
]


def sdk_register(sides):
    from sagemaker.model_metrics import MetricsSource, ModelMetrics
    from sagemaker.sklearn import SKLearnModel

    sides.put(REPORT_URI, json.dumps(REPORT).encode())
    model = SKLearnModel(model_data=MODEL_URI, role=ROLE_ARN, entry_point="inference.py",
                         source_dir=str(sides.serve_dir), framework_version="1.2-1",
                         sagemaker_session=sides.sdk_session())
    package = model.register(
        content_types=["text/csv"], response_types=["text/csv"],
        inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
        model_package_group_name=GROUP, approval_status="PendingManualApproval",
        description="nightly run", customer_metadata_properties=dict(METADATA),
        model_metrics=ModelMetrics(model_statistics=MetricsSource(
            content_type="application/json", s3_uri=REPORT_URI)),
        # The SDK records the framework version in the package only when told again here.
        framework_version="1.2-1")
    package.update_approval_status("Approved", approval_description=NOTE)


def mlopskit_register(sides):
    session = sides.mlopskit_session()
    group = mlopskit.ModelPackageGroup(GROUP, session=session).create()
    model = mlopskit.Model(MODEL_URI, entry_point="inference.py", source_dir=sides.serve_dir,
                           framework="sklearn", framework_version="1.2-1", session=session)
    package = group.register(
        model, content_types=["text/csv"], response_types=["text/csv"],
        inference_instance_types=["ml.m5.large"], transform_instance_types=["ml.m5.large"],
        description="nightly run", metadata=METADATA, metrics_report_uri=REPORT_URI)
    package.approve(note=NOTE)


OPERATIONS = ["CreateModelPackageGroup", "CreateModelPackage", "UpdateModelPackage"]


def test_registry_operations(sides):
    recording = sides.run(sdk_register, mlopskit_register)
    assert_operations(recording, OPERATIONS)


def test_create_model_package_group(sides):
    compare(sides.run(sdk_register, mlopskit_register), "CreateModelPackageGroup", RULES)


def test_create_model_package(sides):
    recording = sides.run(sdk_register, mlopskit_register)
    compare(recording, "CreateModelPackage", RULES)
    assert_same_code(sides.s3,
                     value_at(recording.sdk.request("CreateModelPackage"), SUBMIT_DIRECTORY),
                     value_at(recording.mlopskit.request("CreateModelPackage"),
                              SUBMIT_DIRECTORY))


def test_approval(sides):
    compare(sides.run(sdk_register, mlopskit_register), "UpdateModelPackage", RULES)


def test_rules_are_documented():
    assert_documented(RULES)
