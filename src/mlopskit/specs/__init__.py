"""Typed, validated, immutable descriptions of what to run; every backend consumes these."""

from ._common import Spec, build
from .training import ChannelSpec, MetricDefinition, TrainingJobSpec

__all__ = ["ChannelSpec", "MetricDefinition", "Spec", "TrainingJobSpec", "build"]
