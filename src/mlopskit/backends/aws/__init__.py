"""The AWS backend: SageMaker, S3 and CloudWatch Logs through boto3.

``AwsBackend`` loads on first access, so importing this package loads no boto3. The pure
request builders it sends live in :mod:`mlopskit.sagemaker_api` (one module per API family).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backend import AwsBackend

__all__ = ["AwsBackend"]


def __getattr__(name: str) -> Any:
    if name == "AwsBackend":
        from .backend import AwsBackend

        return AwsBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
