"""Writes scratch files by relative path and reads them back through "..", as a script may
when it knows it starts in "/" (the processing container's working folder)."""

import json
import os
import shutil

if __name__ == "__main__":
    os.makedirs("scratch", exist_ok=True)
    with open("scratch/notes.txt", "w") as handle:
        handle.write("written relative to the working folder\n")
    with open("../../scratch/notes.txt") as handle:  # ".." of "/" is "/"
        notes = handle.read()
    os.chdir("scratch")
    with open("../scratch/notes.txt") as handle:  # inside: an ordinary relative path
        again = handle.read()
    os.chdir("..")
    shutil.copy("scratch/notes.txt", "/opt/ml/processing/output/notes.txt")
    listing = sorted(os.listdir("."))
    with open("/opt/ml/processing/output/report.json", "w") as handle:
        json.dump({"same": notes == again, "listing": listing,
                   "sees_opt_ml": os.path.isdir("opt/ml/processing/output")}, handle)
