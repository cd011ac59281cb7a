"""The AWS backend: training and processing jobs on SageMaker, objects in S3, logs from
CloudWatch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import CapabilityError, ValidationError
from ...sagemaker_api.images import resolve_image_uri
from ...sagemaker_api.processing import create_processing_job_request
from ...sagemaker_api.responses import aware_time
from ...sagemaker_api.training import create_training_job_request
from ...sagemaker_api.tuning import create_tuning_job_request, tuning_description_fields
from ...specs.processing import ProcessingJobSpec
from ...specs.serving import TransformJobDescription, TransformJobSpec
from ...specs.training import TrainingJobSpec
from ...specs.tuning import TuningJobSpec
from ..base import (
    Capability,
    JobVerbs,
    ProcessingJobDescription,
    SchedulerStore,
    StoreReport,
    TrainingJobDescription,
    TrialSummary,
    TuningJobDescription,
)
from .clients import Clients
from .descriptions import description_from_response, processing_description_from_response
from .jobs import SageMakerJobs
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
                              Capability.REALTIME_ENDPOINTS, Capability.RECORDIO_SPLIT,
                              Capability.TRANSFORM_STOP, Capability.TUNING_EARLY_STOPPING,
                              Capability.TUNING_WARM_START})

    def __init__(self, session: AwsSession) -> None:
        self.session = session
        self.region = session.region
        self.clients = Clients(session)
        self.call = Caller(session.clock, max_attempts=session.max_attempts,
                           max_backoff=session.max_backoff)
        self._images: dict[tuple[str | None, str | None, str], str] = {}
        # The families: plain attributes, each made here (none opens a connection).
        self.objects = S3ObjectStore(self.clients, self.call)
        self.training: JobVerbs[TrainingJobSpec, TrainingJobDescription] = SageMakerJobs(
            self, "TrainingJob", check=self._check_job, request=self._training_request,
            read=description_from_response,
            logs=TrainingLogReader(self.clients, self.call)).verbs()
        self.processing: JobVerbs[ProcessingJobSpec, ProcessingJobDescription] = SageMakerJobs(
            self, "ProcessingJob", check=self._check_job, request=self._processing_request,
            read=processing_description_from_response,
            logs=TrainingLogReader(self.clients, self.call,
                                   log_group=PROCESSING_LOG_GROUP)).verbs()
        self.registry = AwsRegistry(self)
        self.serving = AwsServing(self)
        self.transforms: JobVerbs[TransformJobSpec, TransformJobDescription] = \
            self.serving.transforms.verbs()
        self.tuning: JobVerbs[TuningJobSpec, TuningJobDescription] = SageMakerJobs(
            self, "HyperParameterTuningJob", check=self._check_tuning,
            request=self._tuning_request, read=self._tuning_description).verbs()
        self.pipelines = AwsPipelines(self)
        self.monitoring = AwsMonitoring(self)

    def check_store(self) -> StoreReport:
        raise CapabilityError("the aws backend keeps no state of its own to check: "
                              "SageMaker and S3 keep it")

    @property
    def scheduler(self) -> SchedulerStore:
        raise CapabilityError("the aws backend has no Python scheduler: SageMaker runs "
                              "monitoring schedules itself (on_violation actions and approval "
                              "triggers are the local backend's; use EventBridge on AWS)")

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

    def _check_job(self, spec: TrainingJobSpec | ProcessingJobSpec) -> None:
        if spec.instance_type == "local":
            raise ValidationError("instance_type: 'local' only runs on the local backend; "
                                  "pick an ml.* type such as 'ml.m5.large'",
                                  field="instance_type")
        self._role_arn()
        self._image_uri(spec)

    def _training_request(self, spec: TrainingJobSpec) -> dict[str, Any]:
        return create_training_job_request(spec, role_arn=self._role_arn(), region=self.region,
                                           image_uri=self._image_uri(spec))

    def _processing_request(self, spec: ProcessingJobSpec) -> dict[str, Any]:
        return create_processing_job_request(spec, role_arn=self._role_arn(),
                                             image_uri=self._image_uri(spec))

    def _check_tuning(self, spec: TuningJobSpec) -> None:
        self._check_job(spec.training)

    def _tuning_request(self, spec: TuningJobSpec) -> dict[str, Any]:
        return create_tuning_job_request(spec, role_arn=self._role_arn(), region=self.region,
                                         image_uri=self._image_uri(spec.training))

    def _tuning_description(self, response: dict[str, Any], tags: dict[str, str]
                            ) -> TuningJobDescription:
        """DescribeHyperParameterTuningJob, with its trials from
        ListTrainingJobsForHyperParameterTuningJob (every page)."""
        fields = tuning_description_fields(response)
        fields.pop("counts")
        summaries = self.call.collect(
            self.clients.sagemaker, "list_training_jobs_for_hyper_parameter_tuning_job",
            "ListTrainingJobsForHyperParameterTuningJob", fields["name"],
            "TrainingJobSummaries", HyperParameterTuningJobName=fields["name"],
            PaginationConfig={"PageSize": 100})  # the API's most; its default is 10
        trials = tuple(TrialSummary(
            job=s["TrainingJobName"], params=dict(s.get("TunedHyperParameters", {})),
            status=s.get("TrainingJobStatus", "InProgress"),
            objective=(s.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get(
                "Value"),
            creation_time=aware_time(s.get("CreationTime"))) for s in summaries)
        return TuningJobDescription(**fields, trials=trials, tags=tags)

    def close(self) -> None:
        self.clients.close()
