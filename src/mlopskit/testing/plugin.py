"""The pytest fixtures behind :mod:`mlopskit.testing`."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..clock import FakeClock
from ..errors import MissingDependencyError
from ..session import AwsSession, LocalSession, Session

TEST_REGION = "us-east-1"
TEST_BUCKET = "mlopskit-test-bucket"
TEST_ROLE_ARN = "arn:aws:iam::123456789012:role/mlopskit-test"

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": TEST_REGION,
}


@functools.cache
def _botocore_loader() -> Any:
    """One botocore data loader for the whole test process.

    A new ``boto3.Session`` gets a loader of its own, which parses botocore's service models
    again (SageMaker's is megabytes of JSON): some 0.3 s for every test that makes one. The
    loader only reads the files botocore ships and keeps what it parsed, so sharing it
    changes no request, no validation and no response.
    """
    import botocore.loaders

    return botocore.loaders.create_loader()


def _boto3_session(region: str) -> Any:
    """A new ``boto3.Session`` (its own credentials, clients and event handlers) that reuses
    the service models this process has already parsed; a plain one if ``AWS_DATA_PATH``
    names model folders of its own."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    if core.get_config_variable("data_path") is None:
        core.register_component("data_loader", _botocore_loader())
    return boto3.Session(region_name=region, botocore_session=core)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when told to; waits on it return at once.

    Pass it as ``clock=`` to a session (``aws_session`` already does), then check the waits
    your code asked for without spending them.

    Example::

        # conftest.py: pytest_plugins = ["mlopskit.testing"]
        def test_backoff_is_not_slept(fake_clock):
            fake_clock.sleep(30)              # returns at once
            fake_clock.advance(60)
            assert fake_clock.monotonic() == 90.0
            assert fake_clock.sleeps == [30]
    """
    return FakeClock()


@pytest.fixture
def local_session(tmp_path: Path) -> Iterator[LocalSession]:
    """A :class:`~mlopskit.LocalSession` rooted in a fresh temporary folder.

    Each test gets its own store (closed after the test), so tests never see each other's
    jobs, models or files.

    Example::

        # conftest.py
        pytest_plugins = ["mlopskit.testing"]

        # test_registry.py
        import mlopskit

        def test_group_is_stored(local_session):
            mlopskit.ModelPackageGroup("churn", session=local_session).create()
            assert mlopskit.ModelPackageGroup.get("churn", session=local_session).name == "churn"
    """
    session = LocalSession(root=tmp_path / "mlopskit")
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def moto_aws() -> Iterator[Any]:
    """moto's ``mock_aws`` with fake credentials; no request leaves the machine.

    Use it for your own boto3 code; ``aws_session`` builds on it. Needs ``mlopskit[test]``.

    Example::

        import boto3

        def test_my_boto3_code(moto_aws):
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="scratch")
            assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["scratch"]
    """
    try:
        import moto
    except ImportError as exc:  # pragma: no cover - depends on the user's install
        raise MissingDependencyError(
            "the aws_session fixture needs moto: pip install 'mlopskit[test]'", extra="test"
        ) from exc
    saved = {key: os.environ.get(key) for key in _FAKE_CREDENTIALS}
    os.environ.update(_FAKE_CREDENTIALS)
    try:
        with moto.mock_aws() as mock:
            yield mock
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def aws_session(moto_aws: Any, fake_clock: FakeClock) -> Iterator[AwsSession]:
    """An :class:`~mlopskit.AwsSession` on moto, with its bucket made and a fake clock.

    Its region, bucket and role are ``TEST_REGION``, ``TEST_BUCKET`` and ``TEST_ROLE_ARN``
    (from :mod:`mlopskit.testing`); the clock is the test's ``fake_clock``.

    Example::

        import mlopskit
        from mlopskit.testing import TEST_BUCKET

        def test_group_on_aws(aws_session):
            assert aws_session.default_bucket == TEST_BUCKET
            mlopskit.ModelPackageGroup("churn", session=aws_session).create()
            assert mlopskit.ModelPackageGroup.get("churn", session=aws_session).name == "churn"
    """
    boto = _boto3_session(TEST_REGION)
    boto.client("s3").create_bucket(Bucket=TEST_BUCKET)
    session = AwsSession(
        region=TEST_REGION, role_arn=TEST_ROLE_ARN, bucket=TEST_BUCKET,
        boto3_session=boto, clock=fake_clock,
    )
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(params=["local", "aws"])
def any_session(request: pytest.FixtureRequest) -> Session:
    """Runs the test once on the local backend and once on AWS (moto).

    The test is collected twice, as ``test_x[local]`` and ``test_x[aws]``: code that passes
    both behaves the same on either backend.

    Example::

        # conftest.py
        pytest_plugins = ["mlopskit.testing"]

        # test_workflow.py
        import mlopskit

        def test_registry(any_session):
            mlopskit.ModelPackageGroup("churn", session=any_session).create()
            names = [g.name for g in mlopskit.ModelPackageGroup.list(session=any_session)]
            assert names == ["churn"]
    """
    session: Session = request.getfixturevalue(f"{request.param}_session")
    return session
