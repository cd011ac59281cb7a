"""A SageMaker script-mode training script: it runs unchanged on SageMaker and on mlopskit.

SageMaker passes hyperparameters as command-line arguments and tells the script where its
data and model folders are through SM_* environment variables.
"""

import argparse
import json
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--max-depth", type=int, default=None)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    args = parser.parse_args()

    data = pd.read_csv(os.path.join(args.train, "iris.csv"))
    features, labels = data.drop(columns=["species"]), data["species"]
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels)
    model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth,
                                   random_state=0)
    model.fit(x_train, y_train)
    print(f"train-accuracy: {model.score(x_train, y_train):.4f}")
    print(f"test-accuracy: {model.score(x_test, y_test):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    with open(os.path.join(args.model_dir, "features.json"), "w") as handle:
        json.dump(list(features.columns), handle)
