"""Demo processing step: split the raw CSV files into train and test, at SageMaker's fixed
processing paths (a real SageMaker processing script, unmodified)."""

import glob
import os

import pandas as pd


def main() -> None:
    paths = sorted(glob.glob("/opt/ml/processing/input/*.csv"))
    data = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    data = data.sample(frac=1.0, random_state=0).reset_index(drop=True)
    cut = int(len(data) * 0.8)
    for name, part in (("train", data.iloc[:cut]), ("test", data.iloc[cut:])):
        os.makedirs(f"/opt/ml/processing/{name}", exist_ok=True)
        part.to_csv(f"/opt/ml/processing/{name}/{name}.csv", index=False)
    print(f"split {len(data)} rows: {cut} train, {len(data) - cut} test")


if __name__ == "__main__":
    main()
