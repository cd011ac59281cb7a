"""Serving an XGBoost booster with only model_fn: the container's defaults do the rest
(CSV/LibSVM/RecordIO-protobuf in, a DMatrix to the booster, encoded predictions out)."""

import os

import xgboost as xgb


def model_fn(model_dir):
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "xgboost-model"))
    print("booster loaded with {} features".format(booster.num_features()))
    return booster
