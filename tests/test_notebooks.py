"""The notebooks run top to bottom, at reduced size, in a real Jupyter kernel.

Each notebook's first code cell holds its parameters (sizes, replications).
The test replaces that cell with smaller values — as papermill would — and
executes the notebook with nbclient; any cell that raises fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: Small parameters per notebook: enough to exercise every cell, fast on two cores.
SMALL = {
    "01_quickstart.ipynb": "POPULATION = 1500\nSTEPS = 12\nREPLICATIONS = 2\nSEED = 7",
    "02_compare_strategies.ipynb": "POPULATION = 1500\nREPLICATIONS = 3\nSEED = 7",
    "03_network_and_contagion.ipynb": "POPULATION = 1500\nSTEPS = 12\nREPLICATIONS = 3\nSEED = 7",
    "04_sweeps_and_sensitivity.ipynb": (
        "POPULATION = 600\nSTEPS = 8\nREPLICATIONS = 2\nSEED = 7\nWORKERS = 2\nMORRIS_TRAJECTORIES = 4"
    ),
}


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_every_notebook_has_small_parameters():
    names = {p.name for p in notebook_paths()}
    assert names, "no notebooks found"
    assert names <= set(SMALL), f"add reduced parameters for {sorted(names - set(SMALL))}"


@pytest.mark.slow
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path):
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{path.name} is stored with outputs; clear them"
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "Parameters" in first_code.source, f"{path.name}: the first code cell must hold the parameters"
    first_code.source = SMALL[path.name]
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "**Question.**" in text and "## Answer" in text, f"{path.name} must state its question and answer"
