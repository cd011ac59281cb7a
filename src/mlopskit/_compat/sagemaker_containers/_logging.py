"""The ``sagemaker-containers`` logger."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

__all__ = ["configure_logger", "get_logger", "log_script_invocation"]


def get_logger() -> logging.Logger:
    """The logger named ``sagemaker-containers``."""
    return logging.getLogger("sagemaker-containers")


def configure_logger(level: int,
                     log_format: str = "%(asctime)s %(name)-12s %(levelname)-8s %(message)s",
                     ) -> None:
    """Configure the root logger (``logging.basicConfig``) and quieten the AWS libraries."""
    logging.basicConfig(format=log_format, level=level)
    if level >= logging.INFO:
        logging.getLogger("boto3").setLevel(logging.INFO)
        logging.getLogger("s3transfer").setLevel(logging.INFO)
        logging.getLogger("botocore").setLevel(logging.WARNING)


def log_script_invocation(cmd: Sequence[str], env_vars: Mapping[str, str],
                          logger: logging.Logger | None = None) -> None:
    """Log a command about to run, with the training environment and its variables."""
    from . import training_env

    logger = logger or get_logger()
    variables = "\n".join(f"{key}={value}" for key, value in env_vars.items())
    logger.info("Invoking user script\n\nTraining Env:\n\n%s\n\nEnvironment variables:\n\n%s"
                "\n\nInvoking script with the following command:\n\n%s\n",
                json.dumps(dict(training_env()), indent=4, default=str), variables,
                " ".join(cmd))
