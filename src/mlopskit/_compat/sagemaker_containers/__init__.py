"""A small, local stand-in for the ``sagemaker_containers`` library (aws/sagemaker-containers).

Scripts written for the old SageMaker framework containers import this package for content-type
names, array encoders, the training environment and a ``worker.Response`` to answer with. This
stand-in covers those pieces, works without Docker, Flask or boto3, and imports only the
standard library (numpy is imported by the encoders when they run).

Differences from the original, all deliberate:

- NPY payloads are read and written with ``allow_pickle=False``: an object array is refused
  instead of unpickled.
- Nothing is created or written when a module is imported (the original makes ``/opt/ml/code``
  and, outside a container, a job folder under ``$HOME``). Paths are read from the environment
  each time they are asked for.
- Reading the training environment does not change ``os.environ``.
- What only makes sense inside the real container (installing and running the user's module,
  starting gunicorn/nginx, downloading code from S3) raises :class:`NotImplementedError`: the
  local backend runs the script itself.

Example (a training script)::

    import sagemaker_containers

    env = sagemaker_containers.training_env()
    train_dir = env.channel_input_dirs["train"]
    epochs = env.hyperparameters.get("epochs", 10)
"""

from __future__ import annotations

from . import _env as _env

__all__ = ["training_env"]


def training_env() -> _env.TrainingEnv:
    """The training environment of the current job, read from its configuration files."""
    return _env.TrainingEnv(
        resource_config=_env.read_resource_config(),
        input_data_config=_env.read_input_data_config(),
        hyperparameters=_env.read_hyperparameters(),
    )
