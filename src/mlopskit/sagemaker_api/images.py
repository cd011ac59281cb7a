"""Framework image URIs through the official ``sagemaker`` package, an optional extra."""

from __future__ import annotations

import importlib
import os
from typing import Any, Literal

from ..errors import MissingDependencyError, ValidationError

__all__ = ["DEFAULT_INSTANCE_TYPE", "ImageScope", "image_instance_type", "resolve_image_uri"]

ImageScope = Literal["training", "inference"]
# The instance type an image is looked up for when none is known yet (a serverless variant,
# a model created before its endpoint): a CPU one, as SageMaker's serverless runs on CPU.
DEFAULT_INSTANCE_TYPE = "ml.m5.large"

_HINT = ("pip install 'mlopskit[sagemaker]' to look framework images up, or pass "
         "image_uri=")


def _import_quietly(module_name: str) -> Any:
    """Import a module of the SageMaker SDK without its v2-deprecation notice: mlopskit
    only reads its image tables, the user did not choose the SDK."""
    variable = "SAGEMAKER_SUPPRESS_V2_WARNING"
    unset = variable not in os.environ
    if unset:
        os.environ[variable] = "1"
    try:
        return importlib.import_module(module_name)
    finally:
        if unset:
            os.environ.pop(variable, None)


def _retrieve_function() -> Any:
    for module_name in ("sagemaker.image_uris", "sagemaker.core.image_uris"):
        try:
            module = _import_quietly(module_name)
        except ImportError:
            continue
        retrieve = getattr(module, "retrieve", None)
        if retrieve is not None:
            return retrieve
    raise MissingDependencyError(f"resolving the image of a framework needs the optional "
                                 f"'sagemaker' package: {_HINT}", extra="sagemaker")


def image_instance_type(*candidates: object) -> str:
    """The first candidate that is a plain instance type (not a pipeline variable's token,
    not ``None``), else :data:`DEFAULT_INSTANCE_TYPE`: GPU types pick GPU images.

    Example:
        >>> image_instance_type(None, "ml.g4dn.xlarge")
        'ml.g4dn.xlarge'
        >>> image_instance_type("s3://mlopskit-pipeline-variable/0123", None)
        'ml.m5.large'
    """
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.startswith("ml."):
            return candidate
    return DEFAULT_INSTANCE_TYPE


def resolve_image_uri(framework: str | None, framework_version: str | None, region: str,
                      instance_type: str, *, scope: ImageScope) -> str:
    """The ``scope`` image (``training``: jobs and processing; ``inference``: models,
    packages, endpoints, transforms) of ``framework`` at ``framework_version`` in
    ``region``, for ``instance_type`` (a GPU type gets the GPU image)."""
    if not framework:
        raise ValidationError("image_uri: the aws backend needs an image; pass image_uri= or "
                              "framework= with framework_version=", field="image_uri")
    retrieve = _retrieve_function()
    try:
        return str(retrieve(framework=framework, region=region, version=framework_version,
                            instance_type=instance_type, image_scope=scope))
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"framework/framework_version: no {scope} image for "
                              f"{framework!r} {framework_version!r} on {instance_type} in "
                              f"{region}: {exc}", field="framework_version") from None
