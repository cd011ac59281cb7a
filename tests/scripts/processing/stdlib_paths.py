"""Hard-coded /opt/ml paths through the standard library only (runs on Python 3.10-3.13).

Writes /opt/ml/processing/out/report.json with what each API returned.
"""

import glob
import json
import os
import pathlib
import shutil
import sys
import tempfile

BASE = "/opt/ml/processing"
OUT = f"{BASE}/out"
report = {"python": list(sys.version_info[:2])}

with open(f"{BASE}/input/data/rows.txt") as handle:
    report["open_read"] = handle.read().splitlines()
os.makedirs(f"{OUT}/made/deeper")
pathlib.Path(f"{OUT}/made/deeper/p.txt").write_text("pathlib")
report["pathlib_read"] = pathlib.Path(f"{OUT}/made/deeper/p.txt").read_text()
report["pathlib_exists"] = [pathlib.Path(OUT).is_dir(), pathlib.Path(f"{OUT}/nope").exists()]
report["pathlib_iterdir"] = sorted(str(p) for p in pathlib.Path(f"{BASE}/input/data").iterdir())
report["pathlib_rglob"] = sorted(str(p) for p in pathlib.Path(OUT).rglob("*.txt"))
report["glob"] = sorted(glob.glob(f"{BASE}/input/*/*.txt"))
report["listdir"] = sorted(os.listdir(f"{BASE}/input/data"))
with os.scandir(f"{BASE}/input/data") as entries:
    report["scandir_paths"] = sorted(entry.path for entry in entries)
report["walk"] = sorted(folder for folder, _, _ in os.walk(OUT))
report["os_path"] = [os.path.isfile(f"{BASE}/input/data/rows.txt"),
                     os.path.getsize(f"{BASE}/input/data/rows.txt"),
                     os.path.realpath(f"{OUT}/made")]
shutil.copy(f"{BASE}/input/data/rows.txt", f"{OUT}/copied.txt")
shutil.copytree(f"{OUT}/made", f"{OUT}/tree")
shutil.rmtree(f"{OUT}/tree")
shutil.move(f"{OUT}/copied.txt", f"{OUT}/moved.txt")
os.rename(f"{OUT}/moved.txt", f"{OUT}/renamed.txt")
os.symlink(f"{OUT}/renamed.txt", f"{OUT}/link.txt")
report["readlink"] = os.readlink(f"{OUT}/link.txt")
with open(f"{OUT}/link.txt") as handle:
    report["through_link"] = handle.read().splitlines()
os.remove(f"{OUT}/link.txt")
with tempfile.NamedTemporaryFile("w", dir=OUT, suffix=".tmp", delete=False) as tmp:
    tmp.write("t")
report["tempfile_in_out"] = os.path.dirname(tmp.name)
os.unlink(tmp.name)
if hasattr(pathlib.Path, "walk"):  # 3.12+
    report["pathlib_walk"] = sorted(str(top) for top, _, _ in pathlib.Path(OUT).walk())
try:
    with open(f"{BASE}/input/data/missing.txt"):
        pass
except FileNotFoundError as exc:
    report["error_names"] = exc.filename
os.chdir(f"{BASE}/input/data")
with open("rows.txt") as handle:
    report["relative_after_chdir"] = handle.read().splitlines()
os.chdir("/")
pathlib.Path(f"{OUT}/report.json").write_text(json.dumps(report, indent=1))
raise_at_end = len(sys.argv) > 1 and sys.argv[1] == "--fail"
if raise_at_end:
    with open(f"{BASE}/input/data/not-there.csv"):
        pass
