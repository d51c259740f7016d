"""The notebooks run top to bottom, at reduced size, in a real Jupyter kernel.

Each notebook's first code cell holds its parameters (sizes, replications).
The test replaces that cell with smaller values — as papermill would — and
executes the notebook with nbclient; any cell that raises fails the test.

Answers are computed: the cell after ``## Answer`` prints them from the
results, and defines ``CLAIMS`` (what the answer asserts → whether the results
bear it out); the test reads ``CLAIMS`` from the kernel and fails on any that
is false.  Every cell that draws a figure must display it (an image/png
output), and no notebook may load scenarios by a path relative to the
working directory.
"""

from __future__ import annotations

import json
import re
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
    "05_competition.ipynb": (
        "POPULATION = 1500\nSTEPS = 24\nREPLICATIONS = 4\nGAME_POPULATION = 800\nGAME_STEPS = 12\n"
        "GAME_REPLICATIONS = 3\nSEED = 7\nWORKERS = 2"
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
    sources = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "../scenarios" not in sources, f"{path.name}: load scenarios with sim.scenario.library.library_path"
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import json\nprint('CLAIMS=' + json.dumps({str(k): bool(v) for k, v in CLAIMS.items()}))"))
    # Run from elsewhere than notebooks/: the notebooks must not depend on the working directory.
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "**Question.**" in text and "## Answer" in text, f"{path.name} must state its question and answer"

    cells = notebook.cells
    answer = next(i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and "## Answer" in cell.source)
    printed = [o for o in cells[answer + 1].get("outputs", []) if o.get("output_type") == "stream"]
    assert cells[answer + 1].cell_type == "code" and printed, f"{path.name}: the answer must be printed by code"

    for i, cell in enumerate(cells[:-1]):
        draws = cell.cell_type == "code" and re.search(r"plt\.subplots|\.figure\b", cell.source)
        if draws:
            kinds = {kind for output in cell.outputs for kind in output.get("data", {})}
            assert "image/png" in kinds, f"{path.name}, cell {i}: the figure is not displayed\n{cell.source[:200]}"

    last = "".join(o.get("text", "") for o in cells[-1].outputs)
    claims = json.loads(last.split("CLAIMS=", 1)[1])
    assert claims, f"{path.name}: CLAIMS is empty"
    false = [claim for claim, holds in claims.items() if not holds]
    assert not false, f"{path.name}: the answer claims what the results do not show: {false}"
