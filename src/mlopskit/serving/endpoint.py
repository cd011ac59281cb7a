"""Endpoints and predictors: deploy a model, send it requests, steer its traffic.

Example:
    >>> RealtimeConfig("ml.m5.large", initial_instance_count=2)
    RealtimeConfig(instance_type='ml.m5.large', initial_instance_count=2, invocation_timeout=60)
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .. import _display
from .._waiting import poll_until, wait_timeout
from ..backends.base import Capability, ServingBackend
from ..errors import (
    ConflictError,
    DeploymentFailedError,
    IntegrityError,
    MlopsKitError,
    NotFoundError,
    ValidationError,
    WaitTimeoutError,
)
from ..session import Session, resolve_session
from ..specs._common import build, check_instance_type, check_name, check_tags
from ..specs.registry import ModelSpec
from ..specs.serving import (
    DEFAULT_INVOCATION_TIMEOUT,
    MAX_INVOCATION_TIMEOUT,
    DataCaptureSpec,
    DeployedModelSpec,
    EndpointConfigSpec,
    EndpointDescription,
    InvokeResult,
    ServerlessSpec,
    VariantDescription,
)
from .capture import DataCaptureConfig, check_inference_id
from .codecs import NumpyDeserializer, NumpySerializer
from .rollout import AllAtOnce, Canary, Linear, RolloutReport, Strategy

if TYPE_CHECKING:
    from ..models import Model

__all__ = ["DEFAULT_ENDPOINT_TIMEOUT", "Endpoint", "Predictor", "ProductionVariant",
           "RealtimeConfig", "ServerlessConfig", "code_uri", "deploy_model", "deployed_model",
           "verified_digest"]

# How long Endpoint.create (and Endpoint.wait) wait for an endpoint by default: SageMaker
# takes minutes; pass timeout= for more or less.
DEFAULT_ENDPOINT_TIMEOUT = 3600.0


class Serializer(Protocol):
    content_type: str

    def serialize(self, data: Any) -> bytes: ...


class Deserializer(Protocol):
    accept: str

    def deserialize(self, body: bytes, content_type: str) -> Any: ...


@dataclasses.dataclass(frozen=True)
class RealtimeConfig:
    """Always-on instances behind an endpoint.

    The instance type is checked at once against SageMaker's ``ml.<family>.<size>`` form.
    Locally each instance is one inference server process on 127.0.0.1.

    ``invocation_timeout`` is how many seconds (1 to 3600) a request may take before it is
    answered with an error: 60, SageMaker's limit for realtime endpoints, by default. The
    local backend honours any value (a late request gets a 504 and the server keeps
    serving); SageMaker keeps its own 60 s whatever is given here.

    Example:
        >>> RealtimeConfig("ml.m5.large", initial_instance_count=2)
        RealtimeConfig(instance_type='ml.m5.large', initial_instance_count=2, invocation_timeout=60)
        >>> RealtimeConfig("m5.large")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: instance_type: 'm5.large' is not an instance type; ...
    """

    instance_type: str
    initial_instance_count: int = 1
    invocation_timeout: int = DEFAULT_INVOCATION_TIMEOUT

    def __post_init__(self) -> None:
        try:
            check_instance_type(self.instance_type)
        except ValueError as exc:
            raise ValidationError(f"instance_type: {exc}", field="instance_type") from None
        if not isinstance(self.initial_instance_count, int) or self.initial_instance_count < 1:
            raise ValidationError("initial_instance_count: must be a whole number >= 1 (got "
                                  f"{self.initial_instance_count!r})",
                                  field="initial_instance_count")
        timeout = self.invocation_timeout
        if not isinstance(timeout, int) or isinstance(timeout, bool) or \
                not 1 <= timeout <= MAX_INVOCATION_TIMEOUT:
            raise ValidationError(f"invocation_timeout: must be a whole number of seconds from "
                                  f"1 to {MAX_INVOCATION_TIMEOUT} (got {timeout!r}); "
                                  f"SageMaker's is {DEFAULT_INVOCATION_TIMEOUT}",
                                  field="invocation_timeout")


@dataclasses.dataclass(frozen=True)
class ServerlessConfig:
    """Capacity on demand: started by the first request, stopped when idle.

    ``memory_size_mb`` is one of 1024, 2048, ..., 6144; ``max_concurrency`` 1..200 (more
    requests in flight get a throttling error); ``provisioned_concurrency`` keeps it warm.

    Example:
        >>> ServerlessConfig(memory_size_mb=2048, max_concurrency=5)
        ServerlessConfig(memory_size_mb=2048, max_concurrency=5, provisioned_concurrency=None)
    """

    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None

    def __post_init__(self) -> None:
        build(ServerlessSpec, "", memory_size_mb=self.memory_size_mb,
              max_concurrency=self.max_concurrency,
              provisioned_concurrency=self.provisioned_concurrency)

    def spec(self) -> ServerlessSpec:
        return ServerlessSpec(memory_size_mb=self.memory_size_mb,
                              max_concurrency=self.max_concurrency,
                              provisioned_concurrency=self.provisioned_concurrency)


def _variant_capacity(config: Any) -> dict[str, Any]:
    if isinstance(config, RealtimeConfig):
        return {"instance_type": config.instance_type,
                "initial_instance_count": config.initial_instance_count,
                "invocation_timeout": config.invocation_timeout}
    if isinstance(config, ServerlessConfig):
        return {"serverless": config.spec()}
    raise ValidationError(f"config: expected RealtimeConfig or ServerlessConfig, got "
                          f"{type(config).__name__}", field="config")


def _serving(session: Session) -> ServingBackend:
    session.require(Capability.REALTIME_ENDPOINTS, "deploying an endpoint")
    return session.backend.serving


def _stamp(session: Session) -> str:
    return session.clock.now().strftime("%Y-%m-%d-%H-%M-%S-%f")[:-3]


@dataclasses.dataclass(frozen=True)
class ProductionVariant:
    """One variant of an endpoint: a model, its instances and its traffic weight.

    A variant's share of the traffic is its weight over the sum of the weights; pass
    several to :meth:`Endpoint.create` for an A/B test.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> model = mlopskit.Model("s3://models/iris/model.tar.gz", session=session)
        >>> variant = ProductionVariant(model, name="A", weight=3)
        >>> variant.name, variant.weight, variant.config.instance_type
        ('A', 3, 'ml.m5.large')
    """

    model: Model
    name: str = "AllTraffic"
    config: RealtimeConfig | ServerlessConfig = dataclasses.field(
        default_factory=lambda: RealtimeConfig("ml.m5.large"))
    weight: float = 1.0
    sha256: str | None = None  # the artifact's digest to insist on (a package's lineage)
    code_sha256: str | None = None  # the code archive's, likewise


def _data_capture(config: Any, session: Session) -> DataCaptureSpec | None:
    if config is None:
        return None
    if not isinstance(config, DataCaptureConfig):
        raise ValidationError(f"data_capture_config: expected a DataCaptureConfig or None, got "
                              f"{type(config).__name__}", field="data_capture_config")
    return config.spec(session)


def _config_name(session: Session, prefix: str) -> str:
    # Timestamp for people, random tail for uniqueness (a FakeClock repeats its stamp).
    stamp = f"{_stamp(session)}-{os.urandom(3).hex()}"
    return re.sub(r"-+", "-", f"{prefix[:31].rstrip('-')}-{stamp}")[:60].rstrip("-")


_SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"


def code_uri(spec: ModelSpec) -> str | None:
    """The ``s3://`` URI of the code archive a model is served with, or None.

    That is ``SAGEMAKER_SUBMIT_DIRECTORY`` when the model's environment sets it (a code
    folder inside the artifact, ``/opt/ml/model/code``, is covered by the artifact's own
    digest), else the uploaded ``source_dir`` of a model with an ``entry_point``.

    Example:
        >>> code_uri(ModelSpec(model_data="s3://bkt/model.tar.gz", entry_point="serve.py",
        ...                    source_uri="s3://bkt/code/sourcedir.tar.gz"))
        's3://bkt/code/sourcedir.tar.gz'
    """
    uri = spec.environment.get(_SUBMIT_DIRECTORY) or (spec.source_uri if spec.entry_point
                                                      else None)
    return uri if uri and uri.startswith("s3://") else None


def _addressed_digest(uri: str) -> str | None:
    """The SHA-256 a content-addressed URI (``.../mlopskit/<kind>/<sha256>/<file>``) names."""
    parts = uri.split("/")
    if len(parts) >= 4 and parts[-4] == "mlopskit" and re.fullmatch(r"[0-9a-f]{64}", parts[-2]):
        return parts[-2]
    return None


def verified_digest(session: Session, uri: str, expected: str | None, *, what: str,
                    recorded: str = "when it was registered") -> str:
    """The SHA-256 of the object at ``uri``, checked against ``expected`` and, for
    mlopskit's content-addressed uploads (``mlopskit/<kind>/<sha256>/...``), against the
    digest in its key; :class:`~mlopskit.errors.IntegrityError` naming ``what`` when one
    differs. The store computes the digest (streamed locally, S3's checksum on AWS).

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> _ = session.write_bytes(b"x", "s3://bkt/m.tar.gz")
        >>> verified_digest(session, "s3://bkt/m.tar.gz", None, what="model artifact")[:8]
        '2d711642'
        >>> verified_digest(session, "s3://bkt/m.tar.gz", "0" * 64,
        ...                 what="model artifact")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.IntegrityError: model artifact 's3://bkt/m.tar.gz' has SHA-256 2d71...
    """
    try:
        actual = session.backend.objects.sha256(uri)
    except NotFoundError:
        raise NotFoundError(f"{what} {uri!r} does not exist") from None
    for want, source in ((expected, recorded), (_addressed_digest(uri), "in its key")):
        if want is not None and actual != want:
            raise IntegrityError(
                f"{what} {uri!r} has SHA-256 {actual[:12]}..., not the {want[:12]}... "
                f"recorded {source}; refusing to load a changed artifact",
                artifact=what, uri=uri, expected=want, actual=actual)
    return actual


_CHANGING = frozenset({"Creating", "Updating", "SystemUpdating"})
# A blue/green update bakes and shifts in steps; SageMaker's own limit for one is hours.
_ROLLOUT_TIMEOUT = 4 * 3600.0


def _settled_report(described: EndpointDescription, config_name: str,
                    strategy: Strategy) -> RolloutReport:
    """The report of a rollout the service ran: completed when the endpoint is InService
    on the new config, rolled back otherwise (steps as planned; the service does not say
    when each happened)."""
    completed = described.config_name == config_name and described.status == "InService"
    return RolloutReport(described.name, type(strategy).__name__, completed=completed,
                         rolled_back=not completed,
                         reason=None if completed else (described.failure_reason or
                                                        f"endpoint is {described.status}"),
                         steps=tuple({"share": share, "bake_seconds": bake, "at": None,
                                      "requests": None, "errors_5xx": None, "alarm": None}
                                     for share, bake in strategy.steps()))


def deployed_model(session: Session, model: Model, name: str, *,
                   instance_type: str | None, sha256: str | None,
                   code_sha256: str | None = None,
                   tags: Mapping[str, str] | None = None) -> DeployedModelSpec:
    """The CreateModel spec of ``model`` (uploading its code and a local artifact first):
    the serving variables the SDK sets for an inference script, the digests of the artifact
    and of the code archive (checked again before a local server extracts either), and
    where it will run.

    ``sha256``/``code_sha256`` are the digests to insist on (a package's lineage); without
    them the objects' current digests are recorded. Either way an object that differs from
    the digest given, or from the one in its content-addressed key, is refused here with
    :class:`~mlopskit.errors.IntegrityError`, before anything is created (on AWS this is
    the only check: SageMaker loads the objects itself).

    The backend checks the model first (on AWS: that its image can be found), so a model
    that cannot be created uploads nothing.
    """
    probe = model._spec_values(None, probe=True)
    _serving(session).check_model(build(
        DeployedModelSpec, "", name=name, image_uri=probe.image_uri,
        model_data=probe.model_data, framework=probe.framework,
        framework_version=probe.framework_version, instance_type=instance_type,
        tags=dict(tags or {})))
    spec = model.spec(session)
    environment = dict(spec.environment)
    if spec.entry_point:
        environment.setdefault("SAGEMAKER_PROGRAM", spec.entry_point)
        if spec.source_uri:
            environment.setdefault(_SUBMIT_DIRECTORY, spec.source_uri)
        environment.setdefault("SAGEMAKER_CONTAINER_LOG_LEVEL", "20")
    environment.setdefault("SAGEMAKER_REGION", session.region)
    model_digest = verified_digest(session, spec.model_data, sha256, what="model artifact")
    code = code_uri(spec.model_copy(update={"environment": environment}))
    code_digest = verified_digest(session, code, code_sha256, what="code archive") \
        if code else None
    return build(DeployedModelSpec, "", name=name, image_uri=spec.image_uri,
                 model_data=spec.model_data, environment=environment,
                 framework=spec.framework, framework_version=spec.framework_version,
                 instance_type=instance_type, tags=dict(tags or {}),
                 sha256=model_digest, code_sha256=code_digest)


def _create_fleet(session: Session, serving: Any, prefix: str,
                  variants: Sequence[ProductionVariant],
                  data_capture: DataCaptureSpec | None = None,
                  tags: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Create one model per variant and an endpoint config; all or nothing."""
    config_name = _config_name(session, prefix)
    specs = []
    for index, variant in enumerate(variants):
        capacity = _variant_capacity(variant.config)
        specs.append(deployed_model(session, variant.model, f"{config_name[:60]}-{index}",
                                    instance_type=capacity.get("instance_type"),
                                    sha256=variant.sha256, code_sha256=variant.code_sha256,
                                    tags=tags))
    endpoint_config = build(EndpointConfigSpec, "", name=config_name, variants=[
        {"name": v.name, "model_name": m.name, "initial_weight": v.weight,
         **_variant_capacity(v.config)} for v, m in zip(variants, specs, strict=True)],
        data_capture=data_capture, tags=dict(tags or {}))
    created: list[str] = []
    try:
        for deployed in specs:
            serving.create_model(deployed)
            created.append(deployed.name)
        serving.create_endpoint_config(endpoint_config)
    except MlopsKitError:
        for name in created:
            serving.delete_model(name)
        raise
    return config_name, created


def _drop_fleet(serving: Any, config_name: str, models: Sequence[str]) -> None:
    with contextlib.suppress(MlopsKitError):
        serving.delete_endpoint_config(config_name)
    for name in models:
        with contextlib.suppress(MlopsKitError):
            serving.delete_model(name)


def _tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ValidationError(f"tags: expected a dict of str to str, got {type(tags).__name__}",
                              field="tags")
    try:
        return check_tags(dict(tags))
    except ValueError as exc:
        raise ValidationError(f"tags: {exc}", field="tags") from None


def _check_endpoint_name(name: str) -> None:
    try:
        check_name(name, kind="endpoint_name")
    except ValueError as exc:
        raise ValidationError(str(exc), field="endpoint_name") from None


def deploy_model(model: Model, config: RealtimeConfig | ServerlessConfig, *,
                 endpoint_name: str | None, variant_name: str, session: Session | None,
                 sha256: str | None, code_sha256: str | None = None,
                 serializer: Serializer | None = None,
                 deserializer: Deserializer | None = None,
                 data_capture_config: DataCaptureConfig | None = None,
                 wait: bool = True, timeout: float | None = None,
                 tags: Mapping[str, str] | None = None) -> Predictor:
    """Create model, endpoint config and endpoint (see :meth:`Endpoint.create`)."""
    resolved = resolve_session(session or model.session)
    _variant_capacity(config)
    name = endpoint_name or f"mlopskit-endpoint-{_stamp(resolved)}"
    _check_endpoint_name(name)
    Endpoint.create(name, [ProductionVariant(model, variant_name, config, 1.0, sha256,
                                             code_sha256)],
                    session=resolved, data_capture_config=data_capture_config, wait=wait,
                    timeout=timeout, tags=tags)
    return Predictor(name, session=resolved, serializer=serializer, deserializer=deserializer)


class Endpoint:
    """A deployed endpoint, found by name (it may have been created by another process).

    Making the handle checks nothing; ``describe()``, ``status`` and ``invoke()`` ask the
    backend. ``Endpoint.create`` deploys variants, ``update`` rolls a new model out.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> Endpoint.list(session=session)
        []
        >>> Endpoint("churn", session=session)
        Endpoint(name='churn')

    Deploying two variants and canarying a new model in (this starts servers)::

        endpoint = Endpoint.create("churn", [
            ProductionVariant(model_a, "A", RealtimeConfig("ml.m5.large"), weight=3),
            ProductionVariant(model_b, "B", RealtimeConfig("ml.m5.large"), weight=1),
        ], session=session)
        endpoint.invoke(b"1.0,2.0", content_type="text/csv", target_variant="B")
        report = endpoint.update(model_c, mlopskit.Canary(10, wait=600,
                                 rollback_on=[mlopskit.ErrorRateAbove(0.01)]))
        report.completed, report.rolled_back
        endpoint.delete()
    """

    # SageMaker's endpoint statuses in which the endpoint answers requests.
    _SERVING_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack",
                                   "UpdateRollbackFailed"})

    def __init__(self, name: str, session: Session | None = None) -> None:
        self.name = name
        self.session = resolve_session(session)

    @classmethod
    def create(cls, name: str, variants: Sequence[ProductionVariant],
               session: Session | None = None, *,
               data_capture_config: DataCaptureConfig | None = None,
               progress: bool | None = None, wait: bool = True,
               timeout: float | None = None,
               tags: Mapping[str, str] | None = None) -> Endpoint:
        """An endpoint with one or more weighted variants (A/B).

        ``data_capture_config`` records requests and answers of every variant (see
        :class:`~mlopskit.DataCaptureConfig`). ``tags`` go on the models, the endpoint
        config and the endpoint (with an :class:`~mlopskit.AwsSession`'s ``default_tags``).
        With ``wait`` (the default) this returns once the endpoint is ``InService``, waiting
        at most ``timeout`` seconds (default :data:`DEFAULT_ENDPOINT_TIMEOUT`); ``progress``
        shows a bar meanwhile (default: in notebooks and terminals, see docs/notebooks.md).
        Locally the servers are up when the call returns either way.

        All or nothing: an endpoint that fails (its status ``Failed``, or a local server
        that does not start) is removed with its config and models, and
        :class:`~mlopskit.errors.DeploymentFailedError` says why. A wait that runs out of
        time removes nothing: :class:`~mlopskit.errors.WaitTimeoutError`, and the endpoint
        keeps coming up (``Endpoint(name).wait()`` again, or ``delete()`` it).
        """
        resolved = resolve_session(session)
        _check_endpoint_name(name)
        if not variants:
            raise ValidationError("variants: at least one ProductionVariant", field="variants")
        checked_tags = _tags(tags)
        capture = _data_capture(data_capture_config, resolved)
        serving = _serving(resolved)
        if name in serving.list_endpoints():
            raise ConflictError(f"endpoint {name!r} already exists; update it or pick a new "
                                "name")
        config_name, models = _create_fleet(resolved, serving, name, variants, capture,
                                            checked_tags)
        endpoint = cls(name, session=resolved)
        try:
            with _display.progress_sink(f"endpoint {name}", unit="variant",
                                        progress=progress) as on_progress:
                serving.create_endpoint(name, config_name, tags=checked_tags,
                                        on_progress=on_progress)
            if wait:
                endpoint.wait(timeout=timeout, progress=progress)
        except WaitTimeoutError:
            raise  # still coming up: nothing is removed
        except MlopsKitError:
            with contextlib.suppress(MlopsKitError):
                serving.delete_endpoint(name)
            _drop_fleet(serving, config_name, models)
            raise
        return endpoint

    def wait(self, timeout: float | None = None, *,
             progress: bool | None = None) -> Endpoint:
        """Block until the endpoint is no longer ``Creating`` or ``Updating``, at most
        ``timeout`` seconds (default :data:`DEFAULT_ENDPOINT_TIMEOUT`), polling on the
        session clock; :class:`~mlopskit.errors.DeploymentFailedError` unless it ends
        ``InService``, :class:`~mlopskit.errors.WaitTimeoutError` when time runs out (the
        endpoint is left as it is).

        Example:
            >>> import mlopskit, tempfile
            >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> Endpoint("churn", session=session).wait(timeout=5)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            mlopskit.errors.NotFoundError: endpoint 'churn' does not exist ...
        """
        described = self._settled(timeout, progress)
        if described.status != "InService":
            raise DeploymentFailedError(f"endpoint {self.name!r} is {described.status}: "
                                        f"{described.failure_reason or 'no reason given'}")
        return self

    def _settled(self, timeout: float | None, progress: bool | None = None
                 ) -> EndpointDescription:
        """The description once the endpoint is no longer changing."""
        limit = wait_timeout(timeout, DEFAULT_ENDPOINT_TIMEOUT)
        return poll_until(
            self.describe, lambda d: d.status not in _CHANGING,
            clock=self.session.clock, timeout=limit, initial=5.0, maximum=30.0,
            describe=lambda d: f"endpoint {self.name!r} is still {d.status}",
            progress=_display.WaitProgress.create(
                f"endpoint {self.name}", lambda d: (d.status, None, None), progress=progress))

    def update(self, new: Any, strategy: Strategy | None = None, *,
               config: RealtimeConfig | ServerlessConfig | None = None,
               force: bool = False) -> RolloutReport:
        """Blue/green: replace the fleet with ``new`` (a Model or an Approved ModelPackage).

        ``strategy`` is AllAtOnce (default), Canary or Linear; their ``rollback_on`` alarms
        can send traffic back to the old fleet. The report says what happened. Data capture,
        if the endpoint has it, carries over to the new fleet.
        """
        from ..models import Model
        from ..registry import ModelPackage

        strategy = strategy or AllAtOnce()
        if not isinstance(strategy, (AllAtOnce, Canary, Linear)):
            raise ValidationError(f"strategy: expected AllAtOnce, Canary or Linear, got "
                                  f"{type(strategy).__name__}", field="strategy")
        described = self.describe()
        current = described.variants[0]
        if config is None and current.serverless is not None:
            config = ServerlessConfig(current.serverless.memory_size_mb,
                                      current.serverless.max_concurrency,
                                      current.serverless.provisioned_concurrency)
        config = config or RealtimeConfig(current.instance_type, current.instance_count,
                                          current.invocation_timeout)
        sha256 = code_sha256 = None
        if isinstance(new, ModelPackage):
            new.refresh()
            if new.approval_status.value != "Approved" and not force:
                raise ConflictError(f"{new.group.name!r} version {new.version} is "
                                    f"{new.approval_status.value}; only Approved packages "
                                    "deploy (force=True overrides)")
            sha256 = new.lineage.get("sha256")
            code_sha256 = new.lineage.get("code_sha256")
            model = new.model
        elif isinstance(new, Model):
            model = new
        else:
            raise ValidationError(f"new: expected a Model or ModelPackage, got "
                                  f"{type(new).__name__}", field="new")
        serving = self._serving
        config_name, models = _create_fleet(self.session, serving, self.name, [
            ProductionVariant(model, current.name, config, 1.0,
                              str(sha256) if sha256 else None,
                              str(code_sha256) if code_sha256 else None)],
            described.data_capture.spec() if described.data_capture else None)
        try:
            report = serving.update_endpoint(self.name, config_name, strategy)
            if report is None:  # the service runs the rollout: wait for it to settle
                report = _settled_report(self._settled(_ROLLOUT_TIMEOUT), config_name,
                                         strategy)
        except MlopsKitError:
            _drop_fleet(serving, config_name, models)
            raise
        if report.completed:
            _drop_fleet(serving, described.config_name,
                        [v.model_name for v in described.variants])
        else:
            _drop_fleet(serving, config_name, models)
        return report

    @property
    def _serving(self) -> ServingBackend:
        return _serving(self.session)

    def describe(self) -> EndpointDescription:
        return self._serving.describe_endpoint(self.name)

    @property
    def status(self) -> str:
        return self.describe().status

    @property
    def variants(self) -> tuple[VariantDescription, ...]:
        return self.describe().variants

    def url(self, variant: str | None = None) -> str:
        """The address to call the endpoint at with any HTTP client: POST
        ``<url>/invocations``.

        Locally it is the variant's own inference server, ``http://127.0.0.1:<port>``,
        which also answers GET ``<url>/ping``; a request sent there skips the weighted
        routing (and data capture), which happen in :meth:`invoke`. On AWS it is the
        SageMaker runtime's ``https://runtime.sagemaker.<region>.amazonaws.com/endpoints/
        <name>``, the same for every variant (SageMaker routes by weight, or by the
        ``X-Amzn-SageMaker-Target-Variant`` header); requests there must be SigV4-signed.

        ``variant`` names the variant; it may be left out when the endpoint has one.
        Several variants and no ``variant`` is a :class:`~mlopskit.errors.ValidationError`
        listing them; an unknown one a :class:`~mlopskit.errors.NotFoundError`. A serverless
        variant with no server running (cold, or not started yet) has no address yet:
        :class:`~mlopskit.errors.ConflictError`.

        Example:
            >>> import mlopskit, tempfile
            >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
            >>> Endpoint("churn", session=session).url()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            mlopskit.errors.NotFoundError: endpoint 'churn' does not exist ...

        With a deployed endpoint (``curl <url>/ping`` answers too, locally)::

            url = predictor.endpoint.url()          # 'http://127.0.0.1:54321'
            urllib.request.urlopen(urllib.request.Request(
                url + "/invocations", data=b"1.0,2.0,3.0", headers={"Content-Type": "text/csv"}))
        """
        described = self.describe()
        if described.status not in self._SERVING_STATUSES:
            raise ConflictError(f"endpoint {self.name!r} is {described.status}; it answers "
                                "requests only once InService")
        names = [v.name for v in described.variants]
        if variant is None:
            if len(described.variants) != 1:
                raise ValidationError(f"variant: endpoint {self.name!r} has {len(names)} "
                                      f"variants ({', '.join(names)}); pass variant= one of "
                                      "them", field="variant")
            chosen = described.variants[0]
        else:
            if not isinstance(variant, str):
                raise ValidationError(f"variant: expected a variant name (str), got "
                                      f"{type(variant).__name__}", field="variant")
            found = [v for v in described.variants if v.name == variant]
            if not found:
                raise NotFoundError(f"endpoint {self.name!r} has no variant {variant!r}; it has "
                                    f"{names}")
            chosen = found[0]
        if chosen.url is None:
            if chosen.serverless is not None:
                raise ConflictError(
                    f"endpoint {self.name!r} variant {chosen.name!r} is serverless and cold: "
                    "no server is running, so it has no address yet; invoke it once to start "
                    "one (endpoint.invoke), or deploy it with provisioned_concurrency to keep "
                    "it warm")
            raise ConflictError(f"endpoint {self.name!r} variant {chosen.name!r} has no server "
                                f"address (the endpoint is {described.status})")
        return chosen.url.removesuffix("/").removesuffix("/invocations")

    def invoke(self, body: bytes, content_type: str = "text/csv", accept: str | None = None,
               target_variant: str | None = None,
               inference_id: str | None = None) -> InvokeResult:
        """Send one request; raises :class:`~mlopskit.errors.InvocationError` on a 4xx/5xx.

        ``inference_id`` (SageMaker's ``InferenceId``: 1 to 64 printable ASCII characters)
        is recorded with the request's data capture, to join ground truth to it later.
        """
        if inference_id is not None:
            check_inference_id(inference_id)
        return self._serving.invoke_endpoint(
            self.name, body, content_type, accept, target_variant, inference_id=inference_id)

    def update_data_capture(self, config: DataCaptureConfig | None) -> EndpointDescription:
        """Start, change or (with ``None``) remove data capture, keeping the models running.

        A new endpoint config with the same variants and weights replaces the current one
        (on AWS through ``UpdateEndpoint``); the old config is deleted. To pause capture but
        keep its settings, pass a config with ``enabled=False``.
        """
        capture = _data_capture(config, self.session)
        described = self.describe()
        if described.status != "InService":
            raise ConflictError(f"endpoint {self.name!r} is {described.status}; only an "
                                "InService endpoint can be updated")
        serving = self._serving
        spec = build(EndpointConfigSpec, "", name=_config_name(self.session, self.name),
                     variants=[{"name": v.name, "model_name": v.model_name,
                                "initial_weight": v.weight,
                                "invocation_timeout": v.invocation_timeout,
                                **({"serverless": v.serverless} if v.serverless else
                                   {"instance_type": v.instance_type,
                                    "initial_instance_count": v.instance_count})}
                               for v in described.variants],
                     data_capture=capture)
        serving.create_endpoint_config(spec)
        try:
            serving.switch_endpoint_config(self.name, spec.name)
            settled = self._settled(_ROLLOUT_TIMEOUT)
            if settled.status != "InService" or settled.config_name != spec.name:
                raise DeploymentFailedError(
                    f"endpoint {self.name!r} did not move to config {spec.name!r}: it is "
                    f"{settled.status} on {settled.config_name!r} "
                    f"({settled.failure_reason or 'no reason given'})")
        except MlopsKitError:
            with contextlib.suppress(MlopsKitError):
                serving.delete_endpoint_config(spec.name)
            raise
        with contextlib.suppress(MlopsKitError):
            serving.delete_endpoint_config(described.config_name)
        return self.describe()

    def update_weights(self, weights: Mapping[str, float]) -> None:
        """Set variants' traffic weights (share = weight / sum of weights)."""
        for variant, weight in weights.items():
            if not isinstance(weight, (int, float)) or weight < 0:
                raise ValidationError(f"weights.{variant}: must be a number >= 0 (got "
                                      f"{weight!r})", field=f"weights.{variant}")
        self._serving.update_endpoint_weights(self.name, dict(weights))

    def cold_starts(self) -> dict[str, Any]:
        """Serverless variants' cold starts so far and the last one's time (local backend)."""
        self.session.require(Capability.COLD_START_STATS, "counting serverless cold starts "
                             "(SageMaker reports them in CloudWatch as ModelSetupTime)")
        return self._serving.cold_starts(self.name)

    def delete(self) -> None:
        """Stop the endpoint and remove it, its config and its models."""
        described = self.describe()
        self._serving.delete_endpoint(self.name)
        self._serving.delete_endpoint_config(described.config_name)
        for variant in described.variants:
            self._serving.delete_model(variant.model_name)

    @classmethod
    def list(cls, session: Session | None = None) -> list[Endpoint]:
        resolved = resolve_session(session)
        return [cls(n, session=resolved) for n in _serving(resolved).list_endpoints()]

    def __repr__(self) -> str:
        return f"Endpoint(name={self.name!r})"

    @_display.safe_html("Endpoint", lambda self: self.name)
    def _repr_html_(self) -> str:
        """Status, variants (weights, traffic shares, instances, local URLs) and data
        capture, from one describe."""
        try:
            d = self.describe()
        except Exception as exc:
            return _display.card("Endpoint", self.name, None,
                                 parts=[_display.unavailable("state", exc)])
        total = sum(v.weight for v in d.variants)
        variants: list[tuple[str, ...]] = [(v.name, v.model_name,
                     f"serverless {v.serverless.memory_size_mb} MB, up to "
                     f"{v.serverless.max_concurrency} concurrent" if v.serverless
                     else f"{v.instance_count} x {v.instance_type}",
                     f"{v.weight:g}", f"{100 * v.weight / total:.0f}%" if total > 0 else "",
                     v.url or "")
                    for v in d.variants]
        headers = ["variant", "model", "capacity", "weight", "traffic", "url"]
        if not any(v.url for v in d.variants):
            headers.pop()
            variants = [row[:-1] for row in variants]
        parts: list[str] = [_display.table(headers, variants, caption="Variants")]
        capture = d.data_capture
        if capture is not None:
            parts.append(_display.section("Data capture", _display.kv_table([
                ("status", capture.status), ("enabled", "yes" if capture.enabled else "no"),
                ("sampling", f"{capture.sampling_percent}%"),
                ("captures", ", ".join(capture.capture)),
                ("destination", capture.destination_s3_uri)])))
        rows: list[tuple[str, object]] = [
            ("failure reason", d.failure_reason),
            ("created", _display.time_text(d.creation_time)),
            ("endpoint config", d.config_name),
            ("data capture", None if capture is not None else "off"),
            ("arn", d.arn)]
        return _display.card("Endpoint", d.name, d.status, rows=rows, parts=parts)


class Predictor:
    """Sends data to an endpoint and decodes the answer.

    Defaults follow the SageMaker SDK's scikit-learn predictor: NPY in, NPY out.

    Example:
        >>> import mlopskit, tempfile
        >>> from mlopskit.serializers import CSVSerializer, JSONDeserializer
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> predictor = Predictor("iris", session=session, serializer=CSVSerializer(),
        ...                       deserializer=JSONDeserializer())
        >>> predictor.endpoint_name, predictor.serializer.content_type
        ('iris', 'text/csv')

    With a deployed endpoint (``Model.deploy`` returns a predictor)::

        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="iris")
        predictor.predict([[5.1, 3.5, 1.4, 0.2]], inference_id="order-1")
        predictor.delete_endpoint()
    """

    def __init__(self, endpoint_name: str, session: Session | None = None,
                 serializer: Serializer | None = None,
                 deserializer: Deserializer | None = None) -> None:
        self.endpoint = Endpoint(endpoint_name, session=session)
        self.serializer: Serializer = serializer or NumpySerializer()
        self.deserializer: Deserializer = deserializer or NumpyDeserializer()
        self.last_variant: str | None = None

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.name

    def predict(self, data: Any, target_variant: str | None = None,
                inference_id: str | None = None) -> Any:
        """Serialize ``data``, invoke the endpoint, deserialize the answer.

        ``inference_id`` tags the request in the endpoint's data capture.
        """
        result = self.endpoint.invoke(self.serializer.serialize(data),
                                      content_type=self.serializer.content_type,
                                      accept=self.deserializer.accept,
                                      target_variant=target_variant,
                                      inference_id=inference_id)
        self.last_variant = result.variant
        return self.deserializer.deserialize(result.body, result.content_type)

    def delete_endpoint(self) -> None:
        self.endpoint.delete()

    def __repr__(self) -> str:
        return f"Predictor(endpoint_name={self.endpoint_name!r})"

