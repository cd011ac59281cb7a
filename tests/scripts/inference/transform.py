"""transform_fn does everything in one step."""

import io
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def transform_fn(model, request_body, content_type, accept):
    data = np.load(io.BytesIO(request_body)) if content_type == "application/x-npy" \
        else np.atleast_2d(np.genfromtxt(io.StringIO(request_body), delimiter=","))
    out = io.BytesIO()
    np.save(out, model.predict(data))
    return out.getvalue(), "application/x-npy"
