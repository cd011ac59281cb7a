"""Every notebook in examples/notebooks runs top to bottom, offline, on the local backend."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

import mlopskit

pytestmark = pytest.mark.slow  # each notebook starts a kernel and runs a whole workflow

NOTEBOOKS = sorted((Path(__file__).parent.parent / "examples" / "notebooks").glob("*.ipynb"))


def run_notebook(notebook: nbformat.NotebookNode, folder: Path) -> None:
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError when a cell raises


def stop_leftover_endpoints(folder: Path) -> list[str]:
    """Delete the endpoints of every local store under ``folder``, stopping their servers
    (a notebook that fails half-way would leave them running); return their names."""
    left: list[str] = []
    for database in sorted(folder.rglob("metadata.db")):
        session = mlopskit.LocalSession(root=database.parent)
        try:
            for endpoint in mlopskit.Endpoint.list(session):
                left.append(endpoint.name)
                endpoint.delete()
        finally:
            session.close()
    return left


def test_notebooks_exist():
    assert NOTEBOOKS, "examples/notebooks/ has no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLOPSKIT_ROOT", str(tmp_path / "root"))
    # the kernel's tempfile.mkdtemp() stores land here, where the clean-up below finds them
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: outputs must be stripped in git"
    try:
        run_notebook(notebook, path.parent)
    finally:
        left = stop_leftover_endpoints(tmp_path)
    assert not left, f"{path.name} left endpoints running: {left}"


def test_a_raising_cell_fails_the_run(tmp_path: Path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 1"),
                      nbformat.v4.new_code_cell("raise ValueError('cell failed')")]
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="cell failed"):
        run_notebook(notebook, tmp_path)
