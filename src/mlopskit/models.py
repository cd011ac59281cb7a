"""A deployable model: an artifact plus the image or framework and code that serve it.

Example:
    >>> m = Model("s3://my-bucket/job/output/model.tar.gz", framework="sklearn",
    ...           framework_version="1.2-1", entry_point="inference.py")
    >>> m.model_data
    's3://my-bucket/job/output/model.tar.gz'
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._archive import make_tar_gz
from ._data import local_path, sha256_file
from .errors import NotFoundError, ValidationError
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
    """The SHA-256 of the object at ``uri``, as the store computes it: never read whole
    into memory, and on S3 taken from the object's stored checksum when it has one."""
    try:
        return session.backend.objects.sha256(uri)
    except NotFoundError:
        raise NotFoundError(f"model artifact {uri!r} does not exist") from None


# Where a local artifact is checked against the spec before it has been uploaded.
_PROBE_URI = f"s3://probe-bucket/mlopskit/models/{'0' * 64}/model.tar.gz"


def _is_tar_gz(path: Path) -> bool:
    """Whether ``path`` is a gzip-compressed tar archive (reads its first header only)."""
    with open(path, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return False
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.next()
    except (tarfile.TarError, OSError, EOFError):
        return False
    return True


def _local_artifact(value: str) -> Path:
    """The local ``model.tar.gz`` or folder ``value`` names, checked."""
    path = local_path(value)
    if path.is_dir():
        if not any(p.is_file() for p in path.rglob("*")):
            raise ValidationError(f"model_data: folder {value!r} is empty; nothing to pack "
                                  "into model.tar.gz", field="model_data")
        return path.absolute()
    if not path.is_file():
        raise ValidationError(
            f"model_data: {value!r} is neither an s3:// URI nor an existing local "
            "model.tar.gz or folder (a file:// URI works too)", field="model_data")
    if not _is_tar_gz(path):
        raise ValidationError(
            f"model_data: {value!r} is not a .tar.gz archive; SageMaker loads a gzipped tar "
            "(model.tar.gz); pass one, or the folder to pack into it", field="model_data")
    return path.absolute()


class Model:
    """An artifact (``model.tar.gz`` on S3 or the local store) and how to serve it.

    ``model_data`` is an ``s3://`` URI, or, as in SageMaker's local mode, a local
    ``model.tar.gz``, a ``file://`` URI of one, or a folder (packed into ``model.tar.gz``).
    A local artifact is checked here and uploaded when the model is first used (deployed,
    registered, or run by a transformer), content-addressed to
    ``s3://<default_bucket>/mlopskit/models/<sha256>/model.tar.gz`` (not uploaded again
    when that object exists); ``model_data`` then reads as that URI.

    ``entry_point``/``source_dir`` name the inference script (``model_fn``, ...) as in the
    SageMaker SDK; the code is packed and uploaded, content-addressed, when the model is
    registered or deployed.

    Example:
        >>> import mlopskit, tempfile
        >>> session = mlopskit.LocalSession(root=tempfile.mkdtemp())
        >>> Model("s3://models/iris/model.tar.gz", entry_point="inference.py",
        ...       session=session)
        Model(model_data='s3://models/iris/model.tar.gz', framework=None)

    A local folder (or ``model.tar.gz``) is uploaded at first use::

        >>> import pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "weights.txt").write_text("0.5")
        >>> local = Model(folder, image_uri="example.com/serve:1", session=session)
        >>> local.is_local
        True
        >>> local.spec().model_data  # doctest: +ELLIPSIS
        's3://mlopskit-local/mlopskit/models/.../model.tar.gz'
        >>> local.is_local, local.model_data.endswith("/model.tar.gz")
        (False, True)

    Serving it (this starts an inference server on 127.0.0.1)::

        predictor = model.deploy(mlopskit.RealtimeConfig("ml.m5.large"), endpoint_name="iris")
        predictor.predict([[5.1, 3.5, 1.4, 0.2]])
        predictor.delete_endpoint()
    """

    def __init__(
        self,
        model_data: str | os.PathLike[str] | PipelineVariable,
        image_uri: str | None = None,
        framework: str | None = None,
        framework_version: str | None = None,
        entry_point: str | None = None,
        source_dir: str | Path | None = None,
        environment: Mapping[str, str] | None = None,
        session: Session | None = None,
    ) -> None:
        if isinstance(model_data, os.PathLike):
            model_data = os.fspath(model_data)
        # a pipeline variable (another step's output) stands in as its token, a string
        data_uri: str = with_tokens(model_data)
        self._artifact: Path | None = None  # a local artifact, uploaded at first use
        if isinstance(data_uri, str) and data_uri and not data_uri.startswith("s3://"):
            self._artifact = _local_artifact(data_uri)
        else:
            try:
                check_s3_uri(data_uri)
            except ValueError as exc:
                raise ValidationError(f"model_data: {exc}; or give a local model.tar.gz, "
                                      "folder or file:// URI", field="model_data") from None
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
        self._model_data = data_uri
        self.image_uri = image_uri
        self.framework = framework
        self.framework_version = framework_version
        self.entry_point = entry_point
        self.source_dir = str(source_dir) if source_dir is not None else None
        self.environment = dict(environment or {})
        self.session = session
        self._source_uri: str | None = None
        # Validate the rest now, so mistakes surface where the model is made.
        self._spec_values(None, probe=True)

    @property
    def model_data(self) -> str:
        """The artifact's S3 URI; for a local artifact not uploaded yet, the path given."""
        return self._model_data

    @property
    def is_local(self) -> bool:
        """True while ``model_data`` is a local artifact that first use will upload."""
        return self._artifact is not None and not self._model_data.startswith("s3://")

    @classmethod
    def from_spec(cls, spec: ModelSpec, session: Session | None = None) -> Model:
        model = cls(spec.model_data, image_uri=spec.image_uri, framework=spec.framework,
                    framework_version=spec.framework_version, entry_point=spec.entry_point,
                    environment=spec.environment, session=session)
        model._source_uri = spec.source_uri
        return model

    def _spec_values(self, source_uri: str | None, *, probe: bool = False) -> ModelSpec:
        """The spec as things stand; ``probe`` checks a local artifact's model with a
        stand-in URI (the real one exists only once :meth:`spec` has uploaded it)."""
        model_data = self.model_data
        if self.is_local:
            if not probe:
                raise ValidationError(
                    f"model_data: {model_data!r} is a local artifact, uploaded when the model "
                    "is deployed, registered or used by a transformer; here it needs an "
                    "s3:// URI: upload it first (session.upload(...)) and pass that",
                    field="model_data")
            model_data = _PROBE_URI
        values: dict[str, Any] = {
            "model_data": model_data, "image_uri": self.image_uri,
            "framework": self.framework, "framework_version": self.framework_version,
            "entry_point": self.entry_point, "source_uri": source_uri,
            "environment": self.environment}
        return build(ModelSpec, "", **values)

    def spec(self, session: Session | None = None) -> ModelSpec:
        """The model as a spec, uploading a local artifact and the inference code first.

        Both go content-addressed into the session's default bucket
        (``mlopskit/models/<sha256>/model.tar.gz``, ``mlopskit/code/<sha256>/
        sourcedir.tar.gz``) and are not uploaded again when already there.
        """
        if self.is_local:
            self._upload_artifact(resolve_session(session or self.session))
        if self.source_dir is not None and self._source_uri is None:
            resolved = resolve_session(session or self.session)
            with tempfile.TemporaryDirectory(prefix="mlopskit-model-") as tmp:
                archive = Path(tmp) / "sourcedir.tar.gz"
                make_tar_gz(Path(self.source_dir), archive)
                self._source_uri = _put_addressed(resolved, archive, "code", "sourcedir.tar.gz")
        return self._spec_values(self._source_uri)

    def _upload_artifact(self, session: Session) -> None:
        artifact = self._artifact
        assert artifact is not None
        with tempfile.TemporaryDirectory(prefix="mlopskit-model-") as tmp:
            if artifact.is_dir():
                archive = Path(tmp) / "model.tar.gz"
                make_tar_gz(artifact, archive)
            elif artifact.is_file():
                archive = artifact
            else:
                raise NotFoundError(f"model_data: the local artifact {str(artifact)!r} is gone "
                                    "(it existed when the Model was made)")
            self._model_data = _put_addressed(session, archive, "models", "model.tar.gz")

    def deploy(self, config: RealtimeConfig | ServerlessConfig, endpoint_name: str | None = None,
               wait: bool = True, *, variant_name: str = "AllTraffic",
               serializer: Any = None, deserializer: Any = None,
               data_capture_config: DataCaptureConfig | None = None,
               timeout: float | None = None,
               tags: Mapping[str, str] | None = None) -> Predictor:
        """Serve this model on an endpoint and return a :class:`~mlopskit.Predictor`.

        The artifact's SHA-256 is recorded with the deployed model and checked before the
        server loads it. With ``wait`` (the default) this returns once the endpoint is
        ``InService``, waiting at most ``timeout`` seconds (default one hour); with
        ``wait=False`` it returns once SageMaker has accepted the endpoint (locally the
        servers are up either way). ``tags`` go on the model, its endpoint config and the
        endpoint. ``data_capture_config`` records requests and answers (see
        :class:`~mlopskit.DataCaptureConfig`). See :meth:`~mlopskit.Endpoint.create` for
        what a failure or a timeout leaves behind.
        """
        from .serving.endpoint import deploy_model

        return deploy_model(self, config, endpoint_name=endpoint_name,
                            variant_name=variant_name, session=self.session, sha256=None,
                            serializer=serializer, deserializer=deserializer,
                            data_capture_config=data_capture_config, wait=wait,
                            timeout=timeout, tags=tags)

    def transformer(self, instance_count: int, instance_type: str, strategy: str = "MultiRecord",
                    split_type: str = "Line", assemble_with: str = "Line",
                    max_payload_mb: int = 6, max_concurrent_transforms: int | None = None,
                    accept: str | None = None, output_path: str | None = None,
                    input_filter: str | None = None, join_source: str | None = None,
                    output_filter: str | None = None,
                    tags: Mapping[str, str] | None = None) -> Transformer:
        """A :class:`~mlopskit.serving.transform.Transformer` for batch transform jobs;
        ``tags`` go on its model and every transform job it starts."""
        from .serving.transform import Transformer

        return Transformer(self, instance_count, instance_type, strategy=strategy,
                           split_type=split_type, assemble_with=assemble_with,
                           max_payload_mb=max_payload_mb,
                           max_concurrent_transforms=max_concurrent_transforms, accept=accept,
                           output_path=output_path, input_filter=input_filter,
                           join_source=join_source, output_filter=output_filter,
                           tags=tags, session=self.session)

    def __repr__(self) -> str:
        return f"Model(model_data={self.model_data!r}, framework={self.framework!r})"


def _put_addressed(session: Session, archive: Path, kind: str, name: str) -> str:
    """Upload ``archive`` to ``s3://<bucket>/mlopskit/<kind>/<sha256>/<name>`` unless that
    object is there already; its URI."""
    uri = f"s3://{session.default_bucket}/mlopskit/{kind}/{sha256_file(archive)}/{name}"
    objects = session.backend.objects
    if not objects.exists(uri):
        objects.put_file(archive, uri)
    return uri
