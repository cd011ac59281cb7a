"""A model whose predictions always fail: the canary that must be rolled back."""

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(input_data, model):
    raise RuntimeError("this release is broken")
