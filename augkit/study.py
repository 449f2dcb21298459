"""The downstream study: does adding generated images to a small labeled set help a classifier?

**Protocol** (fixed before any result is seen; :data:`PRESETS` holds the sizes):

* a *cell* is (dataset, setting, labeled images per class n, seed); each seed draws its
  own class-balanced subset (:func:`augkit.data.labeled_subset`);
* every *run* trains the same standard classifier (:func:`augkit.classify.train_classifier`,
  the dataset's width and step budget) on one training set built by a *strategy*, and
  reports its accuracy on real test images:

  ``real`` the subset alone; ``classic`` the subset with classic augmentation;
  ``gan`` / ``vae`` the subset plus ``ratio`` x n generated images per class from a
  conditional GAN / VAE; ``classic+gan`` / ``classic+vae`` the same with classic
  augmentation on top; ``gan_screened`` GAN images kept only when a classifier trained
  on the subset alone agrees with their label at confidence >= 0.5; ``synthetic_only``
  generated images alone (Classification Accuracy Score, Ravuri & Vinyals 2019);
  ``ssgan`` and ``pseudo_label`` (pool setting only) learn from the unlabeled pool
  itself: the semi-supervised GAN and one round of self-training (:mod:`augkit.semi`);
* *settings* say where a generator comes from: ``fair``, trained on the cell's subset
  only (the honest question); ``leaky``, the shipped generators trained on every
  labeled training image, run only to show how leakage inflates gains;
* nothing is chosen on the test set: thresholds and ratios are fixed here, and every
  strategy uses the same network, budget and seed.

Runs are independent and identified by :func:`run_id`. Each finished run is appended to
``results.jsonl`` (one JSON object per line, with its configuration, versions and
timing) by a single writer; an interrupted study resumes without redoing a finished run.
Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from augkit import data, datasets, files, semi

# The grid lives in augkit.grid; its names stay importable from here, as they always were.
from augkit.grid import (  # noqa: F401
    LEAKY_MODELS,
    POOL_SYNTHETIC,
    PRESETS,
    SCREEN_CONFIDENCE,
    SETTING_ONLY,
    SETTINGS,
    STRATEGIES,
    SYNTHETIC,
    Preset,
    Run,
    grid,
    run_id,
    shard,
    strategies_for,
)

# --------------------------------------------------------------------------- results file

def read_results(path) -> list[dict]:
    """Finished runs in ``path``. A truncated last line (a kill mid-write) is reported,
    dropped from the file and its run done again; a broken line elsewhere is an error."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
            if not line.endswith("\n"):
                raise json.JSONDecodeError("no newline", line, len(line))
        except json.JSONDecodeError:
            if i < len(lines) - 1:
                raise ValueError(f"{path}: line {i + 1} is not a JSON record; repair or "
                                 "remove it, then --resume") from None
            print(f"{path}: the last line is incomplete (interrupted write); dropping it, "
                  "its run will be done again")
            rows = rows[:i]
            files.write_text(path, "".join(lines[:i]))
    return rows


def append_result(path, row: dict) -> None:
    """Append one finished run: a single write of a whole line, flushed to disk."""
    line = json.dumps(row, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


# --------------------------------------------------------------------------- one run

class _Context:
    """Data, generators and judges of one worker process, loaded once and reused across runs."""

    def __init__(self, dataset: str, preset: Preset, data_dir, out_dir: Path):
        (self.x, self.y), (xt, yt) = data.load(dataset, data_dir)
        if preset.test_images:  # a fixed, class-balanced slice of the test set
            per_class = min(preset.test_images // len(np.unique(yt)), np.bincount(yt).min())
            idx = data.stratified_indices(yt, int(per_class), seed=0)
            xt, yt = xt[idx], yt[idx]
        self.xt, self.yt = xt, yt
        self.dataset, self.preset, self.out_dir = dataset, preset, out_dir
        self.data_dir = data_dir
        self._generators: dict = {}
        self._judges: dict = {}

    def subset(self, n: int, seed: int):
        return data.labeled_subset(self.x, self.y, n, seed=seed)

    def generator(self, kind: str, run: Run):
        """The generator a run's setting allows (cached on disk, so every strategy and worker
        of a cell uses the same one): *fair*, a conditional GAN/VAE trained on the cell's
        subset; *pool*, an unconditional one trained on every training image with its label
        hidden (one per seed, shared by all subset sizes); *leaky*, the shipped conditional
        model trained on every labeled training image."""
        from augkit import gan, vae, zoo

        n = 0 if run.setting == "pool" else run.n_per_class
        key = (kind, run.setting, n, run.seed)
        if key in self._generators:
            return self._generators[key]
        if run.setting == "leaky":
            model = zoo.load_generator_model(LEAKY_MODELS[kind].format(dataset=run.dataset))
        else:
            conditional = run.setting == "fair"
            what = f"n{n}" if conditional else "pool"
            steps = self.preset.generator_steps
            path = self.out_dir / "generators" / (
                f"{kind}_{run.dataset}_{what}_s{run.seed}_{steps}steps.weights.h5")
            if kind == "gan":
                model = gan.build_gan(run.dataset, conditional, 64, width=32, seed=run.seed)
                net = model.generator
            else:
                model = vae.build_vae(run.dataset, conditional, 16, width=32, seed=run.seed)
                net = None
            if path.is_file():
                (net.load_weights(path) if net is not None else model.load_networks(path))
            else:
                xs, ys = self.subset(n, run.seed) if conditional else (self.x, None)
                train = gan.train_gan if kind == "gan" else vae.train_vae
                train(model, xs, ys, epochs=max(1, steps // 50), steps_per_epoch=min(50, steps),
                      batch_size=min(64, len(xs)), progress=False, sample_every=False,
                      seed=run.seed)
                with files.atomic_path(path, suffix=".weights.h5") as tmp:
                    (net.save_weights(tmp) if net is not None else model.save_networks(tmp))
        self._generators[key] = model
        return model

    def judge(self, n: int, seed: int, progress: bool = False) -> tuple[object, dict]:
        """The cell's real-only classifier: trained on the labeled subset alone, it is both
        the "real" run and the screening / pseudo-labelling judge (never a model that saw
        more labels). Trained once per cell and kept on disk with its scores."""
        from augkit import classify

        key = (n, seed)
        if key in self._judges:
            return self._judges[key]
        budget = "quick" if self.preset.quick else "standard"  # the classifier budget's name
        stem = self.out_dir / "judges" / f"{self.dataset}_n{n}_s{seed}_{budget}"
        weights, record_path = stem.with_suffix(".weights.h5"), stem.with_suffix(".json")
        spec = datasets.get(self.dataset)
        if record_path.is_file() and weights.is_file():
            record = files.read_json(record_path)
            model = classify.build_classifier(
                spec.image_shape, spec.num_classes, width=spec.classifier_width, seed=seed,
                batch_norm=classify.budget_for(self.dataset, self.preset.quick).batch_norm)
            model.load_weights(weights)
        else:
            start = time.perf_counter()
            xs, ys = self.subset(n, seed)
            res = self.train(xs, ys, seed, progress=progress)
            model = res["model"]
            record = {"test_acc": res["test_acc"], "train_acc": res["train_acc"],
                      "seconds": round(time.perf_counter() - start, 2)}
            files.save_weights(model, weights)
            files.write_json(record_path, record)
        self._judges[key] = (model, record)
        return model, record

    def train(self, x, y, seed: int, augmenter=None, progress: bool = False) -> dict:
        from augkit import classify

        spec = datasets.get(self.dataset)
        return classify.train_classifier(
            x, y, self.xt, self.yt, budget=classify.budget_for(self.dataset, self.preset.quick),
            augmenter=augmenter, seed=seed, width=spec.classifier_width,
            num_classes=spec.num_classes, progress="steps" if progress else False)


def screen(judge, draw, n_needed: int, num_classes: int, *, pseudo_label: bool = False,
           rounds: int = 5):
    """Keep generated images a judge is confident about, class-balanced.

    ``draw(round)`` returns a batch ``(images, labels)`` (labels ``None`` for an
    unconditional generator). With ``pseudo_label=False`` an image is kept when the judge
    gives its requested label a probability >= :data:`SCREEN_CONFIDENCE`; with
    ``pseudo_label=True`` it gets the judge's most probable class as its label and is kept
    when that probability is >= the same threshold. At most ``ceil(n_needed / classes)``
    images per class are kept, so screening cannot tilt the class balance. Returns the
    kept images and labels (up to ``n_needed``) and the share of drawn images kept.
    """
    quota = -(-n_needed // num_classes)
    keep_x, keep_y, drawn, accepted = [], [], 0, 0
    counts = np.zeros(num_classes, int)
    for round_ in range(rounds):  # draw until enough are kept (a weak judge keeps few)
        images, labels = draw(round_)
        probs = _softmax(judge.predict(images.astype(np.float32), batch_size=500, verbose=0))
        if pseudo_label:
            labels = probs.argmax(1)
        ok = probs[np.arange(len(labels)), labels] >= SCREEN_CONFIDENCE
        drawn += len(labels)
        accepted += int(ok.sum())
        for i in np.flatnonzero(ok):
            if counts[labels[i]] < quota:
                counts[labels[i]] += 1
                keep_x.append(images[i])
                keep_y.append(labels[i])
        if len(keep_y) >= n_needed or counts.min() >= quota:
            break
    if not keep_y:
        return images[:0], np.zeros(0, np.int64), 0.0
    return (np.stack(keep_x)[:n_needed], np.asarray(keep_y, np.int64)[:n_needed],
            accepted / drawn)


def _softmax(logits):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def execute(ctx: _Context, run: Run, progress: bool = False) -> dict:
    """Build the run's training set, train the classifier, and return its results row."""
    from augkit import augment

    if run.strategy in semi.STRATEGIES:
        return _row(ctx, run, semi.execute(ctx, run, progress))
    start = time.perf_counter()
    xs, ys = ctx.subset(run.n_per_class, run.seed)
    spec = datasets.get(run.dataset)
    classic = augment.Augmenter(augment.default_config(run.dataset), seed=run.seed)
    n_synth = int(round(run.ratio * len(xs)))
    kept_share = None
    x_train, y_train, aug = xs, ys, None
    if run.strategy == "real":
        res = ctx.judge(run.n_per_class, run.seed, progress)[1]
    else:
        if run.strategy == "classic":
            aug = classic
        else:
            kind = "vae" if run.strategy.endswith("vae") else "gan"
            model = ctx.generator(kind, run)
            seed = 10_000 + run.seed  # sampling noise apart from the generator's training noise
            if run.setting == "pool" or run.strategy == "gan_screened":
                judge = ctx.judge(run.n_per_class, run.seed)[0]
                if run.setting == "pool":
                    def draw(r):
                        return model.sample(2 * n_synth, seed=seed + 1000 * r), None
                else:
                    def draw(r):
                        return model.sample(n_synth, seed=seed + 1000 * r)
                gx, gy, kept_share = screen(judge, draw, n_synth, spec.num_classes,
                                            pseudo_label=run.setting == "pool")
            else:
                gx, gy = model.sample(n_synth, seed=seed)
            gx = gx.reshape(len(gx), *spec.raw_shape)
            if run.strategy == "synthetic_only":
                x_train, y_train = gx, gy.astype(ys.dtype)
            else:
                x_train = np.concatenate([xs, gx])
                y_train = np.concatenate([ys, gy.astype(ys.dtype)])
            if run.strategy.startswith("classic+"):
                aug = classic
        if len(x_train) == 0:  # nothing to train on: recorded, left out of every summary
            res = {"test_acc": None, "train_acc": None}
        else:
            res = ctx.train(x_train, y_train, run.seed, augmenter=aug, progress=progress)
    return _row(ctx, run, {
        "test_acc": res["test_acc"], "train_acc": res["train_acc"],
        "train_images": int(len(x_train)), "kept_share": kept_share,
        "skipped": None if len(x_train) else "screening kept no generated image",
        "seconds": res["seconds"] if run.strategy == "real" else time.perf_counter() - start})


def _row(ctx: _Context, run: Run, res: dict) -> dict:
    """A results-file row: the run, its numbers (``res``) and everything needed to redo it."""
    from augkit import classify

    spec = datasets.get(run.dataset)
    extra = {k: v for k, v in res.items() if k not in (
        "test_acc", "train_acc", "train_images", "kept_share", "skipped", "seconds")}
    return {"run_id": run_id(run), **asdict(run), "test_acc": _round(res["test_acc"]),
            "train_acc": _round(res["train_acc"]), "val_acc": None,
            "skipped": res.get("skipped"),
            "kept_share": None if res["kept_share"] is None else round(res["kept_share"], 4),
            "train_images": res["train_images"], "seconds": round(res["seconds"], 2),
            "config": {**asdict(ctx.preset), "screen_confidence": SCREEN_CONFIDENCE,
                       "test_images": int(len(ctx.yt)), "classifier_width": spec.classifier_width,
                       "budget": asdict(classify.budget_for(run.dataset, ctx.preset.quick))},
            "versions": _versions(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}


def _round(value):
    return None if value is None else round(value, 5)


def _versions() -> dict:
    import keras
    import tensorflow as tf

    from augkit import __version__

    return {"augkit": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


# --------------------------------------------------------------------------- the driver

_WORKER: dict = {}


def _init_worker(dataset, preset, data_dir, out_dir, threads=None, parent=None):
    """Set up one worker process. ``threads``: TensorFlow's thread pools are sized for the
    whole machine by default, so N workers would run N times too many threads and spend the
    time switching between them; each worker gets its share of the cores instead.
    ``parent``: the driver's pid; a worker exits as soon as the driver is gone, so a killed
    study leaves no orphan training models that nobody will write down."""
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if parent:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _WORKER["ctx"] = _Context(dataset, preset, data_dir, Path(out_dir))


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
    from tqdm.auto import tqdm

    from augkit import train

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
        unknown = sorted(set(only) - set(STRATEGIES))
        if unknown:
            raise ValueError(f"--only: unknown strateg{'ies' if len(unknown) > 1 else 'y'} "
                             f"{', '.join(unknown)}; choose from {', '.join(STRATEGIES)}")
        runs = [r for r in runs if r.strategy in only]
    out_dir = train.check_writable(out_dir, "--out")
    path = results_path(out_dir, setting, shard_spec)
    if path.exists() and not resume:
        raise ValueError(f"{path} exists; add --resume to continue that study, or choose "
                         "another --out")
    done = {r["run_id"] for r in read_results(path)}
    todo = [r for r in runs if run_id(r) not in done]
    todo = _copy_setting_free(todo, all_results(out_dir), path, p.quick)[:max_runs]
    tasks = _prepare_tasks(todo)
    args = (dataset, p, data_dir, str(out_dir))
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
    written = write_study_report(out_dir) if report else {}
    finished = len({r["run_id"] for r in read_results(path)} & {run_id(r) for r in runs})
    return {"results": path, "done": finished, "total": len(runs), "new": len(todo),
            "report": written}


SHIPPED_DIR = Path(__file__).parent / "results"  # the full study's results, one folder each


def shipped_results(dataset: str | None = None) -> list[dict]:
    """The results of the full study that ship with the package (``augkit/results/``), every
    setting that was run, for ``dataset`` or all. Notebook 08 loads these instead of rerunning
    them (``augkit study --preset full``: 45 minutes for MNIST's fair setting and 34 for
    CIFAR-10's on a quiet 2-core CPU)."""
    rows = []
    for folder in sorted(p for p in SHIPPED_DIR.glob("*") if p.is_dir()):
        rows += [r for r in all_results(folder) if dataset in (None, r["dataset"])]
    return rows


def write_study_report(out_dir) -> dict:
    """The report (HTML, Markdown, PNG figures) of every result in ``out_dir``."""
    from augkit import report

    rows = all_results(out_dir)
    names = sorted({f"{r['dataset']} {'quick' if r['config']['quick'] else 'full'}"
                    for r in rows})
    return report.write_report(rows, out_dir, title="augkit study: " + ", ".join(names))


def _copy_setting_free(todo: list[Run], rows: list[dict], path, quick: bool) -> list[Run]:
    """Append copies of finished real-only / classic runs from another setting (same dataset,
    size, seed and budget); return the runs still to do."""
    known = {(r["dataset"], r["n_per_class"], r["strategy"], r["seed"], r["config"]["quick"]): r
             for r in rows if r["strategy"] in SETTING_ONLY and "copied_from" not in r}
    left = []
    for run in todo:
        src = None
        if run.strategy in SETTING_ONLY:
            src = known.get((run.dataset, run.n_per_class, run.strategy, run.seed, quick))
        if src is None or src["setting"] == run.setting:
            left.append(run)
            continue
        append_result(path, {**src, "run_id": run_id(run), "setting": run.setting,
                             "copied_from": src["run_id"]})
    return left


def _prepare_tasks(todo: list[Run]) -> list[tuple[str, Run]]:
    """One task per model the remaining runs need before they start: each cell's judge (the
    real-only classifier) and the generators (fair: one per cell; pool: one per seed)."""
    tasks = set()
    for r in todo:
        if r.strategy == "real" or r.strategy == "gan_screened" or (
                r.setting == "pool" and r.strategy not in ("classic", *semi.STRATEGIES)):
            tasks.add(("judge", Run(r.dataset, r.setting, r.n_per_class, "judge", 0.0, r.seed)))
        if r.strategy in SETTING_ONLY or r.setting == "leaky" or r.strategy in semi.STRATEGIES:
            continue  # a semi-supervised GAN is trained by its own run
        kind = "vae" if r.strategy.endswith("vae") else "gan"
        n = 0 if r.setting == "pool" else r.n_per_class
        tasks.add((kind, Run(r.dataset, r.setting, n, "generator", 0.0, r.seed)))
    return sorted(tasks, key=lambda t: (t[1].n_per_class, t[1].seed, t[0]))
