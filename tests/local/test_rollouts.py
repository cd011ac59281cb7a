"""A/B variants and blue/green rollouts on the local backend, on a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import mlopskit
from mlopskit.errors import CapabilityError, ValidationError

from ..helpers import constant_model, model_in_store

ROW = b"0.5,0.5,0.5"


class TrafficClock(mlopskit.FakeClock):
    """A fake clock whose bakes carry traffic: ``during_bake`` runs at every sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.during_bake: Callable[[float], None] | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.during_bake is not None and seconds > 0:
            self.during_bake(seconds)


@pytest.fixture
def clock() -> TrafficClock:
    return TrafficClock()


@pytest.fixture
def session(tmp_path: Path, clock: TrafficClock):
    session = mlopskit.LocalSession(root=tmp_path / "root", clock=clock)
    yield session
    session.close()


def _model(session, tmp_path: Path, value: int, script: str = "dict_output.py"):
    return model_in_store(session, tmp_path, constant_model(value), script,
                          key=f"models/{value}/{script}")


def _answer(endpoint: mlopskit.Endpoint) -> int:
    return int(json.loads(endpoint.invoke(ROW).body)["predictions"][0])


@pytest.mark.slow
def test_two_variants_split_traffic_by_weight(session, tmp_path):
    endpoint = mlopskit.Endpoint.create("ab-test", [
        mlopskit.ProductionVariant(_model(session, tmp_path, 1), "A", weight=3.0),
        mlopskit.ProductionVariant(_model(session, tmp_path, 2), "B", weight=1.0),
    ], session=session)
    served = [endpoint.invoke(ROW).variant for _ in range(2000)]
    share_a = served.count("A") / len(served)
    assert abs(share_a - 0.75) < 0.04  # 4 standard deviations of a binomial(2000, 0.75)
    assert {endpoint.invoke(ROW, target_variant="B").variant for _ in range(20)} == {"B"}
    assert _answer(endpoint) in {1, 2}
    endpoint.update_weights({"A": 0.0})
    assert {endpoint.invoke(ROW).variant for _ in range(50)} == {"B"}
    endpoint.delete()


def test_canary_that_completes(session, tmp_path, clock):
    old = _model(session, tmp_path, 1)
    old.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="canary-ok")
    endpoint = mlopskit.Endpoint("canary-ok", session=session)
    seen: list[int] = []
    clock.during_bake = lambda _: seen.extend(_answer(endpoint) for _ in range(200))
    start = clock.monotonic()
    report = endpoint.update(_model(session, tmp_path, 2), mlopskit.Canary(10, wait=600))
    assert report.completed and not report.rolled_back
    assert [(s["share"], s["bake_seconds"]) for s in report.steps] == [(0.1, 600.0), (1.0, 0.0)]
    assert clock.monotonic() - start == 600  # baked on the fake clock, not for real
    assert 0 < seen.count(2) < 60  # ~10% of the bake's 200 requests reached the canary
    clock.during_bake = None
    assert {_answer(endpoint) for _ in range(50)} == {2}
    store = session.backend.store
    assert len(store.query_all("SELECT name FROM models")) == 1  # the old fleet is gone
    endpoint.delete()


def test_canary_rolls_back_on_an_injected_alarm(session, tmp_path):
    _model(session, tmp_path, 1).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                        endpoint_name="canary-bad")
    endpoint = mlopskit.Endpoint("canary-bad", session=session)
    before = endpoint.describe()
    report = endpoint.update(_model(session, tmp_path, 2), mlopskit.Canary(
        20, wait=300, rollback_on=[lambda stats: "p99 latency alarm (injected)"]))
    assert report.rolled_back and not report.completed
    assert report.reason == "p99 latency alarm (injected)"
    assert len(report.steps) == 1
    after = endpoint.describe()
    assert (after.status, after.config_name) == ("InService", before.config_name)
    assert {_answer(endpoint) for _ in range(50)} == {1}
    assert len(session.backend.store.query_all("SELECT name FROM models")) == 1
    endpoint.delete()


def test_error_rate_alarm_sees_the_canarys_own_errors(session, tmp_path, clock):
    _model(session, tmp_path, 1).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                        endpoint_name="canary-errors")
    endpoint = mlopskit.Endpoint("canary-errors", session=session)
    failures: list[int] = []

    def traffic(_: float) -> None:
        for _ in range(200):
            try:
                endpoint.invoke(ROW)
            except mlopskit.errors.InvocationError as exc:
                failures.append(exc.status)

    clock.during_bake = traffic
    broken = _model(session, tmp_path, 2, "always_fails.py")  # every prediction is a 500
    report = endpoint.update(broken, mlopskit.Linear(step_percent=25, interval=60, rollback_on=[
        mlopskit.ErrorRateAbove(0.5, min_requests=10)]))
    assert report.rolled_back
    assert "error rate 100.0% over 50.0%" in report.reason
    assert report.steps[0]["share"] == 0.25
    assert 20 < len(failures) < 90  # about a quarter of the 200 bake requests hit the canary
    assert set(failures) == {500}
    clock.during_bake = None
    assert {_answer(endpoint) for _ in range(20)} == {1}
    endpoint.delete()


def test_linear_rollout_steps(session, tmp_path):
    _model(session, tmp_path, 1).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                        endpoint_name="linear-ok")
    endpoint = mlopskit.Endpoint("linear-ok", session=session)
    report = endpoint.update(_model(session, tmp_path, 3), mlopskit.Linear(50, interval=30))
    assert [s["share"] for s in report.steps] == [0.5, 1.0]
    assert report.completed
    assert _answer(endpoint) == 3
    endpoint.delete()


def test_package_update_needs_approval(session, tmp_path):
    _model(session, tmp_path, 1).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                        endpoint_name="pkg-update")
    endpoint = mlopskit.Endpoint("pkg-update", session=session)
    group = mlopskit.ModelPackageGroup("rollouts", session=session).create()
    package = group.register(_model(session, tmp_path, 4))
    with pytest.raises(mlopskit.errors.ConflictError, match="only Approved"):
        endpoint.update(package)
    package.approve(by="alice")
    assert endpoint.update(package, mlopskit.AllAtOnce()).completed
    assert _answer(endpoint) == 4
    endpoint.delete()


@pytest.mark.parametrize(("make", "field"), [
    (lambda: mlopskit.Canary(60, wait=10), "percent"),
    (lambda: mlopskit.Canary(0, wait=10), "percent"),
    (lambda: mlopskit.Canary(10, wait=-1), "wait"),
    (lambda: mlopskit.Linear(5, interval=10), "step_percent"),
    (lambda: mlopskit.Linear(60, interval=10), "step_percent"),
    (lambda: mlopskit.AllAtOnce(rollback_on=["a"] * 11), "rollback_on"),
    (lambda: mlopskit.AllAtOnce(rollback_on=[42]), "rollback_on"),
])
def test_bad_strategies(make, field):
    with pytest.raises(ValidationError, match=field):
        make()


def test_cloudwatch_alarm_names_are_refused_locally(session, tmp_path):
    _model(session, tmp_path, 1).deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                        endpoint_name="alarm-names")
    endpoint = mlopskit.Endpoint("alarm-names", session=session)
    with pytest.raises(CapabilityError, match="CloudWatch alarm"):
        endpoint.update(_model(session, tmp_path, 2),
                        mlopskit.Canary(10, wait=60, rollback_on=["HighErrors"]))
    assert len(session.backend.store.query_all("SELECT name FROM models")) == 1
    endpoint.delete()
