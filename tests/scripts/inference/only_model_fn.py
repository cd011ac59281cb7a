"""A SageMaker scikit-learn inference script that defines only model_fn."""

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    raise SystemExit("training code would run here; the server must not run it")
