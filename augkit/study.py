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

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from augkit import data, datasets, files

STRATEGIES = ("real", "classic", "gan", "vae", "classic+gan", "classic+vae", "gan_screened",
              "synthetic_only")
SYNTHETIC = ("gan", "vae", "classic+gan", "classic+vae", "gan_screened")
SETTINGS = ("fair", "leaky")
SCREEN_CONFIDENCE = 0.5  # fixed in advance: the subset classifier's probability for the label
LEAKY_MODELS = {"gan": "cgan_{dataset}", "vae": "cvae_{dataset}"}


@dataclass(frozen=True)
class Preset:
    """The grid of one dataset: labeled sizes, synthetic ratios, seeds, generator steps."""

    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    seeds: tuple[int, ...]
    generator_steps: int
    test_images: int | None  # None: the whole test set
    quick: bool


# Time per run is measured on the 2-core CPU and recorded in each row ("seconds").
PRESETS = {
    ("mnist", "quick"): Preset((10,), (1.0,), (0, 1, 2), 60, 2000, True),
    ("mnist", "full"): Preset((10, 50, 100, 500), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4), 1500,
                              None, False),
    ("cifar10", "quick"): Preset((20,), (1.0,), (0, 1, 2), 60, 2000, True),
    ("cifar10", "full"): Preset((100, 500), (0.5, 1.0, 2.0), (0, 1, 2, 3, 4), 1500, None, False),
}


@dataclass(frozen=True)
class Run:
    dataset: str
    setting: str
    n_per_class: int
    strategy: str
    ratio: float
    seed: int


def run_id(run: Run) -> str:
    return (f"{run.dataset}|{run.setting}|n{run.n_per_class}|{run.strategy}|r{run.ratio:g}"
            f"|s{run.seed}")


def grid(dataset: str, setting: str, preset: Preset) -> list[Run]:
    """Every run of the study, in a fixed order (cell by cell, so generators are reused)."""
    datasets.get(dataset)
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {', '.join(SETTINGS)}, got {setting!r}")
    runs = []
    for n in preset.sizes:
        for seed in preset.seeds:
            runs += [Run(dataset, setting, n, s, 0.0, seed) for s in ("real", "classic")]
            runs += [Run(dataset, setting, n, s, r, seed) for s in SYNTHETIC
                     for r in preset.ratios]
            runs.append(Run(dataset, setting, n, "synthetic_only", 1.0, seed))
    return runs


def shard(runs: list[Run], spec: str | None) -> list[Run]:
    """The ``i/n`` slice of the grid (1-based): every n-th run from the i-th; shards partition it."""
    if not spec:
        return runs
    try:
        i, n = (int(v) for v in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like 2/4, got {spec!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard {spec}: need 1 <= i <= n")
    return runs[i - 1::n]


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
    """Data and generators of one worker process, loaded once and reused across runs."""

    def __init__(self, dataset: str, preset: Preset, data_dir, out_dir: Path):
        (self.x, self.y), (xt, yt) = data.load(dataset, data_dir)
        if preset.test_images:  # a fixed, class-balanced slice of the test set
            per_class = min(preset.test_images // len(np.unique(yt)), np.bincount(yt).min())
            idx = data.stratified_indices(yt, int(per_class), seed=0)
            xt, yt = xt[idx], yt[idx]
        self.xt, self.yt = xt, yt
        self.dataset, self.preset, self.out_dir = dataset, preset, out_dir
        self._generators: dict = {}

    def subset(self, n: int, seed: int):
        return data.labeled_subset(self.x, self.y, n, seed=seed)

    def generator(self, kind: str, run: Run):
        """The cell's conditional GAN or VAE: trained on the subset (fair, cached on disk so
        every strategy and worker of the cell uses the same one) or shipped (leaky)."""
        from augkit import gan, vae, zoo

        key = (kind, run.setting, run.n_per_class, run.seed)
        if key in self._generators:
            return self._generators[key]
        if run.setting == "leaky":
            model = zoo.load_generator_model(LEAKY_MODELS[kind].format(dataset=run.dataset))
        else:
            path = self.out_dir / "generators" / (
                f"{kind}_{run.dataset}_n{run.n_per_class}_s{run.seed}.weights.h5")
            if kind == "gan":
                model = gan.build_gan(run.dataset, True, 64, width=32, seed=run.seed)
                net = model.generator
            else:
                model = vae.build_vae(run.dataset, True, 16, width=32, seed=run.seed)
                net = None
            if path.is_file():
                (net.load_weights(path) if net is not None else model.load_networks(path))
            else:
                xs, ys = self.subset(run.n_per_class, run.seed)
                train = gan.train_gan if kind == "gan" else vae.train_vae
                steps = self.preset.generator_steps
                train(model, xs, ys, epochs=max(1, steps // 50), steps_per_epoch=min(50, steps),
                      batch_size=min(64, len(xs)), progress=False, sample_every=False,
                      seed=run.seed)
                with files.atomic_path(path, suffix=".weights.h5") as tmp:
                    (net.save_weights(tmp) if net is not None else model.save_networks(tmp))
        self._generators[key] = model
        return model


def _train(ctx: _Context, x, y, run: Run, augmenter=None) -> dict:
    from augkit import classify

    spec = datasets.get(run.dataset)
    return classify.train_classifier(
        x, y, ctx.xt, ctx.yt, budget=classify.budget_for(run.dataset, ctx.preset.quick),
        augmenter=augmenter, seed=run.seed, width=spec.classifier_width,
        num_classes=spec.num_classes)


def _screened(ctx: _Context, model, xs, ys, run: Run, n_needed: int, seed: int):
    """GAN samples whose label a subset-only classifier confirms (never a model that saw more)."""
    judge = _train(ctx, xs, ys, run)["model"]
    keep_x, keep_y, drawn = [], [], 0
    for round_ in range(5):  # draw until enough are kept (a weak judge keeps few)
        images, labels = model.sample(n_needed, seed=seed + 1000 * round_)
        probs = _softmax(judge.predict(images.astype(np.float32), batch_size=500, verbose=0))
        ok = probs[np.arange(len(labels)), labels] >= SCREEN_CONFIDENCE
        keep_x.append(images[ok])
        keep_y.append(labels[ok])
        drawn += len(labels)
        if sum(len(k) for k in keep_y) >= n_needed:
            break
    x_kept, y_kept = np.concatenate(keep_x)[:n_needed], np.concatenate(keep_y)[:n_needed]
    return x_kept, y_kept, sum(len(k) for k in keep_y) / drawn


def _softmax(logits):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def execute(ctx: _Context, run: Run) -> dict:
    """Build the run's training set, train the classifier, and return its results row."""
    from augkit import augment

    start = time.perf_counter()
    xs, ys = ctx.subset(run.n_per_class, run.seed)
    raw = datasets.get(run.dataset).raw_shape
    classic = augment.Augmenter(augment.default_config(run.dataset), seed=run.seed)
    n_synth = int(round(run.ratio * len(xs)))
    kept_share = None
    x_train, y_train, aug = xs, ys, None
    if run.strategy == "classic":
        aug = classic
    elif run.strategy != "real":
        kind = "vae" if run.strategy.endswith("vae") else "gan"
        model = ctx.generator(kind, run)
        seed = 10_000 + run.seed  # sampling noise apart from the generator's training noise
        if run.strategy == "gan_screened":
            gx, gy, kept_share = _screened(ctx, model, xs, ys, run, n_synth, seed)
        else:
            gx, gy = model.sample(n_synth, seed=seed)
        gx = gx.reshape(len(gx), *raw)
        if run.strategy == "synthetic_only":
            x_train, y_train = gx, gy.astype(ys.dtype)
        else:
            x_train = np.concatenate([xs, gx])
            y_train = np.concatenate([ys, gy.astype(ys.dtype)])
        if run.strategy.startswith("classic+"):
            aug = classic
    res = _train(ctx, x_train, y_train, run, augmenter=aug)
    return {"run_id": run_id(run), **asdict(run), "test_acc": round(res["test_acc"], 5),
            "train_acc": round(res["train_acc"], 5), "val_acc": None,
            "kept_share": None if kept_share is None else round(kept_share, 4),
            "train_images": int(len(x_train)), "seconds": round(time.perf_counter() - start, 2),
            "config": {**asdict(ctx.preset), "screen_confidence": SCREEN_CONFIDENCE,
                       "test_images": int(len(ctx.yt))},
            "versions": _versions(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}


def _versions() -> dict:
    import keras
    import tensorflow as tf

    from augkit import __version__

    return {"augkit": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


# --------------------------------------------------------------------------- the driver

_WORKER: dict = {}


def _init_worker(dataset, preset, data_dir, out_dir):
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)
    _WORKER["ctx"] = _Context(dataset, preset, data_dir, Path(out_dir))


def _work_generator(task):
    kind, run = task
    _WORKER["ctx"].generator(kind, run)
    return task


def _work_run(run):
    return execute(_WORKER["ctx"], run)


def results_path(out_dir, shard_spec: str | None) -> Path:
    """``results.jsonl``, or one file per shard (``results.shard2of4.jsonl``): shards merge by
    concatenating their files."""
    if not shard_spec:
        return Path(out_dir) / "results.jsonl"
    i, n = shard_spec.split("/")
    return Path(out_dir) / f"results.shard{i}of{n}.jsonl"


def all_results(out_dir) -> list[dict]:
    """Every finished run in ``out_dir`` (all shards' files together)."""
    rows = []
    for path in sorted(Path(out_dir).glob("results*.jsonl")):
        rows += read_results(path)
    return rows


def run_study(dataset: str = "mnist", preset: str = "quick", setting: str = "fair", *,
              out_dir="runs/study", resume: bool = False, jobs: int = 1,
              shard_spec: str | None = None, data_dir=None, progress: bool = True,
              max_runs: int | None = None, report: bool = True) -> dict:
    """Run (or resume) the study's grid and write its results and report into ``out_dir``.

    ``jobs`` worker processes train generators first (one task per cell), then the
    classifiers; this process alone writes the results file. ``max_runs`` stops after
    that many runs (a study cut short on purpose; ``resume`` continues it).
    Returns ``{"results": path, "done": n, "total": n, "report": {...}}``.
    """
    from tqdm.auto import tqdm

    from augkit import train

    if (dataset, preset) not in PRESETS:
        raise ValueError(f"no {preset!r} preset for {dataset!r}; presets: quick, full")
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    p = PRESETS[(dataset, preset)]
    runs = shard(grid(dataset, setting, p), shard_spec)
    out_dir = train.check_writable(out_dir, "--out")
    path = results_path(out_dir, shard_spec)
    if path.exists() and not resume:
        raise ValueError(f"{path} exists; add --resume to continue that study, or choose "
                         "another --out")
    done = {r["run_id"] for r in read_results(path)}
    todo = [r for r in runs if run_id(r) not in done][:max_runs]
    cells = _generator_tasks(todo)
    args = (dataset, p, data_dir, str(out_dir))
    bar = tqdm(total=len(todo), desc=f"study {dataset} {preset} {setting}", unit="run",
               disable=not progress)
    if jobs == 1:
        _init_worker(*args)
        worker_map = map
    else:
        import multiprocessing as mp

        # spawn, not fork: TensorFlow's threads do not survive a fork.
        pool = mp.get_context("spawn").Pool(jobs, _init_worker, args)
        worker_map = pool.imap_unordered
    try:
        if setting == "fair":
            for _ in worker_map(_work_generator, cells):
                pass
        for row in worker_map(_work_run, todo):
            append_result(path, row)  # the single writer
            bar.update(1)
    finally:
        bar.close()
        if jobs > 1:
            pool.terminate()
    written = {}
    if report:
        from augkit import report as report_mod

        written = report_mod.write_report(all_results(out_dir), out_dir,
                                          title=f"augkit study: {dataset}, {preset} preset")
    finished = len({r["run_id"] for r in read_results(path)})
    return {"results": path, "done": finished, "total": len(runs), "new": len(todo),
            "report": written}


def _generator_tasks(todo: list[Run]) -> list[tuple[str, Run]]:
    """One (kind, cell) per generator the remaining runs need, trained before the runs."""
    tasks = {("vae" if r.strategy.endswith("vae") else "gan",
              Run(r.dataset, r.setting, r.n_per_class, "generator", 0.0, r.seed))
             for r in todo if r.strategy not in ("real", "classic")}
    return sorted(tasks, key=lambda t: (t[1].n_per_class, t[1].seed, t[0]))
