"""A deployable model: an artifact plus the image or framework and code that serve it.

Example:
    >>> m = Model("s3://my-bucket/job/output/model.tar.gz", framework="sklearn",
    ...           framework_version="1.2-1", entry_point="inference.py")
    >>> m.model_data
    's3://my-bucket/job/output/model.tar.gz'
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._archive import make_tar_gz
from .errors import ValidationError
from .session import Session, resolve_session
from .specs._common import build, check_s3_uri, with_tokens
from .specs.registry import ModelSpec

if TYPE_CHECKING:
    from .pipeline.variables import PipelineVariable
    from .serving.capture import DataCaptureConfig
    from .serving.endpoint import Predictor, RealtimeConfig, ServerlessConfig
    from .serving.transform import Transformer

__all__ = ["Model", "sha256_of"]


def sha256_of(session: Session, uri: str) -> str:
    """The SHA-256 of the object at ``uri`` (read in chunks where the store allows)."""
    objects = session.backend.objects
    path_for = getattr(objects, "path_for", None)
    digest = hashlib.sha256()
    if path_for is not None:
        path = Path(path_for(uri))
        if not path.is_file():
            from .errors import NotFoundError

            raise NotFoundError(f"model artifact {uri!r} does not exist")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                digest.update(block)
    else:
        digest.update(objects.get_bytes(uri))
    return digest.hexdigest()


class Model:
    """An artifact (``model.tar.gz`` on S3 or the local store) and how to serve it.

    ``entry_point``/``source_dir`` name the inference script (``model_fn``, ...) as in the
    SageMaker SDK; the code is packed and uploaded, content-addressed, when the model is
    registered or deployed.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> Model("s3://models/iris/model.tar.gz", entry_point="inference.py",
        ...       session=session)
        Model(model_data='s3://models/iris/model.tar.gz', framework=None)

    Serving it (this starts an inference server on 127.0.0.1)::

        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="iris")
        predictor.predict([[5.1, 3.5, 1.4, 0.2]])
        predictor.delete_endpoint()
    """

    def __init__(
        self,
        model_data: str | PipelineVariable,
        image_uri: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        entry_point: str | None = None,
        source_dir: str | Path | None = None,
        environment: Mapping[str, str] | None = None,
        session: Session | None = None,
    ) -> None:
        # a pipeline variable (another step's output) stands in as its token, a string
        data_uri: str = with_tokens(model_data)
        try:
            check_s3_uri(data_uri)
        except ValueError as exc:
            raise ValidationError(f"model_data: {exc}", field="model_data") from None
        if source_dir is not None and not Path(source_dir).is_dir():
            raise ValidationError(f"source_dir: {str(source_dir)!r} is not a folder",
                                  field="source_dir")
        if source_dir is not None and entry_point is None:
            raise ValidationError("entry_point: required when source_dir is given",
                                  field="entry_point")
        if entry_point is not None and source_dir is not None and \
                not (Path(source_dir) / entry_point).is_file():
            raise ValidationError(f"entry_point: {entry_point!r} is not a file in source_dir",
                                  field="entry_point")
        self.model_data = data_uri
        self.image_uri = image_uri
        self.framework = framework
        self.framework_version = framework_version
        self.entry_point = entry_point
        self.source_dir = str(source_dir) if source_dir is not None else None
        self.environment = dict(environment or {})
        self.session = session
        self._source_uri: str | None = None
        # Validate the rest now, so mistakes surface where the model is made.
        self._spec_values(None)

    @classmethod
    def from_spec(cls, spec: ModelSpec, session: Session | None = None) -> Model:
        model = cls(spec.model_data, image_uri=spec.image_uri, framework=spec.framework,
                    framework_version=spec.framework_version, entry_point=spec.entry_point,
                    environment=spec.environment, session=session)
        model._source_uri = spec.source_uri
        return model

    def _spec_values(self, source_uri: str | None) -> ModelSpec:
        values: dict[str, Any] = {
            "model_data": self.model_data, "image_uri": self.image_uri,
            "framework": self.framework, "framework_version": self.framework_version,
            "entry_point": self.entry_point, "source_uri": source_uri,
            "environment": self.environment}
        return build(ModelSpec, "", **values)

    def spec(self, session: Session | None = None) -> ModelSpec:
        """The model as a spec, uploading the inference code first if there is any."""
        if self.source_dir is not None and self._source_uri is None:
            resolved = resolve_session(session or self.session)
            with tempfile.TemporaryDirectory(prefix="mlopskit-model-") as tmp:
                archive = Path(tmp) / "sourcedir.tar.gz"
                make_tar_gz(Path(self.source_dir), archive)
                digest = hashlib.sha256(archive.read_bytes()).hexdigest()
                uri = (f"s3://{resolved.default_bucket}/mlopskit/code/{digest}/"
                       "sourcedir.tar.gz")
                if not resolved.backend.objects.exists(uri):
                    resolved.backend.objects.put_file(archive, uri)
            self._source_uri = uri
        return self._spec_values(self._source_uri)

    def deploy(self, config: RealtimeConfig | ServerlessConfig, endpoint_name: str | None = None,
               wait: bool = True, *, variant_name: str = "AllTraffic",
               serializer: Any = None, deserializer: Any = None,
               data_capture_config: DataCaptureConfig | None = None) -> Predictor:
        """Serve this model on an endpoint and return a :class:`~mlopskit.Predictor`.

        The artifact's SHA-256 is recorded with the deployed model and checked before the
        server loads it. Locally the endpoint is in service when this returns (``wait`` is
        accepted for SageMaker parity). ``data_capture_config`` records requests and
        answers (see :class:`~mlopskit.DataCaptureConfig`).
        """
        from .serving.endpoint import deploy_model

        return deploy_model(self, config, endpoint_name=endpoint_name,
                            variant_name=variant_name, session=self.session, sha256=None,
                            serializer=serializer, deserializer=deserializer,
                            data_capture_config=data_capture_config)

    def transformer(self, instance_count: int, instance_type: str, strategy: str = "MultiRecord",
                    split_type: str = "Line", assemble_with: str = "Line",
                    max_payload_mb: int = 6, max_concurrent_transforms: int | None = None,
                    accept: str | None = None, output_path: str | None = None,
                    input_filter: str | None = None, join_source: str | None = None,
                    output_filter: str | None = None) -> Transformer:
        """A :class:`~mlopskit.serving.transform.Transformer` for batch transform jobs."""
        from .serving.transform import Transformer

        return Transformer(self, instance_count, instance_type, strategy=strategy,
                           split_type=split_type, assemble_with=assemble_with,
                           max_payload_mb=max_payload_mb,
                           max_concurrent_transforms=max_concurrent_transforms, accept=accept,
                           output_path=output_path, input_filter=input_filter,
                           join_source=join_source, output_filter=output_filter,
                           session=self.session)

    def __repr__(self) -> str:
        return f"Model(model_data={self.model_data!r}, framework={self.framework!r})"
