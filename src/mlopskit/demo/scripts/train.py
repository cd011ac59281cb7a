"""Demo training script in SageMaker's script mode: hyperparameters as arguments, data in
SM_CHANNEL_TRAIN, the model saved to SM_MODEL_DIR."""

import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-type", default="logistic", choices=["logistic", "forest"])
    parser.add_argument("--n-estimators", type=int, default=60)
    args, _ = parser.parse_known_args()
    files = sorted(glob.glob(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "*.csv")))
    data = pd.concat([pd.read_csv(path) for path in files])
    features, labels = data.drop(columns=["churned"]), data["churned"]
    if args.model_type == "forest":
        model = RandomForestClassifier(n_estimators=args.n_estimators, max_depth=8,
                                       random_state=0, n_jobs=1)
    else:
        model = LogisticRegression(max_iter=500)
    model.fit(features.to_numpy(), labels.to_numpy())
    print(f"train_accuracy={model.score(features.to_numpy(), labels.to_numpy()):.4f}")
    joblib.dump(model, os.path.join(os.environ["SM_MODEL_DIR"], "model.joblib"))


if __name__ == "__main__":
    main()
