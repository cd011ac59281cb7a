"""Every error mlopskit raises on purpose.

The hierarchy::

    MlopsKitError
    ├── ValidationError          bad input, caught at the boundary (also a ValueError)
    ├── NotFoundError            no resource of that kind and name (also a LookupError)
    ├── ConflictError            the name is taken, or the resource is in the wrong state
    ├── CapabilityError          this backend cannot do that (also NotImplementedError)
    ├── MissingDependencyError   an optional extra is not installed (also an ImportError)
    ├── JobFailedError           a job ended Failed or Stopped while you waited on it
    ├── WaitTimeoutError         a wait ran out of time (also a TimeoutError)
    ├── DeploymentFailedError    an endpoint could not be brought into service
    │   └── IntegrityError       an artifact it uses no longer has its recorded SHA-256
    ├── InvocationError          an endpoint answered a request with an error status
    └── BackendError             the backend failed in a way that is not your input's fault
        └── ThrottledError       the service kept throttling after every retry

Every message names the field or resource, the value received and what is allowed, so
it can be read without the traceback.

Example:
    >>> from mlopskit.errors import ValidationError, MlopsKitError
    >>> issubclass(ValidationError, MlopsKitError) and issubclass(ValidationError, ValueError)
    True
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendError",
    "CapabilityError",
    "ConflictError",
    "DeploymentFailedError",
    "IntegrityError",
    "InvocationError",
    "JobFailedError",
    "MissingDependencyError",
    "MlopsKitError",
    "NotFoundError",
    "ThrottledError",
    "TrackingError",
    "ValidationError",
    "WaitTimeoutError",
]


class MlopsKitError(Exception):
    """Base class of every error mlopskit raises on purpose.

    Example:
        >>> try:
        ...     raise NotFoundError("training job 'x' does not exist")
        ... except MlopsKitError as err:
        ...     print(type(err).__name__)
        NotFoundError
    """


class ValidationError(MlopsKitError, ValueError):
    """Input was rejected before anything was created.

    ``field`` is the dotted name of the offending field (``"hyperparameters"``,
    ``"inputs.train.distribution"``) when one is known.

    Example:
        >>> err = ValidationError("instance_type: 'm5' is not an ml.* type", field="instance_type")
        >>> err.field
        'instance_type'
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(MlopsKitError, LookupError):
    """No resource of that kind and name exists on this backend.

    Example:
        >>> str(NotFoundError("training job 'nope' does not exist"))
        "training job 'nope' does not exist"
    """


class ConflictError(MlopsKitError):
    """The name is already taken, or the resource is in a state that forbids the call.

    Example:
        >>> isinstance(ConflictError("training job 'a' already exists"), MlopsKitError)
        True
    """


class CapabilityError(MlopsKitError, NotImplementedError):
    """The chosen backend does not offer this capability.

    Example:
        >>> isinstance(CapabilityError("local cannot pull images"), NotImplementedError)
        True
    """


class MissingDependencyError(MlopsKitError, ImportError):
    """An optional dependency is needed; the message names the extra to install.

    Example:
        >>> err = MissingDependencyError("install mlopskit[sagemaker]", extra="sagemaker")
        >>> err.extra
        'sagemaker'
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


class JobFailedError(MlopsKitError):
    """A job you waited on ended ``Failed`` or ``Stopped``.

    ``job`` is the job handle, so its logs and failure reason stay reachable.

    Example:
        >>> err = JobFailedError("training job 'a' Failed: boom", job=None, status="Failed")
        >>> err.status
        'Failed'
    """

    def __init__(self, message: str, *, job: Any = None, status: str = "Failed") -> None:
        super().__init__(message)
        self.job = job
        self.status = status


class WaitTimeoutError(MlopsKitError, TimeoutError):
    """A wait ran past its timeout; the resource itself was left as it was.

    Example:
        >>> isinstance(WaitTimeoutError("still InProgress after 5 s"), TimeoutError)
        True
    """


class DeploymentFailedError(MlopsKitError):
    """An endpoint failed to come into service; the message says why.

    Example:
        >>> isinstance(DeploymentFailedError("model_fn raised"), MlopsKitError)
        True
    """


class InvocationError(MlopsKitError):
    """The model answered a request with an error; ``status`` is the HTTP status it gave.

    Example:
        >>> InvocationError("415: content type 'text/plain' is not supported", status=415).status
        415
    """

    def __init__(self, message: str, *, status: int, variant: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.variant = variant


class BackendError(MlopsKitError):
    """The backend failed for a reason other than the caller's input.

    ``code`` carries the service's error code when there is one.

    Example:
        >>> BackendError("InternalFailure", code="InternalFailure").code
        'InternalFailure'
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ThrottledError(BackendError):
    """The service still throttled the call after the retry budget was spent.

    Example:
        >>> issubclass(ThrottledError, BackendError)
        True
    """


class IntegrityError(DeploymentFailedError):
    """An artifact a deployment uses (the model, its code archive) no longer has the
    SHA-256 recorded for it, so it was refused before anything was extracted or imported.

    ``artifact`` says which (``"model artifact"``, ``"code archive"``), ``uri`` where it
    is, ``expected`` and ``actual`` are the two hex digests. It is a
    :class:`DeploymentFailedError`: the deployment (endpoint, rollout or batch transform)
    did not happen and left nothing behind.

    Example:
        >>> err = IntegrityError("code archive changed", artifact="code archive",
        ...                      uri="s3://bkt/code/sourcedir.tar.gz", expected="ab" * 32,
        ...                      actual="cd" * 32)
        >>> isinstance(err, DeploymentFailedError), err.artifact, err.actual[:4]
        (True, 'code archive', 'cdcd')
    """

    def __init__(self, message: str, *, artifact: str, uri: str, expected: str,
                 actual: str) -> None:
        super().__init__(message)
        self.artifact = artifact
        self.uri = uri
        self.expected = expected
        self.actual = actual


class TrackingError(MlopsKitError):
    """The experiment tracking store (MLflow) could not be reached or refused a call; the
    message names the tracking URI (never its credentials) and what failed.

    A job started with tracking still runs when its run cannot be made: the error is
    given as a warning and kept on the job handle (``job.tracking_error``).

    Example:
        >>> err = TrackingError("http://127.0.0.1:5000: connection refused",
        ...                     tracking_uri="http://127.0.0.1:5000")
        >>> err.tracking_uri
        'http://127.0.0.1:5000'
    """

    def __init__(self, message: str, *, tracking_uri: str | None = None) -> None:
        super().__init__(message)
        self.tracking_uri = tracking_uri
