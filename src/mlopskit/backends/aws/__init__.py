"""The AWS backend: SageMaker, S3 and CloudWatch Logs through boto3.

``AwsBackend`` loads on first access, so importing this package loads no boto3. The pure
request builders it sends live in :mod:`mlopskit.sagemaker_api` (one module per API family).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from .backend import AwsBackend

__all__ = ["AwsBackend"]

__getattr__ = lazy_exports(__name__, {"AwsBackend": ".backend"})
