"""An old-style training script that asks sagemaker_containers for its environment instead of
reading SM_* variables (as the first framework containers' examples did)."""

import json
import os

import sagemaker_containers

if __name__ == "__main__":
    env = sagemaker_containers.training_env()
    hyperparameters = env.hyperparameters
    train_dir = env.channel_input_dirs["training"]
    rows = []
    for name in sorted(os.listdir(train_dir)):
        with open(os.path.join(train_dir, name)) as handle:
            rows.extend(line.strip() for line in handle if line.strip())
    summary = {"rows": len(rows), "scale": hyperparameters["scale"],
               "hosts": env.hosts, "current_host": env.current_host,
               "job_name": env.job_name}
    print("summary: {}".format(json.dumps(summary)))
    with open(os.path.join(env.model_dir, "summary.json"), "w") as handle:
        json.dump(summary, handle)
