"""The public names of the stand-in, as scripts import them.

``from sagemaker_containers.beta.framework import content_types, encoders, env, modules,
transformer, worker`` gives the modules of this package under those names, plus
:func:`training_env`. The original's ``mpi``, ``process``, ``runner`` and ``trainer`` modules
(the container's own machinery for launching scripts) are not provided.
"""

from __future__ import annotations

from typing import Any

from ... import _content_types as content_types
from ... import _encoders as encoders
from ... import _env as env
from ... import _errors as errors
from ... import _functions as functions
from ... import _logging as logging
from ... import _mapping as mapping
from ... import _modules as modules
from ... import _params as params
from ... import _server as server
from ... import _transformer as transformer
from ... import _worker as worker
from ... import entry_point

__all__ = [
    "content_types",
    "encoders",
    "entry_point",
    "env",
    "errors",
    "functions",
    "logging",
    "mapping",
    "modules",
    "params",
    "server",
    "training_env",
    "transformer",
    "worker",
]


def training_env(resource_config: dict[str, Any] | None = None,
                 input_data_config: dict[str, Any] | None = None,
                 hyperparameters: dict[str, Any] | None = None) -> env.TrainingEnv:
    """The training environment; each configuration not given is read from the job."""
    return env.TrainingEnv(resource_config=resource_config,
                           input_data_config=input_data_config,
                           hyperparameters=hyperparameters)
