"""Reading a job's CloudWatch log streams (``/aws/sagemaker/TrainingJobs``,
``/aws/sagemaker/ProcessingJobs``)."""

from __future__ import annotations

from typing import Any

from ...errors import NotFoundError
from .clients import Clients
from .retry import Caller

__all__ = ["LOG_GROUP", "PROCESSING_LOG_GROUP", "TrainingLogReader"]

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"


class TrainingLogReader:
    """New lines of every host's stream (``<job>/algo-N-<epoch>``) since a cursor.

    The cursor is a mapping of stream name to the next forward token; lines of a multi-host
    job are prefixed with ``[algo-N] `` as on the local backend. ``log_group`` picks the
    kind of job (training by default; processing jobs use the same stream names).
    """

    def __init__(self, clients: Clients, call: Caller, log_group: str = LOG_GROUP) -> None:
        self._clients = clients
        self._call = call
        self._group = log_group

    def read(self, name: str, cursor: Any = None) -> tuple[list[str], dict[str, str]]:
        events, tokens = self.events(name, cursor)
        return [line for _, line in events], tokens

    def events(self, name: str, cursor: Any = None
               ) -> tuple[list[tuple[int, str]], dict[str, str]]:
        """As :meth:`read`, each line with its event's timestamp (ms since the epoch)."""
        tokens: dict[str, str] = dict(cursor or {})
        logs = self._clients.logs
        try:
            described = self._call.collect(logs, "describe_log_streams", "DescribeLogStreams",
                                           name, "logStreams", logGroupName=self._group,
                                           logStreamNamePrefix=name + "/")
        except NotFoundError:
            return [], tokens
        streams = sorted(s["logStreamName"] for s in described)
        lines: list[tuple[int, str]] = []
        for stream in streams:
            host = stream.split("/", 1)[1].rsplit("-", 1)[0]
            prefix = f"[{host}] " if len(streams) > 1 else ""
            while True:
                kwargs: dict[str, Any] = {"logGroupName": self._group, "logStreamName": stream,
                                          "startFromHead": True}
                if stream in tokens:
                    kwargs["nextToken"] = tokens[stream]
                try:
                    page = self._call(logs.get_log_events, "GetLogEvents", stream, **kwargs)
                except NotFoundError:
                    break
                events = page.get("events", [])
                lines.extend((int(e.get("timestamp", 0)), prefix + str(e["message"]).rstrip("\n"))
                             for e in events)
                token = page.get("nextForwardToken")
                if not token or token == tokens.get(stream) or not events:
                    if token:
                        tokens[stream] = token
                    break
                tokens[stream] = token
        return lines, tokens
