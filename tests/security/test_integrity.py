"""Every artifact a deployment uses is checked against its recorded SHA-256 before anything
is extracted or imported: the model artifact and the code archive (sourcedir.tar.gz)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import DeploymentFailedError, IntegrityError
from mlopskit.serving.endpoint import deployed_model
from mlopskit.specs.serving import EndpointConfigSpec

from .support import echo_model, hostile_code, nothing_left

CONFIG = mlopskit.RealtimeConfig("ml.m5.large")


def _approved(session: mlopskit.LocalSession, tmp_path: Path) -> mlopskit.ModelPackage:
    group = mlopskit.ModelPackageGroup("guarded", session=session).create()
    return group.register(echo_model(session, tmp_path)).approve(by="alice")


def test_the_lineage_records_the_code_archive_digest(local_session, tmp_path):
    package = _approved(local_session, tmp_path)
    lineage = package.lineage
    code = lineage["code_data"]
    assert code.endswith("/sourcedir.tar.gz") and "/mlopskit/code/" in code
    assert lineage["code_sha256"] == local_session.backend.objects.sha256(code)


def test_a_replaced_code_archive_is_refused_before_it_is_imported(local_session, tmp_path):
    package = _approved(local_session, tmp_path)
    code_uri = package.model.spec(local_session).source_uri
    assert code_uri is not None
    expected = local_session.backend.objects.sha256(code_uri)
    marker = tmp_path / "imported"
    # After approval, someone replaces the stored code archive (same URI, other bytes).
    local_session.upload(str(hostile_code(marker, tmp_path / "evil" / "sourcedir.tar.gz")),
                         code_uri)
    with pytest.raises(IntegrityError) as info:
        package.deploy(CONFIG, endpoint_name="guarded-ep")
    error = info.value
    assert error.artifact == "code archive"
    assert error.uri == code_uri
    assert error.expected == expected and error.actual != expected
    assert "code archive" in str(error) and expected[:12] in str(error)
    assert error.actual[:12] in str(error)
    assert isinstance(error, DeploymentFailedError)
    assert not marker.exists()  # the replaced inference script never ran
    nothing_left(local_session, "guarded-ep")


def test_a_replaced_model_artifact_is_still_refused(local_session, tmp_path):
    package = _approved(local_session, tmp_path)
    local_session.write_bytes(b"not the registered model", package.lineage["model_data"])
    with pytest.raises(IntegrityError, match="refusing to load a changed artifact") as info:
        package.deploy(CONFIG, endpoint_name="guarded-ep")
    assert info.value.artifact == "model artifact"
    assert info.value.expected == package.lineage["sha256"]
    nothing_left(local_session, "guarded-ep")


def test_an_untouched_package_deploys_and_serves(local_session, tmp_path):
    package = _approved(local_session, tmp_path)
    predictor = package.deploy(CONFIG, endpoint_name="guarded-ep")
    assert predictor.endpoint.invoke(b"x", content_type="text/plain").body == b"v1:x"
    predictor.delete_endpoint()


def test_updating_an_endpoint_to_a_tampered_package_is_refused(local_session, tmp_path):
    endpoint = mlopskit.Endpoint.create("guarded-ep", [mlopskit.ProductionVariant(
        echo_model(local_session, tmp_path, weights=b"old", key="models/old"))],
        session=local_session)
    package = _approved(local_session, tmp_path)
    marker = tmp_path / "imported"
    local_session.upload(str(hostile_code(marker, tmp_path / "evil" / "sourcedir.tar.gz")),
                         package.lineage["code_data"])
    with pytest.raises(IntegrityError, match="code archive"):
        endpoint.update(package)
    assert not marker.exists()
    assert endpoint.status == "InService"  # the old fleet still serves
    assert endpoint.invoke(b"x", content_type="text/plain").body == b"old:x"
    endpoint.delete()


def test_the_server_side_check_covers_both_archives_before_extracting(local_session,
                                                                       tmp_path):
    """A change between CreateModel and the server's start (the local backend's own check,
    on the downloaded files): refused before either archive is unpacked."""
    model = echo_model(local_session, tmp_path)
    spec = deployed_model(local_session, model, "m-1", instance_type="ml.m5.large",
                          sha256=None)
    assert spec.sha256 and spec.code_sha256
    serving = local_session.backend.serving
    serving.create_model(spec)
    serving.create_endpoint_config(EndpointConfigSpec(
        name="c-1", variants=[{"model_name": "m-1", "instance_type": "ml.m5.large"}]))
    marker = tmp_path / "imported"
    code_uri = spec.environment["SAGEMAKER_SUBMIT_DIRECTORY"]
    local_session.upload(str(hostile_code(marker, tmp_path / "evil" / "sourcedir.tar.gz")),
                         code_uri)
    with pytest.raises(IntegrityError, match="variant 'AllTraffic': code archive") as info:
        serving.create_endpoint("raw-ep", "c-1")
    assert info.value.expected == spec.code_sha256
    assert not marker.exists()
    described = serving.describe_endpoint("raw-ep")
    assert described.status == "Failed" and "code archive" in described.failure_reason
    assert not any((local_session.backend.root / "endpoints" / "raw-ep").iterdir())
    serving.delete_endpoint("raw-ep")


def test_content_addressed_code_that_changed_is_refused_for_a_plain_model(local_session,
                                                                          tmp_path):
    """Model.deploy does not upload code that is already stored under its digest: the object
    there must still have that digest."""
    model = echo_model(local_session, tmp_path)
    uri = model.spec(local_session).source_uri
    assert uri is not None
    marker = tmp_path / "imported"
    local_session.upload(str(hostile_code(marker, tmp_path / "evil" / "sourcedir.tar.gz")), uri)
    same_code = mlopskit.Model(model.model_data, entry_point="serve.py",
                               source_dir=tmp_path / "models/echo" / "code",
                               session=local_session)
    with pytest.raises(IntegrityError, match="recorded in its key"):
        same_code.deploy(CONFIG, endpoint_name="plain-ep")
    assert not marker.exists()
    nothing_left(local_session, "plain-ep")


def test_a_batch_transform_refuses_changed_code_too(local_session, tmp_path):
    model = echo_model(local_session, tmp_path)
    uri = model.spec(local_session).source_uri
    assert uri is not None
    marker = tmp_path / "imported"
    local_session.upload(str(hostile_code(marker, tmp_path / "evil" / "sourcedir.tar.gz")), uri)
    data = tmp_path / "input.csv"
    data.write_text("a\nb\n")
    transformer = mlopskit.Model(model.model_data, entry_point="serve.py",
                                 source_dir=tmp_path / "models/echo" / "code",
                                 session=local_session).transformer(1, "ml.m5.large")
    with pytest.raises(IntegrityError, match="code archive"):
        transformer.transform(str(data), content_type="text/plain")
    assert not marker.exists()


def test_the_digests_travel_with_the_deployed_model(local_session, tmp_path):
    model = echo_model(local_session, tmp_path)
    predictor = model.deploy(CONFIG, endpoint_name="digests-ep")
    row = local_session.backend.store.query_one("SELECT spec FROM models")
    spec = json.loads(row["spec"])
    objects = local_session.backend.objects
    assert spec["sha256"] == objects.sha256(model.model_data)
    assert spec["code_sha256"] == objects.sha256(spec["environment"]
                                                 ["SAGEMAKER_SUBMIT_DIRECTORY"])
    predictor.delete_endpoint()
