"""Split a raw CSV into train/test, as SageMaker processing scripts do: fixed paths."""

import glob
import os

import pandas as pd

frames = [pd.read_csv(path) for path in sorted(glob.glob("/opt/ml/processing/input/*.csv"))]
data = pd.concat(frames, ignore_index=True)
cut = int(len(data) * 0.75)
os.makedirs("/opt/ml/processing/train", exist_ok=True)
data.iloc[:cut].to_csv("/opt/ml/processing/train/train.csv", index=False)
data.iloc[cut:].to_csv("/opt/ml/processing/test/test.csv", index=False)
if os.path.isdir("/opt/ml/processing/validation"):  # an output of the SDK-made definition
    data.iloc[cut:].to_csv("/opt/ml/processing/validation/validation.csv", index=False)
print(f"split {len(data)} rows: {cut} train, {len(data) - cut} test")
