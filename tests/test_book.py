"""`augkit book`: executed notebooks as static HTML pages, figures embedded, solutions folded."""

import json

import nbformat
import pytest

from augkit import book, cli


def _notebook(folder, name="01_demo.ipynb"):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3",
                                                           "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · A demo notebook\n\nSome text."),
        nbformat.v4.new_code_cell("QUICK = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
            "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0]); plt.show()\n"
            "print('quick' if QUICK else 'full')"),
        nbformat.v4.new_markdown_cell("**Solution 1** (collapsed: click the bar at the left)",
                                      metadata={"tags": ["exercise-solution-label"]}),
        nbformat.v4.new_code_cell("answer = 6 * 7 < 50", metadata={
            "tags": ["solution"], "jupyter": {"source_hidden": True}}),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _ran(nb):
    """``nb`` as an executor leaves it: every code cell with an execution count."""
    for n, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), 1):
        cell.execution_count = n
    return nb


def test_book_executes_converts_and_indexes(tmp_path):
    src = tmp_path / "notebooks"
    _notebook(src)
    index = book.build(tmp_path / "site", quick=True, notebooks_dir=src, log=lambda _: None)
    page = (tmp_path / "site" / "01_demo.html").read_text()
    assert "data:image/png;base64," in page            # the figure is in the page
    assert "quick" in page                              # run with the injected parameter
    assert "<details><summary><b>Solution 1</b>" in page
    assert "6 * 7 &lt; 50" in page                      # the code, escaped, inside it
    assert "click the bar" not in page                  # JupyterLab's hint has no place here
    listing = index.read_text()
    assert "01_demo.html" in listing and "A demo notebook" in listing
    meta = json.loads((tmp_path / "site" / "book.json").read_text())
    assert meta["quick"] is True and meta["notebooks"][0]["seconds"].endswith(" s")


def test_book_converts_executed_copies_without_running(tmp_path):
    executed = tmp_path / "executed"
    path = _notebook(executed)
    nb = _ran(nbformat.read(path, as_version=4))
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran earlier\n")]
    nbformat.write(nb, path)
    book.build(tmp_path / "site", executed_dir=executed, notebooks_dir=executed,
               log=lambda _: None)
    assert "ran earlier" in (tmp_path / "site" / "01_demo.html").read_text()
    meta = json.loads((tmp_path / "site" / "book.json").read_text())
    assert meta["notebooks"][0]["seconds"] == "?"  # no executor timings in this copy
    nb.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-12-07T15:23:47.1Z",
                                         "shell.execute_reply": "2026-12-07T15:25:05.2Z"}
    assert book.recorded_run_time(nb) == "78 s"


def test_book_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["book", "--executed", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert cli.main(["book", "--only", "77", "--out", str(tmp_path / "s")]) == 2
    assert "no notebook matches 77" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["book", "--only", "00", "--executed", str(empty),
                     "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "no executed copy of 00_start_here.ipynb" in err and err.count("\n") == 1


def _notebook_ending_in(src, code: str):
    """The small test notebook with one more code cell, ``code``, at its end."""
    path = _notebook(src)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, path)
    return path


def test_a_failing_notebook_names_its_cell(tmp_path):
    src = tmp_path / "notebooks"
    _notebook_ending_in(src, "1 / 0")
    with pytest.raises(book.NotebookError, match="ZeroDivisionError"):
        book.build(tmp_path / "site", notebooks_dir=src, log=lambda _: None)


def test_widgets_freeze_into_their_last_picture_and_text():
    """A LiveFigure (VBox -> Output holding a PNG) and a progress bar (HBox of HTML and a bar)
    become a picture and a line of text: the page needs no widget JavaScript."""
    nb = nbformat.v4.new_notebook()
    view = "application/vnd.jupyter.widget-view+json"
    cell = nbformat.v4.new_code_cell("w")
    cell.outputs = [nbformat.v4.new_output("display_data", data={view: {"model_id": "box"}}),
                    nbformat.v4.new_output("display_data", data={view: {"model_id": "bar"}}),
                    nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    nb.cells = [cell]
    png = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": ""}}
    state = {
        "box": {"model_name": "VBoxModel",
                "state": {"children": ["IPY_MODEL_out", "IPY_MODEL_box", "IPY_MODEL_ro"]}},
        "ro": {"model_name": "HTMLModel", "state": {"value": "gain <b>+8.2</b> points"}},
        "out": {"model_name": "OutputModel", "state": {"outputs": [png]}},
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_h1", "IPY_MODEL_p"]}},
        "h1": {"model_name": "HTMLModel", "state": {"value": "sweep: 100%&nbsp;<b>15/15</b>"}},
        "p": {"model_name": "FloatProgressModel", "state": {"value": 15}},
    }
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    outs = book.freeze_widgets(nb).cells[0].outputs
    assert outs[0]["text"] == "gain +8.2 points\n"           # the box's readout, tags stripped
    assert outs[1]["data"]["image/png"] == "iVBORw0KGgo="   # its picture (the cycle ignored)
    assert outs[2]["text"] == "sweep: 100%\xa015/15\n"        # the bar's text
    assert outs[3]["text"] == "kept\n" and len(outs) == 4
    assert "widgets" not in nb.metadata
    assert "unpkg" not in book.to_html(nb)


def _executed_start_here(folder, *, unrun=False, error=False):
    """An executed copy of notebook 00 in ``folder``, cut short or failed as asked."""
    nb = _ran(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 00"), nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell(""), nbformat.v4.new_code_cell("y = 2")]))
    nb.cells[2].execution_count = None  # an empty cell is never run: that is fine
    if unrun:
        nb.cells[3].execution_count = None
    if error:
        nb.cells[3].outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError",
                                                      evalue="division by zero", traceback=[])]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "00_start_here.ipynb")
    return folder / "00_start_here.ipynb"


@pytest.mark.parametrize(("fault", "said"), [({"unrun": True}, "code cell 3 never ran"),
                                             ({"error": True}, "code cell 3 failed")])
def test_executed_refuses_a_partial_or_failed_copy(tmp_path, capsys, fault, said):
    path = _executed_start_here(tmp_path / "executed", **fault)
    argv = ["book", "--only", "00", "--executed", str(tmp_path / "executed"),
            "--out", str(tmp_path / "site")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert str(path) in err and said in err and err.count("\n") == 1
    assert not (tmp_path / "site" / "00_start_here.html").exists()
    _executed_start_here(tmp_path / "executed")  # a complete copy is published
    assert cli.main(argv) == 0 and (tmp_path / "site" / "00_start_here.html").is_file()


def test_a_book_cut_short_leaves_no_partial_executed_copy(tmp_path):
    """A cell past its time limit (as a Ctrl-C) stops the book; the copy already there stays."""
    src = tmp_path / "notebooks"
    path = _notebook_ending_in(src, "import time\ntime.sleep(30)")
    earlier = tmp_path / "site" / "executed" / path.name
    earlier.parent.mkdir(parents=True)
    earlier.write_text("an earlier complete copy")
    with pytest.raises(book.NotebookError, match="timeout of 1 s"):
        book.build(tmp_path / "site", notebooks_dir=src, timeout=1, log=lambda _: None)
    assert earlier.read_text() == "an earlier complete copy"
    assert [p.name for p in earlier.parent.iterdir()] == [path.name]  # no temporary left


def test_book_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "taken").write_text("")
    assert cli.main(["book", "--only", "00", "--out", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("augkit book: error: --out ") and str(tmp_path / "taken") in err
    assert err.count("\n") == 1 and "NotADirectoryError" not in err


def test_corrupt_notebooks_are_named_by_book(tmp_path, capsys):
    executed = tmp_path / "executed"
    executed.mkdir()
    (executed / "00_start_here.ipynb").write_text("{not json")
    assert cli.main(["book", "--only", "00", "--executed", str(executed),
                     "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert str(executed / "00_start_here.ipynb") in err and err.count("\n") == 1
    src = tmp_path / "notebooks"
    src.mkdir()
    (src / "01_bad.ipynb").write_text('{"cells": 3}')
    with pytest.raises(ValueError, match="01_bad.ipynb"):
        book.build(tmp_path / "site", notebooks_dir=src, log=lambda _: None)
