"""The pytest fixtures behind :mod:`mlopskit.testing`."""

from __future__ import annotations

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


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when told to; waits on it return at once."""
    return FakeClock()


@pytest.fixture
def local_session(tmp_path: Path) -> Iterator[LocalSession]:
    """A :class:`~mlopskit.LocalSession` rooted in a fresh temporary folder."""
    session = LocalSession(root=tmp_path / "mlopskit")
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def moto_aws() -> Iterator[Any]:
    """moto's ``mock_aws`` with fake credentials; no request leaves the machine."""
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
    """An :class:`~mlopskit.AwsSession` on moto, with its bucket made and a fake clock."""
    import boto3

    boto = boto3.Session(region_name=TEST_REGION)
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
    """Runs the test once on the local backend and once on AWS (moto)."""
    session: Session = request.getfixturevalue(f"{request.param}_session")
    return session
