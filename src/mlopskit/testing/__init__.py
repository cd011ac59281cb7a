"""Test helpers for your own workflows: fixtures for a local and a moto-backed AWS session.

Enable the pytest plugin in your ``conftest.py``::

    pytest_plugins = ["mlopskit.testing"]

then ask for ``local_session``, ``aws_session`` (moto; needs ``mlopskit[test]``) or
``any_session`` (runs the test once per backend) in a test::

    def test_my_training(any_session):
        job = my_code.train(session=any_session)
        assert job.status == "Completed"
"""

from __future__ import annotations

from ..clock import FakeClock
from .plugin import (
    TEST_BUCKET,
    TEST_REGION,
    TEST_ROLE_ARN,
    any_session,
    aws_session,
    fake_clock,
    local_session,
    moto_aws,
)

__all__ = [
    "TEST_BUCKET",
    "TEST_REGION",
    "TEST_ROLE_ARN",
    "FakeClock",
    "any_session",
    "aws_session",
    "fake_clock",
    "local_session",
    "moto_aws",
]
