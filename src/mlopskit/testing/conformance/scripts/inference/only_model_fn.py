"""A SageMaker scikit-learn inference script that defines only model_fn: the container's
default input, predict and output functions do the rest."""

import os
from typing import Any

import joblib  # type: ignore[import-untyped]


def model_fn(model_dir: str) -> Any:
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    raise SystemExit("training code would run here; the server must not run it")
