"""Fails like a real script: a bad value in the data raises, after some output."""

import sys

print("reading columns", flush=True)
if len(sys.argv) > 1 and sys.argv[1] == "--message":
    with open("/opt/ml/output/message", "w") as handle:
        handle.write("ValueError: column price holds text")
raise ValueError("column price holds text")
