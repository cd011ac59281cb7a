"""A SageMaker inference script for the iris model that train_iris.py makes.

SageMaker's scikit-learn serving container (and mlopskit's local endpoints) import this
file and call its handlers: ``model_fn`` once when the server starts, then ``predict_fn``
for every request. The default ``input_fn`` decodes CSV, JSON and NPY bodies to an array
and the default ``output_fn`` encodes the answer as JSON, CSV or NPY (the Accept header).
"""

import json
import os

import joblib
import numpy as np
import pandas as pd


def model_fn(model_dir):
    """Load the model and the feature names saved next to it."""
    model = joblib.load(os.path.join(model_dir, "model.joblib"))
    with open(os.path.join(model_dir, "features.json")) as handle:
        features = json.load(handle)
    return model, features


def predict_fn(data, model_and_features):
    """Predict the species (0, 1 or 2) of each row.

    A one-row CSV body arrives as a 1-D array, so make it 2-D; name the columns as in
    training, so scikit-learn does not warn about missing feature names.
    """
    model, features = model_and_features
    rows = pd.DataFrame(np.atleast_2d(np.asarray(data, dtype=float)), columns=features)
    return model.predict(rows)
