"""The pytest plugin behind :mod:`mlopskit.testing`: fixtures, the ``notimpl`` and
``never`` capability markers, and what tests need to know of an emulated service.

Capability markers: a test that needs a capability some backend lacks says so with a marker
instead of a branch on the backend's name. The markers are read once the test's session
exists, against ``session.backend.capabilities``:

- ``notimpl(Capability.X, ...)``: the backend should have ``X`` one day. Where it lacks it
  the test still runs and must fail with :class:`~mlopskit.errors.CapabilityError` (or the
  exception given as ``raises=``): a strict ``xfail``. The day the backend gains ``X``, or
  the test starts passing without it, the run reports it.
- ``never(Capability.X, reason=...)``: the backend lacks ``X`` by nature; the test is
  skipped there with the reason.
"""

from __future__ import annotations

import contextlib
import functools
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..backends.base import Capability
from ..clock import FakeClock
from ..errors import CapabilityError, MissingDependencyError, ValidationError
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

#: What a test may ask of a backend's own records: resource kind -> sorted names.
Inventory = Callable[[Session], dict[str, list[str]]]


# -- capability markers ----------------------------------------------------------------

NOTIMPL = "notimpl"
NEVER = "never"
# Where the markers find the test's session, first match wins: the fixture the
# conformance classes ask for, then the plugin's own session fixtures.
SESSION_FIXTURES = ("conformance_session", "any_session", "aws_session", "local_session")

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


def notimpl(*capabilities: Capability, reason: str = "",
            raises: ExceptionTypes | None = CapabilityError) -> pytest.MarkDecorator:
    """Mark a test a backend without ``capabilities`` should fail (a strict xfail).

    The backend should have them one day. Where it lacks one the test still runs and must
    fail with ``raises`` (``CapabilityError``, what ``Session.require`` raises, by default;
    ``None`` accepts any failure); an unexpected pass, or another exception, fails the run,
    so a gap that closes is noticed. Where the backend has them all, the test runs as is.

    Example::

        from mlopskit.backends.base import Capability
        from mlopskit.testing import notimpl

        @notimpl(Capability.RECORDIO_SPLIT)
        def test_recordio_batches(any_session):
            ...  # what a backend with RecordIO splits does
    """
    return pytest.mark.notimpl(*capabilities, reason=reason, raises=raises)


def never(*capabilities: Capability, reason: str) -> pytest.MarkDecorator:
    """Mark a test that cannot apply to a backend without ``capabilities``: it is skipped
    there, with ``reason``.

    Example::

        from mlopskit.backends.base import Capability
        from mlopskit.testing import never

        @never(Capability.PYTHON_SCHEDULER, reason="SageMaker runs schedules itself")
        def test_on_violation_actions(any_session):
            ...
    """
    return pytest.mark.never(*capabilities, reason=reason)


def _register_markers(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{NOTIMPL}(*capabilities, reason='', raises=CapabilityError): on a backend without "
        "one of these mlopskit capabilities the test must fail (strict xfail); a pass "
        "there is reported")
    config.addinivalue_line(
        "markers",
        f"{NEVER}(*capabilities, reason): on a backend without one of these mlopskit "
        "capabilities the test is skipped with the reason")


def _capabilities(mark: pytest.Mark) -> list[Capability]:
    if not mark.args:
        pytest.fail(f"@pytest.mark.{mark.name} needs at least one Capability", pytrace=False)
    found = []
    for arg in mark.args:
        try:
            found.append(Capability(arg))
        except ValueError:
            allowed = ", ".join(c.name for c in Capability)
            pytest.fail(f"@pytest.mark.{mark.name}: {arg!r} is not a Capability; "
                        f"allowed: {allowed}", pytrace=False)
    return found


def _names(capabilities: Iterable[Capability]) -> str:
    return ", ".join(sorted({c.value for c in capabilities}))


def _session_of(request: pytest.FixtureRequest) -> Any:
    for name in SESSION_FIXTURES:
        if name in request.fixturenames:
            return request.getfixturevalue(name)
    pytest.fail(f"@pytest.mark.{NOTIMPL}/@pytest.mark.{NEVER} read the test's session; "
                f"ask for one of {', '.join(SESSION_FIXTURES)}", pytrace=False)


def _raises(marks: list[pytest.Mark]) -> ExceptionTypes | None:
    found: list[type[BaseException]] = []
    for mark in marks:
        raises = mark.kwargs.get("raises", CapabilityError)
        if raises is None:
            return None
        found.extend(raises if isinstance(raises, tuple) else (raises,))
    return tuple(dict.fromkeys(found))


def _apply_capability_marks(request: pytest.FixtureRequest) -> None:
    """Skip or expect the failure of the test ``request`` runs, as its ``never`` and
    ``notimpl`` marks say, against the capabilities of its session's backend."""
    never_marks = list(request.node.iter_markers(NEVER))
    notimpl_marks = list(request.node.iter_markers(NOTIMPL))
    if not never_marks and not notimpl_marks:
        return
    for mark in never_marks:
        if not mark.kwargs.get("reason"):
            pytest.fail(f"@pytest.mark.{NEVER}({_names(_capabilities(mark))}) needs "
                        "reason=: why the backend will never have it", pytrace=False)
    session = _session_of(request)
    have = session.backend.capabilities
    name = session.backend_name
    for mark in never_marks:
        missing = [c for c in _capabilities(mark) if c not in have]
        if missing:
            pytest.skip(f"never on the {name} backend (no {_names(missing)}): "
                        f"{mark.kwargs['reason']}")
    lacking = [m for m in notimpl_marks if any(c not in have for c in _capabilities(m))]
    if lacking:
        missing = [c for mark in lacking for c in _capabilities(mark) if c not in have]
        reasons = "; ".join(r for r in (m.kwargs.get("reason") for m in lacking) if r)
        text = f"not implemented on the {name} backend (no {_names(missing)})"
        request.applymarker(pytest.mark.xfail(
            strict=True, raises=_raises(lacking),
            reason=f"{text}: {reasons}" if reasons else text))


# -- emulated services ------------------------------------------------------------------


class Emulation:
    """How much of the service behind a session is real; this base is a real one.

    A behaviour test reads what a backend did: the model a job wrote, the answer an
    endpoint gave, the lines a job logged. A real service (the local backend, SageMaker, a
    third backend) does that work; an emulator such as moto records each request, answers
    it in the right shape and runs nothing. A test checks the results of the work only where
    :attr:`executes`, and hands an emulator the answers it cannot compute.

    Example::

        from mlopskit.testing import emulation_of

        def test_scoring(any_session):
            predictor = deploy(any_session)
            emulation_of(any_session).answer("[1, 0]")  # what moto returns; a model its own
            assert len(predictor.predict(rows)) == 2
            if emulation_of(any_session).executes:      # the model really ran
                assert predictor.predict(rows) == expected
    """

    #: The service does the work it reports: jobs run their scripts, endpoints answer from
    #: their models. ``False`` for an emulator that only records requests.
    executes: bool = True

    def answer(self, body: str, *, variant: str = "AllTraffic",
               content_type: str = "application/json") -> None:
        """The answer the next endpoint invocation returns. A real service computes it
        from the model, so this does nothing; an emulator queues it."""

    def hold_jobs(self) -> None:
        """Keep the jobs started from now on in progress until they are stopped. A real
        service runs their scripts (which wait), so this does nothing."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(executes={self.executes})"


class MotoEmulation(Emulation):
    """moto: every request is recorded and answered, nothing runs. Jobs are ``Completed``
    at once without output, invocations return what :meth:`answer` queued. Sessions made by
    the ``aws_session`` fixture have this emulation.

    Example::

        def test_on_moto(aws_session):
            emulation = emulation_of(aws_session)
            assert isinstance(emulation, MotoEmulation) and not emulation.executes
            emulation.answer("[0]")  # the next InvokeEndpoint returns [0]
    """

    executes = False

    def __init__(self, region: str, account: str = "123456789012") -> None:
        self.region = region
        self.account = account

    def answer(self, body: str, *, variant: str = "AllTraffic",
               content_type: str = "application/json") -> None:
        # moto's SageMaker runtime answers InvokeEndpoint from a queue of canned results.
        from moto.sagemakerruntime.models import sagemakerruntime_backends

        backend = sagemakerruntime_backends[self.account][self.region]
        backend.results_queue.append((body, content_type, variant, ""))

    def hold_jobs(self) -> None:
        raise NotImplementedError(
            "moto ends every job at once; keeping one in progress needs moto's job "
            "lifecycle patched, in a subclass of MotoEmulation that overrides hold_jobs")


_EMULATIONS: weakref.WeakKeyDictionary[Session, Emulation] = weakref.WeakKeyDictionary()


def set_emulation(session: Session, emulation: Emulation) -> None:
    """Say which emulator ``session`` talks to (``aws_session`` does this for moto).

    Example::

        class MyEmulator(Emulation):
            executes = False  # records requests, runs nothing

        @pytest.fixture
        def emulated_session():
            session = session_on_my_emulator()
            set_emulation(session, MyEmulator())
            return session
    """
    _EMULATIONS[session] = emulation


def emulation_of(session: Session) -> Emulation:
    """The emulator ``session`` talks to, or a real :class:`Emulation` if none was set.

    Example:
        >>> import tempfile, mlopskit
        >>> emulation_of(mlopskit.LocalSession(root=tempfile.mkdtemp())).executes
        True
    """
    return _EMULATIONS.get(session) or Emulation()


# -- hooks and fixtures ------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``notimpl`` and ``never`` markers, and ``slow``, which the conformance
    classes put on their longest tests."""
    _register_markers(config)
    config.addinivalue_line("markers", "slow: a test that runs for more than a few seconds")


@pytest.fixture(autouse=True)
def _capability_marks(request: pytest.FixtureRequest) -> None:
    """Reads a test's ``notimpl``/``never`` marks against its session's capabilities.

    Runs before the test and after its session fixture (it asks for it), so a ``never``
    skips the test and a ``notimpl`` makes it a strict xfail where the backend lacks the
    capability. Costs nothing for a test without those marks.
    """
    _apply_capability_marks(request)


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


def _moto() -> Any:
    try:
        import moto
    except ImportError as exc:  # pragma: no cover - depends on the user's install
        raise MissingDependencyError(
            "the aws_session fixture needs moto: pip install 'mlopskit[test]'", extra="test"
        ) from exc
    return moto


# moto's defaults, except that the credentials are ours to set, per test (moto would put
# its own in the environment for as long as the mock runs: the whole test session).
_MOTO_CONFIG = {"core": {"mock_credentials": False, "passthrough": {"urls": [], "services": []},
                         "reset_boto3_session": True, "service_whitelist": None}}


def _reset_moto() -> None:
    """Forget every resource moto holds (what its ``/moto-api/reset`` does)."""
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()


@pytest.fixture(scope="session")
def _moto_session() -> Iterator[Any]:
    """moto's ``mock_aws``, started once for the test process on first use.

    Starting it puts moto in front of every botocore client of the process; it stays there
    until the test session ends (a stray AWS call from another test then gets a moto answer
    or, lacking credentials, fails as before; it never reaches AWS). ``moto_aws`` empties
    it around each test.
    """
    mock = _moto().mock_aws(config=_MOTO_CONFIG)
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def moto_aws(_moto_session: Any) -> Iterator[Any]:
    """moto's ``mock_aws`` with fake credentials; no request leaves the machine.

    Use it for your own boto3 code; ``aws_session`` builds on it. moto starts once per test
    process and is emptied before and after each test, so every test sees an AWS account
    with nothing in it; the fake credentials are in the environment only during the test.
    Needs ``mlopskit[test]``.

    Example::

        import boto3

        def test_my_boto3_code(moto_aws):
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="scratch")
            assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["scratch"]
    """
    saved = {key: os.environ.get(key) for key in _FAKE_CREDENTIALS}
    os.environ.update(_FAKE_CREDENTIALS)
    _reset_moto()
    try:
        yield _moto_session
    finally:
        _reset_moto()
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
    set_emulation(session, MotoEmulation(TEST_REGION))
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


# -- defaults for the conformance classes (mlopskit.testing.conformance) ----------------------


@pytest.fixture
def conformance_emulation(conformance_session: Session) -> Emulation:
    """How much of the service behind ``conformance_session`` is real: by default what
    :func:`~mlopskit.testing.emulation_of` says (moto for ``aws_session``, else real).
    Override it for an emulator of your own.

    Example::

        # conftest.py of a backend whose tests talk to an emulator
        class MyEmulator(Emulation):
            executes = False

        @pytest.fixture
        def conformance_emulation():
            return MyEmulator()
    """
    return emulation_of(conformance_session)


def _no_inventory(session: Session) -> dict[str, list[str]]:
    return {}


@pytest.fixture
def conformance_inventory() -> Inventory:
    """What the backend keeps besides its object store, for the "nothing was created"
    checks: a function of the session returning ``{kind: sorted names}`` (``"models"``,
    ``"endpoint_configs"``, or any kind of your backend's own). The default reports
    nothing, and the conformance tests check what the public API lists.

    Example::

        # conftest.py
        @pytest.fixture
        def conformance_inventory():
            def inventory(session):
                return {"models": sorted(session.backend.model_names())}
            return inventory
    """
    return _no_inventory


def cli_environment(session: Session) -> dict[str, str]:
    """The ``MLOPSKIT_*`` variables under which the ``mlopskit`` command reaches the store
    of ``session`` (a :class:`~mlopskit.LocalSession` or :class:`~mlopskit.AwsSession`).

    Example:
        >>> session = AwsSession(region="eu-west-1", bucket="my-bucket")
        >>> for name, value in sorted(cli_environment(session).items()):
        ...     print(name, value)
        MLOPSKIT_BACKEND aws
        MLOPSKIT_BUCKET my-bucket
        MLOPSKIT_REGION eu-west-1
    """
    if isinstance(session, LocalSession):
        return {"MLOPSKIT_BACKEND": "local", "MLOPSKIT_ROOT": str(session.root),
                "MLOPSKIT_BUCKET": session.default_bucket}
    if isinstance(session, AwsSession):
        found = {"MLOPSKIT_BACKEND": "aws", "MLOPSKIT_REGION": session.region}
        if session.role_arn:
            found["MLOPSKIT_ROLE_ARN"] = session.role_arn
        with contextlib.suppress(ValidationError):  # no default bucket: none for the CLI
            found["MLOPSKIT_BUCKET"] = session.default_bucket
        return found
    raise TypeError(f"cli_environment: no MLOPSKIT_* variables are known for {session!r}; "
                    "override the conformance_cli_environment fixture")


@pytest.fixture
def conformance_cli_environment(conformance_session: Session) -> dict[str, str]:
    """The variables the ``mlopskit`` command needs to reach ``conformance_session``'s
    store (the CLI conformance classes set them). Override it for a plug-in backend.

    Example::

        # conftest.py of the plug-in backend "mine"
        @pytest.fixture
        def conformance_cli_environment(conformance_session):
            return {"MLOPSKIT_BACKEND": "mine", "MINE_ROOT": str(conformance_session.root)}
    """
    return cli_environment(conformance_session)
