"""Fit a logistic regression on the train channel; report accuracy as a metric."""

import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression

parser = argparse.ArgumentParser()
parser.add_argument("--regularisation", type=float, default=1.0)
args, _ = parser.parse_known_args()  # other hyperparameters are for other trainers
files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))
data = pd.concat([pd.read_csv(f) for f in files])
features, labels = data.drop(columns=["label"]).to_numpy(), data["label"].to_numpy()
model = LogisticRegression(C=args.regularisation).fit(features, labels)
print(f"train_accuracy={model.score(features, labels):.4f}")
joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))
