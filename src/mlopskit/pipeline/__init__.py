"""Pipelines: parameters, expressions, steps and conditions, compiled to SageMaker's
pipeline definition JSON (Version 2020-12-01). See docs/pipelines.md.
"""

from __future__ import annotations

from .conditions import (
    Condition,
    Equals,
    GreaterThan,
    GreaterThanOrEqualTo,
    In,
    LessThan,
    LessThanOrEqualTo,
    Not,
    Or,
)
from .pipeline import Pipeline
from .steps import (
    CacheConfig,
    ConditionStep,
    FailStep,
    ModelStep,
    ProcessingStep,
    RegisterModelStep,
    RetryPolicy,
    Step,
    TrainingStep,
    TransformStep,
    TuningStep,
)
from .variables import (
    ExecutionVariables,
    Join,
    JsonGet,
    ParameterBoolean,
    ParameterFloat,
    ParameterInteger,
    ParameterString,
    PipelineVariable,
    Properties,
    PropertyFile,
)

__all__ = [
    "CacheConfig",
    "Condition",
    "ConditionStep",
    "Equals",
    "ExecutionVariables",
    "FailStep",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "In",
    "Join",
    "JsonGet",
    "LessThan",
    "LessThanOrEqualTo",
    "ModelStep",
    "Not",
    "Or",
    "ParameterBoolean",
    "ParameterFloat",
    "ParameterInteger",
    "ParameterString",
    "Pipeline",
    "PipelineVariable",
    "ProcessingStep",
    "Properties",
    "PropertyFile",
    "RegisterModelStep",
    "RetryPolicy",
    "Step",
    "TrainingStep",
    "TransformStep",
    "TuningStep",
]
