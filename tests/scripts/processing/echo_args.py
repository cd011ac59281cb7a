"""Writes what it was started with: arguments, interpreter flags, working folder."""

import json
import os
import sys

os.makedirs("/opt/ml/processing/out", exist_ok=True)
with open("/opt/ml/processing/out/args.json", "w") as handle:
    json.dump({"argv": sys.argv, "dont_write_bytecode": sys.flags.dont_write_bytecode,
               "env": {k: v for k, v in os.environ.items() if k.startswith("MY_")},
               "name": __name__, "root": os.environ.get("MLOPSKIT_OPT_ML_ROOT"),
               "cwd": os.getcwd()}, handle)
print("args", sys.argv[1:])
