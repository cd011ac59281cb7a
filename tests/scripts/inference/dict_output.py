"""output_fn returns a dict: the container sends it as JSON. Raises on a poison value."""

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(input_data, model):
    if (input_data == 999).any():
        raise RuntimeError("poison input")
    return model.predict(input_data.reshape(-1, 3))


def output_fn(prediction, accept):
    return {"predictions": [int(p) for p in prediction]}
