"""Notebook reprs work the same on every backend, and escape what users wrote."""

from __future__ import annotations

import re
from pathlib import Path

import mlopskit
from mlopskit.pipeline import ConditionStep, FailStep, GreaterThan, ParameterFloat, Pipeline

from ...session import Session
from ._support import IMAGE, Conformance, constant_model, model_in_store

__all__ = ["DisplayConformance"]

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _safe(page: str) -> str:
    assert "<script" not in page.lower()
    assert "unavailable" not in page, page
    return page


class DisplayConformance(Conformance):
    """``_repr_html_`` of jobs, registry objects, pipelines, executions and endpoints: it
    reads the backend without failing and escapes user text."""

    def test_training_job_repr(self, session: Session, tmp_path: Path) -> None:
        code = tmp_path / "code"
        code.mkdir()
        (code / "train.py").write_text(
            "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm'), 'w').write('m')\n")
        job = mlopskit.Estimator(entry_point="train.py", source_dir=code, image_uri=IMAGE,
                                 instance_type="ml.m5.large", hyperparameters={"note": EVIL},
                                 session=session).fit(logs=False)
        page = _safe(job._repr_html_())
        assert job.name in page and "Completed" in page and ESCAPED in page

    def test_registry_reprs(self, session: Session) -> None:
        uri = f"s3://{session.default_bucket}/display/model.tar.gz"
        session.backend.objects.put_bytes(b"model", uri)
        group = mlopskit.ModelPackageGroup("display-group", description=EVIL,
                                           session=session).create()
        package = group.register(mlopskit.Model(uri, image_uri=IMAGE), metrics={"auc": 0.8},
                                 metadata={"owner": EVIL})
        page = _safe(package._repr_html_())
        assert "display-group v1" in page and "PendingManualApproval" in page
        assert ESCAPED in page
        page = _safe(group._repr_html_())
        assert "display-group" in page and "auc=0.8" in page and ESCAPED in page

    def test_pipeline_and_execution_reprs(self, session: Session) -> None:
        size = ParameterFloat("Size", default_value=0.0)
        first = ConditionStep("First", [GreaterThan(size, 10)])
        second = FailStep("Second", "never", depends_on=[first], description=EVIL)
        pipeline = Pipeline("display-pipeline", parameters=[size], steps=[first, second],
                            session=session)
        page = _safe(pipeline._repr_html_())
        assert page.count('class="mlopskit-node"') == 2
        assert page.count('class="mlopskit-edge"') == 1 and ESCAPED in page
        pipeline.upsert()
        execution = pipeline.start(execution_name="shown")
        page = _safe(execution._repr_html_())
        assert "display-pipeline" in page and "shown" in page
        assert page.count('class="mlopskit-node"') == 2
        assert page.count('class="mlopskit-edge"') == 1
        assert re.search(r"Executing|Succeeded|Failed", page)

    def test_endpoint_repr(self, session: Session, tmp_path: Path) -> None:
        model = model_in_store(session, tmp_path, constant_model(1), "only_model_fn.py",
                               key="display/ep", image_uri=IMAGE)
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="display-ep")
        endpoint = mlopskit.Endpoint("display-ep", session=session)
        try:
            page = _safe(endpoint._repr_html_())
            assert "display-ep" in page and "InService" in page and "AllTraffic" in page
            assert "100%" in page and "ml.m5.large" in page
        finally:
            endpoint.delete()
