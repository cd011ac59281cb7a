"""The AWS backend: training and processing jobs on SageMaker, objects in S3, logs from
CloudWatch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...errors import CapabilityError, ConflictError, NotFoundError, ValidationError
from ...sagemaker_api.images import resolve_image_uri
from ...sagemaker_api.processing import create_processing_job_request
from ...sagemaker_api.training import create_training_job_request
from ...specs.processing import ProcessingJobSpec
from ...specs.training import TrainingJobSpec
from ..base import (
    Capability,
    LogSink,
    ProcessingJobDescription,
    SchedulerStore,
    StoreReport,
    TrainingJobDescription,
)
from .clients import Clients
from .descriptions import description_from_response, processing_description_from_response
from .logs import PROCESSING_LOG_GROUP, TrainingLogReader
from .monitoring import AwsMonitoring
from .objects import S3ObjectStore
from .pipelines import AwsPipelines
from .registry import AwsRegistry
from .retry import Caller
from .serving import AwsServing

if TYPE_CHECKING:
    from ...session import AwsSession

__all__ = ["AwsBackend"]


class AwsBackend:
    """Implements the backend verbs with boto3; every call is retried by one policy."""

    name = "aws"
    capabilities = frozenset({Capability.TRAINING, Capability.TRAINING_STOP,
                              Capability.TRAINING_LOGS, Capability.PROCESSING,
                              Capability.MULTI_HOST,
                              Capability.REQUIREMENTS, Capability.CONTAINER_IMAGES,
                              Capability.REALTIME_ENDPOINTS, Capability.RECORDIO_SPLIT})

    def __init__(self, session: AwsSession) -> None:
        self.session = session
        self.region = session.region
        self.clients = Clients(session)
        self.call = Caller(session.clock, max_attempts=session.max_attempts,
                           max_backoff=session.max_backoff)
        self._objects = S3ObjectStore(self.clients, self.call)
        self._logs = TrainingLogReader(self.clients, self.call)
        self._processing_logs = TrainingLogReader(self.clients, self.call,
                                                  log_group=PROCESSING_LOG_GROUP)
        # Tags are set at creation and never changed through mlopskit: one ListTags a job,
        # not one per poll.
        self._tags: dict[str, dict[str, str]] = {}
        self._images: dict[tuple[str | None, str | None, str], str] = {}
        self._registry = AwsRegistry(self)
        self._serving = AwsServing(self)
        self._pipelines = AwsPipelines(self)
        self._monitoring = AwsMonitoring(self)

    @property
    def serving(self) -> AwsServing:
        return self._serving

    def check_store(self) -> StoreReport:
        raise CapabilityError("the aws backend keeps no state of its own to check: "
                              "SageMaker and S3 keep it")

    @property
    def pipelines(self) -> AwsPipelines:
        return self._pipelines

    @property
    def monitoring(self) -> AwsMonitoring:
        return self._monitoring

    @property
    def scheduler(self) -> SchedulerStore:
        raise CapabilityError("the aws backend has no Python scheduler: SageMaker runs "
                              "monitoring schedules itself (on_violation actions and approval "
                              "triggers are the local backend's; use EventBridge on AWS)")

    @property
    def registry(self) -> AwsRegistry:
        return self._registry

    @property
    def objects(self) -> S3ObjectStore:
        return self._objects

    def _image_uri(self, spec: TrainingJobSpec | ProcessingJobSpec) -> str:
        if spec.image_uri:
            return spec.image_uri
        key = (spec.framework, spec.framework_version, spec.instance_type)
        if key not in self._images:
            # Processing jobs run the framework's training image, as the SDK's processors do.
            self._images[key] = resolve_image_uri(spec.framework, spec.framework_version,
                                                  self.region, spec.instance_type,
                                                  scope="training")
        return self._images[key]

    def _role_arn(self) -> str:
        if not self.session.role_arn:
            raise ValidationError("role_arn: the aws backend needs an execution role; pass "
                                  "role_arn= to AwsSession or set MLOPSKIT_ROLE_ARN",
                                  field="role_arn")
        return self.session.role_arn

    def check_training_job(self, spec: TrainingJobSpec) -> None:
        if spec.instance_type == "local":
            raise ValidationError("instance_type: 'local' only runs on the local backend; "
                                  "pick an ml.* type such as 'ml.m5.large'",
                                  field="instance_type")
        self._role_arn()
        self._image_uri(spec)

    def create_training_job(self, spec: TrainingJobSpec, *, wait: bool = False,
                            on_log: LogSink | None = None) -> None:
        # ``wait`` is for backends that can run a job in-process; SageMaker cannot.
        self.check_training_job(spec)
        request = create_training_job_request(spec, role_arn=self._role_arn(),
                                              region=self.region,
                                              image_uri=self._image_uri(spec))
        self.call(self.clients.sagemaker.create_training_job, "CreateTrainingJob",
                  spec.name, **request)

    def describe_training_job(self, name: str) -> TrainingJobDescription:
        response = self.call(self.clients.sagemaker.describe_training_job,
                             "DescribeTrainingJob", name, TrainingJobName=name)
        if name not in self._tags:
            listed = self.call.collect(self.clients.sagemaker, "list_tags", "ListTags", name,
                                       "Tags", ResourceArn=response["TrainingJobArn"])
            self._tags[name] = {t["Key"]: t["Value"] for t in listed}
        return description_from_response(response, dict(self._tags[name]))

    def stop_training_job(self, name: str) -> None:
        # SageMaker answers a ValidationException for a job that has ended; report it as the
        # local backend does, a ConflictError naming the status.
        status = self.describe_training_job(name).status
        if status == "Stopping":
            return
        if status != "InProgress":
            raise ConflictError(f"training job {name!r} is {status}; only an InProgress job "
                                "can be stopped")
        self.call(self.clients.sagemaker.stop_training_job, "StopTrainingJob", name,
                  TrainingJobName=name)

    def read_training_logs(self, name: str, cursor: Any = None) -> tuple[list[str], Any]:
        return self._logs.read(name, cursor)

    def list_training_jobs(self, *, name_contains: str | None = None) -> Sequence[str]:
        paginator = self.clients.sagemaker.get_paginator("list_training_jobs")
        kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if name_contains:
            kwargs["NameContains"] = name_contains

        def pages() -> list[str]:
            return [s["TrainingJobName"] for page in paginator.paginate(**kwargs)
                    for s in page.get("TrainingJobSummaries", [])]

        return self.call(pages, "ListTrainingJobs", name_contains or "*")

    def training_job_exists(self, name: str) -> bool:
        try:
            self.call(self.clients.sagemaker.describe_training_job, "DescribeTrainingJob",
                      name, TrainingJobName=name)
        except NotFoundError:
            return False
        return True

    # -- processing ----------------------------------------------------------------------

    def check_processing_job(self, spec: ProcessingJobSpec) -> None:
        if spec.instance_type == "local":
            raise ValidationError("instance_type: 'local' only runs on the local backend; "
                                  "pick an ml.* type such as 'ml.m5.large'",
                                  field="instance_type")
        self._role_arn()
        self._image_uri(spec)

    def create_processing_job(self, spec: ProcessingJobSpec, *, wait: bool = False,
                              on_log: LogSink | None = None) -> None:
        # ``wait`` is for backends that can run a job in-process; SageMaker cannot.
        self.check_processing_job(spec)
        request = create_processing_job_request(spec, role_arn=self._role_arn(),
                                                image_uri=self._image_uri(spec))
        self.call(self.clients.sagemaker.create_processing_job, "CreateProcessingJob",
                  spec.name, **request)

    def describe_processing_job(self, name: str) -> ProcessingJobDescription:
        response = self.call(self.clients.sagemaker.describe_processing_job,
                             "DescribeProcessingJob", name, ProcessingJobName=name)
        key = f"processing-job/{name}"
        if key not in self._tags:
            listed = self.call.collect(self.clients.sagemaker, "list_tags", "ListTags", name,
                                       "Tags", ResourceArn=response["ProcessingJobArn"])
            self._tags[key] = {t["Key"]: t["Value"] for t in listed}
        return processing_description_from_response(response, dict(self._tags[key]))

    def stop_processing_job(self, name: str) -> None:
        # As for training: an ended job is a ConflictError naming its status.
        status = self.describe_processing_job(name).status
        if status == "Stopping":
            return
        if status != "InProgress":
            raise ConflictError(f"processing job {name!r} is {status}; only an InProgress "
                                "job can be stopped")
        self.call(self.clients.sagemaker.stop_processing_job, "StopProcessingJob", name,
                  ProcessingJobName=name)

    def read_processing_logs(self, name: str, cursor: Any = None) -> tuple[list[str], Any]:
        return self._processing_logs.read(name, cursor)

    def list_processing_jobs(self, *, name_contains: str | None = None) -> Sequence[str]:
        paginator = self.clients.sagemaker.get_paginator("list_processing_jobs")
        kwargs: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending"}
        if name_contains:
            kwargs["NameContains"] = name_contains

        def pages() -> list[str]:
            return [s["ProcessingJobName"] for page in paginator.paginate(**kwargs)
                    for s in page.get("ProcessingJobSummaries", [])]

        return self.call(pages, "ListProcessingJobs", name_contains or "*")

    def processing_job_exists(self, name: str) -> bool:
        try:
            self.call(self.clients.sagemaker.describe_processing_job, "DescribeProcessingJob",
                      name, ProcessingJobName=name)
        except NotFoundError:
            return False
        return True

    def close(self) -> None:
        self.clients.close()
