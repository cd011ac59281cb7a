"""The job's environment: folders, configuration files, hyperparameters and serving settings.

Folders follow the SageMaker layout under ``$SAGEMAKER_BASE_DIR`` (``/opt/ml`` when unset):
``model/``, ``input/config/``, ``input/data/<channel>/``, ``output/``, ``output/data/``,
``output/intermediate/`` and ``code/``. An ``SM_*`` variable naming a folder
(``SM_MODEL_DIR``, ``SM_INPUT_DIR``, ``SM_INPUT_CONFIG_DIR``, ``SM_OUTPUT_DIR``,
``SM_OUTPUT_DATA_DIR``, ``SM_OUTPUT_INTERMEDIATE_DIR``, ``SM_CHANNEL_<NAME>``) takes precedence.
In a real job both agree.

The module-level folder names (``model_dir``, ``input_dir``, ``input_config_dir``,
``output_dir``, ``output_data_dir``, ``output_intermediate_dir``, ``code_dir``, ``base_dir`` and
the ``*_file_dir`` paths of the three configuration files) are computed when read, so they
follow the current environment; nothing is created on import.

The configuration files are read from ``input/config/``: ``hyperparameters.json`` (each value a
JSON-encoded string, decoded here, kept as is when it is not JSON), ``inputdataconfig.json`` and
``resourceconfig.json``. When a file is missing (a script started by hand), the matching
``SM_HPS``, ``SM_INPUT_DATA_CONFIG`` or ``SM_RESOURCE_CONFIG`` variable is used, then an empty
configuration on a single host ``algo-1``, as the original does outside a container.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from typing import Any

from . import _content_types, _mapping, _params
from ._mapping import Setting

__all__ = [
    "BASE_PATH_ENV",
    "HYPERPARAMETERS_FILE",
    "INPUT_DATA_CONFIG_FILE",
    "RESOURCE_CONFIG_FILE",
    "SAGEMAKER_BASE_PATH",
    "ServingEnv",
    "TrainingEnv",
    "channel_path",
    "num_cpus",
    "num_gpus",
    "read_hyperparameters",
    "read_input_data_config",
    "read_resource_config",
]

logger = logging.getLogger("sagemaker-containers")

SAGEMAKER_BASE_PATH = "/opt/ml"
BASE_PATH_ENV = "SAGEMAKER_BASE_DIR"
HYPERPARAMETERS_FILE = "hyperparameters.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"

_DEFAULT_HOST = "algo-1"

# folder name -> (its SM_* variable or None, its path under the base folder)
_FOLDERS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "code_dir": (None, ("code",)),
    "model_dir": ("SM_MODEL_DIR", ("model",)),
    "input_dir": ("SM_INPUT_DIR", ("input",)),
    "input_config_dir": ("SM_INPUT_CONFIG_DIR", ("input", "config")),
    "output_dir": ("SM_OUTPUT_DIR", ("output",)),
    "output_data_dir": ("SM_OUTPUT_DATA_DIR", ("output", "data")),
    "output_intermediate_dir": ("SM_OUTPUT_INTERMEDIATE_DIR", ("output", "intermediate")),
}
_CONFIG_FILES = {
    "hyperparameters_file_dir": HYPERPARAMETERS_FILE,
    "input_data_config_file_dir": INPUT_DATA_CONFIG_FILE,
    "resource_config_file_dir": RESOURCE_CONFIG_FILE,
}


def _base_dir() -> str:
    return os.environ.get(BASE_PATH_ENV) or SAGEMAKER_BASE_PATH


def _folder(name: str) -> str:
    variable, parts = _FOLDERS[name]
    given = os.environ.get(variable) if variable else None
    return given or os.path.join(_base_dir(), *parts)


def __getattr__(name: str) -> str:
    """The module-level folder and file names, from the environment at the time of reading."""
    if name == "base_dir":
        return _base_dir()
    if name in _FOLDERS:
        return _folder(name)
    if name in _CONFIG_FILES:
        return os.path.join(_folder("input_config_dir"), _CONFIG_FILES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "base_dir", *_FOLDERS, *_CONFIG_FILES])


def _read_config(file_name: str, variable: str) -> Any:
    """A configuration file's JSON; the ``SM_*`` variable's JSON when the file is absent."""
    path = os.path.join(_folder("input_config_dir"), file_name)
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        text = os.environ.get(variable)
        return json.loads(text) if text else None


def read_hyperparameters() -> dict[str, Any]:
    """The job's hyperparameters, each value JSON-decoded when it is JSON (else kept as is).

    Keys starting with ``sagemaker_`` are included; :class:`TrainingEnv` separates them.
    """
    path = os.path.join(_folder("input_config_dir"), HYPERPARAMETERS_FILE)
    try:
        with open(path, encoding="utf-8") as stream:
            raw: dict[str, Any] = json.load(stream)
    except FileNotFoundError:
        # SM_HPS holds values that were decoded already; decoding again would turn the
        # string "1" into the number 1.
        text = os.environ.get("SM_HPS")
        return dict(json.loads(text)) if text else {}
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            logger.info("hyperparameter %s=%r is not JSON; keeping it as given", key, value)
            decoded[key] = value
    return decoded


def read_resource_config() -> dict[str, Any]:
    """``resourceconfig.json``: ``current_host``, ``hosts``, ``network_interface_name``..."""
    config = _read_config(RESOURCE_CONFIG_FILE, "SM_RESOURCE_CONFIG")
    if config:
        return dict(config)
    current_host = (os.environ.get("SM_CURRENT_HOST") or os.environ.get(_params.CURRENT_HOST_ENV)
                    or _DEFAULT_HOST)
    hosts_text = os.environ.get("SM_HOSTS")
    hosts = json.loads(hosts_text) if hosts_text else [current_host]
    return {"current_host": current_host, "hosts": hosts}


def read_input_data_config() -> dict[str, Any]:
    """``inputdataconfig.json``: channel name -> ``ContentType``, ``TrainingInputMode``..."""
    config = _read_config(INPUT_DATA_CONFIG_FILE, "SM_INPUT_DATA_CONFIG")
    return dict(config) if config else {}


def channel_path(channel: str) -> str:
    """The folder holding a channel's data, e.g. ``/opt/ml/input/data/train``."""
    given = os.environ.get(f"SM_CHANNEL_{channel.upper()}")
    return given or os.path.join(_folder("input_dir"), "data", channel)


def num_gpus() -> int:
    """GPUs visible to the job: ``SM_NUM_GPUS`` when set, else what ``nvidia-smi`` lists."""
    given = os.environ.get("SM_NUM_GPUS")
    if given and given.isdigit():
        return int(given)
    command = shutil.which("nvidia-smi")
    if command is None:
        return 0
    try:
        listing = subprocess.run([command, "--list-gpus"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


def num_cpus() -> int:
    """CPUs available to the job: ``SM_NUM_CPUS`` when set, else the machine's count."""
    given = os.environ.get("SM_NUM_CPUS")
    if given and given.isdigit():
        return int(given)
    return os.cpu_count() or 1


def _module_name(program: str | None) -> str | None:
    return program[:-3] if program and program.endswith(".py") else program


def _log_level(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        level = logging.getLevelName(str(value).upper())
        return level if isinstance(level, int) else logging.INFO


class _Env(_mapping.MappingMixin):
    """What training and serving share; a read-only snapshot, readable as a dict.

    Attributes:
        model_dir: the folder whose contents become the model artifact, e.g.
            ``/opt/ml/model``.
        num_cpus: CPUs available to this host.
        module_dir: where the user's code is: ``sagemaker_submit_directory``, else the code
            folder.
        log_level: the container's logging level (``logging.INFO`` unless configured).
        user_entry_point: the entry point as given, e.g. ``train.py``.
    """

    model_dir: Setting[str] = Setting()
    num_cpus: Setting[int] = Setting()
    module_dir: Setting[str] = Setting()
    log_level: Setting[int] = Setting()
    user_entry_point: Setting[str | None] = Setting()

    def __init__(self) -> None:
        program = os.environ.get(_params.USER_PROGRAM_ENV)
        self._current_host: str | None = os.environ.get(_params.CURRENT_HOST_ENV)
        self._user_entry_point = program
        self._module_name = program
        self._module_dir = os.environ.get(_params.SUBMIT_DIR_ENV) or _folder("code_dir")
        self._log_level = _log_level(os.environ.get(_params.LOG_LEVEL_ENV, logging.INFO))
        self._model_dir = _folder("model_dir")
        self._num_cpus = num_cpus()
        self._num_gpus: int | None = None

    @property
    def current_host(self) -> str | None:
        """This host's name on the job's network, e.g. ``algo-1``."""
        return self._current_host

    @property
    def num_gpus(self) -> int:
        """GPUs available to this host (asked once, when first read)."""
        if self._num_gpus is None:
            self._num_gpus = num_gpus()
        return self._num_gpus

    @property
    def module_name(self) -> str | None:
        """The user's module: the entry point without ``.py``."""
        return _module_name(self._module_name)


class TrainingEnv(_Env):
    """The training job's environment: folders, channels, hyperparameters and hosts.

    ``hyperparameters`` holds the user's values only; the ``sagemaker_*`` entries the SDK adds
    configure the container (``module_name``, ``module_dir``, ``log_level``...) and the unknown
    ones land in ``additional_framework_parameters``. Each argument defaults to reading the
    job's configuration (see the module documentation).

    Attributes:
        hosts: every host of the job, sorted, e.g. ``["algo-1", "algo-2"]``.
        master_hostname: the first host.
        is_master: whether this host is the first one.
        network_interface_name: the network interface for distributed training (``eth0``
            unless configured).
        job_name: the training job's name.
        hyperparameters: the user's hyperparameters, decoded, without the ``sagemaker_*``
            entries.
        additional_framework_parameters: ``sagemaker_*`` hyperparameters other than the
            container's own settings.
        resource_config: the contents of ``resourceconfig.json``.
        input_data_config: the contents of ``inputdataconfig.json``: channel -> its settings.
        channel_input_dirs: channel name -> the folder holding its data.
        input_dir: the input folder, e.g. ``/opt/ml/input``.
        input_config_dir: the folder of the configuration files, e.g.
            ``/opt/ml/input/config``.
        output_dir: the folder for ``success``/``failure`` files, e.g. ``/opt/ml/output``.
        output_data_dir: the folder for outputs other than the model, e.g.
            ``/opt/ml/output/data``.
        output_intermediate_dir: the folder synced to S3 during training, e.g.
            ``/opt/ml/output/intermediate``.
        framework_module: ``SAGEMAKER_TRAINING_MODULE``: the framework's ``module:function``
            entry.
    """

    hosts: Setting[list[str]] = Setting()
    master_hostname: Setting[str] = Setting()
    is_master: Setting[bool] = Setting()
    network_interface_name: Setting[str] = Setting()
    job_name: Setting[str | None] = Setting()
    hyperparameters: Setting[dict[str, Any]] = Setting()
    additional_framework_parameters: Setting[dict[str, Any]] = Setting()
    resource_config: Setting[dict[str, Any]] = Setting()
    input_data_config: Setting[dict[str, Any]] = Setting()
    channel_input_dirs: Setting[dict[str, str]] = Setting()
    input_dir: Setting[str] = Setting()
    input_config_dir: Setting[str] = Setting()
    output_dir: Setting[str] = Setting()
    output_data_dir: Setting[str] = Setting()
    output_intermediate_dir: Setting[str] = Setting()
    framework_module: Setting[str | None] = Setting()

    def __init__(self, resource_config: dict[str, Any] | None = None,
                 input_data_config: dict[str, Any] | None = None,
                 hyperparameters: dict[str, Any] | None = None) -> None:
        super().__init__()
        resource_config = read_resource_config() if resource_config is None \
            else resource_config
        input_data_config = read_input_data_config() if input_data_config is None \
            else input_data_config
        all_hyperparameters = read_hyperparameters() if hyperparameters is None \
            else hyperparameters

        split = _mapping.split_by_criteria(all_hyperparameters,
                                           keys=_params.SAGEMAKER_HYPERPARAMETERS,
                                           prefix=_params.SAGEMAKER_PREFIX)
        framework = split.included
        self._hyperparameters = split.excluded
        self._additional_framework_parameters = {
            k: v for k, v in framework.items() if k not in _params.SAGEMAKER_HYPERPARAMETERS}

        current_host = str(resource_config.get("current_host") or self._current_host
                           or _DEFAULT_HOST)
        hosts = [str(h) for h in resource_config.get("hosts") or [current_host]]
        self._current_host = current_host
        self._hosts = hosts
        self._master_hostname = hosts[0]
        self._is_master = current_host == hosts[0]
        self._network_interface_name = str(
            resource_config.get("network_interface_name", "eth0"))
        self._resource_config = resource_config
        self._input_data_config = input_data_config
        self._channel_input_dirs = {name: channel_path(name) for name in input_data_config}

        if self._module_name is None:
            program = framework.get(_params.USER_PROGRAM_PARAM)
            self._module_name = None if program is None else str(program)
        if self._user_entry_point is None:
            program = framework.get(_params.USER_PROGRAM_PARAM)
            self._user_entry_point = None if program is None else str(program)
        submitted = framework.get(_params.SUBMIT_DIR_PARAM)
        if submitted is not None:
            self._module_dir = str(submitted)
        if _params.LOG_LEVEL_PARAM in framework:
            self._log_level = _log_level(framework[_params.LOG_LEVEL_PARAM])
        self._sagemaker_s3_output = framework.get(_params.S3_OUTPUT_LOCATION_PARAM)
        self._job_name = os.environ.get(_params.TRAINING_JOB_ENV) or \
            framework.get(_params.JOB_NAME_PARAM)
        self._framework_module = os.environ.get(_params.FRAMEWORK_TRAINING_MODULE_ENV)

        self._input_dir = _folder("input_dir")
        self._input_config_dir = _folder("input_config_dir")
        self._output_dir = _folder("output_dir")
        self._output_data_dir = _folder("output_data_dir")
        self._output_intermediate_dir = _folder("output_intermediate_dir")

    @property
    def current_host(self) -> str:
        """This host's name, e.g. ``algo-1``."""
        return str(self._current_host)

    def sagemaker_s3_output(self) -> str | None:
        """The ``sagemaker_s3_output`` hyperparameter, if given."""
        value = self._sagemaker_s3_output
        return None if value is None else str(value)

    def to_cmd_args(self) -> list[str]:
        """The user's hyperparameters as ``--key value`` arguments."""
        return _mapping.to_cmd_args(self.hyperparameters)

    def to_env_vars(self) -> dict[str, str]:
        """The environment as the ``SM_*`` variables a training script receives."""
        variables: dict[str, Any] = {
            "hosts": self.hosts,
            "network_interface_name": self.network_interface_name,
            "hps": self.hyperparameters,
            "user_entry_point": self.user_entry_point,
            "framework_params": self.additional_framework_parameters,
            "resource_config": self.resource_config,
            "input_data_config": self.input_data_config,
            "output_data_dir": self.output_data_dir,
            "channels": sorted(self.channel_input_dirs),
            "current_host": self.current_host,
            "module_name": self.module_name,
            "log_level": self.log_level,
            "framework_module": self.framework_module,
            "input_dir": self.input_dir,
            "input_config_dir": self.input_config_dir,
            "output_dir": self.output_dir,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "model_dir": self.model_dir,
            "module_dir": self.module_dir,
            "training_env": dict(self),
            "user_args": self.to_cmd_args(),
            "output_intermediate_dir": self.output_intermediate_dir,
        }
        for name, path in self.channel_input_dirs.items():
            variables[f"channel_{name}"] = path
        for key, value in self.hyperparameters.items():
            variables[f"hp_{key}"] = value
        return _mapping.to_env_vars(variables)


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "t", "yes", "y", "on"}:
        return True
    if lowered in {"0", "false", "f", "no", "n", "off"}:
        return False
    raise ValueError(f"{_params.USE_NGINX_ENV} must be true or false, got {value!r}")


class ServingEnv(_Env):
    """The inference container's settings, from its environment variables.

    ``default_accept`` is ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (``application/json``
    when unset); ``module_name`` is ``SAGEMAKER_PROGRAM`` without ``.py``.

    Attributes:
        use_nginx: whether the real container would put nginx in front of the model server.
        model_server_timeout: seconds a request may take (60 unless configured).
        model_server_workers: worker processes of the model server (the CPU count unless
            configured).
        framework_module: ``SAGEMAKER_SERVING_MODULE``: the framework's serving
            ``module:app`` entry.
        default_accept: the response type used when a request asks for none (or ``*/*``).
        http_port: the port the container listens on (``8080`` unless configured).
        safe_port_range: ports the user's code may use without colliding with the server,
            e.g. ``1111-2222``.
    """

    use_nginx: Setting[bool] = Setting()
    model_server_timeout: Setting[int] = Setting()
    model_server_workers: Setting[int] = Setting()
    framework_module: Setting[str | None] = Setting()
    default_accept: Setting[str] = Setting()
    http_port: Setting[str] = Setting()
    safe_port_range: Setting[str | None] = Setting()

    def __init__(self) -> None:
        super().__init__()
        environ = os.environ
        self._use_nginx = _flag(environ.get(_params.USE_NGINX_ENV, "true"))
        self._model_server_timeout = int(environ.get(_params.MODEL_SERVER_TIMEOUT_ENV, "60"))
        workers = environ.get(_params.MODEL_SERVER_WORKERS_ENV)
        self._model_server_workers = int(workers) if workers else num_cpus()
        self._framework_module = environ.get(_params.FRAMEWORK_SERVING_MODULE_ENV)
        self._default_accept = environ.get(_params.DEFAULT_INVOCATIONS_ACCEPT_ENV) or \
            _content_types.JSON
        self._http_port = environ.get(_params.SAGEMAKER_BIND_TO_PORT_ENV, "8080")
        self._safe_port_range = environ.get(_params.SAGEMAKER_SAFE_PORT_RANGE_ENV)

