"""Runs until stopped: says it is ready, then blocks; leaves a partial output."""

import threading

with open("/opt/ml/processing/out/partial.txt", "w") as handle:
    handle.write("partial")
print("ready", flush=True)
threading.Event().wait(120)
