"""An inference script that talks, as most example scripts do: at import, while loading the
model and for every request. None of it may be mistaken for the server's own answers."""

import json
import os
import sys

import joblib
import numpy as np

print("inference.py imported with Python {}".format(sys.version.split()[0]))
print("this goes to standard error", file=sys.stderr)


def model_fn(model_dir):
    print("loading model.joblib from: {}".format(model_dir))
    model = joblib.load(os.path.join(model_dir, "model.joblib"))
    print("READY 1")  # a line that looks like the server's start-up answer
    return model


def input_fn(request_body, request_content_type):
    print("input_fn received {} bytes of {}".format(len(request_body), request_content_type))
    if request_content_type == "application/json":
        payload = json.loads(request_body)
        return np.array(payload["instances"], dtype=float)
    if request_content_type == "text/csv":
        rows = [line.split(",") for line in request_body.strip().splitlines()]
        return np.array(rows, dtype=float)
    raise ValueError("Unsupported content type: {}".format(request_content_type))


def predict_fn(input_data, model):
    print("predicting {} rows".format(len(input_data)))
    return model.predict_proba(input_data)[:, 1]


def output_fn(prediction, accept):
    if accept == "text/csv":
        return "\n".join("{:.6f}".format(p) for p in prediction), accept
    return json.dumps({"predictions": [round(float(p), 6) for p in prediction]}), accept
