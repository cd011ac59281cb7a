"""Users enable ``mlopskit.testing`` in their own conftest and get working fixtures."""

from __future__ import annotations

USER_TEST = '''
import mlopskit

pytest_plugins = ["mlopskit.testing"]


def train(session):
    import pathlib, tempfile
    folder = pathlib.Path(tempfile.mkdtemp())
    (folder / "train.py").write_text("print('hi')")
    return mlopskit.Estimator(entry_point="train.py", source_dir=folder,
                              image_uri="1.dkr.ecr.us-east-1.amazonaws.com/x:1",
                              instance_type="ml.m5.large", session=session).fit(logs=False)


def test_my_workflow(any_session):
    assert train(any_session).status == "Completed"


def test_clock(fake_clock):
    fake_clock.sleep(3600)
    assert fake_clock.monotonic() == 3600
'''


def test_a_user_test_suite_runs_on_both_backends(pytester):
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*3 passed*"])


# -- a third backend runs the conformance classes, with capability markers ------------------

THIRD_BACKEND = '''
import pytest

import mlopskit
from mlopskit.backends.base import Capability

pytest_plugins = ["mlopskit.testing"]


class SingleHostBackend:
    """A third backend: the local backend's verbs, one host per job."""

    def __init__(self, inner):
        self._inner = inner
        self.capabilities = inner.capabilities - {Capability.MULTI_HOST}

    def __getattr__(self, name):
        return getattr(self._inner, name)


class SingleHostSession(mlopskit.LocalSession):
    @property
    def backend_name(self):
        return "single-host"

    def _make_backend(self):
        return SingleHostBackend(super()._make_backend())


@pytest.fixture
def conformance_session(tmp_path):
    with SingleHostSession(root=tmp_path / "store") as session:
        yield session
'''

THIRD_BACKEND_TESTS = '''
from mlopskit.testing.conformance import TrainingConformance


class TestSingleHostTraining(TrainingConformance):
    pass
'''


def test_a_third_backend_runs_a_conformance_class(pytester):
    pytester.makeconftest(THIRD_BACKEND)
    pytester.makepyfile(test_third=THIRD_BACKEND_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-rx")
    result.assert_outcomes(passed=12, xfailed=1)
    result.stdout.fnmatch_lines([
        "XFAIL*TestSingleHostTraining::test_multi_host_job_completes"
        "*not implemented on the single-host backend (no multi-host)*"])


MARKED = '''
import os

from mlopskit.backends.base import Capability
from mlopskit.errors import CapabilityError
from mlopskit.testing import never, notimpl


@notimpl(Capability.MULTI_HOST, reason="one machine")
def test_fails_where_missing(conformance_session):
    conformance_session.require(Capability.MULTI_HOST, "two hosts")


@notimpl(Capability.MULTI_HOST)
def test_passes_although_missing(conformance_session):
    assert conformance_session.backend_name == "single-host"


@notimpl(Capability.MULTI_HOST)
def test_fails_for_another_reason(conformance_session):
    raise ValueError("not the missing capability")


@notimpl(Capability.MULTI_HOST, raises=None)
def test_any_failure_is_expected_with_raises_none(conformance_session):
    raise ValueError("anything")


@notimpl(Capability.TRAINING)
def test_runs_as_it_is_where_present(conformance_session):
    assert Capability.TRAINING in conformance_session.backend.capabilities


@never(Capability.MULTI_HOST, reason="one machine by design")
def test_never_where_missing(conformance_session):
    raise AssertionError("must not run")


@never(Capability.TRAINING, reason="every backend trains")
def test_never_runs_where_present(conformance_session):
    assert conformance_session.backend_name == "single-host"


@notimpl(Capability.RECORDIO_SPLIT)
def test_the_plugin_sessions_are_read_too(local_session):
    local_session.require(Capability.RECORDIO_SPLIT, "RecordIO")
'''


def test_notimpl_expects_a_failure_and_never_skips(pytester):
    pytester.makeconftest(THIRD_BACKEND)
    pytester.makepyfile(test_marked=MARKED)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-rsxXf",
                                           "--strict-markers")
    result.assert_outcomes(passed=2, xfailed=3, failed=2, skipped=1)
    result.stdout.fnmatch_lines_random([
        "XFAIL*test_fails_where_missing*no multi-host): one machine",
        "XFAIL*test_any_failure_is_expected_with_raises_none*",
        "XFAIL*test_the_plugin_sessions_are_read_too*not implemented on the local backend*",
        "FAILED*test_passes_although_missing*XPASS(strict)*",
        "FAILED*test_fails_for_another_reason*ValueError*",
        "SKIPPED*never on the single-host backend (no multi-host): one machine by design",
    ])


def test_a_marker_needs_capabilities_and_never_a_reason(pytester):
    pytester.makeconftest(THIRD_BACKEND)
    pytester.makepyfile(test_misused='''
import pytest
from mlopskit.backends.base import Capability


@pytest.mark.never(Capability.MULTI_HOST)
def test_without_reason(conformance_session):
    pass


@pytest.mark.notimpl("warp-drive")
def test_unknown_capability(conformance_session):
    pass


@pytest.mark.notimpl(Capability.MULTI_HOST)
def test_without_a_session():
    pass
''')
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines_random([
        "*never(multi-host) needs reason=*",
        "*'warp-drive' is not a Capability; allowed: TRAINING*",
        "*ask for one of conformance_session, any_session, aws_session, local_session*",
    ])


# -- moto: started once, emptied between tests ---------------------------------------------

MOTO_ISOLATION = '''
import os

import boto3

pytest_plugins = ["mlopskit.testing"]

SEEN = []


def test_first_leaves_resources_behind(moto_aws):
    SEEN.append(moto_aws)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="left-behind")
    boto3.client("sagemaker", region_name="us-east-1").create_model_package_group(
        ModelPackageGroupName="left-behind")


def test_second_sees_an_empty_account_on_the_same_mock(moto_aws):
    assert SEEN == [moto_aws]  # started once, not per test
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
    groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()
    assert groups["ModelPackageGroupSummaryList"] == []


def test_aws_session_sees_only_its_own_bucket(aws_session):
    buckets = aws_session.boto3_session.client("s3").list_buckets()["Buckets"]
    assert [b["Name"] for b in buckets] == ["mlopskit-test-bucket"]


def test_the_fake_credentials_are_gone_after_a_moto_test():
    assert os.environ.get("AWS_ACCESS_KEY_ID") == "mine"
    assert "AWS_SESSION_TOKEN" not in os.environ
'''


def test_moto_starts_once_and_each_test_sees_an_empty_account(pytester, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    pytester.makepyfile(test_moto=MOTO_ISOLATION)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
