"""Demo evaluation step: score the trained model on the test split and write
evaluation.json, the property file the pipeline's condition reads."""

import json
import os
import tarfile

import joblib
import pandas as pd


def main() -> None:
    root = os.path.realpath("/opt/ml/processing/model")
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(os.path.join(root, "model.tar.gz")) as archive:
        for member in archive.getmembers():  # no links, nothing outside the folder
            target = os.path.realpath(os.path.join(root, member.name))
            if member.issym() or member.islnk() or not target.startswith(root + os.sep):
                raise ValueError(f"unsafe entry in the model archive: {member.name}")
        archive.extractall(root, **safe)  # noqa: S202 -- noqa: security-reviewed (checked above)
    model = joblib.load("/opt/ml/processing/model/model.joblib")
    test = pd.read_csv("/opt/ml/processing/test/test.csv")
    accuracy = float(model.score(test.drop(columns=["churned"]).to_numpy(), test["churned"]))
    os.makedirs("/opt/ml/processing/evaluation", exist_ok=True)
    with open("/opt/ml/processing/evaluation/evaluation.json", "w") as handle:
        json.dump({"metrics": {"accuracy": {"value": accuracy}}}, handle)
    print(f"test_accuracy={accuracy:.4f}")


if __name__ == "__main__":
    main()
