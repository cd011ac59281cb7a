"""mlopskit: SageMaker-style ML workflows, locally (no Docker) or on AWS, with one interface.

Importing the package is cheap: the public names below load their modules on first use,
and boto3, pandas and scikit-learn load only when a backend or feature needs them.

Example:
    >>> import mlopskit
    >>> mlopskit.__version__
    '0.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it; resolved lazily by __getattr__ below.
_EXPORTS: dict[str, str] = {
    "AllAtOnce": "mlopskit.serving.rollout",
    "ApprovalStatus": "mlopskit.registry",
    "AwsSession": "mlopskit.session",
    "Canary": "mlopskit.serving.rollout",
    "DataCaptureConfig": "mlopskit.serving.capture",
    "Endpoint": "mlopskit.serving.endpoint",
    "ErrorRateAbove": "mlopskit.serving.rollout",
    "Estimator": "mlopskit.training",
    "Experiment": "mlopskit.tracking.experiment",
    "FakeClock": "mlopskit.clock",
    "HyperparameterTuner": "mlopskit.tuner",
    "LatencyAbove": "mlopskit.serving.rollout",
    "Linear": "mlopskit.serving.rollout",
    "LocalSession": "mlopskit.session",
    "MetricThreshold": "mlopskit.registry",
    "Pipeline": "mlopskit.pipeline.pipeline",
    "Model": "mlopskit.models",
    "ModelPackage": "mlopskit.registry",
    "ModelPackageGroup": "mlopskit.registry",
    "Predictor": "mlopskit.serving.endpoint",
    "ProcessingInput": "mlopskit.processing",
    "ProcessingJob": "mlopskit.processing",
    "ProcessingOutput": "mlopskit.processing",
    "Processor": "mlopskit.processing",
    "ProductionVariant": "mlopskit.serving.endpoint",
    "RealtimeConfig": "mlopskit.serving.endpoint",
    "ServerlessConfig": "mlopskit.serving.endpoint",
    "serializers": "mlopskit.serializers",
    "Session": "mlopskit.session",
    "SystemClock": "mlopskit.clock",
    "TrainingInput": "mlopskit.training",
    "TrainingJob": "mlopskit.training",
    "TransformJob": "mlopskit.serving.transform",
    "TuningJob": "mlopskit.tuner",
    "Transformer": "mlopskit.serving.transform",
    "default_session": "mlopskit.session",
    "errors": "mlopskit.errors",
    "pipeline": "mlopskit.pipeline",
    "tuning": "mlopskit.tuning",
    "session_from_env": "mlopskit.session",
    "set_default_session": "mlopskit.session",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from . import errors as errors
    from . import pipeline as pipeline
    from . import serializers as serializers
    from . import tuning as tuning
    from .clock import FakeClock as FakeClock
    from .clock import SystemClock as SystemClock
    from .models import Model as Model
    from .pipeline.pipeline import Pipeline as Pipeline
    from .processing import ProcessingInput as ProcessingInput
    from .processing import ProcessingJob as ProcessingJob
    from .processing import ProcessingOutput as ProcessingOutput
    from .processing import Processor as Processor
    from .registry import ApprovalStatus as ApprovalStatus
    from .registry import MetricThreshold as MetricThreshold
    from .registry import ModelPackage as ModelPackage
    from .registry import ModelPackageGroup as ModelPackageGroup
    from .serving.capture import DataCaptureConfig as DataCaptureConfig
    from .serving.endpoint import Endpoint as Endpoint
    from .serving.endpoint import Predictor as Predictor
    from .serving.endpoint import ProductionVariant as ProductionVariant
    from .serving.endpoint import RealtimeConfig as RealtimeConfig
    from .serving.endpoint import ServerlessConfig as ServerlessConfig
    from .serving.rollout import AllAtOnce as AllAtOnce
    from .serving.rollout import Canary as Canary
    from .serving.rollout import ErrorRateAbove as ErrorRateAbove
    from .serving.rollout import LatencyAbove as LatencyAbove
    from .serving.rollout import Linear as Linear
    from .serving.transform import Transformer as Transformer
    from .serving.transform import TransformJob as TransformJob
    from .session import AwsSession as AwsSession
    from .session import LocalSession as LocalSession
    from .session import Session as Session
    from .session import default_session as default_session
    from .session import session_from_env as session_from_env
    from .session import set_default_session as set_default_session
    from .tracking.experiment import Experiment as Experiment
    from .training import Estimator as Estimator
    from .training import TrainingInput as TrainingInput
    from .training import TrainingJob as TrainingJob
    from .tuner import HyperparameterTuner as HyperparameterTuner
    from .tuner import TuningJob as TuningJob


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'mlopskit' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.endswith("." + name) else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
