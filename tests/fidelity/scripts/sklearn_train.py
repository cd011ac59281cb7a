"""Random forest on a CSV channel, in the style of the scikit-learn script-mode examples.

Trains when run as a script; doubles as the inference entry point (model_fn only).
"""

import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier


def model_fn(model_dir):
    print("loading model.joblib from: {}".format(model_dir))
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    # hyperparameters sent by the client are passed as command-line arguments
    parser.add_argument("--n-estimators", type=int, default=10)
    parser.add_argument("--min-samples-leaf", type=int, default=1)
    parser.add_argument("--target", type=str, default="label")
    # where the data lives, from the SM_* environment of the training container
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()

    print("reading training data from {}".format(args.train))
    frames = [pd.read_csv(f) for f in sorted(glob.glob(os.path.join(args.train, "*.csv")))]
    train_df = pd.concat(frames)
    test_df = pd.read_csv(os.path.join(args.test, "test.csv"))
    features = [c for c in train_df.columns if c != args.target]

    print("training model")
    model = RandomForestClassifier(n_estimators=args.n_estimators,
                                   min_samples_leaf=args.min_samples_leaf, random_state=0)
    model.fit(train_df[features], train_df[args.target])

    accuracy = model.score(test_df[features], test_df[args.target])
    print("test accuracy: {:.4f}".format(accuracy))

    path = os.path.join(args.model_dir, "model.joblib")
    joblib.dump(model, path)
    print("model persisted at " + path)
