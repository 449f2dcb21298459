"""The study's semi-supervised runs: the *pool* setting's answer to "few labels, many images".

In the pool setting a run may use the cell's labeled subset **and every training image
with its label hidden** (the unlabeled pool). Besides the generator strategies of
:mod:`augkit.study` (an unconditional generator trained on the pool, its samples
pseudo-labelled), three strategies learn from the pool directly:

* ``ssgan``: the semi-supervised GAN (:mod:`augkit.ssgan`, Salimans et al. 2016) trained on
  the subset's labels and the pool; its discriminator's weight average *is* the classifier.
  One model per (subset size, seed), trained with ``augkit train ssgan`` settings and kept
  in the study folder (``semi/``), so a resumed study does not train it again. Its budget is
  :attr:`augkit.study.Preset.ssgan_epochs` epochs over the pool.
* ``ssvae``: the semi-supervised VAE (:mod:`augkit.ssvae`, Kingma et al. 2014, M1 + M2),
  trained with ``augkit train ssvae`` settings (M1 on the pool, then M2 for
  :attr:`augkit.study.Preset.ssvae_epochs` epochs) and kept beside the GANs in ``semi/``.
* ``pseudo_label``: the non-generative reference, as strong as the subset allows. The best
  classifier the labels alone give (the standard classifier with classic augmentation,
  the study's ``classic`` run) labels real pool images; those it gives its top class with
  probability >= :data:`CONFIDENCE` (the study's screening threshold) are kept, class-balanced,
  :data:`PSEUDO_RATIO` per labeled image, and a fresh classifier trains on the subset plus
  them, again with classic augmentation. One round of self-training (Lee 2013), fixed in
  advance like every other choice of the study. (The first version used the real-only
  judge, 84 % accurate at 10 labels per class: 14 % of its pseudo-labels were wrong and the
  result fell below classic augmentation alone; a baseline is tuned as hard as the method.)

Introduced in ``notebooks/09_semi_supervised.ipynb``.
"""

from __future__ import annotations

import time

import numpy as np

from augkit import datasets, zoo

STRATEGIES = ("ssgan", "ssvae", "pseudo_label")
MODELS = ("ssgan", "ssvae")  # the strategies that train a semi-supervised model
PSEUDO_RATIO = 10  # pseudo-labelled pool images per labeled image (fixed before any result)
RATIOS = {"ssgan": 0.0, "ssvae": 0.0, "pseudo_label": float(PSEUDO_RATIO)}  # a run's "ratio" in the study
CONFIDENCE = 0.5  # = augkit.study.SCREEN_CONFIDENCE (a test checks); this module may not import study


def model_name(dataset: str, n: int, seed: int, epochs: int, kind: str = "ssgan") -> str:
    """The file stem of a study's semi-supervised model (in the study folder's ``semi/``)."""
    return f"{kind}_{dataset}_n{n}_s{seed}_{epochs}ep"


def model_for(ctx, run, progress: bool = False):
    """The run's semi-supervised model (``run.strategy``: ``ssgan`` or ``ssvae``) and its
    manifest entry in the study folder's ``semi/``: loaded when the folder already holds it
    (a resumed or copied study), otherwise trained through :func:`augkit.train.fit` on the
    cell's own data (its labeled subset is the one every other run of the cell uses)."""
    from augkit import families, files, train

    p, family = ctx.preset, families.get(run.strategy)
    epochs = p.epochs_of(family.name)
    folder = ctx.out_dir / "semi"
    name = model_name(run.dataset, run.n_per_class, run.seed, epochs, family.name)
    entry = zoo.manifest(folder).get(name) if (folder / "manifest.json").is_file() else None
    if entry is None or not (folder / entry["file"]).is_file():
        options = {**family.defaults(), "labels_per_class": run.n_per_class}
        meta = train.architecture(family.name, run.dataset, options, run.seed)
        job = families.Job(run.dataset, ctx.x, ctx.y, ctx.xt, ctx.yt, options, seed=run.seed,
                           epochs=epochs, batch_size=family.batch_size, quick=p.quick,
                           meta=meta, progress=progress)
        fitted = train.fit(family, job)
        path = files.check_writable(folder, "the study's semi/ folder") / f"{name}.weights.h5"
        train.save(family, fitted.model, path)
        history = folder / f"{name}.history.npz"
        files.save_npz(history, **fitted.record)
        entry = zoo.register(name, path, {
            **meta, "epochs": epochs, "batch_size": family.batch_size, "quick": p.quick,
            "command": ctx.command,
            "train_seconds": round(fitted.seconds, 1), "train_images": len(ctx.x),
            "metrics": fitted.metrics, **fitted.extra}, folder, history_file=history)
    return _load(folder, entry), entry


def _load(folder, entry):
    """A study folder's model, after checking its file against the sha256 it recorded."""
    from augkit import families

    path = folder / entry["file"]
    if zoo.sha256(path) != entry["sha256"]:
        raise ValueError(f"{path} does not match its sha256 in {folder / 'manifest.json'}; "
                         "delete it and --resume to train it again")
    return families.of_entry(entry).hooks().load(entry, path)


def _curve(folder, entry) -> dict:
    """The model's accuracy after every epoch on the last test images (its ``curve_images``),
    from its history file: reported with the result, never used to choose anything."""
    if not entry.get("history_file") or not (folder / entry["history_file"]).is_file():
        return {}
    with np.load(folder / entry["history_file"]) as h:
        return {"images": entry.get("curve_images"),
                **{k[len("epoch_"):]: [round(float(v), 4) for v in h[k]] for k in h.files
                   if k in ("epoch_val_accuracy", "epoch_val_ema_accuracy")}}


def execute(ctx, run, progress: bool = False) -> dict:
    """One semi-supervised run: ``{"test_acc", "train_acc", "train_images", "kept_share",
    "seconds"}`` plus, for ``ssgan`` and ``ssvae``, the model's training time and command."""
    from augkit import augment

    start = time.perf_counter()
    xs, ys = ctx.subset(run.n_per_class, run.seed)
    if run.strategy in MODELS:
        model, entry = model_for(ctx, run, progress)
        return {"test_acc": model.accuracy(ctx.xt, ctx.yt), "train_acc": model.accuracy(xs, ys),
                "train_images": int(entry["train_images"]), "kept_share": None,
                "seconds": time.perf_counter() - start,
                "model": {"train_seconds": entry["train_seconds"], "epochs": entry["epochs"],
                          "command": entry["command"], "sha256": entry["sha256"],
                          "domain_fid": entry["metrics"].get("domain_fid"),
                          "curve": _curve(ctx.out_dir / "semi", entry)}}
    if run.strategy != "pseudo_label":
        raise ValueError(f"not a semi-supervised strategy: {run.strategy!r}")
    classic = augment.Augmenter(augment.default_config(run.dataset), seed=run.seed)
    labeller = ctx.train(xs, ys, run.seed, augmenter=classic, progress=progress)
    judge = labeller["model"]
    order = np.random.default_rng(20_000 + run.seed).permutation(len(ctx.x))
    idx, labels, kept = pseudo_label(judge, ctx.x[order], int(round(run.ratio * len(xs))),
                                     datasets.get(run.dataset).num_classes)
    x_train = np.concatenate([xs, ctx.x[order[idx]]])
    y_train = np.concatenate([ys, labels.astype(ys.dtype)])
    res = ctx.train(x_train, y_train, run.seed, progress=progress, augmenter=classic)
    # Reported, never used: the run itself reads no pool label.
    right = float(np.mean(ctx.y[order[idx]] == labels)) if len(idx) else None
    return {"test_acc": res["test_acc"], "train_acc": res["train_acc"],
            "train_images": int(len(x_train)), "kept_share": kept,
            "seconds": time.perf_counter() - start, "pseudo_label_accuracy": right,
            "labeller": {"strategy": "classic", "test_acc": round(labeller["test_acc"], 5)}}


def pseudo_label(judge, images, need: int, num_classes: int, batch: int = 2000):
    """Indices of ``images`` the judge labels with confidence, their labels, and the share
    of looked-at images that passed.

    An image passes when the judge's top class has probability >= :data:`CONFIDENCE`
    (the study's screening threshold); at most ``ceil(need / classes)`` are kept per
    class (a judge that is surest of one class must not tilt the balance). Images are
    looked at in order, a batch at a time, until every class is full or none are left.
    """
    quota = -(-need // num_classes)
    counts = np.zeros(num_classes, int)
    keep, labels, seen, passed = [], [], 0, 0
    for start in range(0, len(images), batch):
        logits = judge.predict(np.asarray(images[start:start + batch], np.float32),
                               batch_size=500, verbose=0)
        e = np.exp(logits - logits.max(1, keepdims=True))
        probs = e / e.sum(1, keepdims=True)
        top, ok = probs.argmax(1), probs.max(1) >= CONFIDENCE
        seen, passed = seen + len(top), passed + int(ok.sum())
        for i in np.flatnonzero(ok):
            if counts[top[i]] < quota:
                counts[top[i]] += 1
                keep.append(start + i)
                labels.append(top[i])
        if counts.min() >= quota:
            break
    return (np.asarray(keep, int)[:need], np.asarray(labels, np.int64)[:need],
            passed / max(seen, 1))


# (setting, strategy, ratio, label): the routes to a better classifier at few labels, from the
# study's results, in the order the notebook discusses them.
ROUTES = (
    ("fair", "real", 0.0, "labeled subset alone"),
    ("fair", "classic", 0.0, "+ classic augmentation"),
    ("fair", "gan", 1.0, "+ cGAN images (cGAN saw the subset: fair)"),
    ("leaky", "gan", 1.0, "+ cGAN images (cGAN saw all labels: leaky)"),
    ("pool", "gan", 1.0, "+ GAN images pseudo-labelled (GAN saw the pool)"),
    ("pool", "pseudo_label", float(PSEUDO_RATIO), "+ pool images pseudo-labelled"),
    ("pool", "ssvae", 0.0, "semi-supervised VAE, M1+M2 (labels + pool)"),
    ("pool", "ssgan", 0.0, "semi-supervised GAN (labels + pool)"),
)
# Published test accuracy at 100 MNIST labels (10 per class), for reference lines.
ANCHORS = {"Kingma et al. 2014, M1+M2": 0.9667, "Salimans et al. 2016, SSGAN": 0.9907}


def comparison(rows, dataset: str = "mnist", n_per_class: int = 10) -> list[dict]:
    """The :data:`ROUTES` that have results at ``n_per_class``: each with its ``label``,
    ``acc`` (mean and 95 % CI over seeds) and ``gain`` (paired with the same seeds' real-only
    runs), from rows of :func:`augkit.study.all_results` / ``shipped_results``."""
    from augkit.study import report

    cells = {(c["setting"], c["strategy"], round(c["ratio"], 6)): c
             for c in report.summarize(rows)
             if c["dataset"] == dataset and c["n_per_class"] == n_per_class}
    out = []
    for setting, strategy, ratio, label in ROUTES:
        c = cells.get((setting, strategy, round(ratio, 6)))
        if c is not None:
            out.append({"label": label, "setting": setting, "strategy": strategy,
                        "n_seeds": c["n_seeds"], "acc": c["acc"], "gain": c["gain"]})
    return out


def fig_routes(rows, dataset: str = "mnist", n_per_class: int = 10):
    """Test accuracy of every route at ``n_per_class`` (mean, 95 % CI bars), the published
    anchors as dashed lines (MNIST, 10 per class). Introduced in
    ``notebooks/09_semi_supervised.ipynb``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lines = comparison(rows, dataset, n_per_class)
    if not lines:
        raise ValueError(f"no results for {dataset} at {n_per_class} labels per class")
    fig = Figure(figsize=(8, 0.45 * len(lines) + 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    draw_routes(fig.subplots(), lines, dataset, n_per_class)
    return fig


def draw_routes(ax, lines, dataset: str, n_per_class: int) -> None:
    """One horizontal bar per line of :func:`comparison`, into ``ax``."""
    colors = {"fair": "tab:blue", "leaky": "tab:red", "pool": "tab:green"}
    left = max(0.0, min(100 * ln["acc"].low for ln in lines) - 5)
    for i, line in enumerate(lines):
        acc = line["acc"]
        color = "0.35" if line["strategy"] in ("real", "classic") else colors[line["setting"]]
        ax.barh(i, 100 * acc.mean, color=color, alpha=0.8)
        ax.errorbar(100 * acc.mean, i, xerr=[[100 * (acc.mean - acc.low)],
                                             [100 * (acc.high - acc.mean)]],
                    color="black", capsize=3)
        # The value inside the bar's visible start: never under an error bar or the legend.
        ax.text(left + 0.4, i, f"{100 * acc.mean:.1f} %", va="center", color="white",
                fontsize=8, fontweight="bold")
    if dataset == "mnist" and n_per_class == 10:
        for (name, value), style in zip(ANCHORS.items(), ("--", ":"), strict=True):
            ax.axvline(100 * value, color="black", ls=style, lw=1, label=name)
        # Below the axes, outside them: inside, it covered the best bar's error bar.
        ax.figure.legend(loc="outside lower center", ncol=2, fontsize=8)
        right = 100.5
    else:  # no anchor to show: end where the bars end, not at 100 %
        right = min(100.5, max(100 * ln["acc"].high for ln in lines) + 5)
    ax.set_yticks(range(len(lines)), [ln["label"] for ln in lines], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(left, right)
    ax.set_xlabel("test accuracy (%), mean and 95 % CI over seeds")
    ax.set_title(f"{dataset}, {n_per_class} labels per class: every route in the study",
                 fontsize=10)
