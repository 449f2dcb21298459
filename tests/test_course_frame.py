"""The course frame of the notebooks (issue #15): exercises whose solutions stay hidden until
asked for and run with the notebook, so nbval executes every solution."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# Notebooks that have their exercises with solutions so far (the rest follow, issue #15).
WITH_EXERCISES = ("01_gan_objective", "02_vae_elbo", "08_downstream_generalization")


@pytest.mark.parametrize("name", WITH_EXERCISES)
def test_exercises_have_hidden_solutions_that_run_with_the_notebook(name):
    cells = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells
    heading = [i for i, c in enumerate(cells) if c.source.startswith("## Exercises")]
    assert len(heading) == 1, "one Exercises section"
    n_items = len(re.findall(r"^\d+\. ", cells[heading[0]].source, flags=re.M))
    solutions = [i for i, c in enumerate(cells) if "solution" in c.metadata.get("tags", [])]
    assert 2 <= n_items <= 4 and len(solutions) == n_items
    for i in solutions:
        cell = cells[i]
        assert cell.cell_type == "code" and "assert" in cell.source  # it checks its own answer
        assert cell.metadata["jupyter"]["source_hidden"] is True  # collapsed until asked for
        assert "NBVAL_IGNORE_OUTPUT" not in cell.source and i > heading[0]
        assert cells[i - 1].source.startswith("**Solution")
    assert any(c.source.startswith(("## Summary", "## What the study found")) for c in cells), \
        "a closing summary"
