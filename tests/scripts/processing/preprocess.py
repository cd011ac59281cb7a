"""A processing script as people write them for SageMaker: every path hard-coded.

It reads /opt/ml/processing/input/raw/*.csv with pandas, splits the rows into train and
test with numpy, and writes them (plus a .npy array and a report of what it saw) to its
output folders. It must run unmodified on the local backend.
"""

import argparse
import glob
import json
import os
import pathlib
import shutil
import sys

import numpy as np
import pandas as pd

BASE = "/opt/ml/processing"

parser = argparse.ArgumentParser()
parser.add_argument("--test-fraction", type=float, default=0.25)
parser.add_argument("--label", default="label")
args, extra = parser.parse_known_args()

frames = [pd.read_csv(path) for path in sorted(glob.glob(f"{BASE}/input/raw/*.csv"))]
data = pd.concat(frames, ignore_index=True)
cut = int(len(data) * (1 - args.test_fraction))
os.makedirs(f"{BASE}/train/nested", exist_ok=True)
data.iloc[:cut].to_csv(f"{BASE}/train/train.csv", index=False)
data.iloc[cut:].to_csv(f"{BASE}/test/test.csv", index=False)
features = data.drop(columns=[args.label]).to_numpy(dtype=float)
np.save(f"{BASE}/train/nested/features.npy", features)
reloaded = np.load(f"{BASE}/train/nested/features.npy")
shutil.copy(f"{BASE}/input/raw/part-0.csv", f"{BASE}/train/nested/copy-of-part-0.csv")

report_dir = pathlib.Path(BASE) / "report"
with open("/opt/ml/config/processingjobconfig.json") as handle:
    config = json.load(handle)
walked = sorted(
    os.path.relpath(os.path.join(folder, name), BASE)
    for folder, _, names in os.walk(BASE) for name in names)
report = {
    "argv": sys.argv,
    "file": __file__,
    "extra": extra,
    "rows": len(data),
    "columns": list(data.columns),
    "train_rows": cut,
    "features_equal": bool((reloaded == features).all()),
    "listdir_raw": sorted(os.listdir(f"{BASE}/input/raw")),
    "pathlib_raw": sorted(p.name for p in pathlib.Path(f"{BASE}/input/raw").iterdir()),
    "pathlib_glob": sorted(str(p) for p in pathlib.Path(BASE).glob("input/raw/*.csv")),
    "glob_recursive": sorted(glob.glob(f"{BASE}/**/*.npy", recursive=True)),
    "walked": walked,
    "exists_code": os.path.exists(f"{BASE}/input/code/{os.path.basename(__file__)}"),
    "outputs_existed": {name: os.path.isdir(f"{BASE}/{name}")
                        for name in ("train", "test", "report")},
    "sm_variables": sorted(k for k in os.environ if k.startswith("SM_")),
    "config_entrypoint": config["AppSpecification"]["ContainerEntrypoint"],
    "config_input_paths": {i["InputName"]: i["S3Input"]["LocalPath"]
                           for i in config["ProcessingInputs"]},
    "resource_config": json.loads(pathlib.Path("/opt/ml/config/resourceconfig.json")
                                  .read_text()),
}
(report_dir / "report.json").write_text(json.dumps(report, indent=2))
print(f"rows: {len(data)}, train: {cut}")
