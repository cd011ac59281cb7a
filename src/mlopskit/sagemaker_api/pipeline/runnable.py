"""Before an execution starts: the steps the local backend can never run, whatever their
expressions resolve to (everything else is checked when the step runs, with its values,
by the request readers of :mod:`mlopskit.sagemaker_api`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import CapabilityError
from .._reading import request_shown
from ..processing import processing_entrypoint
from ..training import TRAINING_ALGORITHM_REFUSED
from ..tuning import _TOP_REFUSED as TUNING_TOP_REFUSED

__all__ = ["check_runnable"]


def _literal(value: Any) -> bool:
    """True when ``value`` holds no pipeline expression (``{"Get": ...}``, ``Std:*``)."""
    if isinstance(value, dict):
        return not any(key == "Get" or key.startswith("Std:") for key in value) and all(
            _literal(item) for item in value.values())
    if isinstance(value, list):
        return all(_literal(item) for item in value)
    return True


def check_runnable(step: str, kind: str, arguments: Mapping[str, Any]) -> None:
    """Refuse, before any step of an execution runs, a step the local backend can never
    run whatever its expressions resolve to: a training or tuning step without script mode
    (a built-in algorithm image), a training job on an algorithm resource or with its own
    entry point, a tuning job over several training definitions or with Autotune, a
    processing step whose entry point is not a Python script.

    Raises :class:`~mlopskit.errors.CapabilityError` naming the step, what it asks for and
    what to do instead. Everything else is checked when the step runs, with its values.

    Example:
        >>> check_runnable("Train", "Training", {
        ...     "AlgorithmSpecification": {"TrainingImage": "img:1"}, "HyperParameters": {
        ...         "sagemaker_program": '"train.py"',
        ...         "sagemaker_submit_directory": '"s3://b/src.tar.gz"'}})
        >>> check_runnable("Train", "Training", {
        ...     "AlgorithmSpecification": {"TrainingImage": "xgboost:1"},
        ...     "HyperParameters": {"num_round": "10"}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mlopskit.errors.CapabilityError: step 'Train': training image 'xgboost:1' would run ...
    """
    if kind == "Training":
        _check_script_mode(step, arguments.get("AlgorithmSpecification"),
                           arguments.get("HyperParameters"), "")
    elif kind == "Tuning":
        # What the tuning reader refuses whatever the values, with its reasons.
        for key, why in TUNING_TOP_REFUSED.items():
            if arguments.get(key) is not None:
                raise CapabilityError(f"step {step!r}: {key} is set; {why}")
        definition = arguments.get("TrainingJobDefinition")
        definition = definition if isinstance(definition, Mapping) else {}
        _check_script_mode(step, definition.get("AlgorithmSpecification"),
                           definition.get("StaticHyperParameters"), "TrainingJobDefinition.")
    elif kind == "Processing":
        app = arguments.get("AppSpecification")
        if isinstance(app, Mapping) and _literal(app.get("ContainerEntrypoint")):
            try:
                processing_entrypoint(app)
            except CapabilityError as exc:
                image = app.get("ImageUri")
                shown = image if isinstance(image, str) else request_shown(image)
                raise CapabilityError(f"step {step!r} (image {shown!r}): {exc}") from None


def _check_script_mode(step: str, algorithm: Any, hyperparameters: Any, where: str) -> None:
    """A training (or tuning) step's job must be script mode: a built-in algorithm image
    or an algorithm resource never runs locally."""
    algorithm = algorithm if isinstance(algorithm, Mapping) else {}
    for key, why in TRAINING_ALGORITHM_REFUSED.items():
        if algorithm.get(key) is not None:
            raise CapabilityError(f"step {step!r}: {where}AlgorithmSpecification.{key} is "
                                  f"set; {why}")
    image = algorithm.get("TrainingImage")
    shown = image if isinstance(image, str) else request_shown(image)
    keys = set(hyperparameters) if isinstance(hyperparameters, Mapping) else set()
    missing = [k for k in ("sagemaker_program", "sagemaker_submit_directory")
               if k not in keys]
    if missing:
        raise CapabilityError(
            f"step {step!r}: training image {shown!r} would run its own built-in "
            f"algorithm (the step has no {' or '.join(missing)} hyperparameter, so it is "
            "not script mode), and the local backend runs no images. Train with a "
            "script instead (mlopskit.Estimator(entry_point=..., framework=...), or the "
            "SDK's framework estimators such as SKLearn or XGBoost with entry_point=), "
            "or run this pipeline on the aws backend")
