"""A batch scorer with one transform_fn, in the style of the batch transform examples:
CSV rows in, one JSON line per row out."""

import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    print("model files: {}".format(sorted(os.listdir(model_dir))))
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def transform_fn(model, request_body, content_type, accept):
    if content_type != "text/csv":
        raise ValueError("expected text/csv, got {}".format(content_type))
    rows = np.array([line.split(",") for line in request_body.strip().splitlines()],
                    dtype=float)
    labels = model.predict(rows)
    scores = model.predict_proba(rows)[:, 1]
    body = "\n".join(json.dumps({"label": int(label), "score": round(float(score), 6)})
                     for label, score in zip(labels, scores))
    return body, "application/jsonlines"
