#!/usr/bin/env bash
# Make the interpreter bench_drift.py runs Evidently in: .venv-evidently at the repository
# root. Evidently 0.7 does not import under pandas 3 (which mlopskit's own environment may
# hold), so the peer gets its own environment with pandas 2; both use the same numpy
# generator, and the benchmark checks a digest of the data each side measured.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python3 -m venv "$root/.venv-evidently"
"$root/.venv-evidently/bin/pip" install --quiet "evidently==0.7.23" "pandas>=2.2,<3"
echo "Evidently ready: $root/.venv-evidently/bin/python"
