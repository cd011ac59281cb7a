"""The AWS backend: SageMaker, S3 and CloudWatch Logs through boto3 (imported here only)."""

from .backend import AwsBackend

__all__ = ["AwsBackend"]
