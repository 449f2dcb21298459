"""The ``augkit`` command line.

``augkit info``          datasets found (and from where), TensorFlow/Keras, CPU/GPU, quick mode
``augkit run NOTEBOOK``  execute a notebook headless and save the executed copy under runs/

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from augkit import __version__, config, data

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


class UsageError(Exception):
    """A user mistake the CLI reports in one line."""


def _dataset_rows(data_dir):
    rows = []
    for name in data.DATASETS:
        try:
            ((xtr, _), (xte, _)), src = data.load_with_source(name, data_dir)
        except (data.DataNotFoundError, data.DataFormatError) as exc:
            first = str(exc).split(". To fix:")[0]
            hint = f"not found: {data.HOW_TO_GET[name]} and set ${config.DATA_ENV}"
            rows.append((name, "missing", first if isinstance(exc, data.DataFormatError) else hint))
            continue
        size = f"{len(xtr):,} train / {len(xte):,} test, {xtr.shape[1:]}"
        rows.append((name, size, str(src)))
    return rows


def cmd_info(args) -> int:
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)  # keep the table readable
    for label, folder in (("--data-dir", args.data_dir), (f"${config.DATA_ENV}", os.environ.get(config.DATA_ENV))):
        if folder and not Path(folder).expanduser().is_dir():
            raise UsageError(f"{label} points to {folder}, which is not a directory")
    print(f"augkit {__version__}")
    print(f"quick mode: {'ON' if config.quick() else 'off'} ({config.QUICK_ENV}={os.environ.get(config.QUICK_ENV, '')!r})")
    print(f"data dir:   {args.data_dir or os.environ.get(config.DATA_ENV) or '(none; set ' + config.DATA_ENV + ')'}")
    print(f"keras cache: {data.keras_cache_dir()}")
    import keras
    import tensorflow as tf

    print("datasets:")
    for name, size, where in _dataset_rows(args.data_dir):
        print(f"  {name:<14} {size:<45} {where}")

    gpus = tf.config.list_physical_devices("GPU")
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"devices:    {len(gpus)} GPU(s){' ' + str([g.name for g in gpus]) if gpus else ''}, "
          f"{os.cpu_count()} CPU core(s)")
    return 0


def _find_notebook(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    matches = sorted(NOTEBOOK_DIR.glob(f"{name}*.ipynb")) if NOTEBOOK_DIR.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))) or "none found"
    raise UsageError(f"no single notebook matches {name!r} (notebooks: {known})")


def cmd_run(args) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb_path = _find_notebook(args.notebook)
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}") from exc
    out = out_dir / nb_path.name
    nb = nbformat.read(nb_path, as_version=4)
    print(f"running {nb_path} (quick mode {'ON' if config.quick() else 'off'}) ...", flush=True)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(nb_path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(nb, out)
        last = [ln for ln in str(exc).strip().splitlines() if ln.strip()][-1]
        raise UsageError(f"{nb_path.name} failed: {last} (executed copy with the error: {out})") from exc
    nbformat.write(nb, out)
    print(f"ok: {nb_path.name} ran in {time.perf_counter() - start:.1f} s; executed copy: {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="augkit", description="augkit: generative data augmentation kit")
    p.add_argument("--version", action="version", version=f"augkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="datasets, versions, devices, quick mode")
    info.add_argument("--data-dir", help=f"dataset directory (default: ${config.DATA_ENV})")
    info.set_defaults(func=cmd_info)
    run = sub.add_parser("run", help="execute a notebook headless (e.g. 'augkit run 00')")
    run.add_argument("notebook", help="notebook path or name prefix, e.g. 00")
    run.add_argument("--out-dir", default="runs", help="where the executed copy goes (default: runs/)")
    run.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    run.set_defaults(func=cmd_run)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, data.DataNotFoundError, data.DataFormatError, ValueError) as exc:
        print(f"augkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"augkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
