"""boto3 clients with botocore's own retries off: :class:`~.retry.Caller` owns the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from ...session import AwsSession

__all__ = ["Clients"]

_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"},
                 user_agent_extra="mlopskit")


class Clients:
    """Lazily made clients for one session, shared by the backend's parts."""

    def __init__(self, session: AwsSession) -> None:
        self._boto = session.boto3_session or boto3.Session(region_name=session.region)
        self._region = session.region
        self._made: dict[str, Any] = {}

    @property
    def sagemaker(self) -> Any:
        if "sagemaker" not in self._made:
            self._made["sagemaker"] = self._boto.client(
                "sagemaker", region_name=self._region, config=_CONFIG)
        return self._made["sagemaker"]

    @property
    def s3(self) -> Any:
        if "s3" not in self._made:
            self._made["s3"] = self._boto.client("s3", region_name=self._region, config=_CONFIG)
        return self._made["s3"]

    @property
    def runtime(self) -> Any:
        if "sagemaker-runtime" not in self._made:
            self._made["sagemaker-runtime"] = self._boto.client(
                "sagemaker-runtime", region_name=self._region, config=_CONFIG)
        return self._made["sagemaker-runtime"]

    @property
    def logs(self) -> Any:
        if "logs" not in self._made:
            self._made["logs"] = self._boto.client("logs", region_name=self._region,
                                                   config=_CONFIG)
        return self._made["logs"]

    def close(self) -> None:
        for client in self._made.values():
            client.close()
        self._made.clear()
