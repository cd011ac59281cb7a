"""Training, processing and transform jobs on SageMaker: one class for the three.

SageMaker names the verbs of every kind of job alike (``CreateTrainingJob``,
``DescribeTrainingJob``, ``StopTrainingJob``, ``ListTrainingJobs``, with
``TrainingJobName``, ``TrainingJobArn``, ``TrainingJobStatus`` and
``TrainingJobSummaries``), so one class, given the noun, speaks to all of them.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ...errors import ConflictError, NotFoundError
from ...sagemaker_api.metrics import metric_values
from ..base import JobVerbs, LogSink, MetricValue, ProgressSink

if TYPE_CHECKING:
    from .backend import AwsBackend
    from .logs import TrainingLogReader

__all__ = ["SageMakerJobs"]

SpecT = TypeVar("SpecT")
DescriptionT = TypeVar("DescriptionT")


class SageMakerJobs(Generic[SpecT, DescriptionT]):
    """The verbs of one kind of job (``noun``: ``TrainingJob``, ``ProcessingJob``,
    ``TransformJob``), each one call (retried by the backend's one policy)."""

    def __init__(self, backend: AwsBackend, noun: str, *,
                 check: Callable[[SpecT], None],
                 request: Callable[[SpecT], dict[str, Any]],
                 read: Callable[[dict[str, Any], dict[str, str]], DescriptionT],
                 logs: TrainingLogReader | None = None, tags: bool = True) -> None:
        self._backend = backend
        self._noun = noun
        self._snake = re.sub(r"(?<!^)([A-Z])", r"_\1", noun).lower()  # training_job
        self.kind = {"hyper_parameter_tuning": "tuning"}.get(
            self._snake.removesuffix("_job"), self._snake.removesuffix("_job"))
        self._check = check
        self._request = request
        self._read = read
        self._logs = logs
        self._with_tags = tags  # False: the description reports none (no ListTags call)
        # Tags are set at creation and never changed through mlopskit: one ListTags a job,
        # not one per poll.
        self._tags: dict[str, dict[str, str]] = {}

    def _op(self, verb: str) -> Any:
        client = self._backend.clients.sagemaker
        return getattr(client, f"{verb}_{self._snake}")

    def _call(self, verb: str, name: str) -> Any:
        operation = verb.capitalize() + self._noun
        return self._backend.call(self._op(verb), operation, name,
                                  **{f"{self._noun}Name": name})

    def check(self, spec: SpecT) -> None:
        self._check(spec)

    def create(self, spec: SpecT, attached: bool = False, on_log: LogSink | None = None,
               on_progress: ProgressSink | None = None) -> None:
        # ``attached`` is for backends that run jobs in the calling process; SageMaker
        # runs them on its own instances, so it is never asked (no IN_PROCESS_WAIT).
        self._check(spec)
        request = self._request(spec)
        self._backend.call(self._op("create"), f"Create{self._noun}",
                           request[f"{self._noun}Name"], **request)

    def describe(self, name: str) -> DescriptionT:
        response = self._call("describe", name)
        if not self._with_tags:
            return self._read(response, {})
        if name not in self._tags:
            listed = self._backend.call.collect(
                self._backend.clients.sagemaker, "list_tags", "ListTags", name, "Tags",
                ResourceArn=response[f"{self._noun}Arn"])
            self._tags[name] = {t["Key"]: t["Value"] for t in listed}
        return self._read(response, dict(self._tags[name]))

    def exists(self, name: str) -> bool:
        try:
            self._call("describe", name)
        except NotFoundError:
            return False
        return True

    def stop(self, name: str) -> None:
        # SageMaker answers a ValidationException for a job that has ended; report it as the
        # local backend does, a ConflictError naming the status.
        status = self._call("describe", name)[f"{self._noun}Status"]
        if status == "Stopping":
            return
        if status != "InProgress":
            raise ConflictError(f"{self.kind} job {name!r} is {status}; only an InProgress "
                                "job can be stopped")
        self._call("stop", name)

    def read_logs(self, name: str, cursor: Any = None) -> tuple[list[str], Any]:
        if self._logs is None:
            return [], cursor
        return self._logs.read(name, cursor)

    def names(self, name_contains: str | None = None) -> Sequence[str]:
        """Names, newest first."""
        paginator = self._backend.clients.sagemaker.get_paginator(f"list_{self._snake}s")
        kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if name_contains:
            kwargs["NameContains"] = name_contains

        def pages() -> list[str]:
            return [s[f"{self._noun}Name"] for page in paginator.paginate(**kwargs)
                    for s in page.get(f"{self._noun}Summaries", [])]

        found: list[str] = self._backend.call(pages, f"List{self._noun}s", name_contains or "*")
        return found

    def verbs(self) -> JobVerbs[SpecT, DescriptionT]:
        return JobVerbs(self.kind, self.check, self.create, self.describe, self.exists,
                        self.names, self.read_logs, self.stop,
                        self.metric_series if self._noun == "TrainingJob" else None)

    def metric_series(self, name: str) -> list[MetricValue]:
        """Every value of the job's metric definitions in its CloudWatch log events, with
        each event's time (what SageMaker itself reads its metrics from)."""
        response = self._call("describe", name)
        definitions = (response.get("AlgorithmSpecification") or {}).get(
            "MetricDefinitions") or []
        if self._logs is None or not definitions:
            return []
        events, _ = self._logs.events(name)
        return [MetricValue(metric, value, _dt.datetime.fromtimestamp(ms / 1000, _dt.timezone.utc))
                for metric, value, ms in metric_values(definitions, events)]
