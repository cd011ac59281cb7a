"""Batch transform on every backend: each strategy and split, settings, binary splits."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ValidationError

from ...backends.base import Capability
from ...session import Session
from ..plugin import Emulation, Inventory, notimpl
from ._support import IMAGE, INFERENCE_SCRIPTS, Conformance

__all__ = ["TransformConformance", "rows_in_store", "summing_model"]


def summing_model(session: Session, tmp_path: Path) -> mlopskit.Model:
    """A model in the store whose answer to a CSV row is the sum of its values."""
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("placeholder.txt")
        tar.addfile(info, io.BytesIO(b""))
    uri = f"s3://{session.default_bucket}/transform-model/model.tar.gz"
    session.backend.objects.put_file(archive, uri)
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(INFERENCE_SCRIPTS / "echo_rows.py", code / "echo_rows.py")
    return mlopskit.Model(uri, image_uri=IMAGE, entry_point="echo_rows.py", source_dir=code,
                          session=session)


def rows_in_store(session: Session, key: str, rows: list[str]) -> str:
    """``rows`` as lines of ``s3://<bucket>/batch-in/<key>``; its URI."""
    uri = f"s3://{session.default_bucket}/batch-in/{key}"
    session.backend.objects.put_bytes(("\n".join(rows) + "\n").encode(), uri)
    return uri


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"strategy": "Batch"}, "strategy"),
    ({"split_type": "Words"}, "split_type"),
    ({"assemble_with": "Comma"}, "assemble_with"),
    ({"max_payload_mb": 101}, "max_payload_mb"),
    ({"max_payload_mb": 50, "max_concurrent_transforms": 3}, "at most 100"),
    ({"input_filter": "[1:]"}, "not a JSONPath"),
    ({"join_source": "Output"}, "join_source"),
    ({"instance_type": "m5"}, "instance_type"),
]


class TransformConformance(Conformance):
    """Transformer.transform over S3 data: every strategy and split type, the job's times,
    its outputs where the service runs the model, and the settings it refuses."""

    @pytest.fixture
    def model(self, session: Session, tmp_path: Path) -> mlopskit.Model:
        return summing_model(session, tmp_path)

    @pytest.mark.parametrize(("strategy", "split_type"), [
        ("MultiRecord", "Line"), ("SingleRecord", "Line"), ("MultiRecord", "None"),
        ("SingleRecord", "None")])
    def test_transform_each_strategy_and_split(self, session: Session, model: mlopskit.Model,
                                               conformance_emulation: Emulation,
                                               strategy: str, split_type: str) -> None:
        rows = [f"{i},{i},1" for i in range(50)]
        rows_in_store(session, "a.csv", rows)
        rows_in_store(session, "nested/b.csv", rows[:3])
        transformer = model.transformer(1, "ml.m5.large", strategy=strategy,
                                        split_type=split_type,
                                        assemble_with="Line" if split_type == "Line" else "None",
                                        max_payload_mb=1)
        job = transformer.transform(f"s3://{session.default_bucket}/batch-in/",
                                    job_name=f"t-{strategy.lower()}-{split_type.lower()}")
        assert job.status == "Completed"
        described = job.describe()
        assert described.creation_time is not None and described.end_time is not None
        assert described.start_time is not None
        assert described.creation_time <= described.start_time <= described.end_time
        if not conformance_emulation.executes:
            return  # the job was recorded; nothing ran it
        # a job that started a server process took measurable time on the real clock
        assert described.creation_time < described.start_time < described.end_time
        out = f"s3://{session.default_bucket}/{job.name}"  # the SDK's default output path
        assert sorted(job.outputs) == [f"{out}/a.csv.out", f"{out}/nested/b.csv.out"]
        body = session.backend.objects.get_bytes(f"{out}/a.csv.out").decode()
        assert body.split() == [str(2 * i + 1) for i in range(50)]  # in input order

    @pytest.mark.parametrize(("kwargs", "text"), BAD_SETTINGS)
    def test_bad_transform_settings(self, model: mlopskit.Model, kwargs: dict[str, Any],
                                    text: str) -> None:
        args: dict[str, Any] = {"instance_count": 1, "instance_type": "ml.m5.large"} | kwargs
        with pytest.raises(ValidationError, match=text):
            model.transformer(**args)

    @pytest.mark.parametrize("split_type", ["RecordIO", "TFRecord"])
    @notimpl(Capability.RECORDIO_SPLIT)
    def test_binary_record_splits(self, session: Session, model: mlopskit.Model,
                                  conformance_inventory: Inventory, split_type: str) -> None:
        transformer = model.transformer(1, "ml.m5.large", split_type=split_type,
                                        assemble_with="None")
        data = rows_in_store(session, "records.bin", ["x"])
        before = conformance_inventory(session)
        try:
            job = transformer.transform(data, content_type="application/x-recordio",
                                        job_name="binary")
        except CapabilityError as refused:  # refused before the model is made
            assert "recordio-split" in str(refused)  # noqa: PT017 (re-raised below)
            assert conformance_inventory(session) == before
            raise
        assert job.status == "Completed"
