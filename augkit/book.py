"""Run notebooks headless, and ``augkit book``: the executed course as static HTML, so it can be
read, figures and all, before anything is installed.

``augkit book`` executes every notebook (full mode unless ``--quick``) with papermill, as
``augkit run`` does, and writes one self-contained HTML page per notebook (figures embedded)
plus an ``index.html`` with each notebook's title and run time. ``--executed DIR`` converts
executed copies that already exist (from ``augkit run``, say) instead of running them again.

In the pages, the exercises' solutions (cells tagged ``solution``, collapsed in JupyterLab)
become collapsed ``<details>`` blocks, and each widget becomes the picture it showed when the
notebook finished (the executor saves widget state): the pages need nothing from the web, and
moving a slider needs the kit installed.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from augkit import config, files

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


class NotebookError(RuntimeError):
    """A notebook failed or ran past its time limit (one line, for the command line)."""


class NotebookInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a notebook; the message says which and in which cell."""


def read_notebook(path):
    """Read ``path`` as a notebook (format 4); a corrupt file is a ``ValueError`` naming it."""
    import nbformat
    from nbformat.reader import NotJSONError

    try:
        return nbformat.read(path, as_version=4)
    except (NotJSONError, UnicodeDecodeError):
        why = "it is not JSON text"
    except (ValueError, AttributeError, TypeError, KeyError, nbformat.ValidationError):
        why = "its JSON is not in the notebook format"  # nbformat's own words name no file
    raise ValueError(f"{path} is not a valid notebook: {why}; restore it or run it again")


def _quiet_kernel_manager():
    """A kernel manager whose kernels' own stderr goes nowhere: that is ipykernel's log (a
    zmq traceback when a cell is stopped), not the cells' output, which the notebook keeps."""
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_start_kernel(self, **kw):
            kw.setdefault("stderr", subprocess.DEVNULL)
            await super()._async_start_kernel(**kw)

        start_kernel = _async_start_kernel

    return QuietKernelManager


def _not_a_timeout_log(record) -> bool:
    """False for the line nbclient logs (through papermill's logger) before it raises a
    cell's time-out: the one-line error says it, with the notebook and the cell."""
    return not record.getMessage().startswith("Timeout waiting for execute reply")


def run_notebook(nb_path: Path, out: Path, params: dict | None = None,
                 timeout: int = 1800) -> float:
    """Execute ``nb_path`` with papermill into ``out``; returns the seconds it took.

    papermill injects ``params`` after the cell tagged ``parameters``, as the notebook
    ecosystem does. The copy is written under a temporary name and renamed onto ``out``
    when the notebook finishes, or fails in a cell (the copy then shows the error); a cell
    past ``timeout`` or a Ctrl-C leaves ``out`` as it was, never a partial copy."""
    import logging

    import papermill
    from papermill.exceptions import PapermillExecutionError

    read_notebook(nb_path)  # a corrupt file is named here, not deep inside papermill
    config.pin_data_dir()  # the kernel starts in the notebook's folder, not here
    ran = []  # the cells sent to the kernel: len(ran) is the running cell's number
    log = logging.getLogger("papermill")
    log.addFilter(_not_a_timeout_log)
    start = time.perf_counter()
    try:
        with files.atomic_path(out) as tmp:
            try:
                papermill.execute_notebook(
                    str(nb_path), str(tmp), parameters=params or {}, kernel_name="python3",
                    cwd=str(nb_path.parent), execution_timeout=timeout, progress_bar=False,
                    log_output=False, kernel_manager_class=_quiet_kernel_manager(),
                    on_cell_execute=lambda cell, cell_index: ran.append(cell_index))
            except PapermillExecutionError as exc:
                if exc.ename == "KeyboardInterrupt":  # the kernel got the Ctrl-C first
                    raise KeyboardInterrupt from exc
                files.commit(tmp, out)  # the copy with the error is the best clue
                raise NotebookError(f"{nb_path.name} failed in cell {exc.exec_count}: "
                                    f"{exc.ename}: {exc.evalue} (executed copy with the "
                                    f"error: {out})") from exc
    except TimeoutError as exc:
        raise NotebookError(f"{nb_path.name}: cell {len(ran)} stopped at the timeout of "
                            f"{timeout} s (--timeout); raise --timeout or use quick mode") from exc
    except KeyboardInterrupt as exc:
        raise NotebookInterrupted(f"{nb_path.name}: interrupted in cell {len(ran)}") from exc
    finally:
        log.removeFilter(_not_a_timeout_log)
    return time.perf_counter() - start


def check_executed(path: Path, nb) -> None:
    """A ``ValueError`` naming ``path`` if the executed copy ``nb`` stopped early (a code
    cell with code and no execution count) or has an error output: it is no page to publish."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code, 1):
        if cell.source.strip() and cell.get("execution_count") is None:
            raise ValueError(f"{path}: code cell {n} never ran (an interrupted run?); run "
                             "the notebook again with `augkit run`")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            raise ValueError(f"{path}: code cell {n} failed ({errors[0].get('ename')}); "
                             "fix it and run the notebook again with `augkit run`")


def title(nb) -> str:
    """The first heading of the notebook's first markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return ""


def recorded_run_time(nb) -> str:
    """How long an executed copy took, from the times its executor recorded in each code
    cell's metadata (first cell busy -> last cell replied); "?" where none were recorded."""
    from datetime import datetime

    stamps = [c.metadata.get("execution", {}) for c in nb.cells if c.cell_type == "code"]
    stamps = [s for s in stamps if "iopub.status.busy" in s and "shell.execute_reply" in s]
    if not stamps:
        return "?"
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in
                  (stamps[0]["iopub.status.busy"], stamps[-1]["shell.execute_reply"]))
    return f"{(end - start).total_seconds():.0f} s"


def fold_solutions(nb):
    """Solutions become collapsed ``<details>`` blocks, and their "click the bar" labels go
    (there is no bar in a static page). Returns a copy; the executed notebook is untouched."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "exercise-solution-label" in tags:
            continue
        if cell.cell_type == "code" and "solution" in tags:
            n = sum("solution" in c.metadata.get("tags", []) for c in cells
                    if c.cell_type == "markdown") + 1
            cell = nbformat.v4.new_markdown_cell(
                f"<details><summary><b>Solution {n}</b> (click to open)</summary>"
                f"<pre><code>{html.escape(cell.source)}</code></pre></details>",
                metadata={"tags": ["solution"]})
        cells.append(cell)
    nb.cells = cells
    return nb


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _widget_parts(state: dict, model_id: str, seen=None) -> tuple[list[str], list[str]]:
    """The PNG pictures (Output widgets) and the texts (HTML, labels, progress bars) inside
    widget ``model_id`` and its children, in display order."""
    import re

    seen = seen if seen is not None else set()
    if model_id in seen or model_id not in state:
        return [], []
    seen.add(model_id)
    model = state[model_id]
    pngs, texts = [], []
    if model["model_name"] == "OutputModel":
        pngs += [o["data"]["image/png"] for o in model["state"].get("outputs", [])
                 if "image/png" in o.get("data", {})]
    value = model["state"].get("value")
    if model["model_name"] in ("HTMLModel", "LabelModel") and value:
        texts.append(html.unescape(re.sub(r"<[^>]+>", "", value)).strip())
    for child in model["state"].get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            p, t = _widget_parts(state, child.removeprefix("IPY_MODEL_"), seen)
            pngs, texts = pngs + p, texts + t
    return pngs, [t for t in texts if t]


def freeze_widgets(nb):
    """Each widget becomes the picture (or text) it showed when the notebook finished, so the
    page needs no widget JavaScript from the web. Changes ``nb`` in place and returns it."""
    import nbformat

    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(out)
                continue
            pngs, texts = _widget_parts(state, view["model_id"])
            if texts:  # a readout line, a progress bar's counts
                outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                      text=" ".join(texts) + "\n"))
            outputs += [nbformat.v4.new_output("display_data", data={
                "image/png": png, "text/plain": "<the widget's last picture>"}) for png in pngs]
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


def to_html(nb) -> str:
    """One self-contained page: figures are base64 in the outputs already, and widgets are
    frozen into their last picture (:func:`freeze_widgets`)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(freeze_widgets(fold_solutions(nb)))
    return body


def _index(entries: list[dict], quick: bool) -> str:
    rows = "\n".join(
        f"<tr><td><a href='{html.escape(e['page'])}'>{html.escape(e['stem'])}</a></td>"
        f"<td>{html.escape(e['title'])}</td><td>{e['seconds']}</td></tr>" for e in entries)
    mode = "quick mode (small runs)" if quick else "full mode (what learners run)"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>augkit: the course</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "td,th{padding:.3em .8em;text-align:left}tr:nth-child(even){background:#f3f3f3}"
        "</style></head><body><h1>augkit: generative data augmentation, the course</h1>"
        f"<p>Every notebook of the kit, executed top to bottom in {mode}, as static pages: "
        "the text, the code and every figure. Sliders show the picture they ended on; to "
        "move them, install the kit and open the notebooks in JupyterLab.</p>"
        "<table><tr><th>notebook</th><th>title</th><th>run time</th></tr>"
        f"{rows}</table></body></html>")


def build(out_dir, *, quick: bool = False, only=None, executed_dir=None,
          notebooks_dir: Path = NOTEBOOK_DIR, timeout: int = 1800, log=print) -> Path:
    """Execute (or take from ``executed_dir``) each notebook and write its HTML page and the
    index into ``out_dir``; returns the index's path. ``only``: notebook name prefixes.
    An executed copy that stopped early or holds an error is refused (:func:`check_executed`)."""
    out_dir = Path(out_dir)
    (out_dir if executed_dir is not None else out_dir / "executed").mkdir(parents=True,
                                                                          exist_ok=True)
    notebooks = sorted(notebooks_dir.glob("*.ipynb"))
    if only:
        notebooks = [p for p in notebooks if any(p.name.startswith(o) for o in only)]
        if not notebooks:
            raise ValueError(f"no notebook matches {', '.join(only)}")
    entries = []
    for nb_path in notebooks:
        if executed_dir is not None:
            source = Path(executed_dir) / nb_path.name
            if not source.is_file():
                raise FileNotFoundError(f"{source}: no executed copy of {nb_path.name} "
                                        f"(make one with `augkit run {nb_path.stem[:2]}`)")
            nb = read_notebook(source)
            check_executed(source, nb)
            seconds = recorded_run_time(nb)
        else:
            source = out_dir / "executed" / nb_path.name
            log(f"running {nb_path.name} ({'quick' if quick else 'full'} mode) ...")
            took = run_notebook(nb_path, source, {"QUICK": quick}, timeout)
            nb = read_notebook(source)
            seconds = f"{took:.0f} s"
        page = nb_path.stem + ".html"
        files.write_text(out_dir / page, to_html(nb))
        entries.append({"stem": nb_path.stem, "title": title(nb), "page": page,
                        "seconds": seconds})
        log(f"  {page} ({seconds})")
    index = out_dir / "index.html"
    files.write_text(index, _index(entries, quick))
    files.write_json(out_dir / "book.json", {"quick": quick, "notebooks": entries})
    return index
