"""Writes what the container contract gave it (argv, SM_* variables, files) to the model dir."""

import json
import os
import sys

report = {
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "env": {k: v for k, v in os.environ.items()
            if k.startswith(("SM_", "SAGEMAKER_", "CURRENT_HOST", "TRAINING_JOB_NAME"))},
    "channels": {},
    "config": {},
}
for name in json.loads(os.environ["SM_CHANNELS"]):
    folder = os.environ["SM_CHANNEL_" + name.upper()]
    report["channels"][name] = sorted(
        os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)
config_dir = os.environ["SM_INPUT_CONFIG_DIR"]
for fname in sorted(os.listdir(config_dir)):
    with open(os.path.join(config_dir, fname)) as handle:
        report["config"][fname] = json.load(handle)
host = os.environ["SM_CURRENT_HOST"]
with open(os.path.join(os.environ["SM_MODEL_DIR"], f"report-{host}.json"), "w") as handle:
    json.dump(report, handle)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "shared.txt"), "w") as handle:
    handle.write(host)
print(f"host {host} done")
