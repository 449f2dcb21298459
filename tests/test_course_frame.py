"""The course frame of the notebooks (issue #15): exercises whose solutions stay hidden until
asked for and run with the notebook, so nbval executes every solution."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WITH_EXERCISES = ("00_start_here", "01_gan_objective", "02_vae_elbo", "03_classic_augmentation",
                  "04_gan_mnist", "05_vae_mnist", "06_cifar10", "07_measuring_generators",
                  "08_downstream_generalization", "09_semi_supervised")


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
    closing = re.compile(r"^## (\d+ · )?(Summary|Next|What (we|the study|the numbers))")
    assert any(closing.match(c.source) for c in cells), "a closing section"


def _runtimes():
    import importlib.util

    path = NOTEBOOKS.parent / "benchmarks" / "notebook_runtimes.py"
    spec = importlib.util.spec_from_file_location("notebook_runtimes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ALL = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("name", ALL)
def test_every_notebook_opens_with_its_course_frame_and_measured_times(name):
    bench = _runtimes()
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    frames = [i for i, c in enumerate(nb.cells) if "course-frame" in c.metadata.get("tags", [])]
    assert frames == [1], "one frame, right under the title"
    rows = [ln.split("|")[1].strip() for ln in nb.cells[1].source.splitlines()[2:]]
    assert rows == ["**You will learn**", "**Prerequisites**", "**Time**"]
    entry = bench.load().get(name, {})
    assert "quick" in entry, "run benchmarks/notebook_runtimes.py --mode quick (and --mode full)"
    # The frame says what the benchmark measured (rewrite it with --write-headers).
    assert nb.cells[1].source.splitlines()[-1] == bench.time_row(entry, nb)


def test_readme_runtime_table_says_what_the_benchmark_measured():
    bench = _runtimes()
    text = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    start, end = (text.index(m) for m in bench.MARKERS)
    table = text[start + len(bench.MARKERS[0]):end].strip()
    assert table == bench.readme_table(bench.load())
    assert table.count("\n| `") == len(ALL)  # one row per notebook
