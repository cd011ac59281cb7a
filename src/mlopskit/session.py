"""Sessions: one switch that picks where everything runs.

A session holds a backend, a clock and the defaults (bucket, region, role). Public objects
take ``session=``; when it is omitted they use :func:`default_session`, which reads the
environment once per process (see :func:`session_from_env`).

Example:
    >>> import tempfile
    >>> with LocalSession(root=tempfile.mkdtemp()) as session:
    ...     session.backend.name
    'local'
"""

from __future__ import annotations

import builtins
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .errors import CapabilityError, ValidationError

if TYPE_CHECKING:
    from .backends.base import Backend, Capability
    from .tracking.recorder import Tracker

__all__ = [
    "AwsSession",
    "LocalSession",
    "Session",
    "default_session",
    "session_from_env",
    "set_default_session",
]

# The built-in backends; plug-ins add more (mlopskit.plugins.available_backends()).
BACKEND_NAMES = ("local", "aws")
DEFAULT_LOCAL_BUCKET = "mlopskit-local"
DEFAULT_REGION = "us-east-1"
# The role a local pipeline definition names when the session has none (nothing assumes it).
LOCAL_ROLE_ARN = "arn:aws:iam::000000000000:role/mlopskit-local"


class Session:
    """Base of :class:`LocalSession` and :class:`AwsSession`; build one of those instead.

    Every session has a ``region``, a ``default_bucket``, a ``role_arn``, a ``clock`` and
    the ``backend`` that does the work; annotate with ``Session`` to accept either kind.
    :meth:`upload`, :meth:`download`, :meth:`read_bytes`, :meth:`write_bytes` and
    :meth:`list` move data in and out of its object store (a folder locally, S3 on AWS).

    Example:
        >>> import tempfile
        >>> session = LocalSession(root=tempfile.mkdtemp())
        >>> isinstance(session, Session), session.backend_name, session.default_bucket
        (True, 'local', 'mlopskit-local')
    """

    def __init__(self, *, region: str, bucket: str | None, role_arn: str | None,
                 clock: Clock | None) -> None:
        self.region = region
        self._bucket = bucket
        self.role_arn = role_arn
        self.clock: Clock = clock or SystemClock()
        self._backend: Backend | None = None
        self._lock = threading.Lock()
        self._tracker: Tracker | None = None

    @property
    def tracking_uri(self) -> str | None:
        """Where experiment runs are tracked (an MLflow tracking URI), or None when this
        session has no tracking store."""
        return None

    @property
    def tracking_artifact_root(self) -> str | None:
        """Where experiments this session creates keep their artifacts (None: the
        tracking server's default)."""
        return None

    def tracker(self) -> Tracker:
        """The MLflow tracking client of this session (``pip install
        "mlopskit[tracking]"``), made on first use; CapabilityError when the session has no
        tracking store."""
        uri = self.tracking_uri
        if uri is None:
            raise CapabilityError(self._no_tracking())
        with self._lock:
            if self._tracker is None:
                from .tracking.recorder import Tracker

                self._tracker = Tracker(uri, artifact_root=self.tracking_artifact_root)
            return self._tracker

    def _no_tracking(self) -> str:
        return f"the {self.backend_name} session has no experiment tracking store"

    @property
    def backend_name(self) -> str:
        raise NotImplementedError

    @property
    def backend(self) -> Backend:
        """The backend, built on first use so a session costs nothing until it acts."""
        with self._lock:
            if self._backend is None:
                self._backend = self._make_backend()
            return self._backend

    def _make_backend(self) -> Backend:
        raise NotImplementedError

    @property
    def default_bucket(self) -> str:
        """The bucket used for uploads and outputs when no S3 URI says otherwise."""
        if self._bucket is None:
            raise ValidationError(
                "bucket: no default bucket; pass bucket= to the session or set MLOPSKIT_BUCKET",
                field="bucket",
            )
        return self._bucket

    @property
    def execution_role(self) -> str | None:
        """The role jobs and pipelines run as: ``role_arn``; a local session without one
        has a stand-in (local jobs assume no role, but a pipeline definition names one)."""
        return self.role_arn

    def require(self, capability: Capability, what: str) -> None:
        """Fail early, with a clear error, when the backend lacks ``capability``."""
        if capability not in self.backend.capabilities:
            raise CapabilityError(
                f"{what} needs the {capability.value!r} capability, which the "
                f"{self.backend_name} backend does not have"
            )

    # -- data in and out of the object store -------------------------------------------

    def upload(self, path: str | os.PathLike[str], uri: str | None = None) -> str:
        """Upload a local file or folder into the object store; returns where it went.

        By default a file goes to ``s3://<default_bucket>/data/<file name>`` and its URI is
        returned; a folder's files go under ``s3://<default_bucket>/data/<folder name>/``
        (paths relative to the folder kept) and that prefix, ending in ``/``, is returned.
        With ``uri=``, a file goes exactly there (or to ``uri + <file name>`` when ``uri``
        ends with ``/``) and a folder's files under ``uri`` as a prefix. ``path`` may be a
        ``file://`` URI. Files are streamed, never read whole into memory; an existing
        object at a destination is replaced, as S3 does.

        Bad input raises :class:`~mlopskit.errors.ValidationError` and uploads nothing; a
        failure part way removes what this call had uploaded.

        Example:
            >>> import pathlib, tempfile
            >>> session = LocalSession(root=tempfile.mkdtemp())
            >>> folder = pathlib.Path(tempfile.mkdtemp()) / "iris"
            >>> (folder / "train").mkdir(parents=True)
            >>> _ = (folder / "train" / "part-0.csv").write_text("5.1,3.5,0\\n")
            >>> session.upload(folder / "train" / "part-0.csv")
            's3://mlopskit-local/data/part-0.csv'
            >>> session.upload(folder)
            's3://mlopskit-local/data/iris/'
            >>> session.upload(folder, "s3://mlopskit-local/runs/1/")
            's3://mlopskit-local/runs/1/'
            >>> session.list("s3://mlopskit-local/runs/1/")
            ['s3://mlopskit-local/runs/1/train/part-0.csv']
        """
        from ._data import checked_uri, local_path, path_text, put_files, split_uri, upload_plan

        allowed = "a local file or folder path (str, pathlib.Path or file:// URI)"
        text = path_text(path, "path", allowed)
        if text.startswith("s3://"):
            raise ValidationError(f"path: {text!r} is an S3 URI; upload takes {allowed} (use "
                                  "download() to copy objects to this machine)", field="path")
        local = local_path(text)
        if not local.is_file() and not local.is_dir():
            raise ValidationError(f"path: {text!r} is not an existing local file or folder",
                                  field="path")
        if uri is None:
            name = local.resolve().name
            if not name:
                raise ValidationError(f"path: {text!r} has no name to upload under; pass uri=",
                                      field="path")
            destination = f"s3://{self.default_bucket}/data/{name}"
            if local.is_dir():
                destination += "/"
        else:
            destination = checked_uri(uri, "uri")
            if not split_uri(destination)[1]:
                destination = destination.rstrip("/") + "/"  # the bucket itself: its root
        pairs = upload_plan(local, destination)
        if not pairs:
            raise ValidationError(f"path: folder {text!r} holds no files to upload",
                                  field="path")
        put_files(self.backend.objects, pairs)
        if local.is_file():
            return pairs[0][1]
        return destination if destination.endswith("/") else destination + "/"

    def download(self, uri: str, path: str | os.PathLike[str]) -> Path:
        """Copy one object to a file, or every object under a prefix into a folder.

        When ``uri`` names an object it is written to ``path`` (or into ``path`` under its
        own name when ``path`` is an existing folder) and that file is returned. Otherwise
        ``uri`` is a prefix: each object under it goes to ``path/<key after the prefix>``
        and the folder is returned. A key that would land outside the folder is refused
        (:class:`~mlopskit.errors.ValidationError`) before anything is written; nothing at
        or under ``uri`` is a :class:`~mlopskit.errors.NotFoundError`.

        Example:
            >>> import tempfile
            >>> session = LocalSession(root=tempfile.mkdtemp())
            >>> _ = session.write_bytes(b"a,b\\n1,2\\n", "s3://mlopskit-local/out/a.csv")
            >>> _ = session.write_bytes(b"c\\n3\\n", "s3://mlopskit-local/out/more/c.csv")
            >>> folder = session.download("s3://mlopskit-local/out/", tempfile.mkdtemp())
            >>> sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv"))
            ['a.csv', 'more/c.csv']
            >>> session.download("s3://mlopskit-local/out/a.csv", folder / "copy.csv").read_text()
            'a,b\\n1,2\\n'
        """
        from ._data import checked_uri, download_plan, local_path, path_text

        checked = checked_uri(uri, "uri")
        target = local_path(path_text(path, "path", "a local file or folder path (str, "
                                                    "pathlib.Path or file:// URI)"))
        objects = self.backend.objects
        pairs, is_prefix = download_plan(objects, checked, target)
        for source, file in pairs:
            objects.download(source, file)
        if is_prefix:
            target.mkdir(parents=True, exist_ok=True)
            return target
        return pairs[0][1]

    def read_bytes(self, uri: str) -> bytes:
        """The content of the object at ``uri``; :class:`~mlopskit.errors.NotFoundError`
        when there is none.

        Example:
            >>> import tempfile
            >>> session = LocalSession(root=tempfile.mkdtemp())
            >>> session.write_bytes(b"hello", "s3://mlopskit-local/notes/hello.txt")
            's3://mlopskit-local/notes/hello.txt'
            >>> session.read_bytes("s3://mlopskit-local/notes/hello.txt")
            b'hello'
        """
        return self.backend.objects.get_bytes(_object_uri(uri))

    def write_bytes(self, data: bytes, uri: str) -> str:
        """Store ``data`` as the object ``uri`` (replacing one that is there); returns ``uri``.

        Example:
            >>> import tempfile
            >>> session = LocalSession(root=tempfile.mkdtemp())
            >>> session.write_bytes("text".encode(), "s3://mlopskit-local/t.txt")
            's3://mlopskit-local/t.txt'
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            hint = "; encode text first, e.g. text.encode()" if isinstance(data, str) else ""
            raise ValidationError(f"data: expected bytes, got {type(data).__name__}{hint}",
                                  field="data")
        checked = _object_uri(uri)
        self.backend.objects.put_bytes(bytes(data), checked)
        return checked

    def close(self) -> None:
        """Release the backend's resources (connections, servers started by this session)."""
        with self._lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def list(self, uri: str) -> builtins.list[str]:
        """The URIs of every object whose key starts with ``uri``'s key, sorted (as S3
        lists a prefix: ``s3://b/data`` also matches ``s3://b/data-2/x``; end the prefix
        with ``/`` for one folder).

        Example:
            >>> import tempfile
            >>> session = LocalSession(root=tempfile.mkdtemp())
            >>> for name in ("b.csv", "a.csv"):
            ...     _ = session.write_bytes(b"1", f"s3://mlopskit-local/in/{name}")
            >>> session.list("s3://mlopskit-local/in/")
            ['s3://mlopskit-local/in/a.csv', 's3://mlopskit-local/in/b.csv']
        """
        from ._data import checked_uri

        return sorted(self.backend.objects.list(checked_uri(uri, "uri")))


def _checked_tracking_uri(uri: str | None) -> str | None:
    """A tracking URI MLflow can use (http(s), sqlite, file, databricks, an ARN), or a
    ValidationError naming ``tracking_uri``."""
    if uri is None:
        return None
    allowed = ("http://", "https://", "sqlite:///", "file:", "databricks", "arn:aws")
    if not isinstance(uri, str) or not uri.startswith(allowed):
        raise ValidationError(
            f"tracking_uri: expected an MLflow tracking URI starting with one of "
            f"{', '.join(allowed)}, got {_redacted(uri)!r}", field="tracking_uri")
    return uri


def _redacted(uri: object) -> str:
    """A URI without the password of its user part (for messages and reprs)."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", str(uri))


def _object_uri(uri: object) -> str:
    """``uri`` when it is a valid S3 URI naming an object (not a bucket or a prefix)."""
    from ._data import checked_uri, split_uri

    checked = checked_uri(uri, "uri")
    key = split_uri(checked)[1]
    if not key or key.endswith("/"):
        raise ValidationError(f"uri: {checked!r} names a prefix, not an object; give "
                              "s3://bucket/key", field="uri")
    return checked


class LocalSession(Session):
    """Everything on this machine: SQLite metadata and a folder that plays S3.

    ``s3://bucket/key`` maps to ``<root>/s3/bucket/key``, so code written against S3 URIs
    runs unchanged. ``root`` defaults to ``$MLOPSKIT_ROOT`` or ``./.mlopskit``; nothing is
    written to your home folder. ``python`` is the interpreter jobs run with (this one by
    default). ``seed`` makes the backend's random draws reproducible: which variant serves a
    request, and which requests data capture samples.

    Example:
        >>> import tempfile
        >>> s = LocalSession(root=tempfile.mkdtemp())
        >>> s.default_bucket
        'mlopskit-local'
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        bucket: str = DEFAULT_LOCAL_BUCKET,
        region: str = DEFAULT_REGION,
        role_arn: str | None = None,
        clock: Clock | None = None,
        python: str | None = None,
        serverless_idle_seconds: float = 300.0,
        seed: int | None = None,
        tracking_uri: str | None = None,
    ) -> None:
        super().__init__(region=region, bucket=bucket, role_arn=role_arn, clock=clock)
        self.root = Path(root or os.environ.get("MLOPSKIT_ROOT") or ".mlopskit").absolute()
        self.python = python
        self.serverless_idle_seconds = serverless_idle_seconds
        self.seed = seed
        self._tracking_uri = _checked_tracking_uri(tracking_uri)

    @property
    def tracking_uri(self) -> str:
        """``tracking_uri=`` if given (your own MLflow server), else MLflow's SQLite store
        under the root: ``sqlite:///<root>/mlflow.db``."""
        return self._tracking_uri or f"sqlite:///{self.root / 'mlflow.db'}"

    @property
    def tracking_artifact_root(self) -> str | None:
        """Experiments this session creates in its own store keep their artifacts in the
        local S3 folder (``s3://<bucket>/mlflow``); a server of yours keeps its default."""
        if self._tracking_uri is not None:
            return None
        return (self.root / "s3" / self.default_bucket / "mlflow").as_uri()

    @property
    def backend_name(self) -> str:
        return "local"

    @property
    def execution_role(self) -> str | None:
        return self.role_arn or LOCAL_ROLE_ARN

    def _make_backend(self) -> Backend:
        from .backends.local import LocalBackend

        backend = LocalBackend(self.root, region=self.region, clock=self.clock,
                               python=self.python,
                               serverless_idle_seconds=self.serverless_idle_seconds,
                               seed=self.seed)
        # The session's bucket exists from the start, as a real default bucket would; other
        # buckets come into being on their first write.
        backend.objects.make_bucket(self.default_bucket)
        return backend

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocalSession:
        """The ``local`` backend's session factory (the ``mlopskit.backends`` entry point
        ``local``): ``MLOPSKIT_ROOT`` and ``MLOPSKIT_BUCKET`` from ``environ``.

        Example:
            >>> import tempfile
            >>> LocalSession.from_env({"MLOPSKIT_ROOT": tempfile.mkdtemp()}).default_bucket
            'mlopskit-local'
        """
        return cls(root=environ.get("MLOPSKIT_ROOT") or None,
                   bucket=environ.get("MLOPSKIT_BUCKET") or DEFAULT_LOCAL_BUCKET)

    def __repr__(self) -> str:
        return f"LocalSession(root={str(self.root)!r})"


class AwsSession(Session):
    """SageMaker, S3 and CloudWatch Logs through boto3 (loaded on first use).

    ``boto3_session`` lets you bring your own credentials; otherwise boto3's default chain
    is used. Throttling and 5xx errors are retried with capped exponential backoff and
    jitter (``max_attempts`` tries in all).

    ``default_tags`` go on every resource the session creates (jobs, models, endpoint
    configs, endpoints, transform jobs, model packages and groups, pipelines, monitoring
    schedules), under the tags a call gives, which win on the same key: how organisations
    enforce tag policies.

    Example:
        >>> s = AwsSession(region="eu-west-1", role_arn="arn:aws:iam::111122223333:role/x",
        ...                bucket="my-bucket")
        >>> s.backend_name, s.default_bucket
        ('aws', 'my-bucket')
    """

    def __init__(
        self,
        region: str | None = None,
        role_arn: str | None = None,
        bucket: str | None = None,
        boto3_session: Any = None,
        *,
        clock: Clock | None = None,
        max_attempts: int = 8,
        max_backoff: float = 20.0,
        default_tags: Mapping[str, str] | None = None,
        mlflow_tracking_arn: str | None = None,
        tracking_uri: str | None = None,
    ) -> None:
        resolved = (
            region
            or (boto3_session.region_name if boto3_session is not None else None)
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )
        super().__init__(region=resolved, bucket=bucket, role_arn=role_arn, clock=clock)
        if max_attempts < 1:
            raise ValidationError(f"max_attempts: must be >= 1 (got {max_attempts})",
                                  field="max_attempts")
        self.boto3_session = boto3_session
        self.max_attempts = max_attempts
        if mlflow_tracking_arn is not None and tracking_uri is not None:
            raise ValidationError("mlflow_tracking_arn, tracking_uri: give one of them",
                                  field="tracking_uri")
        if mlflow_tracking_arn is not None and not re.fullmatch(
                r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:mlflow-tracking-server/"
                r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", mlflow_tracking_arn):
            raise ValidationError(
                f"mlflow_tracking_arn: {mlflow_tracking_arn!r} is not a SageMaker MLflow "
                "tracking server ARN (arn:aws:sagemaker:REGION:ACCOUNT:"
                "mlflow-tracking-server/NAME)", field="mlflow_tracking_arn")
        self._tracking_uri = mlflow_tracking_arn or _checked_tracking_uri(tracking_uri)
        self.max_backoff = max_backoff
        from .specs._common import check_tags

        try:
            self.default_tags: dict[str, str] = check_tags(dict(default_tags or {}))
        except (ValueError, TypeError) as exc:
            raise ValidationError(f"default_tags: {exc}", field="default_tags") from None

    @property
    def backend_name(self) -> str:
        return "aws"

    @property
    def tracking_uri(self) -> str | None:
        """``mlflow_tracking_arn=`` (a SageMaker managed MLflow tracking server, reached
        through the ``sagemaker-mlflow`` plugin) or ``tracking_uri=``; None without."""
        return self._tracking_uri

    def _no_tracking(self) -> str:
        return ("the aws session has no experiment tracking store; give "
                "AwsSession(mlflow_tracking_arn=...) (a SageMaker managed MLflow tracking "
                "server) or AwsSession(tracking_uri=...)")

    def _make_backend(self) -> Backend:
        try:
            from .backends.aws import AwsBackend
        except ImportError as exc:  # pragma: no cover - boto3 is a core dependency
            from .errors import MissingDependencyError

            raise MissingDependencyError(
                f"the aws backend needs boto3 ({exc}); pip install 'mlopskit'", extra="aws"
            ) from exc
        return AwsBackend(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AwsSession:
        """The ``aws`` backend's session factory (the ``mlopskit.backends`` entry point
        ``aws``): ``MLOPSKIT_REGION`` (else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``),
        ``MLOPSKIT_ROLE_ARN`` and ``MLOPSKIT_BUCKET`` from ``environ``.

        Example:
            >>> AwsSession.from_env({"MLOPSKIT_REGION": "eu-west-1"}).region
            'eu-west-1'
        """
        return cls(
            region=environ.get("MLOPSKIT_REGION") or environ.get("AWS_REGION")
            or environ.get("AWS_DEFAULT_REGION"),
            role_arn=environ.get("MLOPSKIT_ROLE_ARN") or None,
            bucket=environ.get("MLOPSKIT_BUCKET") or None,
        )

    def __repr__(self) -> str:
        # role and bucket are not secrets, but credentials in boto3_session are: never shown.
        return f"AwsSession(region={self.region!r}, bucket={self._bucket!r})"


def session_from_env(environ: Mapping[str, str] | None = None) -> Session:
    """Build a session from ``MLOPSKIT_*`` variables (``os.environ`` by default).

    ``MLOPSKIT_BACKEND`` names the backend: ``local`` (default), ``aws``, or a plug-in
    (:func:`mlopskit.plugins.available_backends` lists them), in any case. The backend's
    factory reads the rest: local reads ``MLOPSKIT_ROOT`` and ``MLOPSKIT_BUCKET``; aws reads
    ``MLOPSKIT_REGION`` (else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``),
    ``MLOPSKIT_ROLE_ARN`` and ``MLOPSKIT_BUCKET``. An unknown name is a
    :class:`~mlopskit.errors.ValidationError` naming ``MLOPSKIT_BACKEND`` and the allowed
    values.

    Example:
        >>> import tempfile
        >>> session_from_env({"MLOPSKIT_BACKEND": "local", "MLOPSKIT_ROOT": tempfile.mkdtemp()})
        LocalSession(root=...)
        >>> session_from_env({"MLOPSKIT_BACKEND": "gcp"})
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: MLOPSKIT_BACKEND: 'gcp' is not a backend; allowed: ...
    """
    from .plugins import build_session

    env = os.environ if environ is None else environ
    name = env.get("MLOPSKIT_BACKEND", "local").strip().lower() or "local"
    return build_session(name, env)


_default: Session | None = None
_default_lock = threading.Lock()


def default_session() -> Session:
    """The process-wide session used when ``session=`` is omitted (built from the env).

    It is made on first use by :func:`session_from_env` and then kept.

    Example:
        >>> import tempfile
        >>> set_default_session(LocalSession(root=tempfile.mkdtemp()))
        >>> default_session().backend_name
        'local'
        >>> set_default_session(None)
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = session_from_env()
        return _default


def set_default_session(session: Session | None) -> None:
    """Replace the process-wide default session (``None`` rebuilds it from the env).

    Example:
        >>> import tempfile
        >>> mine = LocalSession(root=tempfile.mkdtemp())
        >>> set_default_session(mine)
        >>> default_session() is mine
        True
        >>> set_default_session(None)  # back to the environment's choice
    """
    global _default
    with _default_lock:
        _default = session


def resolve_session(session: Session | None) -> Session:
    """``session`` itself, or the default one."""
    return session if session is not None else default_session()
