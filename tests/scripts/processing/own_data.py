"""Two of these run at once: each waits until both have started (a barrier folder given as
an argument), then reads its own /opt/ml/processing/input/data.csv and writes its sum."""

import os
import sys
import time

barrier, me = sys.argv[1], sys.argv[2]
open(os.path.join(barrier, me), "w").close()
deadline = time.monotonic() + 60
while len(os.listdir(barrier)) < 2 and time.monotonic() < deadline:
    time.sleep(0.02)  # a barrier between two processes, bounded by the deadline
both_running = len(os.listdir(barrier)) >= 2
with open("/opt/ml/processing/input/data.csv") as handle:
    values = [int(line) for line in handle if line.strip()]
os.makedirs("/opt/ml/processing/result", exist_ok=True)
with open("/opt/ml/processing/result/sum.txt", "w") as handle:
    handle.write(f"{me} {sum(values)} {both_running}\n")
