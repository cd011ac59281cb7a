"""Split a raw CSV into train/validation/test, in the style of the pipeline examples'
preprocessing scripts: fixed /opt/ml/processing paths, label moved to the first column."""

import argparse
import logging
import pathlib

import numpy as np
import pandas as pd

logger = logging.getLogger()
logger.setLevel(logging.INFO)
logger.addHandler(logging.StreamHandler())

base_dir = "/opt/ml/processing"

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--test-share", type=float, default=0.2)
    args = parser.parse_args()

    pathlib.Path(f"{base_dir}/data").mkdir(parents=True, exist_ok=True)
    logger.info("Reading the raw data")
    df = pd.read_csv(f"{base_dir}/input/raw.csv")
    label = df.pop("label")
    df.insert(0, "label", label)

    shuffled = df.sample(frac=1.0, random_state=7).to_numpy()
    n = len(shuffled)
    cut_test = int(n * (1 - args.test_share))
    cut_valid = int(cut_test * 0.8)
    train, validation, test = np.split(shuffled, [cut_valid, cut_test])
    logger.info("train %s, validation %s, test %s", train.shape, validation.shape, test.shape)

    pd.DataFrame(train).to_csv(f"{base_dir}/train/train.csv", header=False, index=False)
    pd.DataFrame(validation).to_csv(f"{base_dir}/validation/validation.csv", header=False,
                                    index=False)
    pd.DataFrame(test).to_csv(f"{base_dir}/test/test.csv", header=False, index=False)
