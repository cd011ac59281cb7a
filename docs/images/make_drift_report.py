"""Regenerate docs/images/drift-report.svg, the picture in docs/monitoring.md.

    .venv/bin/python docs/images/make_drift_report.py

A 5,000-row reference of four features and a window where ``income`` has moved and
``channel`` has changed mix, compared with the default thresholds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlopskit.monitoring import baseline, compare
from mlopskit.monitoring._report import report_svg


def frame(rows: int, shifted: bool, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mix = [0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2]
    return pd.DataFrame({
        "age": rng.normal(40, 12, rows).round(),
        "income": rng.lognormal(10.6 if shifted else 10.3, 0.4, rows),
        "tenure_months": rng.poisson(24, rows),
        "channel": rng.choice(["web", "store", "phone"], rows, p=mix),
    })


def main() -> None:
    report = compare(baseline(frame(5000, False, 1)), frame(2000, True, 2))
    target = Path(__file__).with_name("drift-report.svg")
    target.write_text(report_svg(report) + "\n")
    print(f"{target}: drifted {', '.join(report.drifted_features)}")


if __name__ == "__main__":
    main()
