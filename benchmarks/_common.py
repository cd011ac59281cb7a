"""Helpers shared by the benchmark scripts: timing, import cost, tables and JSON results.

Benchmarks are measurements, not tests: they print what they saw and exit 0 whatever the
figures are (a benchmark exits non-zero only when the measurement itself broke).
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for humans and JSON alike."""
    return round(seconds * 1000.0, 2)


def summary(samples_s: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and every sample, in milliseconds."""
    values = [ms(s) for s in samples_s]
    return {
        "median_ms": round(statistics.median(values), 2),
        "min_ms": min(values),
        "max_ms": max(values),
        "samples_ms": values,
    }


def timed(action: Callable[[], object]) -> float:
    """Wall-clock seconds taken by ``action()``."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def clean_env() -> dict[str, str]:
    """This environment minus variables that would change what a fresh interpreter does."""
    env = dict(os.environ)
    for key in ("PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONTRACEMALLOC",
                "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    return env


def run_python(code: str, *, cwd: Path, env: dict[str, str]) -> float:
    """Seconds taken by ``python -c code`` in a fresh interpreter; raises if it fails."""
    command = [sys.executable, "-c", code]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command!r} failed: {result.stderr.decode(errors='replace')}")
    return elapsed


def module_available(name: str, *, cwd: Path, env: dict[str, str]) -> bool:
    """True when ``import name`` works in a fresh interpreter (checked without importing here)."""
    probe = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({name!r}) else 1)"
    return subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env,
                          capture_output=True, check=False).returncode == 0


def loaded_modules(code: str, watch: Sequence[str], *, cwd: Path,
                   env: dict[str, str]) -> list[str]:
    """Which of ``watch`` are in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {list(watch)!r} " \
            "if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=cwd, env=env,
                            capture_output=True, text=True, check=True)
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "mlopskit": version_of("mlopskit"),
        "boto3": version_of("boto3"),
        "sagemaker": version_of("sagemaker"),
    }


def verdict(value_ms: float, aim_ms: float) -> str:
    """PASS when the figure is under its aim, MISS otherwise."""
    return "PASS" if value_ms < aim_ms else "MISS"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [row[0].ljust(widths[0])]
        parts += [value.rjust(width) for value, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus when it was measured) to ``path``, making the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"measured_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                **payload}
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
