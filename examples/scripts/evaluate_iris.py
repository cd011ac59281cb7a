"""A SageMaker processing script: score the trained iris model on the held-out test set.

Inputs: the training job's model.tar.gz in /opt/ml/processing/model and the test split in
/opt/ml/processing/test. Output: /opt/ml/processing/evaluation/evaluation.json, in the
shape of a SageMaker model quality report, so a pipeline can read it with a PropertyFile
(``metrics.accuracy.value``) and register it as the model's metrics.
"""

import json
import os
import tarfile

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

BASE = "/opt/ml/processing"


def extract(archive_path, target):
    """Unpack the model archive, refusing links and entries that leave the folder."""
    target = os.path.realpath(target)
    with tarfile.open(archive_path) as archive:
        members = archive.getmembers()
        for member in members:
            path = os.path.realpath(os.path.join(target, member.name))
            if member.issym() or member.islnk() or not path.startswith(target + os.sep):
                raise ValueError(f"unsafe entry in the model archive: {member.name}")
        # every entry is checked above; newer Pythons also apply their own "data" filter
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(target, members=members, **safe)


if __name__ == "__main__":
    model_dir = os.path.join(BASE, "model")
    extract(os.path.join(model_dir, "model.tar.gz"), model_dir)
    model = joblib.load(os.path.join(model_dir, "model.joblib"))

    test = pd.read_csv(os.path.join(BASE, "test", "iris.csv"))
    truth = test["species"]
    predicted = model.predict(test.drop(columns=["species"]))
    report = {"metrics": {
        "accuracy": {"value": float(accuracy_score(truth, predicted))},
        "f1_macro": {"value": float(f1_score(truth, predicted, average="macro"))},
    }}
    os.makedirs(os.path.join(BASE, "evaluation"), exist_ok=True)
    with open(os.path.join(BASE, "evaluation", "evaluation.json"), "w") as handle:
        json.dump(report, handle)
    print(f"test accuracy: {report['metrics']['accuracy']['value']:.4f}")
