"""Pipeline steps: each compiles to one entry of the definition's ``Steps``.

A step's ``Arguments`` is the request of the SageMaker API it runs (CreateTrainingJob for a
:class:`TrainingStep`...), built by the same code that makes the direct call, with pipeline
variables restored as expressions where the step's inputs held them.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ..errors import ValidationError
from ..specs._common import split_tokens, variable_of
from .conditions import Condition, condition_from_definition
from .variables import (
    ExecutionVariables,
    Join,
    ModelProperties,
    PipelineVariable,
    ProcessingProperties,
    Properties,
    PropertyFile,
    RegisterModelProperties,
    TrainingProperties,
    TransformProperties,
    TuningProperties,
    expression,
)

if TYPE_CHECKING:
    from ..models import Model
    from ..processing import Processor
    from ..registry import ModelPackageGroup
    from ..serving.transform import Transformer
    from ..training import Estimator
    from ..tuner import HyperparameterTuner

__all__ = ["CacheConfig", "ConditionStep", "FailStep", "ModelStep", "ProcessingStep",
           "RegisterModelStep", "RetryPolicy", "Step", "TrainingStep", "TransformStep",
           "TuningStep"]

T = TypeVar("T")
STEP_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
RETRY_EXCEPTION_TYPES = ("Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR",
                         "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT")


@dataclass(frozen=True)
class CacheConfig:
    """Reuse a previous run of a step whose resolved arguments (and code) are the same.

    ``expire_after`` is an ISO-8601 duration (``P30D``, ``PT12H``): older runs are not reused.
    Pass it as ``cache_config=`` to a training, processing, transform or tuning step.

    Example:
        >>> CacheConfig(expire_after="PT12H").definition()
        {'Enabled': True, 'ExpireAfter': 'PT12H'}
        >>> CacheConfig(expire_after="12 hours")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: expire_after: '12 hours' is not an ISO-8601 duration ...
    """

    enable_caching: bool = True
    expire_after: str | None = "P30D"

    def __post_init__(self) -> None:
        if self.expire_after is not None and not _DURATION.match(self.expire_after):
            raise ValidationError(f"expire_after: {self.expire_after!r} is not an ISO-8601 "
                                  "duration such as 'P30D' or 'PT12H'", field="expire_after")

    def definition(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"Enabled": self.enable_caching}
        if self.expire_after is not None:
            entry["ExpireAfter"] = self.expire_after
        return entry


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a step whose failure is one of ``exception_types``.

    Waits ``interval_seconds``, then ``backoff_rate`` times longer each attempt, for at most
    ``max_attempts`` retries (or until ``expire_after_minutes`` have passed).
    Pass a list of them as ``retry_policies=`` to a training, processing, transform or
    tuning step.

    Example:
        >>> RetryPolicy(exception_types=["SageMaker.CAPACITY_ERROR"], interval_seconds=30,
        ...             max_attempts=3).definition()
        {'BackoffRate': 2.0, 'IntervalSeconds': 30, 'ExceptionType': \
['SageMaker.CAPACITY_ERROR'], 'MaxAttempts': 3}
    """

    exception_types: tuple[str, ...] = ("Step.SERVICE_FAULT", "Step.THROTTLING")
    interval_seconds: int = 1
    backoff_rate: float = 2.0
    max_attempts: int | None = 5
    expire_after_minutes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "exception_types", tuple(self.exception_types))
        unknown = [t for t in self.exception_types if t not in RETRY_EXCEPTION_TYPES]
        if unknown or not self.exception_types:
            raise ValidationError(f"exception_types: {unknown or '[]'} not allowed; allowed: "
                                  f"{', '.join(RETRY_EXCEPTION_TYPES)}", field="exception_types")
        if not 1 <= self.interval_seconds <= 300:
            raise ValidationError("interval_seconds: between 1 and 300",
                                  field="interval_seconds")
        if not 1.0 <= self.backoff_rate <= 10.0:
            raise ValidationError("backoff_rate: between 1.0 and 10.0", field="backoff_rate")
        if (self.max_attempts is None) == (self.expire_after_minutes is None):
            raise ValidationError("max_attempts/expire_after_minutes: give exactly one",
                                  field="max_attempts")
        if self.max_attempts is not None and not 1 <= self.max_attempts <= 20:
            raise ValidationError("max_attempts: between 1 and 20", field="max_attempts")
        if self.expire_after_minutes is not None and not 1 <= self.expire_after_minutes <= 14400:
            raise ValidationError("expire_after_minutes: between 1 and 14400",
                                  field="expire_after_minutes")

    def definition(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"BackoffRate": self.backoff_rate,
                                 "IntervalSeconds": self.interval_seconds,
                                 "ExceptionType": list(self.exception_types)}
        if self.max_attempts is not None:
            entry["MaxAttempts"] = self.max_attempts
        else:
            entry["ExpireAfterMin"] = self.expire_after_minutes
        return entry


@dataclass
class CompileContext:
    """What compiling a step may need from the pipeline and its session.

    ``uploads`` collects the files the definition refers to (code archives, keyed by URI);
    they are uploaded by ``upsert``/``start``, never while compiling.
    """

    pipeline_name: str
    bucket: str
    role_arn: str
    region: str
    uploads: dict[str, bytes] = field(default_factory=dict)

    def code_archive(self, source: Path, name: str) -> str:
        """The URI a reproducible ``.tar.gz`` of ``source`` will have (content-addressed)."""
        from .._archive import make_tar_gz

        with tempfile.TemporaryDirectory(prefix="mlopskit-code-") as tmp:
            archive = Path(tmp) / name
            make_tar_gz(source, archive)
            data = archive.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        uri = f"s3://{self.bucket}/{self.pipeline_name}/code/{digest}/{name}"
        self.uploads[uri] = data
        return uri

    def code_file(self, source: Path) -> str:
        """The URI a single file will have (content-addressed)."""
        data = source.read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        uri = f"s3://{self.bucket}/{self.pipeline_name}/code/{digest}/{source.name}"
        self.uploads[uri] = data
        return uri


def restore_variables(value: Any) -> Any:
    """A request with every variable token put back as the variable's expression.

    A value that is exactly a token becomes the expression; a longer string becomes a
    ``Std:Join`` of its pieces. A token inside JSON quotes (a hyperparameter the SDK
    encodes as JSON) keeps the quotes for a string variable and drops them for a number.
    """
    if isinstance(value, dict):
        return {k: restore_variables(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restore_variables(v) for v in value]
    if not isinstance(value, str):
        return value
    variable = variable_of(value)
    if variable is not None:
        return expression(variable)
    parts = split_tokens(value)
    if not any(isinstance(p, PipelineVariable) for p in parts):
        return value
    if (len(parts) == 3 and parts[0] == '"' and parts[2] == '"'
            and isinstance(parts[1], PipelineVariable) and parts[1].kind not in (None, "String")):
        parts = [parts[1]]  # JSON of a number or boolean is its text
    return Join(on="", values=parts).expr


class Step:
    """Base of every step.

    Every step has a unique ``name``, may wait for other steps (``depends_on``, by step or
    name) and exposes ``properties`` for later steps to read.

    Example:
        >>> stop = FailStep("Stop", "nothing to do", depends_on=["Train"],
        ...                 display_name="Stop early")
        >>> isinstance(stop, Step), stop.step_type, stop.depends_on
        (True, 'Fail', ['Train'])
        >>> Step("Train").properties.ModelArtifacts.S3ModelArtifacts.expr
        {'Get': 'Steps.Train.ModelArtifacts.S3ModelArtifacts'}
    """

    step_type: ClassVar[str]

    def __init__(self, name: str, *, depends_on: Sequence[Step | str] | None = None,
                 display_name: str | None = None, description: str | None = None) -> None:
        if not isinstance(name, str) or not STEP_NAME.match(name):
            raise ValidationError(f"name: step name {name!r} must be 1-64 letters, digits, "
                                  "'-' or '_'", field="name")
        self.name = name
        self.depends_on = [d if isinstance(d, str) else d.name for d in depends_on or ()]
        for label, text in (("display_name", display_name), ("description", description)):
            if text is not None and not isinstance(text, str):
                raise ValidationError(f"{label}: a plain string (it is written into the "
                                      f"definition as is), got {type(text).__name__}",
                                      field=label)
        self.display_name = display_name
        self.description = description

    @property
    def properties(self) -> Properties:
        """Fields of the step's describe response, for later steps to read."""
        return Properties(self.name)

    def arguments(self, context: CompileContext) -> Any:
        raise NotImplementedError

    def definition(self, context: CompileContext) -> dict[str, Any]:
        entry: dict[str, Any] = {"Name": self.name, "Type": self.step_type,
                                 "Arguments": self.arguments(context)}
        if self.display_name:
            entry["DisplayName"] = self.display_name
        if self.description:
            entry["Description"] = self.description
        if self.depends_on:
            entry["DependsOn"] = list(self.depends_on)
        return entry


class _Cacheable(Step):
    def __init__(self, name: str, *, cache_config: CacheConfig | None = None,
                 retry_policies: Sequence[RetryPolicy] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.cache_config = cache_config
        self.retry_policies = list(retry_policies or ())

    def definition(self, context: CompileContext) -> dict[str, Any]:
        entry = super().definition(context)
        if self.retry_policies:
            entry["RetryPolicies"] = [p.definition() for p in self.retry_policies]
        if self.cache_config is not None:
            entry["CacheConfig"] = self.cache_config.definition()
        return entry


class TrainingStep(_Cacheable):
    """Run an :class:`~mlopskit.Estimator` as a training job.

    ``inputs`` is what ``Estimator.fit`` takes, except that data must already be in S3 (or
    be a pipeline variable, such as another step's output): a definition uploads only code.

    Example:
        >>> import mlopskit, pathlib, tempfile
        >>> script = pathlib.Path(tempfile.mkdtemp(), "train.py")
        >>> _ = script.write_text("print('training')")
        >>> estimator = mlopskit.Estimator(script, image_uri="example.com/train:1",
        ...                                instance_type="ml.m5.large")
        >>> train = TrainingStep("Train", estimator, inputs={"train": "s3://bucket/train/"})
        >>> train.properties.model_data.expr, train.properties.metric("acc").expr
        ({'Get': 'Steps.Train.ModelArtifacts.S3ModelArtifacts'}, \
{'Get': "Steps.Train.FinalMetricDataList['acc'].Value"})
    """

    step_type = "Training"

    def __init__(self, name: str, estimator: Estimator, inputs: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        from ..training import Estimator as _Estimator

        self.estimator = _instance_of(estimator, _Estimator, "estimator", "an mlopskit.Estimator")
        self.channels = _step_channels(estimator, inputs, "estimator")

    @property
    def properties(self) -> TrainingProperties:
        return TrainingProperties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.training import create_training_job_request

        spec, image = _training_template(self.name, self.estimator, self.channels, context)
        request = create_training_job_request(spec, role_arn=context.role_arn,
                                              region=context.region, image_uri=image)
        request.pop("TrainingJobName")  # the pipeline names the job
        # ...so the job name the toolkit would be told is unknown here; the SDK leaves it out.
        request["HyperParameters"].pop("sagemaker_job_name", None)
        if self.estimator.instance_count_variable is not None:
            request["ResourceConfig"]["InstanceCount"] = self.estimator.instance_count_variable
        restored: dict[str, Any] = restore_variables(expression(request))
        return restored


def _instance_of(value: T, kind: type[Any], field: str, expected: str) -> T:
    """``value`` if it is a ``kind``; else a ValidationError naming ``field``."""
    if not isinstance(value, kind):
        raise ValidationError(f"{field}: expected {expected}, got {type(value).__name__}",
                              field=field)
    return value


def _step_channels(estimator: Estimator, inputs: Any, label: str) -> list[Any]:
    """``inputs`` as the estimator's channels, refusing local paths (a definition uploads
    only code) and an estimator with no image (SageMaker needs one); ``label`` names the
    estimator in errors."""
    channels = estimator._channels(inputs)
    for channel, data in channels:
        if data.is_local:
            raise ValidationError(
                f"inputs.{channel}: {data.s3_data!r} is a local path; a pipeline step "
                "reads data from S3 (upload it first, or pass another step's output)",
                field=f"inputs.{channel}")
    if not (estimator.image_uri or estimator.framework):
        raise ValidationError(f"{label}.image_uri: a pipeline step runs on SageMaker too, "
                              "which needs an image; pass image_uri= or framework= to the "
                              "Estimator", field=f"{label}.image_uri")
    return channels


def _training_template(step: str, estimator: Estimator, channels: Sequence[Any],
                       context: CompileContext) -> tuple[Any, str]:
    """The training spec a step runs (its code packed into the definition's code location,
    outputs under ``s3://<bucket>/``) and its image URI."""
    folder, _ = estimator._code_layout()
    source = context.code_archive(
        folder if estimator.source_dir is not None else Path(estimator.entry_point),
        "sourcedir.tar.gz")
    specs = [data.channel(name, data.s3_data) for name, data in channels]
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", step).strip("-") or "step"
    spec = estimator._spec(base, source, specs, f"s3://{context.bucket}/")
    image = estimator.image_uri
    if image is None:
        from ..sagemaker_api.images import image_instance_type, resolve_image_uri

        image = resolve_image_uri(estimator.framework, estimator.framework_version,
                                  context.region,
                                  image_instance_type(estimator._checked.instance_type),
                                  scope="training")
    return spec, image


# The most training jobs a tuning step's TrainingJobSummaries holds (top_k 0 to 49).
TOP_TRAINING_JOBS = 50


class TuningStep(_Cacheable):
    """Run a :class:`~mlopskit.HyperparameterTuner` as a hyperparameter tuning job
    (CreateHyperParameterTuningJob).

    ``inputs`` are the tuner's estimator's channels (as for :class:`TrainingStep`: in S3,
    or pipeline variables). ``properties`` are DescribeHyperParameterTuningJob's fields
    (``properties.BestTrainingJob.TrainingJobName``) plus ``TrainingJobSummaries``, best
    first; :meth:`get_top_model_s3_uri` is where a top trial's model artifact is.

    Example:
        >>> import mlopskit, pathlib, tempfile
        >>> from mlopskit.tuning import IntegerParameter
        >>> script = pathlib.Path(tempfile.mkdtemp(), "train.py")
        >>> _ = script.write_text("print('auc=0.9')")
        >>> estimator = mlopskit.Estimator(script, image_uri="example.com/train:1",
        ...     instance_type="ml.m5.large",
        ...     metric_definitions=[{"Name": "auc", "Regex": "auc=([0-9.]+)"}])
        >>> tuner = mlopskit.HyperparameterTuner(estimator, "auc",
        ...     {"depth": IntegerParameter(2, 8)}, strategy="Random", max_jobs=4)
        >>> tune = TuningStep("Tune", tuner, inputs={"train": "s3://bucket/train/"})
        >>> tune.properties.BestTrainingJob.TrainingJobName.expr
        {'Get': 'Steps.Tune.BestTrainingJob.TrainingJobName'}
        >>> tune.get_top_model_s3_uri(0, "bucket").expr
        {'Std:Join': {'On': '/', 'Values': ['s3:/', 'bucket', \
{'Get': 'Steps.Tune.TrainingJobSummaries[0].TrainingJobName'}, 'output/model.tar.gz']}}
    """

    step_type = "Tuning"

    def __init__(self, name: str, tuner: HyperparameterTuner, inputs: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        from ..tuner import HyperparameterTuner as _Tuner

        self.tuner = _instance_of(tuner, _Tuner, "tuner", "an mlopskit.HyperparameterTuner")
        self.channels = _step_channels(tuner.estimator, inputs, "tuner.estimator")

    @property
    def properties(self) -> TuningProperties:
        return TuningProperties(self.name)

    def get_top_model_s3_uri(self, top_k: int, s3_bucket: Any, prefix: Any = "") -> Join:
        """The S3 URI of the model artifact of the ``top_k``-th best training job (0 is the
        best; up to 49), for trials whose output path is ``s3://<s3_bucket>[/<prefix>]``
        (a tuning step's trials write to ``s3://<the session's bucket>/``)."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or \
                not 0 <= top_k < TOP_TRAINING_JOBS:
            raise ValidationError(f"top_k: {top_k!r}; allowed: a whole number from 0 (the best "
                                  f"training job) to {TOP_TRAINING_JOBS - 1}", field="top_k")
        for label, value in (("s3_bucket", s3_bucket), ("prefix", prefix)):
            if not isinstance(value, (str, PipelineVariable)):
                raise ValidationError(f"{label}: a string or pipeline variable, got "
                                      f"{type(value).__name__}", field=label)
        if isinstance(s3_bucket, str) and not s3_bucket:
            raise ValidationError("s3_bucket: required, the bucket the trials write to",
                                  field="s3_bucket")
        values: list[Any] = ["s3:/", s3_bucket]
        if not (isinstance(prefix, str) and prefix == ""):
            values.append(prefix)
        job = Properties(self.name, f"TrainingJobSummaries[{top_k}].TrainingJobName", "String")
        return Join(on="/", values=[*values, job, "output/model.tar.gz"])

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.tuning import create_tuning_job_request

        estimator = self.tuner.estimator
        training, image = _training_template(self.name, estimator, self.channels, context)
        spec = self.tuner._tuning_spec("pipeline-tuning", training)
        request = create_tuning_job_request(spec, role_arn=context.role_arn,
                                            region=context.region, image_uri=image)
        request.pop("HyperParameterTuningJobName")  # the pipeline names the job
        definition = request["TrainingJobDefinition"]
        # SageMaker names each training job itself; a name here would be a wrong one.
        definition["StaticHyperParameters"].pop("sagemaker_job_name", None)
        if estimator.instance_count_variable is not None:
            definition["ResourceConfig"]["InstanceCount"] = estimator.instance_count_variable
        restored: dict[str, Any] = restore_variables(expression(request))
        return restored


class ProcessingStep(_Cacheable):
    """Run a script with a :class:`~mlopskit.Processor` as a processing job.

    ``code`` is a local script (packed into the definition's code location by its digest)
    or an S3 URI; ``inputs`` sources must be in S3 or be pipeline variables (another
    step's output). An output without a destination goes to
    ``s3://<bucket>/<pipeline>/<execution id>/<step>/output/<output name>``.
    ``property_files`` name JSON files in the outputs, for ``JsonGet``.

    Example:
        >>> import mlopskit
        >>> processor = mlopskit.Processor(image_uri="example.com/sklearn:1",
        ...                                instance_type="ml.m5.large")
        >>> evaluate = ProcessingStep("Evaluate", processor, "s3://bucket/code/evaluate.py",
        ...     outputs=[mlopskit.ProcessingOutput("/opt/ml/processing/eval", output_name="eval")],
        ...     property_files=[PropertyFile("Report", output_name="eval", path="eval.json")])
        >>> evaluate.properties.output("eval").expr
        {'Get': "Steps.Evaluate.ProcessingOutputConfig.Outputs['eval'].S3Output.S3Uri"}
    """

    step_type = "Processing"

    def __init__(self, name: str, processor: Processor, code: Any, *,
                 inputs: Sequence[Any] | None = None, outputs: Sequence[Any] | None = None,
                 job_arguments: Sequence[Any] | None = None,
                 property_files: Sequence[PropertyFile] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        from ..processing import ProcessingInput, ProcessingOutput, _entries
        from ..processing import Processor as _Processor
        from ..specs._common import with_tokens

        if not isinstance(processor, _Processor):
            raise ValidationError(f"processor: expected an mlopskit.Processor, got "
                                  f"{type(processor).__name__}", field="processor")
        if not (processor.image_uri or processor.framework):
            raise ValidationError("processor.image_uri: a pipeline step runs on SageMaker too, "
                                  "which needs an image; pass image_uri= or framework= to the "
                                  "Processor", field="processor.image_uri")
        self.processor = processor
        self.code_uri, self.code_path, self.script = processor._code(code)
        self.inputs: list[Any] = _entries("inputs", inputs, ProcessingInput)
        self.outputs: list[Any] = _entries("outputs", outputs, ProcessingOutput)
        for index, entry in enumerate(self.inputs):
            if entry.is_local:
                raise ValidationError(
                    f"inputs[{index}].source: {entry.source!r} is a local path; a pipeline "
                    "step reads data from S3 (upload it first, or pass another step's "
                    "output)", field=f"inputs[{index}].source")
        self.job_arguments = processor._arguments(with_tokens(job_arguments))
        self.property_files = list(property_files or ())
        names = [o.output_name or f"output-{i + 1}" for i, o in enumerate(self.outputs)]
        for file in self.property_files:
            if not isinstance(file, PropertyFile):
                raise ValidationError("property_files: a list of PropertyFile",
                                      field="property_files")
            if file.output_name not in names:
                raise ValidationError(f"property_files: {file.name!r} is in output "
                                      f"{file.output_name!r}, which is not one of this step's "
                                      f"outputs ({', '.join(names) or 'none'})",
                                      field="property_files")
        self._spec("s3://placeholder-bucket/code/" + self.script, {})  # plain values checked

    def _spec(self, code_uri: str, defaults: Mapping[str, str]) -> Any:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", self.name).strip("-") or "step"
        inputs = [{"name": entry.input_name or f"input-{i + 1}",
                   "local_path": entry.destination, "s3_uri": entry.source,
                   "distribution": entry.s3_data_distribution_type}
                  for i, entry in enumerate(self.inputs)]
        outputs = []
        for i, out in enumerate(self.outputs):
            output_name = out.output_name or f"output-{i + 1}"
            outputs.append({"name": output_name, "local_path": out.source,
                            "s3_uri": out.destination or defaults.get(
                                output_name, "s3://placeholder-bucket/output")})
        return self.processor._spec(base, code_uri, self.script, inputs, outputs,
                                    self.job_arguments)

    @property
    def properties(self) -> ProcessingProperties:
        return ProcessingProperties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.processing import create_processing_job_request
        from ..specs._common import with_tokens

        code_uri = self.code_uri or context.code_file(self.code_path)  # type: ignore[arg-type]
        defaults = {}
        for i, out in enumerate(self.outputs):
            output_name = out.output_name or f"output-{i + 1}"
            if out.destination is None:
                defaults[output_name] = with_tokens(Join(on="/", values=[
                    f"s3://{context.bucket}/{context.pipeline_name}",
                    ExecutionVariables.PIPELINE_EXECUTION_ID, self.name, "output",
                    output_name]))
        spec = self._spec(code_uri, defaults)
        image = self.processor.image_uri
        if image is None:
            from ..sagemaker_api.images import image_instance_type, resolve_image_uri

            # Processing runs the framework's training image, as the SDK's processors do.
            image = resolve_image_uri(self.processor.framework,
                                      self.processor.framework_version, context.region,
                                      image_instance_type(self.processor.instance_type),
                                      scope="training")
        request = create_processing_job_request(spec, role_arn=context.role_arn,
                                                image_uri=image)
        request.pop("ProcessingJobName")  # the pipeline names the job
        variable_count = getattr(self.processor, "instance_count_variable", None)
        if variable_count is not None:
            request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = variable_count
        restored: dict[str, Any] = restore_variables(expression(request))
        return restored

    def definition(self, context: CompileContext) -> dict[str, Any]:
        entry = super().definition(context)
        if self.property_files:
            entry["PropertyFiles"] = [p.definition() for p in self.property_files]
        return entry


def _model_image(model: Model, region: str, *instance_types: Any) -> str:
    """The model's image, or its framework's inference image for the first plain instance
    type given (a GPU type gets the GPU image)."""
    if model.image_uri:
        return model.image_uri
    if model.framework:
        from ..sagemaker_api.images import image_instance_type, resolve_image_uri

        return resolve_image_uri(model.framework, model.framework_version, region,
                                 image_instance_type(*instance_types), scope="inference")
    raise ValidationError("model.image_uri: a pipeline step runs on SageMaker too, which "
                          "needs an image; pass image_uri= or framework= to the Model",
                          field="model.image_uri")


def _model_environment(model: Model, context: CompileContext) -> tuple[dict[str, str],
                                                                        str | None]:
    """The serving environment (SAGEMAKER_PROGRAM...) and the code archive's URI."""
    source = (context.code_archive(Path(model.source_dir), "sourcedir.tar.gz")
              if model.source_dir is not None else None)
    environment = dict(model.environment)
    if model.entry_point:
        environment.setdefault("SAGEMAKER_PROGRAM", model.entry_point)
    if source:
        environment.setdefault("SAGEMAKER_SUBMIT_DIRECTORY", source)
    environment.setdefault("SAGEMAKER_REGION", context.region)
    return environment, source


def _check_model(model: Any) -> None:
    from ..models import Model as _Model

    if not isinstance(model, _Model):
        raise ValidationError(f"model: expected an mlopskit.Model, got {type(model).__name__}",
                              field="model")


class ModelStep(Step):
    """Create a SageMaker Model (CreateModel) from a :class:`~mlopskit.Model`, whose
    ``model_data`` may be another step's output (``train.properties.model_data``).

    Example:
        >>> import json, mlopskit, tempfile
        >>> from mlopskit.pipeline import ModelStep, Pipeline
        >>> model = mlopskit.Model(Properties("Train").ModelArtifacts.S3ModelArtifacts,
        ...                        image_uri="example.com/serve:1")
        >>> step = ModelStep("CreateModel", model)
        >>> p = Pipeline("demo", steps=[step],
        ...              session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> json.loads(p.definition())["Steps"][0]["Arguments"]["PrimaryContainer"]["ModelDataUrl"]
        {'Get': 'Steps.Train.ModelArtifacts.S3ModelArtifacts'}
        >>> step.properties.model_name.expr
        {'Get': 'Steps.CreateModel.ModelName'}
    """

    step_type = "Model"

    def __init__(self, name: str, model: Model, *, instance_type: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        _check_model(model)
        self.model = model
        # Where the model will be served: picks a CPU or GPU image for a framework= model.
        self.instance_type = instance_type

    @property
    def properties(self) -> ModelProperties:
        return ModelProperties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.serving import create_model_request
        from ..specs._common import build
        from ..specs.serving import DeployedModelSpec

        environment, _ = _model_environment(self.model, context)
        spec = build(DeployedModelSpec, "model.", name="pipeline-model",
                     image_uri=_model_image(self.model, context.region, self.instance_type),
                     model_data=self.model.model_data, environment=environment)
        request = create_model_request(spec, role_arn=context.role_arn)
        request.pop("ModelName")  # the pipeline names the model
        restored: dict[str, Any] = restore_variables(request)
        return restored


class RegisterModelStep(Step):
    """Register a model version in a model package group (CreateModelPackage).

    ``model_metrics`` is the S3 URI of a JSON report (``{"...metrics": {"acc": {"value":
    0.93}}}``, e.g. an evaluation step's output); ``approval_status`` may be a parameter.

    Example:
        >>> import json, mlopskit, tempfile
        >>> from mlopskit.pipeline import ParameterString, Pipeline, RegisterModelStep
        >>> approval = ParameterString("Approval", default_value="PendingManualApproval")
        >>> model = mlopskit.Model("s3://bucket/model.tar.gz", image_uri="example.com/serve:1")
        >>> register = RegisterModelStep("Register", "churn-models", model,
        ...                              approval_status=approval)
        >>> p = Pipeline("demo", parameters=[approval], steps=[register],
        ...              session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> json.loads(p.definition())["Steps"][0]["Arguments"]["ModelApprovalStatus"]
        {'Get': 'Parameters.Approval'}
    """

    step_type = "RegisterModel"

    def __init__(self, name: str, group: ModelPackageGroup | str, model: Model, *,
                 approval_status: Any = "PendingManualApproval",
                 model_metrics: Any = None, content_types: Sequence[str] = ("text/csv",),
                 response_types: Sequence[str] = ("text/csv",),
                 inference_instance_types: Sequence[str] = (),
                 transform_instance_types: Sequence[str] = (),
                 description: str | None = None, metadata: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        _check_model(model)
        self.group = group if isinstance(group, str) else group.name
        self.model = model
        self.approval_status = approval_status
        self.model_metrics = model_metrics
        self.content_types = tuple(content_types)
        self.response_types = tuple(response_types)
        self.inference_instance_types = tuple(inference_instance_types)
        self.transform_instance_types = tuple(transform_instance_types)
        if description is not None and not isinstance(description, str):
            raise ValidationError(f"description: a plain string, got "
                                  f"{type(description).__name__}", field="description")
        self.description = description
        self.metadata = dict(metadata or {})
        self._spec(source=None)  # every plain value checked now

    def _spec(self, source: str | None) -> Any:
        from ..specs._common import build
        from ..specs.registry import ApprovalStatus, ModelPackageSpec

        status = self.approval_status
        if not isinstance(status, PipelineVariable):
            try:
                status = ApprovalStatus.parse(status)
            except ValueError as exc:
                raise ValidationError(f"approval_status: {exc}",
                                      field="approval_status") from None
        else:
            status = ApprovalStatus.PENDING  # checked when the pipeline runs
        return build(ModelPackageSpec, "", group=self.group,
                     model=self.model._spec_values(source), approval_status=status,
                     content_types=self.content_types, response_types=self.response_types,
                     inference_instance_types=self.inference_instance_types,
                     transform_instance_types=self.transform_instance_types,
                     description=self.description, metadata=self.metadata)

    @property
    def properties(self) -> RegisterModelProperties:
        return RegisterModelProperties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.registry import create_model_package_request
        from ..specs._common import with_tokens

        _, source = _model_environment(self.model, context)
        spec = self._spec(source)
        metrics = with_tokens(self.model_metrics) if self.model_metrics is not None else \
            f"s3://{context.bucket}/placeholder"
        image = _model_image(self.model, context.region, *self.inference_instance_types,
                             *self.transform_instance_types)
        request = create_model_package_request(spec, image_uri=image, metrics_uri=metrics,
                                               region=context.region)
        if self.model_metrics is None:
            request.pop("ModelMetrics")
        if isinstance(self.approval_status, PipelineVariable):
            request["ModelApprovalStatus"] = self.approval_status
        restored: dict[str, Any] = restore_variables(expression(request))
        return restored


class TransformStep(_Cacheable):
    """Run a batch transform (CreateTransformJob) with ``transformer``'s settings on
    ``data``, against ``model_name`` (e.g. ``model_step.properties.model_name``).

    Example:
        >>> import mlopskit
        >>> model = mlopskit.Model("s3://bucket/model.tar.gz", image_uri="example.com/serve:1")
        >>> create = ModelStep("CreateModel", model)
        >>> score = TransformStep("Score", model.transformer(1, "ml.m5.large"),
        ...                       "s3://bucket/batch/", model_name=create.properties.model_name)
        >>> score.properties.output_path.expr
        {'Get': 'Steps.Score.TransformOutput.S3OutputPath'}
    """

    step_type = "Transform"

    def __init__(self, name: str, transformer: Transformer, data: Any, *, model_name: Any,
                 content_type: str = "text/csv", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        from ..serving.transform import Transformer as _Transformer

        if not isinstance(transformer, _Transformer):
            raise ValidationError(f"transformer: expected an mlopskit Transformer (from "
                                  f"model.transformer(...)), got {type(transformer).__name__}",
                                  field="transformer")
        self.transformer = transformer
        self.data = data
        self.model_name = model_name
        self.content_type = content_type
        self._spec("s3://placeholder-bucket/out")  # every plain value checked now

    def _spec(self, output_path: str) -> Any:
        from ..specs._common import with_tokens

        base = re.sub(r"[^a-zA-Z0-9-]+", "-", self.name).strip("-") or "step"
        return self.transformer._spec(base, with_tokens(self.model_name),
                                      with_tokens(self.data),
                                      self.transformer.output_path or output_path,
                                      self.content_type)

    @property
    def properties(self) -> TransformProperties:
        return TransformProperties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        from ..sagemaker_api.transform import create_transform_job_request

        default_output = Join(on="/", values=[
            f"s3://{context.bucket}/{context.pipeline_name}",
            ExecutionVariables.PIPELINE_EXECUTION_ID, self.name])
        request = create_transform_job_request(self._spec("s3://placeholder-bucket/out"))
        request.pop("TransformJobName")
        if self.transformer.output_path is None:
            request["TransformOutput"]["S3OutputPath"] = default_output
        restored: dict[str, Any] = restore_variables(expression(request))
        return restored


class FailStep(Step):
    """End the execution as Failed, with ``error_message`` (a string or variable).

    Example:
        >>> import json, mlopskit, tempfile
        >>> from mlopskit.pipeline import FailStep, ParameterFloat, Pipeline
        >>> bar = ParameterFloat("Bar", default_value=0.8)
        >>> p = Pipeline("demo", parameters=[bar],
        ...              steps=[FailStep("TooWeak", Join(on=" ", values=["below", bar]))],
        ...              session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> json.loads(p.definition())["Steps"][0]["Arguments"]
        {'ErrorMessage': {'Std:Join': {'On': ' ', 'Values': ['below', {'Get': 'Parameters.Bar'}]}}}
    """

    step_type = "Fail"

    def __init__(self, name: str, error_message: Any = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        if error_message is not None and not isinstance(error_message, (str, PipelineVariable)):
            raise ValidationError("error_message: a string or pipeline variable",
                                  field="error_message")
        self.error_message = error_message

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        if self.error_message is None:
            return {}
        return {"ErrorMessage": expression(self.error_message)}


class ConditionStep(Step):
    """Run ``if_steps`` when every condition holds, ``else_steps`` otherwise.

    The branch steps belong to this step: they are written inside its ``Arguments`` (as the
    SageMaker SDK writes them) and not listed again among the pipeline's steps.

    Example:
        >>> import json, mlopskit, tempfile
        >>> from mlopskit.pipeline import ConditionStep, FailStep, LessThan, ParameterFloat
        >>> from mlopskit.pipeline import Pipeline
        >>> loss = ParameterFloat("Loss", default_value=0.5)
        >>> gate = ConditionStep("Gate", [LessThan(loss, 0.3)],
        ...                      else_steps=[FailStep("TooHigh", "loss too high")])
        >>> p = Pipeline("demo", parameters=[loss], steps=[gate],
        ...              session=mlopskit.LocalSession(root=tempfile.mkdtemp()))
        >>> steps = json.loads(p.definition())["Steps"]
        >>> [s["Name"] for s in steps], steps[0]["Arguments"]["ElseSteps"][0]["Type"]
        (['Gate'], 'Fail')
    """

    step_type = "Condition"

    def __init__(self, name: str, conditions: Sequence[Condition],
                 if_steps: Sequence[Step] = (), else_steps: Sequence[Step] = (),
                 **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        if not conditions or not all(isinstance(c, Condition) for c in conditions):
            raise ValidationError("conditions: a non-empty list of conditions (Equals, "
                                  "GreaterThan, ..., In, Not, Or)", field="conditions")
        for label, steps in (("if_steps", if_steps), ("else_steps", else_steps)):
            if not all(isinstance(s, Step) for s in steps):
                raise ValidationError(f"{label}: a list of steps", field=label)
        self.conditions = list(conditions)
        self.if_steps = list(if_steps)
        self.else_steps = list(else_steps)

    @property
    def properties(self) -> Properties:
        return Properties(self.name)

    def arguments(self, context: CompileContext) -> dict[str, Any]:
        return {"Conditions": [c.definition() for c in self.conditions],
                "IfSteps": [s.definition(context) for s in self.if_steps],
                "ElseSteps": [s.definition(context) for s in self.else_steps]}


class RawStep(Step):
    """A step read from a definition, written back exactly as it was read."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise ValidationError("Steps: each step is a JSON object", field="Steps")
        super().__init__(data.get("Name"),  # type: ignore[arg-type]
                         depends_on=data.get("DependsOn") or ())
        self.data = dict(data)
        self.step_type = str(data.get("Type"))  # type: ignore[misc]
        self.property_files = [
            PropertyFile(p.get("PropertyFileName", ""), p.get("OutputName", ""),
                         p.get("FilePath", ""))
            for p in data.get("PropertyFiles") or ()]
        if self.step_type == "Condition":
            arguments = data.get("Arguments") or {}
            for i, condition in enumerate(arguments.get("Conditions") or ()):
                condition_from_definition(condition, f"{self.name}.Conditions[{i}]")
            self.if_steps = [RawStep(s) for s in arguments.get("IfSteps") or ()]
            self.else_steps = [RawStep(s) for s in arguments.get("ElseSteps") or ()]

    def definition(self, context: CompileContext) -> dict[str, Any]:
        return dict(self.data)
