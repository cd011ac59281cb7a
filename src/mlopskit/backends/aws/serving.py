"""Endpoints on SageMaker: CreateModel, CreateEndpointConfig, CreateEndpoint and
InvokeEndpoint (sagemaker-runtime), with the same verbs as the local backend."""

from __future__ import annotations

import contextlib
import datetime as _dt
from typing import TYPE_CHECKING, Any

from ...errors import (
    BackendError,
    CapabilityError,
    ConflictError,
    InvocationError,
    NotFoundError,
    ValidationError,
)
from ...sagemaker_api.images import image_instance_type, resolve_image_uri
from ...sagemaker_api.responses import aware_time
from ...sagemaker_api.rollout import RolloutReport, Strategy
from ...sagemaker_api.serving import (
    create_endpoint_config_request,
    create_model_request,
    data_capture_description,
    deployment_config,
    tag_list,
)
from ...sagemaker_api.transform import create_transform_job_request
from ...specs.serving import (
    DEFAULT_INVOCATION_TIMEOUT,
    DeployedModelSpec,
    EndpointConfigSpec,
    EndpointDescription,
    InvokeResult,
    ServerlessSpec,
    TransformJobDescription,
    TransformJobSpec,
    VariantDescription,
)
from ..base import ProgressSink
from .jobs import SageMakerJobs

if TYPE_CHECKING:
    from .backend import AwsBackend

__all__ = ["AwsServing"]


def _check_transform(spec: TransformJobSpec) -> None:
    if spec.instance_type == "local":
        raise ValidationError("instance_type: 'local' only runs on the local backend; pick "
                              "an ml.* type such as 'ml.m5.large'", field="instance_type")


def _transform_description(found: dict[str, Any], tags: dict[str, str]
                           ) -> TransformJobDescription:
    """A ``DescribeTransformJob`` answer in the shape every backend reports (SageMaker does
    not list the output objects or count records)."""
    return TransformJobDescription(
        name=found["TransformJobName"], arn=found["TransformJobArn"],
        status=found["TransformJobStatus"], failure_reason=found.get("FailureReason"),
        output_path=found["TransformOutput"]["S3OutputPath"], outputs=(), records=None,
        creation_time=aware_time(found.get("CreationTime")),
        start_time=aware_time(found.get("TransformStartTime")),
        end_time=aware_time(found.get("TransformEndTime")))


class AwsServing:
    """Serving verbs on SageMaker; waits poll on the session clock."""

    def __init__(self, backend: AwsBackend) -> None:
        self.backend = backend
        self._variants: dict[str, set[str]] = {}
        self._images: dict[tuple[str, str | None, str], str] = {}
        self.transforms = SageMakerJobs(backend, "TransformJob", check=_check_transform,
                                        request=create_transform_job_request,
                                        read=_transform_description, tags=False)

    @property
    def _sm(self) -> Any:
        return self.backend.clients.sagemaker

    def _call(self, method: Any, operation: str, resource: str, **kwargs: Any) -> Any:
        return self.backend.call(method, operation, resource, **kwargs)

    def _image(self, spec: DeployedModelSpec) -> str | None:
        """The model's image, or its framework's inference image for where it will run."""
        if spec.image_uri or not spec.framework:
            return spec.image_uri
        key = (spec.framework, spec.framework_version, image_instance_type(spec.instance_type))
        if key not in self._images:
            self._images[key] = resolve_image_uri(*key[:2], self.backend.region, key[2],
                                                  scope="inference")
        return self._images[key]

    def check_model(self, spec: DeployedModelSpec) -> None:
        """Refuse, before anything is uploaded, a model SageMaker could not create: no
        image and no framework, a framework image that cannot be looked up, no role."""
        create_model_request(spec, role_arn=self.backend._role_arn(),
                             image_uri=self._image(spec))

    def create_model(self, spec: DeployedModelSpec) -> None:
        request = create_model_request(spec, role_arn=self.backend._role_arn(),
                                       image_uri=self._image(spec))
        self._call(self._sm.create_model, "CreateModel", spec.name, **request)

    def create_endpoint_config(self, spec: EndpointConfigSpec) -> None:
        for variant in spec.variants:
            if variant.invocation_timeout != DEFAULT_INVOCATION_TIMEOUT:
                # SageMaker answers every realtime and serverless request within its own
                # 60 s; there is no setting to send.
                raise CapabilityError(
                    f"invocation_timeout: {variant.invocation_timeout} s for variant "
                    f"{variant.name!r}; SageMaker's limit is fixed at "
                    f"{DEFAULT_INVOCATION_TIMEOUT} s (the setting is the local backend's)")
        self._call(self._sm.create_endpoint_config, "CreateEndpointConfig", spec.name,
                   **create_endpoint_config_request(spec))

    def create_endpoint(self, name: str, config_name: str, *,
                        tags: dict[str, str] | None = None,
                        on_progress: ProgressSink | None = None) -> None:
        """CreateEndpoint; returns at once (the endpoint is Creating: the caller waits)."""
        request: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
        if tags:
            request["Tags"] = tag_list(tags)
        self._call(self._sm.create_endpoint, "CreateEndpoint", name, **request)

    def update_endpoint(self, name: str, config_name: str,
                        strategy: Strategy) -> RolloutReport | None:
        """UpdateEndpoint with a blue/green DeploymentConfig; SageMaker shifts the traffic
        and rolls back on the named CloudWatch alarms. Returns after the call (None: the
        caller waits for the endpoint to settle and reads the outcome)."""
        request: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name,
                                   "DeploymentConfig": deployment_config(strategy)}
        self._call(self._sm.update_endpoint, "UpdateEndpoint", name, **request)
        return None

    def switch_endpoint_config(self, name: str, config_name: str) -> None:
        """UpdateEndpoint onto a config with the same variants (say, new data capture
        settings); returns after the call."""
        self._call(self._sm.update_endpoint, "UpdateEndpoint", name, EndpointName=name,
                   EndpointConfigName=config_name)

    def cold_starts(self, name: str) -> dict[str, Any]:
        raise CapabilityError("the aws backend reports serverless cold starts in CloudWatch "
                              "(ModelSetupTime), not here")

    def describe_endpoint(self, name: str) -> EndpointDescription:
        found = self._call(self._sm.describe_endpoint, "DescribeEndpoint", name,
                           EndpointName=name)
        config = self._call(self._sm.describe_endpoint_config, "DescribeEndpointConfig",
                            found["EndpointConfigName"],
                            EndpointConfigName=found["EndpointConfigName"])
        live = {v["VariantName"]: v for v in found.get("ProductionVariants", [])}
        url = self.invocation_url(name)
        variants = []
        for v in config["ProductionVariants"]:
            current = live.get(v["VariantName"], {})
            weight = current.get("CurrentWeight", v.get("InitialVariantWeight", 1.0))
            serverless = v.get("ServerlessConfig")
            variants.append(VariantDescription(
                v["VariantName"], v["ModelName"], float(weight),
                v.get("InstanceType") or "serverless",
                int(current.get("CurrentInstanceCount", v.get("InitialInstanceCount", 1))),
                ServerlessSpec(memory_size_mb=serverless["MemorySizeInMB"],
                               max_concurrency=serverless["MaxConcurrency"],
                               provisioned_concurrency=serverless.get(
                                   "ProvisionedConcurrency")) if serverless else None,
                url))
        self._variants[name] = {v.name for v in variants}
        created = found.get("CreationTime")
        return EndpointDescription(
            name=name, arn=found["EndpointArn"], status=found["EndpointStatus"],
            config_name=found["EndpointConfigName"], variants=tuple(variants),
            failure_reason=found.get("FailureReason"),
            creation_time=created if isinstance(created, _dt.datetime)
            else _dt.datetime.now(_dt.timezone.utc),
            data_capture=data_capture_description(config.get("DataCaptureConfig"),
                                                   found.get("DataCaptureConfig")))

    def invocation_url(self, name: str) -> str:
        """InvokeEndpoint's URL, ``https://runtime.sagemaker.<region>.amazonaws.com/endpoints/
        <name>/invocations``, from the runtime client's own endpoint (so a custom endpoint
        URL or another partition is respected). The same for every variant: SageMaker
        routes by weight or by the ``X-Amzn-SageMaker-Target-Variant`` header."""
        base = str(self.backend.clients.runtime.meta.endpoint_url).rstrip("/")
        return f"{base}/endpoints/{name}/invocations"

    def list_endpoints(self) -> list[str]:
        paginator = self._sm.get_paginator("list_endpoints")

        def pages() -> list[str]:
            return sorted(e["EndpointName"] for page in paginator.paginate()
                          for e in page.get("Endpoints", []))

        return self._call(pages, "ListEndpoints", "*")  # type: ignore[no-any-return]

    def update_endpoint_weights(self, name: str, weights: dict[str, float]) -> None:
        known = self._variants.get(name) or {v.name for v in
                                             self.describe_endpoint(name).variants}
        unknown = sorted(set(weights) - known)
        if unknown:
            raise NotFoundError(f"endpoint {name!r} has no variant {unknown[0]!r}; it has "
                                f"{sorted(known)}")
        current = {v.name: v.weight for v in self.describe_endpoint(name).variants}
        current.update(weights)
        if sum(current.values()) <= 0:
            raise ConflictError("at least one variant needs a weight above 0")
        self._call(self._sm.update_endpoint_weights_and_capacities,
                   "UpdateEndpointWeightsAndCapacities", name, EndpointName=name,
                   DesiredWeightsAndCapacities=[{"VariantName": k, "DesiredWeight": v}
                                                for k, v in sorted(weights.items())])

    def delete_endpoint(self, name: str) -> None:
        self._call(self._sm.delete_endpoint, "DeleteEndpoint", name, EndpointName=name)
        self._variants.pop(name, None)

    def delete_endpoint_config(self, name: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._call(self._sm.delete_endpoint_config, "DeleteEndpointConfig", name,
                       EndpointConfigName=name)

    def delete_model(self, name: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._call(self._sm.delete_model, "DeleteModel", name, ModelName=name)

    def invoke_endpoint(self, name: str, body: bytes, content_type: str, accept: str | None,
                        target_variant: str | None = None,
                        inference_id: str | None = None) -> InvokeResult:
        if target_variant is not None:
            known = self._variants.get(name) or {v.name for v in
                                                 self.describe_endpoint(name).variants}
            if target_variant not in known:
                raise NotFoundError(f"endpoint {name!r} has no variant {target_variant!r}; "
                                    f"it has {sorted(known)}")
        request: dict[str, Any] = {"EndpointName": name, "Body": body,
                                   "ContentType": content_type}
        if accept:
            request["Accept"] = accept
        if target_variant:
            request["TargetVariant"] = target_variant
        if inference_id is not None:
            request["InferenceId"] = inference_id
        runtime = self.backend.clients.runtime
        try:
            answer = self._call(runtime.invoke_endpoint, "InvokeEndpoint", name, **request)
        except BackendError as exc:
            # The container answered with an error (ModelError, HTTP 424 from the service).
            status = 424 if exc.code == "ModelError" else 500
            raise InvocationError(str(exc), status=status, variant=target_variant) from exc
        except (ValidationError, ConflictError) as exc:
            raise InvocationError(str(exc), status=400, variant=target_variant) from exc
        payload = answer["Body"].read()
        return InvokeResult(payload, str(answer.get("ContentType", "")),
                            answer.get("InvokedProductionVariant"))
