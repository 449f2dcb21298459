"""Wall time of every notebook, top to bottom, in quick and full mode; the numbers in each
notebook's course frame come from here.

Usage:
    python benchmarks/notebook_runtimes.py --mode quick            # all notebooks
    python benchmarks/notebook_runtimes.py --mode full 03 08       # some of them
    python benchmarks/notebook_runtimes.py --write-headers         # only rewrite the frames
    python benchmarks/notebook_runtimes.py --mode full 03 --keep /tmp/executed  # and look

Each run executes the notebook in a fresh kernel (``AUGKIT_QUICK=1`` for quick mode, unset
for full), with the shipped weights and study results, and records its wall time, the date
and the machine in ``benchmarks/notebook_runtimes.json`` (merged with what is there). Then
the "Time" row of every notebook's course-frame cell (tag ``course-frame``) and the README's
run-time table are rewritten from that file, with the reading time from the notebook's
word count. This is a benchmark,
not a test: the times depend on the CPU; ``tests/test_course_frame.py`` only checks that
the frames say what the file says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import time
from datetime import date
from pathlib import Path

import nbformat

from augkit import files

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = Path(__file__).with_name("notebook_runtimes.json")
FRAME_TAG = "course-frame"
WORDS_PER_MINUTE = 150  # careful reading of technical prose with equations, not skimming


def notebooks(selected=()) -> list[Path]:
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        found = [p for p in found if p.name[:2] in selected or p.stem in selected]
    return found


def execute(path: Path, quick: bool, timeout: int = 3600, keep=None) -> float:
    """Run ``path`` in a fresh kernel from its own folder; return the wall time in seconds.
    ``keep``: a folder to write the executed notebook to (with its figures), for a look."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    saved = os.environ.get("AUGKIT_QUICK")
    if quick:
        os.environ["AUGKIT_QUICK"] = "1"
    else:
        os.environ.pop("AUGKIT_QUICK", None)
    try:
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds = time.perf_counter() - start
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, Path(keep) / path.name)
        return seconds
    finally:
        if saved is None:
            os.environ.pop("AUGKIT_QUICK", None)
        else:
            os.environ["AUGKIT_QUICK"] = saved


def load() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}


def reading_minutes(nb) -> int:
    """Words of markdown and code, at :data:`WORDS_PER_MINUTE`, rounded up to 5 minutes."""
    words = sum(len(re.findall(r"\S+", c.source)) for c in nb.cells
                if FRAME_TAG not in c.metadata.get("tags", []))
    return max(5, 5 * -(-words // (5 * WORDS_PER_MINUTE)))


def human(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def time_row(entry: dict, nb) -> str:
    runs = []
    for mode in ("quick", "full"):
        if mode in entry:
            runs.append(f"{human(entry[mode]['seconds'])} in {mode} mode")
    measured = sorted({entry[m]["date"] for m in ("quick", "full") if m in entry})
    run = " / ".join(runs) if runs else "not measured yet"
    return (f"| **Time** | about {reading_minutes(nb)} min to read; runs in {run} on a 2-core CPU "
            f"(measured {', '.join(measured) or '-'} by `benchmarks/notebook_runtimes.py`) |")


def write_headers(results: dict) -> list[str]:
    """Rewrite the Time row of every course frame; return the notebooks changed."""
    changed = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        frames = [c for c in nb.cells if FRAME_TAG in c.metadata.get("tags", [])]
        if not frames:
            continue
        lines = frames[0].source.splitlines()
        new = [time_row(results.get(path.stem, {}), nb) if ln.startswith("| **Time**") else ln
               for ln in lines]
        if new != lines:
            frames[0].source = "\n".join(new)
            nbformat.write(nb, path)
            changed.append(path.stem)
    return changed


README = ROOT / "README.md"
MARKERS = ("<!-- notebook-runtimes:start -->", "<!-- notebook-runtimes:end -->")


def readme_table(results: dict) -> str:
    """The README's table of measured run times, one row per notebook."""
    lines = ["| notebook | quick mode | full mode | measured |", "|---|---|---|---|"]
    for path in notebooks():
        entry = results.get(path.stem, {})
        cells = [human(entry[m]["seconds"]) if m in entry else "not measured yet"
                 for m in ("quick", "full")]
        dates = sorted({entry[m]["date"] for m in ("quick", "full") if m in entry})
        lines.append(f"| `{path.stem}` | {cells[0]} | {cells[1]} | {', '.join(dates) or '-'} |")
    total = {m: sum(e[m]["seconds"] for e in results.values() if m in e) for m in ("quick", "full")}
    complete = {m: all(m in results.get(p.stem, {}) for p in notebooks()) for m in total}
    lines.append("| **all, one after another** | " + " | ".join(
        human(total[m]) + ("" if complete[m] else " (measured ones)") for m in ("quick", "full"))
        + " | |")
    return "\n".join(lines)


def write_readme(results: dict) -> bool:
    """Rewrite the table between the README's markers; True when it changed."""
    text = README.read_text(encoding="utf-8")
    start, end = text.index(MARKERS[0]) + len(MARKERS[0]), text.index(MARKERS[1])
    new = text[:start] + "\n" + readme_table(results) + "\n" + text[end:]
    if new != text:
        files.write_text(README, new)
    return new != text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("which", nargs="*", help="notebook numbers or names (default: all)")
    ap.add_argument("--mode", choices=("quick", "full"))
    ap.add_argument("--write-headers", action="store_true", help="only rewrite the frames")
    ap.add_argument("--keep", metavar="DIR", help="also save the executed notebooks in DIR")
    args = ap.parse_args(argv)
    results = load()
    if not args.write_headers:
        if not args.mode:
            ap.error("--mode quick|full (or --write-headers)")
        for path in notebooks(args.which):
            seconds = execute(path, args.mode == "quick", keep=args.keep)
            results.setdefault(path.stem, {})[args.mode] = {
                "seconds": round(seconds, 1), "date": date.today().isoformat(),
                "cpus": os.cpu_count(), "machine": platform.machine()}
            print(f"{path.stem:36s} {args.mode:5s} {seconds:8.1f} s", flush=True)
            files.write_text(RESULTS, json.dumps(results, indent=1, sort_keys=True) + "\n")
    for name in write_headers(results):
        print("frame updated:", name)
    if write_readme(results):
        print("README table updated")


if __name__ == "__main__":
    main()
