"""A training job that runs until it is stopped (or --seconds pass), then saves a model."""

import argparse
import os
import threading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    print("waiting to be stopped", flush=True)
    threading.Event().wait(args.seconds)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as handle:
        handle.write("done")


if __name__ == "__main__":
    main()
