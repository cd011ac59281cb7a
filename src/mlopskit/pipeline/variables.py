"""Values that exist only when a pipeline runs: parameters, execution variables, step
properties, ``Join`` and ``JsonGet``.

Each one compiles to the expression SageMaker's pipeline definition uses for it
(``{"Get": "Parameters.X"}``, ``{"Std:Join": ...}``, ``{"Std:JsonGet": ...}``) and can stand
in for a plain value in the step arguments that take one (see docs/pipelines.md).

Example:
    >>> threshold = ParameterFloat("Threshold", default_value=0.8)
    >>> threshold.expr
    {'Get': 'Parameters.Threshold'}
    >>> Join(on="/", values=["s3://bucket", ExecutionVariables.PIPELINE_EXECUTION_ID]).expr
    {'Std:Join': {'On': '/', 'Values': ['s3://bucket', {'Get': 'Execution.PipelineExecutionId'}]}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from ..errors import ValidationError
from ..sagemaker_api.pipeline.parameters import allowed_value, check_name, typed_value

__all__ = [
    "ExecutionVariable",
    "ExecutionVariables",
    "Join",
    "JsonGet",
    "Parameter",
    "ParameterBoolean",
    "ParameterFloat",
    "ParameterInteger",
    "ParameterString",
    "PipelineVariable",
    "Properties",
    "PropertyFile",
    "expression",
]

Kind = Literal["String", "Integer", "Float", "Boolean"]
PROPERTY_FILE_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,256}$")


class PipelineVariable:
    """Base of every run-time value. ``expr`` is its JSON form in a definition.

    A variable has no value while the pipeline is being built, so turning one into a
    string (``str(v)``, an f-string) is refused: build strings with :class:`Join`.

    Example:
        >>> epochs = ParameterInteger("Epochs", default_value=10)
        >>> isinstance(epochs, PipelineVariable), epochs.references()
        (True, ['Parameters.Epochs'])
        >>> epochs.to_string().expr
        {'Std:Join': {'On': '', 'Values': [{'Get': 'Parameters.Epochs'}]}}
        >>> f"epochs={epochs}"
        Traceback (most recent call last):
        ...
        TypeError: ParameterInteger(...) has no value until the pipeline runs; use Join(...
    """

    __mlopskit_variable__: ClassVar[bool] = True
    kind: Kind | None = None  # the type of the value it resolves to, when known

    @property
    def expr(self) -> Any:
        raise NotImplementedError

    def to_string(self) -> Join:
        """This value as a string, inside a definition (``Std:Join`` with no separator)."""
        return Join(on="", values=[self])

    def references(self) -> list[str]:
        """The ``Get`` paths this value reads (parameters, steps, execution variables)."""
        return _gets(self.expr)

    def __str__(self) -> str:
        raise TypeError(f"{self!r} has no value until the pipeline runs; use "
                        "Join(on=..., values=[...]) to build a string from it")

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} has no truth value until the pipeline runs; use a "
                        "ConditionStep to branch on it")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expr!r})"


def expression(value: Any) -> Any:
    """``value`` as it goes into a definition: variables become their expressions."""
    if isinstance(value, PipelineVariable):
        return value.expr
    if isinstance(value, dict):
        return {k: expression(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [expression(v) for v in value]
    return value


def _gets(expr: Any) -> list[str]:
    found: list[str] = []
    if isinstance(expr, dict):
        if set(expr) == {"Get"} and isinstance(expr["Get"], str):
            return [expr["Get"]]
        for value in expr.values():
            found.extend(_gets(value))
    elif isinstance(expr, list):
        for value in expr:
            found.extend(_gets(value))
    return found


# -- parameters ---------------------------------------------------------------------------


class Parameter(PipelineVariable):
    """A named input of the pipeline, with an optional default, overridable per execution."""

    type_name: ClassVar[Kind]

    def __init__(self, name: str, default_value: Any = None) -> None:
        self.name = check_name(name)
        self.default_value = None if default_value is None else self.check(default_value,
                                                                           "default_value")
        self.kind = self.type_name

    def check(self, value: Any, field: str) -> Any:
        """``value`` if it fits this parameter's type; otherwise a ValidationError."""
        return typed_value(self.type_name, self.name, value, field)

    @property
    def expr(self) -> dict[str, str]:
        return {"Get": f"Parameters.{self.name}"}

    def definition(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"Name": self.name, "Type": self.type_name}
        if self.default_value is not None:
            entry["DefaultValue"] = self.default_value
        return entry


class ParameterString(Parameter):
    """A string parameter; ``enum_values`` limits what an execution may pass.

    Example:
        >>> region = ParameterString("Region", default_value="eu-west-1",
        ...                          enum_values=["eu-west-1", "us-east-1"])
        >>> region.definition()
        {'Name': 'Region', 'Type': 'String', 'DefaultValue': 'eu-west-1', \
'EnumValues': ['eu-west-1', 'us-east-1']}
        >>> region.check("ap-south-1", "Region")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: Region: parameter 'Region' allows ...
    """

    type_name = "String"

    def __init__(self, name: str, default_value: str | None = None,
                 enum_values: Sequence[str] | None = None) -> None:
        self.enum_values = list(enum_values) if enum_values is not None else None
        super().__init__(name, default_value)

    def check(self, value: Any, field: str) -> Any:
        return allowed_value(self.name, super().check(value, field), self.enum_values, field)

    def definition(self) -> dict[str, Any]:
        entry = super().definition()
        if self.enum_values is not None:
            entry["EnumValues"] = list(self.enum_values)
        return entry


class ParameterInteger(Parameter):
    """An integer parameter, such as an instance count; ``True`` is not an integer here.

    Example:
        >>> count = ParameterInteger("InstanceCount", default_value=2)
        >>> count.expr, count.definition()
        ({'Get': 'Parameters.InstanceCount'}, {'Name': 'InstanceCount', 'Type': 'Integer', \
'DefaultValue': 2})
        >>> count.check(True, "InstanceCount")
        Traceback (most recent call last):
        ...
        mlopskit.errors.ValidationError: InstanceCount: parameter 'InstanceCount' is an ...
    """

    type_name = "Integer"


class ParameterFloat(Parameter):
    """A number parameter, such as an accuracy threshold; integers are stored as floats.

    Example:
        >>> threshold = ParameterFloat("AccuracyThreshold", default_value=1)
        >>> threshold.default_value, threshold.expr
        (1.0, {'Get': 'Parameters.AccuracyThreshold'})
    """

    type_name = "Float"


class ParameterBoolean(Parameter):
    """A ``True``/``False`` parameter, such as a switch a :class:`~mlopskit.pipeline.Equals`
    condition branches on.

    Example:
        >>> retrain = ParameterBoolean("Retrain", default_value=False)
        >>> retrain.definition()
        {'Name': 'Retrain', 'Type': 'Boolean', 'DefaultValue': False}
        >>> retrain.check(True, "Retrain")
        True
    """

    type_name = "Boolean"


PARAMETER_TYPES: dict[str, type[Parameter]] = {
    "String": ParameterString, "Integer": ParameterInteger, "Float": ParameterFloat,
    "Boolean": ParameterBoolean,
}


def parameter_from_definition(entry: dict[str, Any]) -> Parameter:
    """The parameter a definition's ``Parameters`` entry describes."""
    kind = entry.get("Type", "String")
    if kind not in PARAMETER_TYPES:
        raise ValidationError(f"Parameters: {entry.get('Name')!r} has Type {kind!r}; allowed: "
                              f"{', '.join(PARAMETER_TYPES)}", field="Parameters")
    if kind == "String":
        return ParameterString(entry["Name"], entry.get("DefaultValue"),
                               entry.get("EnumValues"))
    return PARAMETER_TYPES[kind](entry["Name"], entry.get("DefaultValue"))


# -- execution variables ------------------------------------------------------------------


class ExecutionVariable(PipelineVariable):
    """A fact about the running execution (its id, ARN, start time...)."""

    kind = "String"

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def expr(self) -> dict[str, str]:
        return {"Get": f"Execution.{self.name}"}


class ExecutionVariables:
    """The execution variables SageMaker defines.

    Example:
        >>> ExecutionVariables.PIPELINE_EXECUTION_ID.expr
        {'Get': 'Execution.PipelineExecutionId'}
        >>> Join(on="-", values=["run", ExecutionVariables.START_DATETIME]).expr
        {'Std:Join': {'On': '-', 'Values': ['run', {'Get': 'Execution.StartDateTime'}]}}
    """

    START_DATETIME = ExecutionVariable("StartDateTime")
    CURRENT_DATETIME = ExecutionVariable("CurrentDateTime")
    PIPELINE_NAME = ExecutionVariable("PipelineName")
    PIPELINE_ARN = ExecutionVariable("PipelineArn")
    PIPELINE_EXECUTION_ID = ExecutionVariable("PipelineExecutionId")
    PIPELINE_EXECUTION_ARN = ExecutionVariable("PipelineExecutionArn")


# -- functions ----------------------------------------------------------------------------


class Join(PipelineVariable):
    """``values`` joined by ``on`` at run time (each value rendered as a string).

    Example:
        >>> uri = Join(on="/", values=["s3://bucket/models", ParameterString("Version")])
        >>> uri.expr
        {'Std:Join': {'On': '/', 'Values': ['s3://bucket/models', {'Get': 'Parameters.Version'}]}}
        >>> uri.references()
        ['Parameters.Version']
    """

    kind = "String"

    def __init__(self, on: str = "", values: Sequence[Any] = ()) -> None:
        if not isinstance(on, str):
            raise ValidationError(f"on: the separator must be a string, got {on!r}",
                                  field="on")
        self.on = on
        self.values = list(values)

    @property
    def expr(self) -> dict[str, Any]:
        return {"Std:Join": {"On": self.on, "Values": [expression(v) for v in self.values]}}


class PropertyFile:
    """A JSON file a processing step writes to one of its outputs, for ``JsonGet`` to read.

    Pass it to the writing step's ``property_files=``, then read fields of it with
    :class:`JsonGet` (for example in a condition).

    Example:
        >>> report = PropertyFile("EvaluationReport", output_name="evaluation",
        ...                       path="evaluation.json")
        >>> report.definition()
        {'PropertyFileName': 'EvaluationReport', 'OutputName': 'evaluation', \
'FilePath': 'evaluation.json'}
    """

    def __init__(self, name: str, output_name: str, path: str) -> None:
        if not PROPERTY_FILE_NAME.match(name or ""):
            raise ValidationError(f"name: property file name {name!r} must be 1-256 letters, "
                                  "digits, '-' or '_'", field="name")
        if not output_name:
            raise ValidationError("output_name: required (the processing output holding the "
                                  "file)", field="output_name")
        if not path or path.startswith("/"):
            raise ValidationError(f"path: {path!r} must be a relative path inside the output",
                                  field="path")
        self.name, self.output_name, self.path = name, output_name, path

    def definition(self) -> dict[str, str]:
        return {"PropertyFileName": self.name, "OutputName": self.output_name,
                "FilePath": self.path}


class JsonGet(PipelineVariable):
    """The value at ``json_path`` (``a.b[0].c``) in a step's property file, at run time.

    ``step_name`` is the step (or its name) that declares ``property_file``.

    Example:
        >>> report = PropertyFile("Report", output_name="evaluation", path="evaluation.json")
        >>> JsonGet("Evaluate", report, "metrics.accuracy.value").expr
        {'Std:JsonGet': {'PropertyFile': {'Get': 'Steps.Evaluate.PropertyFiles.Report'}, \
'Path': 'metrics.accuracy.value'}}
    """

    def __init__(self, step_name: Any, property_file: PropertyFile | str,
                 json_path: str) -> None:
        self.step_name = step_name if isinstance(step_name, str) else step_name.name
        self.property_file = (property_file if isinstance(property_file, str)
                              else property_file.name)
        if not json_path or not isinstance(json_path, str):
            raise ValidationError("json_path: required, such as 'metrics.accuracy.value'",
                                  field="json_path")
        self.json_path = json_path

    @property
    def expr(self) -> dict[str, Any]:
        return {"Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{self.step_name}.PropertyFiles."
                                    f"{self.property_file}"},
            "Path": self.json_path}}


# -- step properties ----------------------------------------------------------------------


class Properties(PipelineVariable):
    """A field of a step's describe response, read when the step has run.

    Attribute access and indexing extend the path: ``step.properties.ModelArtifacts
    .S3ModelArtifacts``, ``step.properties.FinalMetricDataList['acc'].Value``.

    Example:
        >>> Properties("Train").ModelArtifacts.S3ModelArtifacts.expr
        {'Get': 'Steps.Train.ModelArtifacts.S3ModelArtifacts'}
        >>> Properties("Train").FinalMetricDataList["acc"].Value.expr
        {'Get': "Steps.Train.FinalMetricDataList['acc'].Value"}
    """

    _step: str
    _path: str

    def __init__(self, step_name: str, path: str = "", kind: Kind | None = None) -> None:
        object.__setattr__(self, "_step", step_name)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "kind", kind)

    def __getattr__(self, name: str) -> Properties:
        if name.startswith("_"):
            raise AttributeError(name)
        return Properties(self._step, f"{self._path}.{name}" if self._path else name)

    def __getitem__(self, key: str | int) -> Properties:
        if not self._path:
            raise TypeError("index a field of the step's properties, not the step itself")
        part = f"[{key}]" if isinstance(key, int) else f"['{key}']"
        return Properties(self._step, self._path + part)

    @property
    def expr(self) -> dict[str, str]:
        if not self._path:
            raise TypeError(f"step {self._step!r}: pick a field of its properties, such as "
                            "properties.<Field>")
        return {"Get": f"Steps.{self._step}.{self._path}"}


class TrainingProperties(Properties):
    """``TrainingStep.properties``: DescribeTrainingJob's fields, plus shortcuts."""

    @property
    def model_data(self) -> Properties:
        """The S3 URI of ``model.tar.gz`` (``ModelArtifacts.S3ModelArtifacts``)."""
        return Properties(self._step, "ModelArtifacts.S3ModelArtifacts", "String")

    def metric(self, name: str) -> Properties:
        """The final value of metric ``name`` (``FinalMetricDataList['name'].Value``)."""
        return Properties(self._step, f"FinalMetricDataList['{name}'].Value", "Float")


class ProcessingProperties(Properties):
    """``ProcessingStep.properties``: DescribeProcessingJob's fields, plus a shortcut."""

    def output(self, name: str) -> Properties:
        """Where output ``name`` was uploaded (``...Outputs['name'].S3Output.S3Uri``)."""
        return Properties(self._step,
                          f"ProcessingOutputConfig.Outputs['{name}'].S3Output.S3Uri", "String")


class ModelProperties(Properties):
    @property
    def model_name(self) -> Properties:
        return Properties(self._step, "ModelName", "String")


class RegisterModelProperties(Properties):
    @property
    def model_package_arn(self) -> Properties:
        return Properties(self._step, "ModelPackageArn", "String")


class TransformProperties(Properties):
    @property
    def output_path(self) -> Properties:
        return Properties(self._step, "TransformOutput.S3OutputPath", "String")


class TuningProperties(Properties):
    """``TuningStep.properties``: DescribeHyperParameterTuningJob's fields, plus
    ``TrainingJobSummaries`` (best first) and shortcuts."""

    @property
    def best_training_job(self) -> Properties:
        """The best training job's name (``BestTrainingJob.TrainingJobName``)."""
        return Properties(self._step, "BestTrainingJob.TrainingJobName", "String")

    @property
    def best_objective(self) -> Properties:
        """The best training job's objective value
        (``BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value``)."""
        return Properties(self._step,
                          "BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value",
                          "Float")
