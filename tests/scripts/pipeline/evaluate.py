"""Score the trained model on the test split; write evaluation.json (a property file)."""

import json
import os
import tarfile

import joblib
import pandas as pd

safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
with tarfile.open("/opt/ml/processing/model/model.tar.gz") as archive:
    archive.extractall("/opt/ml/processing/model", **safe)
model = joblib.load("/opt/ml/processing/model/model.joblib")
test = pd.read_csv("/opt/ml/processing/test/test.csv")
accuracy = float(model.score(test.drop(columns=["label"]).to_numpy(), test["label"]))
report = {"metrics": {"accuracy": {"value": accuracy}}}
os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
with open("/opt/ml/processing/evaluation/evaluation.json", "w") as handle:
    json.dump(report, handle)
print(f"accuracy={accuracy:.4f}")
