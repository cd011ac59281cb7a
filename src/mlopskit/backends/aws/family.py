"""What every family of the AWS backend's verbs (registry, pipelines, monitoring...) starts
from: the backend, whose clients and retry policy it calls SageMaker with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import AwsBackend

__all__ = ["SageMakerFamily"]


class SageMakerFamily:
    """A family of verbs of an :class:`~mlopskit.backends.aws.backend.AwsBackend`."""

    def __init__(self, backend: AwsBackend) -> None:
        self.backend = backend

    @property
    def _sm(self) -> Any:
        """The SageMaker client; call it through ``self.backend.call`` (the retry policy)."""
        return self.backend.clients.sagemaker
