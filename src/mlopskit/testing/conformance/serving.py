"""Realtime and serverless endpoints on every backend: deploy, describe, weights, target
variant, delete, and the address ``Endpoint.url()`` gives."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import mlopskit
from mlopskit.errors import ConflictError, NotFoundError, ValidationError
from mlopskit.serializers import CSVSerializer, JSONDeserializer

from ...backends.base import Capability
from ...session import Session
from ..plugin import Emulation
from ._support import IMAGE, Conformance, fitted_classifier, model_in_store

__all__ = ["EndpointUrlConformance", "ServingConformance", "ping", "post_rows"]

# straight to the address, whatever proxy the environment names
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _rows() -> Any:
    import numpy as np

    return np.array([[0.1, 0.2, 0.3], [2.0, 1.0, 0.5]])


def ping(url: str) -> int:
    """``GET <url>/ping``: its HTTP status."""
    with _DIRECT.open(f"{url}/ping", timeout=30) as answer:
        status: int = answer.status
        return status


def post_rows(url: str, rows: Any) -> tuple[int, object]:
    """``POST <url>/invocations`` with ``rows`` as JSON: the status and the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 (the endpoint's http address)
        f"{url}/invocations", data=json.dumps(rows.tolist()).encode(), method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"})
    with _DIRECT.open(request, timeout=30) as answer:
        return answer.status, json.loads(answer.read())


BAD_DEPLOYS: list[tuple[str, Any, str]] = [
    ("bad_name", mlopskit.RealtimeConfig("ml.m5.large"), "endpoint_name"),
    ("-lead", mlopskit.RealtimeConfig("ml.m5.large"), "endpoint_name"),
    ("x" * 64, mlopskit.RealtimeConfig("ml.m5.large"), "1 to 63"),
    ("ok-name", "ml.m5.large", "config: expected RealtimeConfig"),
]


class ServingConformance(Conformance):
    """Model.deploy, Endpoint and Predictor: describe, invoke, weights, variants,
    conflicts, serverless, and bad input that creates nothing."""

    @pytest.fixture
    def model(self, session: Session, tmp_path: Path) -> mlopskit.Model:
        return model_in_store(session, tmp_path, fitted_classifier(2, 80), "only_model_fn.py",
                              key="models/churn", image_uri=IMAGE)

    def test_deploy_describe_invoke_delete(self, session: Session, model: mlopskit.Model,
                                           conformance_emulation: Emulation) -> None:
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                 endpoint_name="conf-ep", serializer=CSVSerializer(),
                                 deserializer=JSONDeserializer())
        endpoint = mlopskit.Endpoint("conf-ep", session=session)
        described = endpoint.describe()
        assert described.status == "InService"
        assert re.fullmatch(r"arn:aws:sagemaker:us-east-1:\d{12}:endpoint/conf-ep",
                            described.arn)
        assert [(v.name, v.weight, v.instance_type) for v in described.variants] == [
            ("AllTraffic", 1.0, "ml.m5.large")]
        conformance_emulation.answer("[1, 0]", variant="AllTraffic")
        answer = predictor.predict(_rows(), target_variant="AllTraffic")
        assert isinstance(answer, list)
        assert len(answer) == 2
        assert predictor.last_variant == "AllTraffic"
        assert [e.name for e in mlopskit.Endpoint.list(session=session)] == ["conf-ep"]
        endpoint.delete()
        with pytest.raises(NotFoundError, match="conf-ep"):
            endpoint.describe()
        assert mlopskit.Endpoint.list(session=session) == []

    def test_update_weights(self, session: Session, model: mlopskit.Model) -> None:
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="weights-ep")
        endpoint = mlopskit.Endpoint("weights-ep", session=session)
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

    def test_duplicate_endpoint_name_is_a_conflict(self, session: Session,
                                                   model: mlopskit.Model) -> None:
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="dup-ep")
        with pytest.raises(ConflictError, match="dup-ep"):
            model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="dup-ep")
        assert [e.name for e in mlopskit.Endpoint.list(session=session)] == ["dup-ep"]
        mlopskit.Endpoint("dup-ep", session=session).delete()

    @pytest.mark.parametrize(("endpoint_name", "config", "message"), BAD_DEPLOYS)
    def test_bad_deploy_input_creates_nothing(self, session: Session, model: mlopskit.Model,
                                              endpoint_name: str, config: Any,
                                              message: str) -> None:
        with pytest.raises(ValidationError, match=re.escape(message)):
            model.deploy(config, endpoint_name=endpoint_name)
        assert mlopskit.Endpoint.list(session=session) == []

    def test_endpoint_json_answer_round_trip(self, model: mlopskit.Model,
                                             conformance_emulation: Emulation) -> None:
        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"),
                                 endpoint_name="json-ep")
        conformance_emulation.answer("[0, 1]", variant="AllTraffic")
        result = predictor.endpoint.invoke(json.dumps(_rows().tolist()).encode(),
                                           content_type="application/json",
                                           accept="application/json")
        assert result.content_type == "application/json"
        assert len(json.loads(result.body)) == 2
        predictor.delete_endpoint()

    def test_two_weighted_variants(self, session: Session, model: mlopskit.Model,
                                   conformance_emulation: Emulation) -> None:
        endpoint = mlopskit.Endpoint.create("ab-ep", [
            mlopskit.ProductionVariant(model, "A", weight=3.0),
            mlopskit.ProductionVariant(model, "B", mlopskit.RealtimeConfig("ml.c5.large"), 1.0),
        ], session=session)
        assert [(v.name, v.weight, v.instance_type) for v in endpoint.variants] == [
            ("A", 3.0, "ml.m5.large"), ("B", 1.0, "ml.c5.large")]
        conformance_emulation.answer("[1, 1]", variant="B")
        assert endpoint.invoke(b"1,2,3\n4,5,6", target_variant="B").variant == "B"
        endpoint.delete()
        assert mlopskit.Endpoint.list(session=session) == []

    def test_duplicate_variant_names_are_refused(self, session: Session,
                                                 model: mlopskit.Model) -> None:
        with pytest.raises(ValidationError, match="duplicate variant names"):
            mlopskit.Endpoint.create("dup-variants", [mlopskit.ProductionVariant(model, "A"),
                                                      mlopskit.ProductionVariant(model, "A")],
                                     session=session)
        assert mlopskit.Endpoint.list(session=session) == []

    def test_serverless_endpoint(self, model: mlopskit.Model,
                                 conformance_emulation: Emulation) -> None:
        predictor = model.deploy(mlopskit.ServerlessConfig(3072, max_concurrency=10),
                                 endpoint_name="sls-conf", serializer=CSVSerializer(),
                                 deserializer=JSONDeserializer())
        variant = predictor.endpoint.variants[0]
        assert variant.serverless is not None
        assert (variant.serverless.memory_size_mb, variant.serverless.max_concurrency) == (
            3072, 10)
        conformance_emulation.answer("[1, 0]", variant="AllTraffic")
        assert len(predictor.predict(_rows())) == 2
        predictor.delete_endpoint()


class EndpointUrlConformance(Conformance):
    """Endpoint.url(): an address any HTTP client can call. With
    ``Capability.VARIANT_URLS`` each variant has its own, answering plain HTTP; without it
    the endpoint has one address for every variant."""

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> Any:
        return fitted_classifier(5, 60)

    @pytest.fixture
    def model(self, session: Session, tmp_path: Path, fitted: Any) -> mlopskit.Model:
        return model_in_store(session, tmp_path, fitted, "only_model_fn.py", key="models/url",
                              image_uri=IMAGE)

    def test_one_variant(self, session: Session, model: mlopskit.Model, fitted: Any) -> None:
        model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="url-ep")
        endpoint = mlopskit.Endpoint("url-ep", session=session)
        url = endpoint.url()
        assert endpoint.url("AllTraffic") == url
        assert endpoint.describe().variants[0].url == f"{url}/invocations"
        if Capability.VARIANT_URLS in session.backend.capabilities:
            assert re.fullmatch(r"https?://[^/?#]+", url), url  # the variant's own server
            assert ping(url) == 200
            rows = _rows()
            assert post_rows(url, rows) == (200, fitted.predict(rows).tolist())
        else:
            assert url.startswith("https://") and url.endswith("/endpoints/url-ep"), url
        endpoint.delete()

    def test_several_variants_need_a_name(self, session: Session,
                                          model: mlopskit.Model) -> None:
        endpoint = mlopskit.Endpoint.create("url-ab", [
            mlopskit.ProductionVariant(model, "A", weight=1.0),
            mlopskit.ProductionVariant(model, "B", weight=1.0),
        ], session=session)
        with pytest.raises(ValidationError, match=r"variant: endpoint 'url-ab' has 2 variants "
                                                  r"\(A, B\); pass variant="):
            endpoint.url()
        with pytest.raises(NotFoundError, match="no variant 'C'"):
            endpoint.url("C")
        with pytest.raises(ValidationError, match="variant: expected a variant name"):
            endpoint.url(1)  # type: ignore[arg-type]
        a, b = endpoint.url("A"), endpoint.url("B")
        if Capability.VARIANT_URLS in session.backend.capabilities:
            assert a != b
            assert ping(a) == 200
            assert ping(b) == 200
        else:  # one address; the service routes by header, not by address
            assert a == b and a.endswith("/endpoints/url-ab"), (a, b)
        endpoint.delete()

    def test_an_unknown_endpoint_is_not_found(self, session: Session) -> None:
        with pytest.raises(NotFoundError, match="nope"):
            mlopskit.Endpoint("nope", session=session).url()
