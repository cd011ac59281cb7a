"""A model that takes half a second per request: for concurrency limits."""

import os
import threading

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(input_data, model):
    threading.Event().wait(0.5)  # stands in for a heavy model
    return model.predict(input_data.reshape(-1, 3))
