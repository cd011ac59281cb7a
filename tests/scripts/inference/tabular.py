"""A SageMaker scikit-learn inference script for one or many CSV rows."""

import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    # One CSV row decodes to a 1-D array (as in the scikit-learn container): make it a row.
    return model.predict(np.atleast_2d(data))
