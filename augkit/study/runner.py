"""The study's driver: the grid's runs, worker processes, shards, resume and the report.

Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

from augkit import families
from augkit.study import semisupervised as semi
from augkit.study.cells import _Context, execute
from augkit.study.plan import (
    PRESETS,
    SETTING_ONLY,
    Preset,
    Run,
    grid,
    run_config,
    run_id,
    shard,
    strategies,
)
from augkit.study.results import all_results, append_result, read_results, results_path

_WORKER: dict = {}


def _init_worker(dataset, preset, data_dir, out_dir, command, threads=None, parent=None):
    """Set up one worker process. ``threads``: TensorFlow's thread pools are sized for the
    whole machine by default, so N workers would run N times too many threads and spend the
    time switching between them; each worker gets its share of the cores instead.
    ``parent``: the driver's pid; a worker exits as soon as the driver is gone, so a killed
    study leaves no orphan training models that nobody will write down."""
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    # The same cell and seed give the same accuracy to the last digit (at the same thread
    # count): without it, reductions summed in thread order moved a result by a point.
    tf.config.experimental.enable_op_determinism()
    if parent:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER["ctx"] = _Context(dataset, preset, data_dir, Path(out_dir), command)


def _exit_with_parent(parent: int, every: float = 1.0):
    while os.getppid() == parent:  # re-parented (to init or a subreaper) once the driver dies
        time.sleep(every)
    os._exit(1)


def _work_prepare(task):
    kind, run = task
    if kind == "judge":
        _WORKER["ctx"].judge(run.n_per_class, run.seed)
    else:
        _WORKER["ctx"].generator(kind, run)
    return task


def _work_run(run, progress: bool = False):
    return execute(_WORKER["ctx"], run, progress)



def live_preset(dataset: str, quick: bool) -> Preset:
    """The quick preset, cut to one seed when ``quick``: notebook 08's live run (a minute)."""
    p = PRESETS[(dataset, "quick")]
    return replace(p, seeds=p.seeds[:1]) if quick else p


def run_study(dataset: str = "mnist", preset: str | Preset = "quick", setting: str = "fair", *,
              out_dir="runs/study", resume: bool = False, jobs: int = 1,
              shard_spec: str | None = None, data_dir=None, progress: bool = True,
              max_runs: int | None = None, report: bool = True,
              only: tuple[str, ...] | None = None) -> dict:
    """Run (or resume) the study's grid and write its results and report into ``out_dir``.

    First the cells' prerequisites (each cell's real-only classifier, which is also its
    screening judge, and the generators its setting allows), then the runs; ``jobs``
    worker processes share both phases and this process alone writes the results file.
    Real-only and classic runs do not depend on the setting: when another setting's results
    in ``out_dir`` already hold one, it is copied (``copied_from``) instead of trained again.
    ``max_runs`` stops after that many runs (a study cut short on purpose; ``resume``
    continues it). ``only`` runs just those strategies of the grid (``--resume`` without it
    adds the rest later). Returns ``{"results": path, "done": n, "total": n, "new": n,
    "report": {...}}``.
    """
    from augkit import files

    if isinstance(preset, Preset):
        p, preset = preset, "custom"
    elif (dataset, preset) in PRESETS:
        p = PRESETS[(dataset, preset)]
    else:
        names = sorted({name for d, name in PRESETS if d == dataset})
        raise ValueError(f"no {preset!r} preset for {dataset!r}; presets: {', '.join(names)}")
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    runs = shard(grid(dataset, setting, p), shard_spec)
    if only:
        known = strategies()
        unknown = sorted(set(only) - set(known))
        if unknown:
            raise ValueError(f"--only: unknown strateg{'ies' if len(unknown) > 1 else 'y'} "
                             f"{', '.join(unknown)}; choose from {', '.join(known)}")
        runs = [r for r in runs if r.strategy in only]
    out_dir = files.check_writable(out_dir, "--out")
    path = results_path(out_dir, setting, shard_spec)
    try:  # one writer per results file: a second study into it stops here
        writer = files.lock(path, timeout=0)
        writer.acquire()
    except Exception as exc:  # filelock.Timeout
        raise ValueError(f"another study is writing {path}; wait for it or choose another "
                         "--out") from exc
    try:
        if path.exists() and not resume:
            raise ValueError(f"{path} exists; add --resume to continue that study, or choose "
                             "another --out")
        existing = all_results(out_dir)
        _check_one_configuration(runs, existing, out_dir)
        done = {r["run_id"] for r in read_results(path)}
        todo = [r for r in runs if run_id(r) not in done]
        todo = _copy_setting_free(todo, existing, path, p)[:max_runs]
        _execute(todo, path, dataset, p, preset, setting, data_dir, out_dir, jobs, progress)
    finally:
        writer.release()
    written = write_study_report(out_dir) if report else {}
    finished = len({r["run_id"] for r in read_results(path)} & {run_id(r) for r in runs})
    return {"results": path, "done": finished, "total": len(runs), "new": len(todo),
            "report": written}


def _execute(todo, path, dataset, p, preset, setting, data_dir, out_dir, jobs, progress):
    """Train each cell's judge and generators, then the runs; ``jobs`` workers, one writer."""
    from tqdm.auto import tqdm

    tasks = _prepare_tasks(todo)
    command = (f"augkit study --dataset {dataset} --setting {setting} --preset {preset}"
               if preset in {name for d, name in PRESETS if d == dataset}
               else f"augkit.study.run_study with the preset {p}")
    args = (dataset, p, data_dir, str(out_dir), command)
    per_run = progress and jobs == 1  # one bar per run, when runs are not interleaved
    desc = f"study {dataset} {preset} {setting}"
    if jobs == 1:
        _init_worker(*args)
        worker_map = map
    else:
        import multiprocessing as mp

        # spawn, not fork: TensorFlow's threads do not survive a fork.
        threads = max(1, (os.cpu_count() or 1) // jobs)
        pool = mp.get_context("spawn").Pool(jobs, _init_worker, (*args, threads, os.getpid()))
        worker_map = pool.imap_unordered
    try:
        with tqdm(total=len(tasks), desc=f"{desc}: judges and generators", unit="model",
                  disable=not (progress and tasks)) as bar:
            for _ in worker_map(_work_prepare, tasks):
                bar.update(1)
        with tqdm(total=len(todo), desc=desc, unit="run", disable=not progress) as bar:
            work = functools.partial(_work_run, progress=per_run)
            for row in worker_map(work, todo):
                append_result(path, row)  # the single writer
                bar.update(1)
    finally:
        if jobs > 1:
            pool.terminate()



def write_study_report(out_dir) -> dict:
    """The report (HTML, Markdown, PNG figures) of every result in ``out_dir``."""
    from augkit.study import report

    rows = all_results(out_dir)
    names = sorted({f"{r['dataset']} {'quick' if r['config']['level'] == 'quick' else 'full'}"
                    for r in rows})
    return report.write_report(rows, out_dir, title="augkit study: " + ", ".join(names))


def _check_one_configuration(runs: list[Run], rows: list[dict], out_dir) -> None:
    """Refuse a study folder that holds the same runs under another configuration (another
    preset, budget or version): resuming must not count them as done, and one report must
    not merge them."""
    mine = {run_id(r).rsplit("|", 1)[0]: run_id(r) for r in runs}
    for row in rows:
        head = row["run_id"].rsplit("|", 1)[0]
        if head in mine and mine[head] != row["run_id"]:
            raise ValueError(f"{out_dir} holds run {row['run_id']} of another configuration "
                             f"than this one ({mine[head]}: another preset, budget or "
                             "version); choose another --out")


def _copy_setting_free(todo: list[Run], rows: list[dict], path, preset: Preset) -> list[Run]:
    """Append copies of finished real-only / classic runs from another setting (same dataset,
    size, seed and configuration); return the runs still to do."""
    def key(dataset, n, strategy, seed, config):
        return (dataset, n, strategy, seed, json.dumps(config, sort_keys=True))

    known = {key(r["dataset"], r["n_per_class"], r["strategy"], r["seed"], r["config"]): r
             for r in rows if r["strategy"] in SETTING_ONLY and "copied_from" not in r}
    left = []
    for run in todo:
        src = None
        if run.strategy in SETTING_ONLY:
            src = known.get(key(run.dataset, run.n_per_class, run.strategy, run.seed,
                                run_config(run, preset)))
        if src is None or src["setting"] == run.setting:
            left.append(run)
            continue
        append_result(path, {**src, **asdict(run), "run_id": run_id(run),
                             "copied_from": src["run_id"]})
    return left


def _prepare_tasks(todo: list[Run]) -> list[tuple[str, Run]]:
    """One task per model the remaining runs need before they start: each cell's judge (the
    real-only classifier) and the generators (fair: one per cell; pool: one per seed)."""
    tasks = set()
    for r in todo:
        family = families.strategy_family(r.strategy)
        if r.strategy == "real" or (family and r.strategy == f"{family.name}_screened") or (
                r.setting == "pool" and r.strategy not in ("classic", *semi.STRATEGIES)):
            tasks.add(("judge", Run(r.dataset, r.setting, r.n_per_class, "judge", 0.0, r.seed)))
        if r.strategy in SETTING_ONLY or r.setting == "leaky" or r.strategy in semi.STRATEGIES:
            continue  # a semi-supervised GAN is trained by its own run
        kind = family.name
        n = 0 if r.setting == "pool" else r.n_per_class
        tasks.add((kind, Run(r.dataset, r.setting, n, "generator", 0.0, r.seed)))
    return sorted(tasks, key=lambda t: (t[1].n_per_class, t[1].seed, t[0]))

