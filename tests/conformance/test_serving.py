"""Realtime endpoints on every backend: deploy, describe, weights, target variant, delete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError
from mlopskit.serializers import CSVSerializer, JSONDeserializer

from ..helpers import IMAGE, model_in_store

X = np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5]])


@pytest.fixture
def model(any_session, tmp_path: Path) -> mlopskit.Model:
    rng = np.random.default_rng(2)
    features = rng.normal(size=(80, 3))
    fitted = LogisticRegression().fit(features, (features[:, 0] > 0).astype(int))
    return model_in_store(any_session, tmp_path, fitted, "only_model_fn.py",
                          key="models/churn", image_uri=IMAGE)


def _queue_moto_answer(session: mlopskit.Session, body: str, variant: str) -> None:
    """moto's runtime answers from a queue of canned results; fill it (moto, not mlopskit)."""
    if session.backend_name != "aws":
        return
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    backend = sagemakerruntime_backends["123456789012"][session.region]
    backend.results_queue.append((body, "application/json", variant, ""))


def test_deploy_describe_invoke_delete(any_session, model):
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="conf-ep",
                             serializer=CSVSerializer(), deserializer=JSONDeserializer())
    endpoint = mlopskit.Endpoint("conf-ep", session=any_session)
    described = endpoint.describe()
    assert described.status == "InService"
    assert re.fullmatch(r"arn:aws:sagemaker:us-east-1:\d{12}:endpoint/conf-ep", described.arn)
    assert [(v.name, v.weight, v.instance_type) for v in described.variants] == [
        ("AllTraffic", 1.0, "ml.m5.large")]
    _queue_moto_answer(any_session, "[1, 0]", "AllTraffic")
    answer = predictor.predict(X, target_variant="AllTraffic")
    assert isinstance(answer, list)
    assert len(answer) == 2
    assert predictor.last_variant == "AllTraffic"
    assert [e.name for e in mlopskit.Endpoint.list(session=any_session)] == ["conf-ep"]
    endpoint.delete()
    with pytest.raises(NotFoundError, match="conf-ep"):
        endpoint.describe()
    assert mlopskit.Endpoint.list(session=any_session) == []


def test_update_weights(any_session, model):
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="weights-ep")
    endpoint = mlopskit.Endpoint("weights-ep", session=any_session)
    endpoint.update_weights({"AllTraffic": 0.5})
    assert [v.weight for v in endpoint.variants] == [0.5]
    with pytest.raises(NotFoundError, match="no variant 'Blue'"):
        endpoint.update_weights({"Blue": 1.0})
    with pytest.raises(ValidationError, match=r"weights\.AllTraffic"):
        endpoint.update_weights({"AllTraffic": -1})
    with pytest.raises(NotFoundError, match="no variant 'Green'"):
        endpoint.invoke(b"1,2,3", target_variant="Green")
    assert [v.weight for v in endpoint.variants] == [0.5]
    endpoint.delete()


def test_duplicate_endpoint_name_is_a_conflict(any_session, model):
    model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="dup-ep")
    with pytest.raises(ConflictError, match="dup-ep"):
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="dup-ep")
    assert [e.name for e in mlopskit.Endpoint.list(session=any_session)] == ["dup-ep"]
    mlopskit.Endpoint("dup-ep", session=any_session).delete()


@pytest.mark.parametrize(("endpoint_name", "config", "message"), [
    ("bad_name", mlopskit.RealtimeConfig("ml.m5.large"), "endpoint_name"),
    ("-lead", mlopskit.RealtimeConfig("ml.m5.large"), "endpoint_name"),
    ("x" * 64, mlopskit.RealtimeConfig("ml.m5.large"), "at most 63"),
    ("ok-name", "ml.m5.large", "config: expected RealtimeConfig"),
])
def test_bad_deploy_input_creates_nothing(any_session, model, endpoint_name, config, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        model.deploy(config, endpoint_name=endpoint_name)
    assert mlopskit.Endpoint.list(session=any_session) == []


def test_endpoint_json_answer_round_trip(any_session, model):
    predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="json-ep")
    _queue_moto_answer(any_session, "[0, 1]", "AllTraffic")
    result = predictor.endpoint.invoke(json.dumps(X.tolist()).encode(),
                                       content_type="application/json",
                                       accept="application/json")
    assert result.content_type == "application/json"
    assert len(json.loads(result.body)) == 2
    predictor.delete_endpoint()


def test_two_weighted_variants(any_session, model):
    endpoint = mlopskit.Endpoint.create("ab-ep", [
        mlopskit.ProductionVariant(model, "A", weight=3.0),
        mlopskit.ProductionVariant(model, "B", mlopskit.RealtimeConfig("ml.c5.large"), 1.0),
    ], session=any_session)
    assert [(v.name, v.weight, v.instance_type) for v in endpoint.variants] == [
        ("A", 3.0, "ml.m5.large"), ("B", 1.0, "ml.c5.large")]
    _queue_moto_answer(any_session, "[1, 1]", "B")
    assert endpoint.invoke(b"1,2,3\n4,5,6", target_variant="B").variant == "B"
    endpoint.delete()
    assert mlopskit.Endpoint.list(session=any_session) == []


def test_duplicate_variant_names_are_refused(any_session, model):
    with pytest.raises(ValidationError, match="duplicate variant names"):
        mlopskit.Endpoint.create("dup-variants", [mlopskit.ProductionVariant(model, "A"),
                                                  mlopskit.ProductionVariant(model, "A")],
                                 session=any_session)
    assert mlopskit.Endpoint.list(session=any_session) == []


def test_serverless_endpoint(any_session, model):
    predictor = model.deploy(mlopskit.ServerlessConfig(3072, max_concurrency=10),
                             endpoint_name="sls-conf", serializer=CSVSerializer(),
                             deserializer=JSONDeserializer())
    variant = predictor.endpoint.variants[0]
    assert variant.serverless is not None
    assert (variant.serverless.memory_size_mb, variant.serverless.max_concurrency) == (3072, 10)
    _queue_moto_answer(any_session, "[1, 0]", "AllTraffic")
    assert len(predictor.predict(X)) == 2
    predictor.delete_endpoint()
