"""Load or run: a notebook's heavy grid ships with the package, and is rerun only on request.

A learner's full-mode notebook should not spend 17 minutes retraining a grid whose answer
is already known (notebook 03's strength sweep did). :func:`load_or_run` returns the shipped
rows when the notebook asks for exactly the grid they came from (same sizes, seeds, budget,
test set: the *request*), and runs the grid otherwise: in quick mode, for a changed
setting, or when ``recompute=True``, the notebook's ``RECOMPUTE`` parameter. Either way it
says which, and prints the command that recomputes. Shipped files live in
``augkit/results/NAME.json`` and are written by :func:`save`. Introduced in
``notebooks/03_classic_augmentation.ipynb``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import time
from pathlib import Path

from augkit import files

RESULTS_DIR = Path(__file__).parent / "results"


def normalize(obj):
    """The request as plain JSON (dataclasses as dicts, tuples as lists, numpy scalars as
    Python numbers), so a request compares equal to the one stored in a file."""
    return json.loads(json.dumps(obj, default=_plain, sort_keys=True))


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def path_for(name: str, folder=None) -> Path:
    files.check_name(name)
    return Path(folder or RESULTS_DIR) / f"{name}.json"


def load_or_run(name: str, request: dict, run, *, recompute: bool = False, folder=None,
                command: str = "", echo=print) -> tuple[list, dict]:
    """``(rows, info)``: the shipped rows of grid ``name`` if its stored request equals
    ``request`` and ``recompute`` is false, else ``run()``'s rows, timed. ``info`` holds the
    request, the seconds the grid took, when and on what machine, and ``source``
    (``"shipped"`` or ``"run"``)."""
    want = normalize(request)
    path = path_for(name, folder)
    if not recompute and path.is_file():
        stored = files.read_json(path, f"shipped results {name}")
        if stored.get("request") == want:
            echo(f"loaded the shipped results of this grid ({len(stored['rows'])} runs, "
                 f"{stored['seconds'] / 60:.0f} min on {stored['machine']}, {stored['date']})"
                 + (f"; to train it again: {command}" if command else ""))
            return stored["rows"], {**stored, "source": "shipped"}
    start = time.perf_counter()
    rows = normalize(run())
    info = {"request": want, "rows": rows, "seconds": round(time.perf_counter() - start, 1),
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "source": "run"}
    return rows, info


def save(name: str, info: dict, folder=None) -> Path:
    """Write a grid's ``info`` (from :func:`load_or_run`) as the shipped file ``name``."""
    path = path_for(name, folder)
    files.write_json(path, {k: v for k, v in info.items() if k != "source"})
    return path
