"""XGBoost in script mode, in the style of the "bring your own XGBoost script" examples:
label in the first column, no header, validation AUC printed for the metric regex."""

import argparse
import os

import pandas as pd
import xgboost as xgb

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.3)
    parser.add_argument("--objective", type=str, default="binary:logistic")
    parser.add_argument("--num_round", type=int, default=20)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--validation", type=str, default=os.environ["SM_CHANNEL_VALIDATION"])
    args = parser.parse_args()

    train = pd.read_csv(os.path.join(args.train, "train.csv"), header=None)
    valid = pd.read_csv(os.path.join(args.validation, "validation.csv"), header=None)
    dtrain = xgb.DMatrix(train.iloc[:, 1:].values, label=train.iloc[:, 0].values)
    dvalid = xgb.DMatrix(valid.iloc[:, 1:].values, label=valid.iloc[:, 0].values)

    params = {"max_depth": args.max_depth, "eta": args.eta, "objective": args.objective,
              "eval_metric": "auc", "seed": 0}
    booster = xgb.train(params, dtrain, num_boost_round=args.num_round,
                        evals=[(dtrain, "train"), (dvalid, "validation")], verbose_eval=5)
    score = float(booster.eval(dvalid).split(":")[1])
    print("validation-auc:{:.5f}".format(score))

    booster.save_model(os.path.join(args.model_dir, "xgboost-model"))
