"""Reports which shard files this host got, and writes a file every host also writes."""

import json
import os

with open("/opt/ml/config/resourceconfig.json") as handle:
    host = json.load(handle)["current_host"]
files = sorted(os.listdir("/opt/ml/processing/input/shards"))
everything = sorted(os.listdir("/opt/ml/processing/input/all"))
with open(f"/opt/ml/processing/out/{host}.json", "w") as handle:
    json.dump({"shards": files, "all": everything}, handle)
with open("/opt/ml/processing/out/shared.txt", "w") as handle:
    handle.write(host)
with open("/opt/ml/output/message", "w") as handle:
    handle.write(f"done on {host}")
print(f"host {host} done")
