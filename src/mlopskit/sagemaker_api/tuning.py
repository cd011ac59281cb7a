"""CreateHyperParameterTuningJob both ways, and DescribeHyperParameterTuningJob read.

- ``create_tuning_job_request(spec, *, role_arn, region, image_uri)``: the request for a
  :class:`~mlopskit.specs.tuning.TuningJobSpec`. Its ``TrainingJobDefinition`` is made from
  the ``CreateTrainingJob`` request of the spec's training template
  (:func:`.training.create_training_job_request`), so both kinds of job send the same
  algorithm, channels, output, resources and stopping condition. ``StaticHyperParameters``
  is that request's ``HyperParameters`` less the tuned names (the spec refuses a name that
  is both, so this only guards). Range bounds are sent as strings (``str`` of the number);
  categorical values JSON-encoded, as the framework estimators' hyperparameters are.
  ``Tags`` are the tuning spec's (SageMaker gives a tuning job's tags to its training
  jobs); the training template's own tags are not sent.
- ``tuning_spec_from_request(request, *, name)``: a resolved request back to the spec (what
  the local pipeline engine needs for a TuningStep). Refused: ``TrainingJobDefinitions``
  (several definitions), ``Autotune``, ``AutoParameters``,
  ``HyperParameterTuningResourceConfig.InstanceConfigs``; the training definition follows
  :func:`.training.training_spec_from_request`'s rules (its errors name
  ``TrainingJobDefinition.*`` fields), with ``HyperParameterTuningResourceConfig`` (what the
  SDK sends) read as ``ResourceConfig`` when that is absent.
- ``tuning_description_fields(response)``: a ``DescribeHyperParameterTuningJob`` response as
  plain values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ..errors import CapabilityError, ValidationError
from ..specs.training import TrainingJobSpec, decode_hyperparameter
from ..specs.tuning import TuningJobSpec
from . import _reading as _r
from .responses import aware_time
from .training import create_training_job_request, training_spec_from_request

__all__ = ["create_tuning_job_request", "encode_categorical",
           "tuning_description_fields", "tuning_spec_from_request"]

# CreateTrainingJob fields that have the same name and shape in a training job definition.
_DEFINITION_FIELDS = ("AlgorithmSpecification", "RoleArn", "InputDataConfig",
                      "OutputDataConfig", "ResourceConfig", "StoppingCondition", "Environment")


def _number(value: float) -> str:
    """A range bound as SageMaker takes it: the number's text (``0.1``, ``5``)."""
    return str(value)


def create_tuning_job_request(spec: TuningJobSpec, *, role_arn: str, region: str,
                              image_uri: str) -> dict[str, Any]:
    """The ``CreateHyperParameterTuningJob`` request for ``spec``.

    Example:
        >>> from mlopskit.specs import build
        >>> training = build(TrainingJobSpec, name="tune-1", entry_point="train.py",
        ...     source_uri="s3://bkt/src.tar.gz", instance_type="ml.m5.large",
        ...     output_path="s3://bkt/out", hyperparameters={"epochs": 3},
        ...     metric_definitions=[{"name": "auc", "regex": "auc=([0-9.]+)"}])
        >>> spec = build(TuningJobSpec, name="tune-1", training=training, max_jobs=4,
        ...     ranges={"lr": {"kind": "continuous", "min_value": 0.01, "max_value": 0.1},
        ...             "kernel": {"kind": "categorical", "values": ["rbf", "linear"]}},
        ...     objective={"metric_name": "auc"}, strategy="Random", random_seed=7)
        >>> request = create_tuning_job_request(spec, role_arn="arn:aws:iam::1:role/r",
        ...                                     region="us-east-1", image_uri="img:1")
        >>> ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
        >>> ranges["ContinuousParameterRanges"][0]["MaxValue"]
        '0.1'
        >>> ranges["CategoricalParameterRanges"][0]["Values"]
        ['"rbf"', '"linear"']
        >>> request["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"]
        '3'
    """
    training = create_training_job_request(spec.training, role_arn=role_arn, region=region,
                                           image_uri=image_uri)
    continuous: list[dict[str, Any]] = []
    integer: list[dict[str, Any]] = []
    categorical: list[dict[str, Any]] = []
    for name, item in spec.ranges.items():
        if item.kind == "categorical":
            categorical.append({"Name": name, "Values": [
                encode_categorical(value) for value in item.values]})
        else:
            target = continuous if item.kind == "continuous" else integer
            target.append({"Name": name, "MinValue": _number(item.min_value),
                           "MaxValue": _number(item.max_value),
                           "ScalingType": item.scaling_type})
    config: dict[str, Any] = {
        "Strategy": spec.strategy,
        "HyperParameterTuningJobObjective": {"Type": spec.objective.type,
                                             "MetricName": spec.objective.metric_name},
        "ResourceLimits": {"MaxParallelTrainingJobs": spec.max_parallel_jobs},
        "ParameterRanges": {"ContinuousParameterRanges": continuous,
                            "IntegerParameterRanges": integer,
                            "CategoricalParameterRanges": categorical},
        "TrainingJobEarlyStoppingType": spec.early_stopping_type,
    }
    if spec.max_jobs is not None:
        config["ResourceLimits"]["MaxNumberOfTrainingJobs"] = spec.max_jobs
    if spec.max_runtime is not None:
        config["ResourceLimits"]["MaxRuntimeInSeconds"] = spec.max_runtime
    if spec.hyperband is not None:
        config["StrategyConfig"] = {"HyperbandStrategyConfig": {
            "MinResource": spec.hyperband.min_resource,
            "MaxResource": spec.hyperband.max_resource}}
    if spec.random_seed is not None:
        config["RandomSeed"] = spec.random_seed
    criteria = spec.completion_criteria
    if criteria is not None:
        completion: dict[str, Any] = {}
        if criteria.target_objective_value is not None:
            completion["TargetObjectiveMetricValue"] = criteria.target_objective_value
        if criteria.max_jobs_not_improving is not None:
            completion["BestObjectiveNotImproving"] = {
                "MaxNumberOfTrainingJobsNotImproving": criteria.max_jobs_not_improving}
        if criteria.complete_on_convergence is not None:
            completion["ConvergenceDetected"] = {"CompleteOnConvergence": (
                "Enabled" if criteria.complete_on_convergence else "Disabled")}
        if completion:
            config["TuningJobCompletionCriteria"] = completion
    definition: dict[str, Any] = {
        "StaticHyperParameters": {key: value for key, value in
                                  training["HyperParameters"].items()
                                  if key not in spec.ranges},
    }
    definition.update({key: training[key] for key in _DEFINITION_FIELDS if key in training})
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": spec.name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
    }
    if spec.warm_start is not None:
        request["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}
                                               for parent in spec.warm_start.parents],
            "WarmStartType": spec.warm_start.type}
    if spec.tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
    return request


def encode_categorical(value: Any) -> str:
    """A categorical value as sent: JSON text (``"rbf"`` -> ``'"rbf"'``, ``5`` -> ``'5'``).

    Example:
        >>> encode_categorical("rbf"), encode_categorical(5), encode_categorical(True)
        ('"rbf"', '5', 'true')
    """
    return json.dumps(value)


# -- reading a request back ----------------------------------------------------------------

_TOP_READ = ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig",
             "TrainingJobDefinition", "WarmStartConfig", "Tags")
_TOP_REFUSED = {
    "TrainingJobDefinitions": "a tuning job over several training definitions is not "
                              "read; give one TrainingJobDefinition",
    "Autotune": "Autotune lets SageMaker choose the ranges; give ParameterRanges",
}
_CONFIG_READ = ("Strategy", "StrategyConfig", "HyperParameterTuningJobObjective",
                "ResourceLimits", "ParameterRanges", "TrainingJobEarlyStoppingType",
                "TuningJobCompletionCriteria", "RandomSeed")
_DEFINITION_READ = ("StaticHyperParameters", *_DEFINITION_FIELDS)
_DEFINITION_IGNORED = ("DefinitionName", "VpcConfig", "EnableNetworkIsolation",
                       "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining",
                       "RetryStrategy")
_DEFINITION_READ_TOO = ("HyperParameterTuningResourceConfig",)
_DEFINITION_REFUSED = {
    "TuningObjective": "a per-definition objective belongs to TrainingJobDefinitions",
    "HyperParameterRanges": "per-definition ranges belong to TrainingJobDefinitions",
    "CheckpointConfig": "the local backend does not sync a checkpoint folder with S3",
}


def _range_items(ranges: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
    items = _r.request_list(ranges.get(key), f"{path}.{key}")
    return [_r.request_object(item, _r.request_path(f"{path}.{key}", index),
                              read=("Name", "MinValue", "MaxValue", "ScalingType", "Values"))
            for index, item in enumerate(items)]


_CONFIG = "HyperParameterTuningJobConfig"
# Spec field -> request path, and a nested spec's fields -> the request's names.
_TUNING_FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "name": ("HyperParameterTuningJobName", {}),
    "training": ("TrainingJobDefinition", {}),
    "objective": (f"{_CONFIG}.HyperParameterTuningJobObjective",
                  {"metric_name": "MetricName", "type": "Type"}),
    "strategy": (f"{_CONFIG}.Strategy", {}),
    "max_jobs": (f"{_CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs", {}),
    "max_parallel_jobs": (f"{_CONFIG}.ResourceLimits.MaxParallelTrainingJobs", {}),
    "max_runtime": (f"{_CONFIG}.ResourceLimits.MaxRuntimeInSeconds", {}),
    "early_stopping_type": (f"{_CONFIG}.TrainingJobEarlyStoppingType", {}),
    "random_seed": (f"{_CONFIG}.RandomSeed", {}),
    "hyperband": (f"{_CONFIG}.StrategyConfig.HyperbandStrategyConfig",
                  {"min_resource": "MinResource", "max_resource": "MaxResource"}),
    "warm_start": ("WarmStartConfig", {"parents": "ParentHyperParameterTuningJobs",
                                       "type": "WarmStartType"}),
    "completion_criteria": (f"{_CONFIG}.TuningJobCompletionCriteria", {
        "target_objective_value": "TargetObjectiveMetricValue",
        "max_jobs_not_improving": "BestObjectiveNotImproving."
                                  "MaxNumberOfTrainingJobsNotImproving",
        "complete_on_convergence": "ConvergenceDetected.CompleteOnConvergence"}),
    "tags": ("Tags", {}),
}
_RANGE_FIELDS = {"min_value": "MinValue", "max_value": "MaxValue",
                 "scaling_type": "ScalingType", "values": "Values"}
_RANGE_LISTS = {"continuous": "ContinuousParameterRanges", "integer": "IntegerParameterRanges",
                "categorical": "CategoricalParameterRanges"}


def _tuning_locator(where: Mapping[str, str]) -> _r.Locator:
    """Where a :class:`TuningJobSpec` error is in the request; ``where`` maps a range's
    name to its item's path."""
    def locate(loc: tuple[Any, ...], message: str) -> tuple[str, str]:
        if not loc:
            return "request", message
        head, rest = str(loc[0]), [str(part) for part in loc[1:]]
        if head == "ranges":
            if not rest:
                return f"{_CONFIG}.ParameterRanges", message
            path = where.get(rest[0], f"{_CONFIG}.ParameterRanges.{rest[0]}")
            inner = rest[2:] if len(rest) > 1 and rest[1] in _RANGE_LISTS else rest[1:]
            for part in inner:
                path = _r.request_path(path, _RANGE_FIELDS.get(part, part))
            return path, message
        base, names = _TUNING_FIELDS.get(head, (head, {}))
        path = base
        for part in rest:
            path = _r.request_path(path, names.get(part, part))
        return path, message

    return locate


def _bound(text: Any, path: str, kind: type) -> Any:
    try:
        return kind(str(text))
    except ValueError:
        raise ValidationError(f"{path}: {text!r} is not a {kind.__name__} as text",
                              field=path) from None


def _tuning_resources(value: Any) -> Any:
    """``HyperParameterTuningResourceConfig`` (what the SDK sends) as a ``ResourceConfig``:
    one instance type, count and volume; a list of instance configs is refused."""
    if value is None:
        return None
    path = "TrainingJobDefinition.HyperParameterTuningResourceConfig"
    resources = _r.request_object(value, path, read=(
        "InstanceType", "InstanceCount", "VolumeSizeInGB"), ignored=(
        "VolumeKmsKeyId", "AllocationStrategy"), refused={
        "InstanceConfigs": "several instance types for one tuning job are not read; give "
                           "one InstanceType and InstanceCount"})
    return dict(resources)


def _in_definition(error: ValidationError | CapabilityError) -> Exception:
    """The training reader's error, with its request paths inside TrainingJobDefinition."""
    def moved(text: str) -> str:
        text = re.sub(r"\bHyperParameters\b", "StaticHyperParameters", text)
        return f"TrainingJobDefinition.{text}"

    if isinstance(error, ValidationError):
        return ValidationError(moved(str(error)),
                               field=moved(error.field) if error.field else None)
    return CapabilityError(moved(str(error)))


def tuning_spec_from_request(request: Mapping[str, Any], *, name: str) -> TuningJobSpec:
    """The :class:`~mlopskit.specs.tuning.TuningJobSpec` a resolved request asks for.

    ``name`` names the tuning job (and its training template), as the pipeline engine
    names every job.

    Example:
        >>> spec = tuning_spec_from_request({
        ...     "HyperParameterTuningJobConfig": {
        ...         "Strategy": "Random", "ResourceLimits": {
        ...             "MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        ...         "HyperParameterTuningJobObjective": {"Type": "Minimize",
        ...                                              "MetricName": "loss"},
        ...         "ParameterRanges": {"IntegerParameterRanges": [
        ...             {"Name": "epochs", "MinValue": "1", "MaxValue": "9"}]}},
        ...     "TrainingJobDefinition": {
        ...         "AlgorithmSpecification": {"TrainingImage": "img:1",
        ...             "TrainingInputMode": "File",
        ...             "MetricDefinitions": [{"Name": "loss", "Regex": "loss=(.*)"}]},
        ...         "StaticHyperParameters": {"sagemaker_program": '"train.py"',
        ...             "sagemaker_submit_directory": '"s3://bkt/src.tar.gz"'},
        ...         "RoleArn": "arn:aws:iam::123456789012:role/r",
        ...         "OutputDataConfig": {"S3OutputPath": "s3://bkt/out"},
        ...         "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        ...         "StoppingCondition": {"MaxRuntimeInSeconds": 600}}}, name="tune-2")
        >>> spec.ranges["epochs"].max_value, spec.max_parallel_jobs
        (9, 2)
    """
    top = _r.request_object(request, "", read=_TOP_READ, refused=_TOP_REFUSED)
    config = _r.request_object(top.get("HyperParameterTuningJobConfig"),
                               "HyperParameterTuningJobConfig", read=_CONFIG_READ,
                               required=True)
    path = "HyperParameterTuningJobConfig"
    definition = _r.request_object(top.get("TrainingJobDefinition"), "TrainingJobDefinition",
                                   read=(*_DEFINITION_READ, *_DEFINITION_READ_TOO),
                                   ignored=_DEFINITION_IGNORED,
                                   refused=_DEFINITION_REFUSED, required=True)
    training_request = {key: definition[key] for key in _DEFINITION_FIELDS
                        if definition.get(key) is not None}
    if "ResourceConfig" not in training_request:
        training_request["ResourceConfig"] = _tuning_resources(
            definition.get("HyperParameterTuningResourceConfig"))
    training_request["HyperParameters"] = definition.get("StaticHyperParameters") or {}
    try:
        training: TrainingJobSpec = training_spec_from_request(training_request, name=name)
    except (ValidationError, CapabilityError) as error:
        raise _in_definition(error) from None

    ranges_path = f"{path}.ParameterRanges"
    ranges_in = _r.request_object(config.get("ParameterRanges"), ranges_path, read=(
        "ContinuousParameterRanges", "IntegerParameterRanges", "CategoricalParameterRanges"),
        refused={"AutoParameters": "Autotune's parameters are not read; give ranges"})
    ranges: dict[str, Any] = {}
    places: dict[str, str] = {}

    def add(item: Mapping[str, Any], where: str, value: dict[str, Any]) -> None:
        name = item.get("Name")
        if not isinstance(name, str):
            raise ValidationError(f"{where}.Name: required, a string", field=f"{where}.Name")
        if name in places:
            raise ValidationError(f"{where}.Name: {name!r} is also searched at {places[name]}; "
                                  "allowed: one range per hyperparameter",
                                  field=f"{where}.Name")
        places[name] = where
        ranges[name] = value

    for key, kind, number in (("ContinuousParameterRanges", "continuous", float),
                              ("IntegerParameterRanges", "integer", int)):
        for index, item in enumerate(_range_items(ranges_in, key, ranges_path)):
            where = _r.request_path(f"{ranges_path}.{key}", index)
            add(item, where, _r.request_compact({
                "kind": kind,
                "min_value": _bound(item.get("MinValue"), f"{where}.MinValue", number),
                "max_value": _bound(item.get("MaxValue"), f"{where}.MaxValue", number),
                "scaling_type": item.get("ScalingType")}))
    key = "CategoricalParameterRanges"
    for index, item in enumerate(_range_items(ranges_in, key, ranges_path)):
        values = [decode_hyperparameter(str(v)) for v in
                  _r.request_list(item.get("Values"), f"{ranges_path}.{key}.Values")]
        add(item, _r.request_path(f"{ranges_path}.{key}", index),
            {"kind": "categorical", "values": values})

    objective = _r.request_object(config.get("HyperParameterTuningJobObjective"),
                                  f"{path}.HyperParameterTuningJobObjective",
                                  read=("Type", "MetricName"), required=True)
    limits = _r.request_object(config.get("ResourceLimits"), f"{path}.ResourceLimits",
                               read=("MaxNumberOfTrainingJobs", "MaxParallelTrainingJobs",
                                     "MaxRuntimeInSeconds"), required=True)
    hyperband = None
    if config.get("StrategyConfig") is not None:
        strategy_config = _r.request_object(config.get("StrategyConfig"),
                                            f"{path}.StrategyConfig",
                                            read=("HyperbandStrategyConfig",))
        band = _r.request_object(strategy_config.get("HyperbandStrategyConfig"),
                                 f"{path}.StrategyConfig.HyperbandStrategyConfig",
                                 read=("MinResource", "MaxResource"), required=True)
        hyperband = {"min_resource": band.get("MinResource"),
                     "max_resource": band.get("MaxResource")}
    criteria = None
    if config.get("TuningJobCompletionCriteria") is not None:
        where = f"{path}.TuningJobCompletionCriteria"
        raw = _r.request_object(config.get("TuningJobCompletionCriteria"), where, read=(
            "TargetObjectiveMetricValue", "BestObjectiveNotImproving", "ConvergenceDetected"))
        improving = _r.request_object(raw.get("BestObjectiveNotImproving"),
                                      f"{where}.BestObjectiveNotImproving",
                                      read=("MaxNumberOfTrainingJobsNotImproving",))
        convergence = _r.request_object(raw.get("ConvergenceDetected"),
                                        f"{where}.ConvergenceDetected",
                                        read=("CompleteOnConvergence",))
        mode = convergence.get("CompleteOnConvergence")
        criteria = _r.request_compact({
            "target_objective_value": raw.get("TargetObjectiveMetricValue"),
            "max_jobs_not_improving": improving.get("MaxNumberOfTrainingJobsNotImproving"),
            "complete_on_convergence": None if mode is None else mode == "Enabled"})
    warm = None
    if top.get("WarmStartConfig") is not None:
        warm_in = _r.request_object(top.get("WarmStartConfig"), "WarmStartConfig",
                                    read=("ParentHyperParameterTuningJobs", "WarmStartType"))
        parents = [_r.request_object(item, _r.request_path(
                       "WarmStartConfig.ParentHyperParameterTuningJobs", index),
                       read=("HyperParameterTuningJobName",)).get(
                           "HyperParameterTuningJobName")
                   for index, item in enumerate(_r.request_list(
                       warm_in.get("ParentHyperParameterTuningJobs"),
                       "WarmStartConfig.ParentHyperParameterTuningJobs"))]
        warm = _r.request_compact({"parents": parents, "type": warm_in.get("WarmStartType")})
    data = _r.request_compact({
        "name": name, "training": training, "ranges": ranges,
        "objective": _r.request_compact({"metric_name": objective.get("MetricName"),
                                         "type": objective.get("Type")}),
        "strategy": config.get("Strategy"),
        "max_jobs": limits.get("MaxNumberOfTrainingJobs"),
        "max_parallel_jobs": limits.get("MaxParallelTrainingJobs"),
        "max_runtime": limits.get("MaxRuntimeInSeconds"),
        "early_stopping_type": config.get("TrainingJobEarlyStoppingType"),
        "random_seed": config.get("RandomSeed"),
        "hyperband": hyperband, "warm_start": warm, "completion_criteria": criteria,
        "tags": _r.request_tags(top.get("Tags"), "Tags"),
    })
    return _r.request_validate(TuningJobSpec, data, _tuning_locator(places))


# -- reading a description ------------------------------------------------------------------


_COUNTERS = ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped")


def tuning_description_fields(response: Mapping[str, Any]) -> dict[str, Any]:
    """A ``DescribeHyperParameterTuningJob`` response as the fields of the description
    every backend reports (``name``, ``arn``, ``status``, ``failure_reason``,
    ``strategy``, ``objective_metric``, ``objective_type``, ``best_training_job``,
    ``best_objective``, a warm start job's ``overall_best_training_job`` and
    ``overall_best_objective``, the times) plus ``counts``, SageMaker's
    ``TrainingJobStatusCounters``.

    Example:
        >>> d = tuning_description_fields({
        ...     "HyperParameterTuningJobName": "tune-1",
        ...     "HyperParameterTuningJobStatus": "Completed",
        ...     "TrainingJobStatusCounters": {"Completed": 4, "Stopped": 1},
        ...     "BestTrainingJob": {"TrainingJobName": "tune-1-003-abc",
        ...         "FinalHyperParameterTuningJobObjectiveMetric": {
        ...             "MetricName": "auc", "Value": 0.91}}})
        >>> d["status"], d["best_training_job"], d["best_objective"], d["counts"]["Completed"]
        ('Completed', 'tune-1-003-abc', 0.91, 4)
    """
    if not isinstance(response, Mapping) or "HyperParameterTuningJobStatus" not in response:
        raise ValidationError("not a DescribeHyperParameterTuningJob response: no "
                              "HyperParameterTuningJobStatus",
                              field="HyperParameterTuningJobStatus")
    counters = response.get("TrainingJobStatusCounters") or {}
    best = response.get("BestTrainingJob") or {}
    value = (best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get("Value")
    overall = response.get("OverallBestTrainingJob") or {}
    overall_value = (overall.get("FinalHyperParameterTuningJobObjectiveMetric") or {}).get(
        "Value")
    config = response.get("HyperParameterTuningJobConfig") or {}
    objective = config.get("HyperParameterTuningJobObjective") or {}
    created = aware_time(response.get("CreationTime"))
    return {
        "name": str(response.get("HyperParameterTuningJobName", "")),
        "arn": str(response.get("HyperParameterTuningJobArn", "")),
        "status": str(response["HyperParameterTuningJobStatus"]),
        "failure_reason": response.get("FailureReason") or None,
        "strategy": str(config.get("Strategy", "")),
        "objective_metric": str(objective.get("MetricName", "")),
        "objective_type": str(objective.get("Type", "")),
        "best_training_job": best.get("TrainingJobName"),
        "best_objective": None if value is None else float(value),
        "overall_best_training_job": overall.get("TrainingJobName"),
        "overall_best_objective": None if overall_value is None else float(overall_value),
        "creation_time": created, "start_time": created,
        "end_time": aware_time(response.get("HyperParameterTuningEndTime")),
        "counts": {key: int(counters.get(key, 0)) for key in _COUNTERS},
    }
