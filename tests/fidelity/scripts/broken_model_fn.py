"""Prints, then fails while loading: the start-up failure must be reported with its log."""

import os


def model_fn(model_dir):
    print("looking for the model in {}".format(model_dir))
    path = os.path.join(model_dir, "model.pth")  # the artifact holds model.joblib
    with open(path, "rb") as handle:
        return handle.read()
