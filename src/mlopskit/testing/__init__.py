"""Test helpers for your own workflows: fixtures for a local and a moto-backed AWS session,
capability markers, and the conformance suite a backend can run.

Enable the pytest plugin in your ``conftest.py``::

    pytest_plugins = ["mlopskit.testing"]

then ask for ``local_session``, ``aws_session`` (moto; needs ``mlopskit[test]``) or
``any_session`` (runs the test once per backend) in a test::

    def test_my_training(any_session):
        job = my_code.train(session=any_session)
        assert job.status == "Completed"

Mark a test a backend without some :class:`~mlopskit.backends.base.Capability` should fail
(``notimpl``) or cannot run (``never``); :mod:`mlopskit.testing.conformance` holds the
behaviour tests every backend passes, as classes a backend's own test suite subclasses.
"""

from __future__ import annotations

from ..clock import FakeClock
from .plugin import (
    TEST_BUCKET,
    TEST_REGION,
    TEST_ROLE_ARN,
    Emulation,
    Inventory,
    MotoEmulation,
    _capability_marks,
    _moto_session,
    any_session,
    aws_session,
    cli_environment,
    conformance_cli_environment,
    conformance_emulation,
    conformance_inventory,
    emulation_of,
    fake_clock,
    local_session,
    moto_aws,
    never,
    notimpl,
    pytest_configure,
    set_emulation,
)

__all__ = [
    "TEST_BUCKET",
    "TEST_REGION",
    "TEST_ROLE_ARN",
    "Emulation",
    "FakeClock",
    "MotoEmulation",
    "any_session",
    "aws_session",
    "cli_environment",
    "conformance_cli_environment",
    "conformance_emulation",
    "conformance_inventory",
    "emulation_of",
    "fake_clock",
    "local_session",
    "moto_aws",
    "never",
    "notimpl",
    "set_emulation",
]

# What pytest finds here (pytest_plugins names this module) but is no part of the API: the
# plugin's hook and private fixtures, and the type of conformance_inventory's value.
_PLUGIN_ONLY = (pytest_configure, _capability_marks, _moto_session, Inventory)
