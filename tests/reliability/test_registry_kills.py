"""Registrations whose caller is SIGKILLed mid-way: a version is whole or absent, and the
numbers stay 1..N with no gap."""

from __future__ import annotations

import pytest

import mlopskit

from .chaos import IMAGE, assert_settled, write_lock

pytestmark = pytest.mark.slow

MODEL = f"""\
model = mlopskit.Model("s3://mlopskit-local/chaos-model/model.tar.gz", image_uri="{IMAGE}",
                       session=session)
"""


def _group(scenario, registered: int) -> mlopskit.ModelPackageGroup:
    scenario.session.write_bytes(b"weights", "s3://mlopskit-local/chaos-model/model.tar.gz")
    group = mlopskit.ModelPackageGroup("chaos", session=scenario.session).create()
    model = mlopskit.Model("s3://mlopskit-local/chaos-model/model.tar.gz", image_uri=IMAGE,
                           session=scenario.session)
    for _ in range(registered):
        group.register(model, metrics={"auc": 0.9})
    return group


def _assert_whole(group: mlopskit.ModelPackageGroup) -> int:
    """Every version readable and complete, numbered 1..N; returns N."""
    versions = [p.version for p in group.versions()]
    assert versions == list(range(len(versions), 0, -1))
    for package in group.versions():
        assert package.history and package.history[0].status == package.approval_status.value
        assert package.lineage["sha256"] and package.model.model_data
    return len(versions)


def test_registration_killed_between_its_checks_and_its_commit(scenario):
    group = _group(scenario, registered=2)
    caller = scenario.caller(MODEL + """\
session.backend  # open the store before the test takes its write lock


def policy(package):
    gate("policies checked")
    hold()  # until the test holds the store's write lock
    return None


group = mlopskit.ModelPackageGroup("chaos", session=session, policies=[policy])
group.register(model, approval_status="Approved", metrics={"auc": 0.95})
""")
    assert scenario.gate.wait(watch=caller.pid) == "policies checked"
    with write_lock(scenario.root):
        scenario.release()  # it goes on into the insert, which cannot commit now
        caller.kill()
    assert _assert_whole(group) == 2  # version 3 was never taken
    assert group.register(mlopskit.Model("s3://mlopskit-local/chaos-model/model.tar.gz",
                                         image_uri=IMAGE, session=scenario.session)
                          ).version == 3
    assert_settled(scenario.root)


def test_registrations_killed_at_a_random_point(scenario):
    group = _group(scenario, registered=0)
    caller = scenario.caller(MODEL + """\
group = mlopskit.ModelPackageGroup("chaos", session=session)
for _ in range(200):
    gate(f"registered {group.register(model, metrics={'auc': 0.9}).version}")
""")
    for expected in (1, 2, 3):
        assert scenario.gate.wait(watch=caller.pid) == f"registered {expected}"
    caller.kill()  # somewhere in a later registration (or between two)
    count = _assert_whole(group)
    assert count >= 3
    model = mlopskit.Model("s3://mlopskit-local/chaos-model/model.tar.gz", image_uri=IMAGE,
                           session=scenario.session)
    assert group.register(model).version == count + 1
    assert_settled(scenario.root)
