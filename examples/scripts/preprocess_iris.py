"""A SageMaker processing script: split the raw iris CSV into train and test sets.

It uses SageMaker's fixed processing paths, as real processing scripts do; mlopskit runs
it unmodified on the local backend (each job gets its own copy of /opt/ml/processing).
Arguments: ``--test-fraction`` (default 0.3).
"""

import argparse
import glob
import os

import pandas as pd
from sklearn.model_selection import train_test_split

BASE = "/opt/ml/processing"

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-fraction", type=float, default=0.3)
    args = parser.parse_args()

    paths = sorted(glob.glob(os.path.join(BASE, "input", "*.csv")))
    data = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    train, test = train_test_split(data, test_size=args.test_fraction, random_state=1,
                                   stratify=data["species"])
    for name, part in (("train", train), ("test", test)):
        os.makedirs(os.path.join(BASE, name), exist_ok=True)
        # train_iris.py reads iris.csv from its channel
        part.to_csv(os.path.join(BASE, name, "iris.csv"), index=False)
    print(f"split {len(data)} rows: {len(train)} train, {len(test)} test")
