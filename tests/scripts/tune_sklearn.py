"""A scikit-learn training script for hyperparameter tuning, as in SageMaker's examples.

Gradient boosting on CSV files (label in the first column): it prints the validation AUC
and log loss after every boosting stage,
``[iter 3] validation-auc: 0.912345 validation-logloss: 0.456789``, so a tuner reads the
final objective (and intermediate ones, for early stopping and Hyperband) from the log.
``--stage-seconds`` stands for the time a bigger data set would take per stage.
"""

import argparse
import os
import time

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score


def read_csvs(folder):
    frames = [pd.read_csv(os.path.join(folder, name), header=None)
              for name in sorted(os.listdir(folder)) if name.endswith(".csv")]
    data = pd.concat(frames)
    return data.iloc[:, 1:].to_numpy(), data.iloc[:, 0].to_numpy()


def model_fn(model_dir):
    """Serving: the model saved by training."""
    return joblib.load(os.path.join(model_dir, "model.joblib"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=9)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--loss", type=str, default="log_loss")
    parser.add_argument("--stage-seconds", type=float, default=0.0)
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", type=str,
                        default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args = parser.parse_args()

    X_train, y_train = read_csvs(args.train)
    X_valid, y_valid = read_csvs(args.validation)
    model = GradientBoostingClassifier(n_estimators=args.n_estimators,
                                       learning_rate=args.learning_rate,
                                       max_depth=args.max_depth, loss=args.loss,
                                       random_state=0)
    model.fit(X_train, y_train)  # an invalid hyperparameter raises here: the job fails
    for stage, proba in enumerate(model.staged_predict_proba(X_valid), start=1):
        auc = roc_auc_score(y_valid, proba[:, 1])
        loss = log_loss(y_valid, proba[:, 1])
        print(f"[iter {stage}] validation-auc: {auc:.6f} validation-logloss: {loss:.6f}",
              flush=True)
        time.sleep(args.stage_seconds)
    print(f"train-accuracy: {np.mean(model.predict(X_train) == y_train):.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
