"""A featurizer in the style of the inference-pipeline examples: fit on a channel when run as
a training script, then transform rows at inference time, answering with
sagemaker_containers' worker.Response."""

from __future__ import print_function

import argparse
import json
import os
from io import StringIO

import joblib
import numpy as np
import pandas as pd
from sagemaker_containers.beta.framework import content_types, encoders, worker
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

feature_columns = ["a", "b", "c"]
label_column = "label"

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    args = parser.parse_args()

    raw = pd.read_csv(os.path.join(args.train, "raw.csv"), header=None,
                      names=feature_columns + [label_column])
    preprocessor = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    preprocessor.fit(raw[feature_columns])
    joblib.dump(preprocessor, os.path.join(args.model_dir, "model.joblib"))
    print("saved model!")


def input_fn(input_data, content_type):
    """Rows with or without the label column."""
    if content_type == "text/csv":
        df = pd.read_csv(StringIO(input_data), header=None)
        if len(df.columns) == len(feature_columns) + 1:
            df.columns = feature_columns + [label_column]
        elif len(df.columns) == len(feature_columns):
            df.columns = feature_columns
        return df
    raise ValueError("{} not supported by script!".format(content_type))


def output_fn(prediction, accept):
    if accept == "application/json":
        instances = [{"features": row} for row in prediction.tolist()]
        return worker.Response(json.dumps({"instances": instances}), mimetype=accept)
    if accept == "text/csv":
        return worker.Response(encoders.encode(prediction, accept), mimetype=accept)
    return worker.Response("accept type {} is not supported".format(accept), status=415,
                           mimetype="text/plain")


def predict_fn(input_data, model):
    features = model.transform(input_data[feature_columns])
    if label_column in input_data:
        return np.insert(features, 0, input_data[label_column], axis=1)
    return features


def model_fn(model_dir):
    assert content_types.CSV == "text/csv"
    return joblib.load(os.path.join(model_dir, "model.joblib"))
