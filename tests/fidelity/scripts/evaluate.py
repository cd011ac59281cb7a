"""Evaluate a trained booster, in the style of the pipeline examples' evaluation scripts:
the model is extracted to ".." and then opened by its bare name (both mean "/" in the
container, where the script starts), and the report goes to a property file."""

import json
import logging
import pathlib
import tarfile

import pandas as pd
import xgboost
from sklearn.metrics import accuracy_score, roc_auc_score

logger = logging.getLogger()
logger.setLevel(logging.INFO)
logger.addHandler(logging.StreamHandler())

if __name__ == "__main__":
    model_path = "/opt/ml/processing/model/model.tar.gz"
    with tarfile.open(model_path) as tar:
        tar.extractall(path="..")

    logger.debug("Loading xgboost model.")
    model = xgboost.Booster()
    model.load_model("xgboost-model")

    df = pd.read_csv("/opt/ml/processing/test/test.csv", header=None)
    y_test = df.iloc[:, 0].to_numpy()
    df.drop(df.columns[0], axis=1, inplace=True)
    predictions = model.predict(xgboost.DMatrix(df.values))

    report_dict = {
        "binary_classification_metrics": {
            "accuracy": {"value": accuracy_score(y_test, predictions.round()),
                         "standard_deviation": "NaN"},
            "auc": {"value": roc_auc_score(y_test, predictions), "standard_deviation": "NaN"},
        },
    }
    output_dir = "/opt/ml/processing/evaluation"
    pathlib.Path(output_dir).mkdir(parents=True, exist_ok=True)
    with open(f"{output_dir}/evaluation.json", "w") as f:
        f.write(json.dumps(report_dict))
    logger.info("rows evaluated: %d", len(y_test))
