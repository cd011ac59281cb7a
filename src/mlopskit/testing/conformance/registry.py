"""The model registry's lifecycle, rules and bad-input handling, on every backend."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError
from mlopskit.registry import ModelPackage, PolicyViolationError, TamperedArtifactError

from ...session import Session
from ..plugin import Emulation
from ._support import IMAGE, Conformance

__all__ = ["RegistryConformance"]

PENDING, APPROVED, REJECTED = (mlopskit.ApprovalStatus.PENDING, mlopskit.ApprovalStatus.APPROVED,
                               mlopskit.ApprovalStatus.REJECTED)


def _artifact(session: Session, name: str = "m1", data: bytes = b"model-bytes") -> str:
    uri = f"s3://{session.default_bucket}/artifacts/{name}/model.tar.gz"
    session.backend.objects.put_bytes(data, uri)
    return uri


def _register(group: mlopskit.ModelPackageGroup, name: str = "m1", **kwargs: Any
              ) -> ModelPackage:
    model = mlopskit.Model(_artifact(group.session, name), image_uri=IMAGE)
    return group.register(model, **kwargs)


def _snapshot(group: mlopskit.ModelPackageGroup) -> list[tuple[Any, ...]]:
    return [(p.version, p.approval_status, p.metadata, len(p.history))
            for p in group.versions(newest_first=False)]


def _latest(group: mlopskit.ModelPackageGroup, *args: Any, **kwargs: Any) -> ModelPackage:
    found = group.latest(*args, **kwargs)
    assert found is not None
    return found


BAD: list[tuple[str, Callable[[mlopskit.ModelPackageGroup], Any], type[Exception], str]] = [
    ("unknown-status", lambda g: _register(g, approval_status="Approvedd"), ValidationError,
     "approval_status: 'Approvedd' is not an approval status; allowed: PendingManualApproval"),
    ("unknown-filter-status", lambda g: list(g.versions(status="Done")), ValidationError,
     "status"),
    ("unknown-latest-status", lambda g: g.latest(status="approved"), ValidationError, "status"),
    ("illegal-transition", lambda g: g.package(2).approve(), ConflictError, "not allowed"),
    ("too-many-metadata", lambda g: _register(g, metadata={f"k{i}": "v" for i in range(51)}),
     ValidationError, "at most 50"),
    ("metadata-key-too-long", lambda g: _register(g, metadata={"k" * 129: "v"}),
     ValidationError, "1 to 128"),
    ("metadata-value-too-long", lambda g: g.package(1).set_metadata({"k": "v" * 257}),
     ValidationError, "at most 256"),
    ("metadata-value-not-text", lambda g: g.package(1).set_metadata({"k": 3}),  # type: ignore[dict-item]
     ValidationError, "metadata"),
    ("unknown-group", lambda g: mlopskit.ModelPackageGroup(
        "no-such-group", session=g.session).register(
        mlopskit.Model(_artifact(g.session), image_uri=IMAGE)), NotFoundError, "no-such-group"),
    ("unknown-version", lambda g: g.package(99), NotFoundError, "version 99"),
    ("version-zero", lambda g: g.package(0), ValidationError, "version"),
    ("version-not-int", lambda g: g.package("1"), ValidationError, "version"),  # type: ignore[arg-type]
    ("unregistered-artifact", lambda g: g.register(mlopskit.Model(
        f"s3://{g.session.default_bucket}/nowhere/model.tar.gz", image_uri=IMAGE)),
     ValidationError, "model.model_data"),
    ("not-a-model", lambda g: g.register("s3://bucket-1/model.tar.gz"), ValidationError,  # type: ignore[arg-type]
     "model: expected a mlopskit.Model"),
    ("bad-model-uri", lambda g: mlopskit.Model("/no/such/folder/model.tar.gz"),
     ValidationError, "neither an s3:// URI nor an existing local model.tar.gz"),
    ("empty-content-types", lambda g: _register(g, content_types=()), ValidationError,
     "content_types"),
    ("bad-mime-type", lambda g: _register(g, response_types=("csv",)), ValidationError,
     "response_types"),
    ("description-too-long", lambda g: _register(g, description="d" * 1025), ValidationError,
     "description"),
    ("note-too-long", lambda g: g.package(3).approve(note="n" * 1025), ValidationError, "note"),
    ("bad-group-name", lambda g: mlopskit.ModelPackageGroup("bad_name", session=g.session),
     ValidationError, "name"),
    ("bad-threshold-op", lambda g: mlopskit.MetricThreshold("auc", "=>", 0.9), ValidationError,
     "op"),
    ("bad-require-text", lambda g: mlopskit.MetricThreshold.parse("auc=>0.9"),
     ValidationError, "is not METRIC>=VALUE"),
    ("require-without-metric", lambda g: mlopskit.MetricThreshold.parse(">=0.9"),
     ValidationError, "is not METRIC>=VALUE"),
    ("nan-metric", lambda g: _register(g, metrics={"auc": float("nan")}), ValidationError,
     "not a finite number"),
    ("register-note-too-long", lambda g: _register(g, note="n" * 1025), ValidationError,
     "note"),
    ("empty-by", lambda g: g.package(3).approve(by=""), ValidationError, "by:"),
]

BAD_REPORTS: list[tuple[dict[str, Any], str]] = [
    ({"metrics": {"auc": 0.9}}, "metrics: give metrics= or metrics_report_uri=, not both"),
    ({"report": b"not json"}, "is not JSON"),
    ({"report": b'{"summary": {"auc": 0.9}}'}, "holds no metric values"),
    ({"missing": True}, "no report at"),
    ({"uri": "s3://no such/key.json"}, "metrics_report_uri"),
]


class RegistryConformance(Conformance):
    """Model package groups and packages: lifecycle, approval rules, policies, lineage,
    metadata limits, and bad input that changes nothing."""

    @pytest.fixture
    def group(self, session: Session) -> mlopskit.ModelPackageGroup:
        return mlopskit.ModelPackageGroup("churn", "churn models", session=session).create()

    def test_create_is_idempotent(self, session: Session) -> None:
        first = mlopskit.ModelPackageGroup("dup-group", "a", session=session).create()
        again = mlopskit.ModelPackageGroup("dup-group", "b", session=session).create()
        assert again.name == first.name
        assert [g.name for g in mlopskit.ModelPackageGroup.list(session=session)] == [
            "dup-group"]
        assert mlopskit.ModelPackageGroup.get("dup-group", session=session).description == "a"

    def test_lifecycle_three_versions(self, group: mlopskit.ModelPackageGroup) -> None:
        packages = [_register(group, f"m{i}", metrics={"auc": 0.8 + i / 100})
                    for i in (1, 2, 3)]
        assert [p.version for p in packages] == [1, 2, 3]
        assert all(p.approval_status is PENDING for p in packages)
        assert packages[0].arn != packages[1].arn
        assert group.latest() is None
        packages[0].approve(by="alice", note="offline eval ok")
        packages[1].reject(by="bob", note="worse than v1")
        assert _latest(group).version == 1
        assert _latest(group, PENDING).version == 3
        assert _latest(group, status=None).version == 3
        assert [p.version for p in group.versions()] == [3, 2, 1]
        assert [p.version for p in group.versions(newest_first=False)] == [1, 2, 3]
        assert [p.version for p in group.versions(status=REJECTED)] == [2]
        assert [p.version for p in group.versions(status="Approved")] == [1]
        packages[2].approve(by="alice")
        assert _latest(group).version == 3
        assert group.package(2).metrics == {"auc": pytest.approx(0.82)}

    def test_audit_history_records_who_when_why(self, group: mlopskit.ModelPackageGroup
                                                ) -> None:
        package = _register(group, by="ci-bot", note="from pipeline")
        package.approve(by="alice", note="A/B won")
        package.reject(by="oncall", note="drift in prod")
        history = group.package(1).history
        assert [(h.previous, h.status, h.by, h.note) for h in history] == [
            (None, "PendingManualApproval", "ci-bot", "from pipeline"),
            ("PendingManualApproval", "Approved", "alice", "A/B won"),
            ("Approved", "Rejected", "oncall", "drift in prod"),
        ]
        assert all(h.at for h in history)

    def test_asking_for_the_current_state_changes_nothing(
            self, group: mlopskit.ModelPackageGroup) -> None:
        package = _register(group).approve(by="alice")
        before = len(package.history)
        package.approve(by="alice", note="again")
        assert len(group.package(1).history) == before

    def test_rejected_is_final(self, group: mlopskit.ModelPackageGroup) -> None:
        package = _register(group).reject(by="bob")
        with pytest.raises(ConflictError, match="Rejected -> Approved is not allowed"):
            package.approve(by="alice")
        assert group.package(1).approval_status is REJECTED

    def test_metadata_limits(self, group: mlopskit.ModelPackageGroup) -> None:
        package = _register(group, metadata={"owner": "fraud"})
        full = {f"k{i}": "v" * 256 for i in range(49)}
        package.set_metadata(full)
        assert len(group.package(1).metadata) == 50
        package.set_metadata({"x" * 128: "y"}, remove=["k0"])
        stored = group.package(1).metadata
        assert "k0" not in stored
        assert stored["x" * 128] == "y"
        assert stored["owner"] == "fraud"
        with pytest.raises(ValidationError, match="51 entries; at most 50"):
            package.set_metadata({"one-too-many": "v"})
        assert group.package(1).metadata == stored

    def test_policy_refuses_an_approval(self, session: Session) -> None:
        group = mlopskit.ModelPackageGroup(
            "guarded", session=session,
            policies=[mlopskit.MetricThreshold("auc", ">=", 0.9)]).create()
        weak = _register(group, "weak", metrics={"auc": 0.85})
        with pytest.raises(PolicyViolationError, match=r"'auc' is 0.85, needs >= 0.9"):
            weak.approve(by="alice")
        assert group.package(1).approval_status is PENDING
        strong = _register(group, "strong", metrics={"auc": 0.93})
        assert strong.approve(by="alice").approval_status is APPROVED
        no_metric = _register(group, "none")
        with pytest.raises(PolicyViolationError, match="not recorded"):
            no_metric.approve()
        with pytest.raises(PolicyViolationError):
            _register(group, "direct", metrics={"auc": 0.5}, approval_status=APPROVED)
        assert [p.version for p in group.versions()] == [3, 2, 1]

    def test_lineage_links_the_training_job(self, session: Session, tmp_path: Path,
                                            conformance_emulation: Emulation) -> None:
        code = tmp_path / "code"
        code.mkdir()
        (code / "train.py").write_text(
            "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w')"
            ".write('m')\n")
        data = tmp_path / "data"
        data.mkdir()
        (data / "a.csv").write_text("1,2\n")
        estimator = mlopskit.Estimator(entry_point="train.py", source_dir=code,
                                       image_uri=IMAGE, instance_type="ml.m5.large",
                                       hyperparameters={"depth": 3}, session=session)
        job = estimator.fit({"train": str(data)}, logs=False)
        assert job.model_data is not None
        if not conformance_emulation.executes:  # nothing ran the script: stand in for it
            session.backend.objects.put_bytes(b"artifact", job.model_data)
        group = mlopskit.ModelPackageGroup("lineage", session=session).create()
        package = group.register(estimator.create_model(), source_job=job)
        lineage = package.lineage
        assert lineage["training_job"] == job.name
        assert lineage["hyperparameters"] == {"depth": 3}
        assert lineage["inputs"] == {
            "train": f"s3://{session.default_bucket}/{job.name}/input/train/"}
        expected = hashlib.sha256(session.backend.objects.get_bytes(job.model_data)).hexdigest()
        assert lineage["sha256"] == expected
        assert package.model.model_data == job.model_data
        assert package.model.image_uri == IMAGE

    def test_verified_artifact_refuses_a_tampered_one(self, group: mlopskit.ModelPackageGroup,
                                                      tmp_path: Path) -> None:
        package = _register(group)
        path = package.verified_artifact(tmp_path / "ok")
        assert path.read_bytes() == b"model-bytes"
        _artifact(group.session, "m1", b"evil-bytes")
        with pytest.raises(TamperedArtifactError, match="refusing to load"):
            package.verified_artifact(tmp_path / "bad")
        assert not (tmp_path / "bad" / "model.tar.gz").exists()

    def test_delete_group(self, session: Session) -> None:
        group = mlopskit.ModelPackageGroup("to-delete", session=session).create()
        group.delete()
        with pytest.raises(NotFoundError, match="to-delete"):
            mlopskit.ModelPackageGroup.get("to-delete", session=session)

    @pytest.mark.parametrize(("action", "error", "message"),
                             [pytest.param(a, e, m, id=i) for i, a, e, m in BAD])
    def test_bad_input_changes_nothing(self, group: mlopskit.ModelPackageGroup,
                                       action: Callable[[mlopskit.ModelPackageGroup], Any],
                                       error: type[Exception], message: str) -> None:
        _register(group, "v1").approve(by="alice")
        _register(group, "v2").reject(by="bob")
        _register(group, "v3")
        before = _snapshot(group)
        with pytest.raises(error) as info:
            action(group)
        assert message in str(info.value)
        assert _snapshot(group) == before
        assert [g.name for g in mlopskit.ModelPackageGroup.list(session=group.session)] == [
            "churn"]

    def test_tampered_artifact_changes_nothing(self, group: mlopskit.ModelPackageGroup,
                                               tmp_path: Path) -> None:
        package = _register(group)
        before = _snapshot(group)
        _artifact(group.session, "m1", b"changed")
        with pytest.raises(TamperedArtifactError):
            package.verified_artifact(tmp_path)
        assert _snapshot(group) == before

    def test_policies_see_a_whole_package_when_registering_as_approved(
            self, session: Session) -> None:
        seen: dict[str, Any] = {}

        def needs_lineage(package: Any) -> str | None:
            seen.update(version=package.version, sha=package.lineage.get("sha256"),
                        data=package.model.model_data)
            return None

        group = mlopskit.ModelPackageGroup("policy-view", session=session,
                                           policies=[needs_lineage]).create()
        package = _register(group, approval_status=APPROVED)
        assert package.approval_status is APPROVED
        assert seen["version"] is None
        assert len(seen["sha"]) == 64
        assert seen["data"].endswith("/model.tar.gz")

    def test_set_metadata_remove_takes_a_single_key_string(
            self, group: mlopskit.ModelPackageGroup) -> None:
        package = _register(group, metadata={"k0": "a", "k": "b", "0": "c"})
        package.set_metadata({}, remove="k0")
        assert group.package(1).metadata == {"k": "b", "0": "c"}

    def test_create_returns_the_stored_description(self, session: Session) -> None:
        mlopskit.ModelPackageGroup("described", "first words", session=session).create()
        again = mlopskit.ModelPackageGroup("described", "other words", session=session).create()
        assert again.description == "first words"

    def test_a_package_can_point_at_an_existing_evaluation_report(
            self, group: mlopskit.ModelPackageGroup) -> None:
        """register(metrics_report_uri=...): the evaluation step's own report, not one of
        ours."""
        session = group.session
        report = {"binary_classification_metrics": {
            "accuracy": {"value": 0.87, "standard_deviation": "NaN"},
            "auc": {"value": 0.93, "standard_deviation": "NaN"}}}
        uri = session.write_bytes(json.dumps(report).encode(),
                                  f"s3://{session.default_bucket}/eval/evaluation.json")
        package = _register(group, metrics_report_uri=uri,
                            transform_instance_types=["ml.c5.xlarge"])
        assert package.metrics == {"accuracy": 0.87, "auc": 0.93}
        again = group.package(package.version)
        assert again.metrics == {"accuracy": 0.87, "auc": 0.93}
        assert again.lineage["sha256"] == package.lineage["sha256"]  # the record is found
        assert again.refresh().approve(note="ok").approval_status == APPROVED
        assert len(group.package(package.version).history) == 2
        written = session.list(f"s3://{session.default_bucket}/mlopskit/registry/")
        assert not any(uri.endswith("/metrics.json") for uri in written)  # no report of ours

    @pytest.mark.parametrize(("kwargs", "message"), BAD_REPORTS)
    def test_a_bad_metrics_report_registers_nothing(self, group: mlopskit.ModelPackageGroup,
                                                    kwargs: dict[str, Any],
                                                    message: str) -> None:
        session = group.session
        kwargs = dict(kwargs)  # shared by every backend's run
        uri = kwargs.pop("uri", f"s3://{session.default_bucket}/eval/report.json")
        report = kwargs.pop("report", None)
        if report is not None:
            session.write_bytes(report, uri)
        elif not kwargs.pop("missing", False) and "metrics" in kwargs:
            session.write_bytes(b'{"custom_metrics": {"auc": {"value": 0.9}}}', uri)
        with pytest.raises(ValidationError, match=message):
            _register(group, metrics_report_uri=uri, **kwargs)
        assert list(group.versions()) == []
