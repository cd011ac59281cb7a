"""Demo inference script: the scikit-learn container's handlers (CSV in, CSV out by
default); only model_fn and predict_fn are ours."""

import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    return model.predict(np.atleast_2d(data))
