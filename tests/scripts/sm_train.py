"""A real SageMaker script-mode training script, as users write them (unmodified here).

Strict parse_args: any stray argument fails the job, as it would on SageMaker.
"""

import argparse
import json
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression


def str2bool(value):
    return str(value).lower() in ("true", "1", "yes")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_iter", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--run-name", type=str, default="")
    parser.add_argument("--fit-intercept", type=str2bool, default=True)
    parser.add_argument("--layers", type=str, default="[]")
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--output-data-dir", type=str, default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    args = parser.parse_args()

    frames = [pd.read_csv(os.path.join(args.train, f), header=None)
              for f in sorted(os.listdir(args.train)) if f.endswith(".csv")]
    data = pd.concat(frames)
    y, X = data.iloc[:, 0].to_numpy(), data.iloc[:, 1:].to_numpy()
    model = LogisticRegression(max_iter=args.max_iter, fit_intercept=args.fit_intercept)
    model.fit(X, y)
    accuracy = float(model.score(X, y))
    print(f"train-accuracy: {accuracy:.4f}")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    with open(os.path.join(args.output_data_dir, "run.json"), "w") as handle:
        json.dump({"run_name": args.run_name, "layers": args.layers,
                   "rows": len(data), "learning_rate": args.learning_rate}, handle)
    np.save(os.path.join(args.output_data_dir, "coef.npy"), model.coef_)
