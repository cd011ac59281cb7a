"""Fixtures for the parity tests: one moto account, the SDK's session and mlopskit's, both
recorded (see harness.py for the method).

The official SDK is an optional extra (``mlopskit[parity]``): without it this folder is
skipped as a whole when pytest collects ``tests/``. (Given ``tests/parity`` itself on the
command line, pytest loads this conftest before collecting and stops with the same
"could not import 'sagemaker'" message instead of a skip.)
"""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Before the SDK is imported: no v2 deprecation banner, no "Not applying SDK defaults" logs.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
pytest.importorskip("sagemaker")

import boto3  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.sagemaker.models import sagemaker_backends  # noqa: E402

from mlopskit import AwsSession  # noqa: E402
from mlopskit.clock import FakeClock  # noqa: E402

from .harness import (  # noqa: E402
    BUCKET,
    MODEL_URI,
    RAW_URI,
    REGION,
    ROLE_ARN,
    SCORING_URI,
    TEST_URI,
    TRAIN_URI,
    Recording,
)

# The SDK's defaults config, given explicitly: no telemetry request, and no config file of
# this machine (/etc/xdg/sagemaker, ~/.config/sagemaker) can add defaults to its requests.
SDK_CONFIG = {"SchemaVersion": "1.0",
              "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def reset_moto_sagemaker() -> None:
    """Forget every SageMaker resource moto holds (S3 is kept), so the second side finds the
    names the user chose (endpoint, group, pipeline) free, as the first side did."""
    sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].reset()


def _tar_gz(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Sides:
    """One test's account and the user's files; runs the SDK side, then mlopskit's."""

    def __init__(self, boto: Any, work: Path) -> None:
        self.boto = boto
        self.s3 = boto.client("s3")
        self.work = work
        self.recording = Recording()
        self._sdk: Any = None
        self._pipeline_sdk: Any = None
        self._mlopskit: AwsSession | None = None
        # Moto never runs these; they only have to exist (and be packed the same way).
        self.source_dir = self._write("src", {"train.py": "print('accuracy=0.93')\n",
                                              "helpers.py": "SEED = 7\n"})
        self.serve_dir = self._write("serve", {"inference.py": "def model_fn(model_dir):\n"
                                                               "    return None\n"})
        self.preprocess = self._write(".", {"preprocess.py": "print('split')\n"}) / \
            "preprocess.py"
        for uri, body in [(f"{TRAIN_URI}train.csv", b"1,0.5\n0,0.1\n"),
                          (f"{TEST_URI}test.csv", b"1,0.4\n"),
                          (f"{RAW_URI}data.csv", b"x,y\n1,0\n"),
                          (f"{SCORING_URI}part-0.csv", b"0.5\n0.1\n"),
                          (MODEL_URI, _tar_gz({"model.joblib": "weights"}))]:
            self.put(uri, body)

    def _write(self, folder: str, files: dict[str, str]) -> Path:
        target = self.work / "user" / folder
        target.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (target / name).write_text(text)
        return target

    def put(self, uri: str, body: bytes) -> None:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def sdk_session(self) -> Any:
        """A ``sagemaker.Session`` whose SageMaker client is recorded."""
        if self._sdk is None:
            import sagemaker

            self._sdk = sagemaker.Session(boto_session=self.boto, default_bucket=BUCKET,
                                          sagemaker_config=SDK_CONFIG)
            self.recording.sdk.attach(self._sdk.sagemaker_client)
        return self._sdk

    def pipeline_session(self) -> Any:
        """A ``PipelineSession`` whose SageMaker client is recorded (same recorder)."""
        if self._pipeline_sdk is None:
            from sagemaker.workflow.pipeline_context import PipelineSession

            self._pipeline_sdk = PipelineSession(boto_session=self.boto, default_bucket=BUCKET,
                                                 sagemaker_config=SDK_CONFIG)
            self.recording.sdk.attach(self._pipeline_sdk.sagemaker_client)
        return self._pipeline_sdk

    def mlopskit_session(self) -> AwsSession:
        """An ``AwsSession`` (fake clock: waits do not sleep) whose client is recorded."""
        if self._mlopskit is None:
            self._mlopskit = AwsSession(region=REGION, role_arn=ROLE_ARN, bucket=BUCKET,
                                        boto3_session=self.boto, clock=FakeClock())
            self.recording.mlopskit.attach(self._mlopskit.backend.clients.sagemaker)
        return self._mlopskit

    def run(self, sdk_side: Callable[[Sides], Any],
            mlopskit_side: Callable[[Sides], Any]) -> Recording:
        """The SDK's call, a clean SageMaker, then mlopskit's call; both recordings."""
        sdk_side(self)
        reset_moto_sagemaker()
        mlopskit_side(self)
        return self.recording

    def close(self) -> None:
        if self._mlopskit is not None:
            self._mlopskit.close()


@pytest.fixture(autouse=True)
def _sdk_config_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK validates its defaults config against its JSON schema on every lookup of a
    default (0.3 s each, some 25 per deploy). Validating each distinct config once keeps
    the check and saves most of this folder's run time. (Patches the SDK, never mlopskit.)
    """
    import sagemaker.utils

    original = sagemaker.utils.validate_sagemaker_config
    seen: set[str] = set()

    def validate_once(config: Any = None) -> None:
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in seen:
            original(config)
            seen.add(key)

    monkeypatch.setattr(sagemaker.utils, "validate_sagemaker_config", validate_once)


@pytest.fixture
def sides(moto_aws: Any, tmp_path: Path) -> Iterator[Sides]:
    """One moto account (fake credentials, us-east-1) with the parity bucket."""
    boto = boto3.Session(region_name=REGION)
    boto.client("s3").create_bucket(Bucket=BUCKET)
    run = Sides(boto, tmp_path)
    try:
        yield run
    finally:
        run.close()
