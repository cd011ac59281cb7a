"""The SageMaker training toolkit's side of the contract, as pure functions.

Inside a SageMaker framework container the training toolkit reads the config files under
``/opt/ml/input/config``, decodes the hyperparameters, and starts the user's script with
``SM_*`` variables and ``--key value`` arguments. This module reproduces those rules (see
CONTRACTS.md "Training container") so a script behaves the same here as there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The training toolkit kept these two rules of the old container library verbatim.
from ..._compat.sagemaker_containers._mapping import to_cmd_args, to_env_vars
from ...specs.training import decode_hyperparameter

__all__ = [
    "ContainerPaths",
    "to_cmd_args",
    "to_env_vars",
    "training_environment",
    "user_hyperparameters",
]


class ContainerPaths:
    """The ``/opt/ml`` layout of one host, rooted at ``base`` instead of ``/opt/ml``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.input = base / "input"
        self.input_config = self.input / "config"
        self.input_data = self.input / "data"
        self.model = base / "model"
        self.output = base / "output"
        self.output_data = self.output / "data"
        self.output_intermediate = self.output / "intermediate"
        self.code = base / "code"
        self.failure = self.output / "failure"

    def channel(self, name: str) -> Path:
        return self.input_data / name

    def make(self, channels: list[str]) -> None:
        for folder in (self.input_config, self.model, self.output_data,
                       self.output_intermediate, self.code):
            folder.mkdir(parents=True, exist_ok=True)
        for name in channels:
            self.channel(name).mkdir(parents=True, exist_ok=True)


def user_hyperparameters(encoded: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``hyperparameters.json`` into (the user's decoded values, the ``sagemaker_`` ones).

    Example:
        >>> user_hyperparameters({"lr": "0.1", "sagemaker_program": '"train.py"'})
        ({'lr': 0.1}, {'sagemaker_program': 'train.py'})
    """
    user: dict[str, Any] = {}
    framework: dict[str, Any] = {}
    for key, value in encoded.items():
        target = framework if key.startswith("sagemaker_") else user
        target[key] = decode_hyperparameter(value)
    return user, framework


def training_environment(
    *,
    paths: ContainerPaths,
    encoded_hyperparameters: Mapping[str, str],
    input_data_config: Mapping[str, Mapping[str, str]],
    resource_config: Mapping[str, Any],
    num_cpus: int | None = None,
) -> dict[str, str]:
    """Every variable the toolkit sets for the user's script, for one host."""
    user, framework = user_hyperparameters(encoded_hyperparameters)
    program = str(framework.get("sagemaker_program", ""))
    module_dir = str(framework.get("sagemaker_submit_directory", paths.code))
    log_level = framework.get("sagemaker_container_log_level", 20)
    channels = sorted(input_data_config)
    channel_dirs = {name: str(paths.channel(name)) for name in channels}
    hosts = list(resource_config["hosts"])
    current_host = str(resource_config["current_host"])
    instance_type = str(resource_config.get("current_instance_type", "local"))
    group = str(resource_config.get("current_group_name", "homogeneousCluster"))
    cpus = num_cpus if num_cpus is not None else (os.cpu_count() or 1)
    module_name = program[:-3] if program.endswith(".py") else program
    instance_groups_dict = {group: {"instance_group_name": group,
                                    "instance_type": instance_type, "hosts": hosts}}
    framework_params = {k: v for k, v in framework.items() if k not in _TOOLKIT_KEYS}
    # SM_TRAINING_ENV holds the toolkit Environment's properties, under their own names.
    properties: dict[str, Any] = {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": channel_dirs,
        "current_host": current_host,
        "current_instance_group": group,
        "current_instance_group_hosts": hosts,
        "current_instance_type": instance_type,
        "distribution_hosts": [],
        "distribution_instance_groups": [],
        "framework_module": None,
        "hosts": hosts,
        "hyperparameters": user,
        "input_config_dir": str(paths.input_config),
        "input_data_config": {k: dict(v) for k, v in input_data_config.items()},
        "input_dir": str(paths.input),
        "instance_groups": [group],
        "instance_groups_dict": instance_groups_dict,
        "is_hetero": False,
        "is_master": current_host == hosts[0],
        "is_modelparallel_enabled": None,
        "job_name": framework.get("sagemaker_job_name"),
        "log_level": log_level,
        "master_hostname": hosts[0],
        "model_dir": str(paths.model),
        "module_dir": module_dir,
        "module_name": module_name,
        "network_interface_name": resource_config.get("network_interface_name", "eth0"),
        "num_cpus": cpus,
        "num_gpus": 0,
        "num_neurons": 0,
        "output_data_dir": str(paths.output_data),
        "output_dir": str(paths.output),
        "output_intermediate_dir": str(paths.output_intermediate),
        "resource_config": dict(resource_config),
        "user_entry_point": program,
    }
    # The SM_* variables use the toolkit's shorter names for a few of the same values.
    env: dict[str, Any] = {
        key: properties[key] for key in (
            "hosts", "network_interface_name", "user_entry_point", "resource_config",
            "input_data_config", "output_data_dir", "current_host", "current_instance_type",
            "current_instance_group", "current_instance_group_hosts", "instance_groups",
            "instance_groups_dict", "distribution_instance_groups", "is_hetero",
            "module_name", "log_level", "framework_module", "input_dir", "input_config_dir",
            "output_dir", "num_cpus", "num_gpus", "model_dir", "module_dir",
            "output_intermediate_dir")
    }
    env.update(hps=user, framework_params=framework_params, channels=channels,
               training_env=properties, user_args=to_cmd_args(user))
    for name, path in channel_dirs.items():
        env[f"channel_{name}"] = path
    for key, value in user.items():
        env[f"hp_{key}"] = value
    variables = to_env_vars(env)
    variables.update(
        {
            "SAGEMAKER_JOB_NAME": str(framework.get("sagemaker_job_name", "")),
            "SAGEMAKER_REGION": str(framework.get("sagemaker_region", "")),
            "TRAINING_JOB_NAME": str(framework.get("sagemaker_job_name", "")),
            "CURRENT_HOST": current_host,
            "SAGEMAKER_BASE_DIR": str(paths.base),
            "SAGEMAKER_PROGRAM": program,
            "SAGEMAKER_SUBMIT_DIRECTORY": module_dir,
        }
    )
    return variables


_TOOLKIT_KEYS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "sagemaker_region",
    }
)
