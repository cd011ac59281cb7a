"""Framework image URIs through the official ``sagemaker`` package, an optional extra."""

from __future__ import annotations

import importlib
from typing import Any

from ...errors import MissingDependencyError, ValidationError

__all__ = ["resolve_image_uri"]

_HINT = ("pip install 'mlopskit[sagemaker]' to look framework images up, or pass "
         "image_uri= to the Estimator")


def _retrieve_function() -> Any:
    for module_name in ("sagemaker.image_uris", "sagemaker.core.image_uris"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        retrieve = getattr(module, "retrieve", None)
        if retrieve is not None:
            return retrieve
    raise MissingDependencyError(f"resolving the image of a framework needs the optional "
                                 f"'sagemaker' package: {_HINT}", extra="sagemaker")


def resolve_image_uri(framework: str | None, framework_version: str | None, region: str,
                      instance_type: str) -> str:
    """The training image of ``framework`` at ``framework_version`` in ``region``."""
    if not framework:
        raise ValidationError("image_uri: the aws backend needs an image; pass image_uri= or "
                              "framework= with framework_version=", field="image_uri")
    retrieve = _retrieve_function()
    try:
        return str(retrieve(framework=framework, region=region, version=framework_version,
                            instance_type=instance_type, image_scope="training"))
    except (ValueError, KeyError) as exc:
        raise ValidationError(f"framework/framework_version: no training image for "
                              f"{framework!r} {framework_version!r} in {region}: {exc}",
                              field="framework_version") from None
