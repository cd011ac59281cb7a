"""Shared data for the fidelity corpus: scripts written the way the public SageMaker examples
write them (``scripts/``), run unmodified on the local backend, judged by what they make."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPTS = Path(__file__).parent / "scripts"


def churn_frame(rows: int, seed: int) -> pd.DataFrame:
    """Three numeric features and a 0/1 label that depends on them (learnable, noisy)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=rows), rng.normal(size=rows), rng.uniform(0, 10, size=rows)
    score = 1.5 * a - b + 0.2 * (c - 5) + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame({"a": a.round(4), "b": b.round(4), "c": c.round(4),
                         "label": (score > 0).astype(int)})


def code_folder(tmp_path: Path, *scripts: str, name: str = "code") -> Path:
    """A source folder holding copies of ``scripts`` from the corpus."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    for script in scripts:
        shutil.copy(SCRIPTS / script, folder / script)
    return folder


def tar_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel with ``files``, built by hand (no network, no build backend)."""
    dist = f"{name}-{version}.dist-info"
    meta = {f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
            f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: mlopskit-tests\n"
                             "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in {**files, **meta}.items():
            archive.writestr(member, text)
        record = "".join(f"{member},,\n" for member in [*files, *meta, f"{dist}/RECORD"])
        archive.writestr(f"{dist}/RECORD", record)
    return path


@pytest.fixture
def churn_csvs(tmp_path: Path) -> dict[str, Path]:
    """A train folder (two part files, with a header) and a test folder, as local paths."""
    train, test = tmp_path / "data" / "train", tmp_path / "data" / "test"
    train.mkdir(parents=True)
    test.mkdir(parents=True)
    frame = churn_frame(600, seed=3)
    frame.iloc[:250].to_csv(train / "part-0.csv", index=False)
    frame.iloc[250:500].to_csv(train / "part-1.csv", index=False)
    frame.iloc[500:].to_csv(test / "test.csv", index=False)
    return {"train": train, "test": test}
