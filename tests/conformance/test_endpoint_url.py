"""Endpoint.url(): an address any HTTP client can call, on every backend."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError

from ..helpers import IMAGE, model_in_store

X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5]])
RUNTIME = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/"
# straight to 127.0.0.1, whatever proxy the environment names
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def fitted() -> LogisticRegression:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(60, 3))
    return LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))


@pytest.fixture
def model(any_session, tmp_path: Path, fitted) -> mlopskit.Model:
    return model_in_store(any_session, tmp_path, fitted, "only_model_fn.py", key="models/url",
                          image_uri=IMAGE)


def _ping(url: str) -> int:
    with DIRECT.open(f"{url}/ping", timeout=30) as answer:
        status: int = answer.status
        return status


def _invoke(url: str, rows: np.ndarray) -> tuple[int, object]:
    request = urllib.request.Request(
        f"{url}/invocations", data=json.dumps(rows.tolist()).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    with DIRECT.open(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


def test_one_variant(any_session, model, fitted):
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="url-ep")
    endpoint = mlopskit.Endpoint("url-ep", session=any_session)
    url = endpoint.url()
    assert endpoint.url("AllTraffic") == url
    assert endpoint.describe().variants[0].url == f"{url}/invocations"
    if any_session.backend_name == "aws":
        assert url == RUNTIME + "url-ep"
    else:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        assert _ping(url) == 200
        assert _invoke(url, X) == (200, fitted.predict(X).tolist())
    endpoint.delete()


def test_several_variants_need_a_name(any_session, model):
    endpoint = mlopskit.Endpoint.create("url-ab", [
        mlopskit.ProductionVariant(model, "A", weight=1.0),
        mlopskit.ProductionVariant(model, "B", weight=1.0),
    ], session=any_session)
    with pytest.raises(ValidationError, match=r"variant: endpoint 'url-ab' has 2 variants "
                                              r"\(A, B\); pass variant="):
        endpoint.url()
    with pytest.raises(NotFoundError, match="no variant 'C'"):
        endpoint.url("C")
    with pytest.raises(ValidationError, match="variant: expected a variant name"):
        endpoint.url(1)  # type: ignore[arg-type]
    a, b = endpoint.url("A"), endpoint.url("B")
    if any_session.backend_name == "aws":
        assert a == b == RUNTIME + "url-ab"  # SageMaker routes by header, not by address
    else:
        assert a != b
        assert _ping(a) == 200
        assert _ping(b) == 200
    endpoint.delete()


def test_an_unknown_endpoint_is_not_found(any_session):
    with pytest.raises(NotFoundError, match="nope"):
        mlopskit.Endpoint("nope", session=any_session).url()


def test_a_cold_serverless_variant_has_no_address_until_it_starts(local_session, tmp_path,
                                                                    fitted):
    model = model_in_store(local_session, tmp_path, fitted, "only_model_fn.py",
                           key="models/sls")
    predictor = model.deploy(mlopskit.ServerlessConfig(memory_size_mb=1024, max_concurrency=2),
                             endpoint_name="url-sls")
    endpoint = predictor.endpoint
    with pytest.raises(ConflictError, match="'AllTraffic' is serverless and cold"):
        endpoint.url()
    predictor.predict(X)  # the first request starts the server
    url = endpoint.url()
    assert _ping(url) == 200
    assert _invoke(url, X) == (200, fitted.predict(X).tolist())
    endpoint.delete()


def test_a_serverless_variant_on_aws_has_the_runtime_address(aws_session, tmp_path, fitted):
    model = model_in_store(aws_session, tmp_path, fitted, "only_model_fn.py", key="models/sls",
                           image_uri=IMAGE)
    model.deploy(mlopskit.ServerlessConfig(memory_size_mb=1024, max_concurrency=2),
                 endpoint_name="url-sls")
    assert mlopskit.Endpoint("url-sls", session=aws_session).url() == RUNTIME + "url-sls"
