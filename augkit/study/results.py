"""The study's results files: one JSON row per finished run, appended by one writer.

Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from augkit import files

REQUIRED = ("run_id", "dataset", "setting", "n_per_class", "strategy", "ratio", "seed",
            "test_acc", "config")


def check_row(row, where: str) -> dict:
    """``row`` if it is a results row; a ``ValueError`` naming ``where`` (file and line) and
    the run if a field is missing or an accuracy is not a number in [0, 1]."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: not a JSON object")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise ValueError(f"{where}: the row lacks {', '.join(missing)}")
    for key in ("test_acc", "train_acc"):
        value = row.get(key)
        if value is None and (key == "train_acc" or row.get("skipped")):
            continue  # no train accuracy, or a run with nothing to train on
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{where}: run {row['run_id']} has {key} = {value!r}, not an "
                             "accuracy in [0, 1]")
    return row


def read_results(path, *, repair: bool = True) -> list[dict]:
    """Finished runs in ``path``, each checked by :func:`check_row`. A truncated last line
    (a kill mid-write) is dropped and its run done again: with ``repair`` the file is cut
    back to its whole lines; without (shipped results, never written) it is an error."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = []
    for i, line in enumerate(lines):
        try:
            row = json.loads(line)
            if not line.endswith("\n"):
                raise json.JSONDecodeError("no newline", line, len(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1 or not repair:
                raise ValueError(f"{path}: line {i + 1} is not a whole JSON record; repair or "
                                 "remove it" + (", then --resume" if repair else "")) from None
            print(f"{path}: the last line is incomplete (interrupted write); dropping it, "
                  "its run will be done again")
            files.write_text(path, "".join(lines[:i]))
            break
        rows.append(check_row(row, f"{path}: line {i + 1}"))
    return rows


def append_result(path, row: dict) -> None:
    """Append one finished run: a single write of a whole line, flushed to disk."""
    line = json.dumps(row, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())



def results_path(out_dir, setting: str, shard_spec: str | None = None) -> Path:
    """``results.<setting>.jsonl``, or one file per shard (``results.fair.shard2of4.jsonl``):
    shards merge by concatenating their files, and the settings share one folder."""
    if not shard_spec:
        return Path(out_dir) / f"results.{setting}.jsonl"
    i, n = shard_spec.split("/")
    return Path(out_dir) / f"results.{setting}.shard{i}of{n}.jsonl"


def all_results(out_dir) -> list[dict]:
    """Every finished run in ``out_dir`` (all shards' files together)."""
    rows = []
    for path in sorted(Path(out_dir).glob("results*.jsonl")):
        rows += read_results(path)
    return rows



SHIPPED_DIR = Path(__file__).resolve().parent.parent / "results"  # one folder a study
SHIPPED_HASHES = SHIPPED_DIR / "sha256.json"  # {"mnist_full/results.fair.jsonl": sha256, ...}


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*/results*.jsonl"))


def shipped_results(dataset: str | None = None) -> list[dict]:
    """The results of the full study that ship with the package (``augkit/results/``), every
    setting that was run, for ``dataset`` or all; each file checked against the sha256 in
    ``augkit/results/sha256.json`` first, as shipped weights are. Notebook 08 loads these
    instead of rerunning them (``augkit study --preset full``: 45 minutes for MNIST's fair
    setting and 34 for CIFAR-10's on a quiet 2-core CPU)."""
    from augkit import zoo

    expected = files.read_json(SHIPPED_HASHES, "shipped results hashes")
    found = {p.relative_to(SHIPPED_DIR).as_posix(): p for p in shipped_files()}
    if set(found) != set(expected):
        raise ValueError(f"the shipped results in {SHIPPED_DIR} are not the ones listed in "
                         f"{SHIPPED_HASHES.name}: reinstall augkit")
    rows = []
    for name, path in found.items():
        if zoo.sha256(path) != expected[name]:
            raise ValueError(f"{path} does not match its sha256 in {SHIPPED_HASHES.name}: "
                             "the file is corrupt or was changed; reinstall augkit")
        rows += [r for r in read_results(path, repair=False) if dataset in (None, r["dataset"])]
    return rows


def write_shipped_hashes() -> Path:
    """Record the sha256 of every shipped results file (maintainers, after shipping)."""
    from augkit import zoo

    files.write_json(SHIPPED_HASHES, {p.relative_to(SHIPPED_DIR).as_posix(): zoo.sha256(p)
                                      for p in shipped_files()})
    return SHIPPED_HASHES
