"""A tiny tuning pipeline for the TuningStep tests: a script whose score peaks at x = 3,
a Random-search tuner over x, and a model of the best trial (``get_top_model_s3_uri``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlopskit
from mlopskit.pipeline import CacheConfig, ModelStep, Pipeline, TuningStep
from mlopskit.tuning import ContinuousParameter

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SERVE_IMAGE = "example.com/serve:1"
METRICS = [{"Name": "score", "Regex": r"score=([-0-9.e]+)"}]
SCRIPT = """\
import json, os, sys
x = float(json.loads(os.environ["SM_HP_X"]))
if json.loads(os.environ.get("SM_HP_FAIL", "0")):
    sys.exit("failing on purpose")
with open(os.path.join(os.environ["SM_MODEL_DIR"], "x.txt"), "w") as f:
    f.write(repr(x))
print(f"score={-(x - 3) ** 2}")
"""


def write_script(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "train.py"
    script.write_text(SCRIPT)
    return script


def tuner(session: mlopskit.Session, folder: Path, *, fail: bool = False, max_jobs: int = 3,
          **settings: Any) -> mlopskit.HyperparameterTuner:
    estimator = mlopskit.Estimator(str(write_script(folder)), image_uri=IMAGE,
                                   instance_type="ml.m5.large", metric_definitions=METRICS,
                                   hyperparameters={"fail": int(fail)}, session=session)
    return mlopskit.HyperparameterTuner(
        estimator, "score", {"x": ContinuousParameter(0, 6)}, strategy="Random",
        max_jobs=max_jobs, max_parallel_jobs=max_jobs, random_seed=11, **settings)


def tuning_pipeline(session: mlopskit.Session, folder: Path, name: str = "tune-demo", *,
                    fail: bool = False, cache: bool = False) -> Pipeline:
    """Tune (3 trials) -> Best (a Model step of the best trial's artifact)."""
    tune = TuningStep("Tune", tuner(session, folder, fail=fail),
                      cache_config=CacheConfig(expire_after="P1D") if cache else None)
    model = mlopskit.Model(tune.get_top_model_s3_uri(0, session.default_bucket),
                           image_uri=SERVE_IMAGE)
    return Pipeline(name, steps=[tune, ModelStep("Best", model)], session=session)
