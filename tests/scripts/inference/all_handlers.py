"""All four handlers, the way the SageMaker examples write them."""

import json
import os

import joblib
import numpy as np


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(request_body, request_content_type):
    if request_content_type == "application/json":
        payload = json.loads(request_body)
        return np.array(payload["instances"], dtype=float)
    if request_content_type == "text/csv":
        rows = [r for r in request_body.strip().split("\n") if r]
        return np.array([[float(v) for v in r.split(",")] for r in rows])
    raise ValueError(f"unsupported content type {request_content_type}")


def predict_fn(input_data, model):
    if input_data.shape[1] != 3:
        raise ValueError("expected 3 features")
    return model.predict_proba(input_data)


def output_fn(prediction, accept):
    if accept == "text/csv":
        return "\n".join(",".join(f"{p:.6f}" for p in row) for row in prediction), accept
    return json.dumps({"probabilities": prediction.tolist()}), "application/json"
