"""Endpoint.url(): an address any HTTP client can call, on every backend."""

from __future__ import annotations

import re

import numpy as np
import pytest

import mlopskit
from mlopskit.errors import ConflictError
from mlopskit.testing.conformance import IMAGE, EndpointUrlConformance
from mlopskit.testing.conformance._support import fitted_classifier, model_in_store
from mlopskit.testing.conformance.serving import ping, post_rows

X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5]])
RUNTIME = "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/"


class TestEndpointUrl(EndpointUrlConformance):
    """On ``local`` and on ``aws`` (moto), through ``any_session`` (conftest.py)."""


@pytest.fixture(scope="module")
def fitted():
    return fitted_classifier(5, 60)


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
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url  # on this machine
    assert ping(url) == 200
    assert post_rows(url, X) == (200, fitted.predict(X).tolist())
    endpoint.delete()


def test_a_serverless_variant_on_aws_has_the_runtime_address(aws_session, tmp_path, fitted):
    model = model_in_store(aws_session, tmp_path, fitted, "only_model_fn.py", key="models/sls",
                           image_uri=IMAGE)
    model.deploy(mlopskit.ServerlessConfig(memory_size_mb=1024, max_concurrency=2),
                 endpoint_name="url-sls")
    assert mlopskit.Endpoint("url-sls", session=aws_session).url() == RUNTIME + "url-sls"


def test_an_endpoint_on_aws_has_the_runtime_address_for_every_variant(aws_session, tmp_path,
                                                                      fitted):
    model = model_in_store(aws_session, tmp_path, fitted, "only_model_fn.py", key="models/url",
                           image_uri=IMAGE)
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="url-ep")
    assert mlopskit.Endpoint("url-ep", session=aws_session).url() == RUNTIME + "url-ep"
    endpoint = mlopskit.Endpoint.create("url-ab", [
        mlopskit.ProductionVariant(model, "A", weight=1.0),
        mlopskit.ProductionVariant(model, "B", weight=1.0),
    ], session=aws_session)
    assert endpoint.url("A") == endpoint.url("B") == RUNTIME + "url-ab"
