"""End to end on the local backend: make data, train a scikit-learn model, load the result.

Run it with ``python examples/train_sklearn.py``; it needs no Docker, network or AWS account.
Everything it stores lands under ./.mlopskit (set MLOPSKIT_ROOT to put it elsewhere).
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import joblib
from sklearn.datasets import load_iris

import mlopskit

HERE = Path(__file__).parent


def main() -> None:
    session = mlopskit.LocalSession()
    with tempfile.TemporaryDirectory() as tmp:
        frame = load_iris(as_frame=True).frame.rename(columns={"target": "species"})
        data = Path(tmp) / "iris"
        data.mkdir()
        frame.to_csv(data / "iris.csv", index=False)

        estimator = mlopskit.Estimator(
            entry_point="train_iris.py",
            source_dir=HERE / "scripts",
            framework="sklearn",
            framework_version="1.2-1",
            instance_type="ml.m5.large",
            hyperparameters={"n-estimators": 50, "max-depth": 4},
            metric_definitions=[
                {"Name": "test:accuracy", "Regex": r"test-accuracy: ([0-9.]+)"},
                {"Name": "train:accuracy", "Regex": r"train-accuracy: ([0-9.]+)"},
            ],
            session=session,
        )
        job = estimator.fit({"train": str(data)})

    print()
    print(f"job        {job.name}  ({job.status})")
    print(f"metrics    {job.metrics}")
    print(f"model      {job.model_data}")
    with tarfile.open(fileobj=io.BytesIO(session.read_bytes(job.model_data))) as tar:
        member = tar.extractfile("model.joblib")
        assert member is not None
        model = joblib.load(io.BytesIO(member.read()))
    print(f"loaded     {type(model).__name__} with {len(model.estimators_)} trees")
    print(f"look again mlopskit.TrainingJob.attach({job.name!r}, "
          f"session=mlopskit.LocalSession({str(session.root)!r}))")


if __name__ == "__main__":
    main()
