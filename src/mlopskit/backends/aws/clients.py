"""boto3 clients with botocore's own retries off: :class:`~.retry.Caller` owns the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from ...errors import ValidationError

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
        self._default_tags = dict(session.default_tags)
        self._made: dict[str, Any] = {}

    @property
    def sagemaker(self) -> Any:
        if "sagemaker" not in self._made:
            client = self._boto.client("sagemaker", region_name=self._region, config=_CONFIG)
            if self._default_tags:
                client.meta.events.register("before-parameter-build.sagemaker",
                                            self._add_default_tags)
            self._made["sagemaker"] = client
        return self._made["sagemaker"]

    def _add_default_tags(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """Every Create* request that takes tags gets the session's default tags under its
        own (a tag the call gives wins on the same key): one place for every resource."""
        if not model.name.startswith("Create") or "Tags" not in model.input_shape.members:
            return
        given = list(params.get("Tags") or [])
        keys = {tag.get("Key") for tag in given}
        merged = given + [{"Key": k, "Value": v} for k, v in self._default_tags.items()
                          if k not in keys]
        if len(merged) > 50:
            raise ValidationError(f"tags: {model.name} would carry {len(merged)} tags with the "
                                  "session's default_tags; SageMaker allows 50",
                                  field="tags")
        params["Tags"] = merged

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
