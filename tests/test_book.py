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
    nb = nbformat.read(path, as_version=4)
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


def test_a_failing_notebook_names_its_cell(tmp_path):
    src = tmp_path / "notebooks"
    path = _notebook(src)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    nbformat.write(nb, path)
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
