"""The retry policy of every AWS call against network errors, on a fake clock.

A connect timeout never reached AWS: retried on every call. A read timeout (or a connection
closed before the answer) may have been applied: retried only on idempotent operations,
anything else is a BackendError at once.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from mlopskit.backends.aws.retry import Caller, is_idempotent
from mlopskit.clock import FakeClock
from mlopskit.errors import BackendError

URL = "https://api.sagemaker.us-east-1.amazonaws.com/"


class Flaky:
    """A stand-in boto3 method: raises the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": True}


def _connect_timeout() -> Exception:
    return ConnectTimeoutError(endpoint_url=URL)


def _read_timeout() -> Exception:
    return ReadTimeoutError(endpoint_url=URL)


def _closed() -> Exception:
    return ConnectionClosedError(endpoint_url=URL)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def call(clock: FakeClock) -> Caller:
    return Caller(clock, max_attempts=4, max_backoff=5.0)


@pytest.mark.parametrize("operation", ["DescribeTrainingJob", "CreateTrainingJob",
                                       "StartPipelineExecution", "DeleteEndpoint",
                                       "InvokeEndpoint"])
def test_a_connect_timeout_is_retried_on_every_call(call, clock, operation):
    method = Flaky(_connect_timeout(), _connect_timeout())
    assert call(method, operation, "thing", Name="x") == {"ok": True}
    assert len(method.calls) == 3
    assert len(clock.sleeps) == 2 and all(0 < s <= 5.0 for s in clock.sleeps)


def test_a_connect_timeout_past_the_budget_is_a_backend_error(call, clock):
    method = Flaky(*[_connect_timeout() for _ in range(10)])
    with pytest.raises(BackendError, match=r"CreateModel m: failed after 4 attempts.*Connect "
                                           r"timeout"):
        call(method, "CreateModel", "m")
    assert len(method.calls) == 4
    assert len(clock.sleeps) == 3


def test_an_endpoint_connection_error_is_still_retried(call):
    method = Flaky(EndpointConnectionError(endpoint_url=URL))
    assert call(method, "CreateEndpoint", "e") == {"ok": True}
    assert len(method.calls) == 2


@pytest.mark.parametrize("operation", ["DescribeTrainingJob", "ListTags", "GetObject",
                                       "HeadObject", "Search", "DescribeLogStreams",
                                       "ListPipelineParametersForExecution", "PutObject"])
@pytest.mark.parametrize("error", [_read_timeout, _closed], ids=["read-timeout", "closed"])
def test_a_lost_answer_is_retried_on_an_idempotent_call(call, clock, operation, error):
    method = Flaky(error(), error())
    assert call(method, operation, "thing") == {"ok": True}
    assert len(method.calls) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("operation", ["CreateTrainingJob", "UpdateEndpoint",
                                       "StartPipelineExecution", "StopTrainingJob",
                                       "DeleteEndpoint", "InvokeEndpoint"])
@pytest.mark.parametrize("error", [_read_timeout, _closed], ids=["read-timeout", "closed"])
def test_a_lost_answer_on_a_write_fails_at_once(call, clock, operation, error):
    method = Flaky(error())
    with pytest.raises(BackendError, match=rf"^{operation} job-1: .*may have been applied"):
        call(method, operation, "job-1", Name="job-1")
    assert len(method.calls) == 1
    assert clock.sleeps == []


def test_a_write_with_an_idempotency_token_is_retried_with_the_same_token(call):
    method = Flaky(_read_timeout())
    assert call(method, "StartPipelineExecution", "p", PipelineName="p",
                ClientRequestToken="token-1") == {"ok": True}
    assert [c["ClientRequestToken"] for c in method.calls] == ["token-1", "token-1"]


def test_read_timeouts_past_the_budget_name_the_attempts(call):
    method = Flaky(*[_read_timeout() for _ in range(10)])
    with pytest.raises(BackendError, match=r"DescribeEndpoint e: failed after 4 attempts"):
        call(method, "DescribeEndpoint", "e", EndpointName="e")
    assert len(method.calls) == 4


@pytest.mark.parametrize(("operation", "request_", "expected"), [
    ("DescribeTrainingJob", None, True),
    ("ListObjectsV2", None, True),
    ("BatchDescribeModelPackage", None, True),
    ("DeleteObject", None, True),
    ("CreatePipeline", {"ClientRequestToken": "t"}, True),
    ("CreatePipeline", {"ClientRequestToken": ""}, False),
    ("CreateTrainingJob", {"TrainingJobName": "x"}, False),
    ("UpdatePipeline", None, False),
    ("StopPipelineExecution", None, False),
    ("DeleteModel", None, False),
], ids=lambda v: v if isinstance(v, str) else None)
def test_which_operations_are_idempotent(operation, request_, expected):
    assert is_idempotent(operation, request_) is expected
