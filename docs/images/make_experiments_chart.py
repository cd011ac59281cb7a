"""Regenerate docs/images/experiments-compare.svg, the picture in docs/experiments.md.

    .venv/bin/python docs/images/make_experiments_chart.py

Fifteen real local training jobs (five learning rates, three seeds each) of a
histogram gradient boosting model on a generated data set, tracked in one experiment,
then ``Experiment.compare("validation:auc", by="learning_rate")``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification

import mlopskit

SCRIPT = """\
import argparse, os
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

parser = argparse.ArgumentParser()
parser.add_argument("--learning_rate", type=float, default=0.1)
parser.add_argument("--seed", type=int, default=0)
args, _ = parser.parse_known_args()
data = np.loadtxt(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "train.csv"), delimiter=",")
train, valid = data[:2000], data[2000:]
model = HistGradientBoostingClassifier(learning_rate=args.learning_rate, max_iter=60,
                                       random_state=args.seed).fit(train[:, 1:], train[:, 0])
auc = roc_auc_score(valid[:, 0], model.predict_proba(valid[:, 1:])[:, 1])
print(f"validation:auc={auc:.4f}")
"""
METRICS = [{"Name": "validation:auc", "Regex": r"validation:auc=([0-9.]+)"}]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="mlopskit-chart-"))
    features, labels = make_classification(n_samples=3000, n_features=20, n_informative=8,
                                           random_state=0)
    np.savetxt(work / "train.csv", np.column_stack([labels, features]), delimiter=",")
    (work / "code").mkdir()
    (work / "code" / "train.py").write_text(SCRIPT)
    session = mlopskit.LocalSession(root=work / "store")
    for rate in (0.01, 0.03, 0.1, 0.3, 1.0):
        for seed in (1, 2, 3):
            mlopskit.Estimator(
                entry_point="train.py", source_dir=work / "code", instance_type="ml.m5.large",
                hyperparameters={"learning_rate": rate, "seed": seed},
                metric_definitions=METRICS, session=session,
            ).fit({"train": str(work / "train.csv")}, experiment="churn-gbm", logs=False)
    comparison = mlopskit.Experiment("churn-gbm", session=session).compare(
        "validation:auc", by="learning_rate")
    comparison.save(Path(__file__).with_name("experiments-compare.svg"))
    print(comparison.means())


if __name__ == "__main__":
    main()
