"""What ``augkit train ...`` does: one path from options to a registered model.

:func:`train_model` checks everything first (the name, the output and checkpoint
folders, a resumable checkpoint of the same architecture), then trains through the
shared loop (:func:`augkit.loop.fit`), measures, saves every file atomically and
registers the model in its folder's manifest (:func:`augkit.zoo.register`). Shipped
weights were made by exactly this path (``--ship`` writes into ``augkit/weights``;
otherwise into your models folder), so every number in the manifest can be reproduced
with the command it records. Quick mode trains on a small slice for one short epoch, so
CI exercises the whole path in seconds.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from augkit import checkpoints, data, datasets, files, metrics, zoo

KINDS = ("gan", "vae", "classifier", "ssgan", "ssvae")
# The domain classifier is twice as wide as the small-data classifier: it judges samples,
# so its own error rate bounds how well label consistency can be measured.
DOMAIN_WIDTH = 32
# How a domain classifier trains. "plain": constant Adam 1e-3, no batch norm, no
# augmentation (the shipped MNIST classifier, 99 %: digits need nothing more). "strong":
# the study's tuned recipe (batch norm, cosine learning rate with warm-up) plus the
# dataset's classic augmentation on every batch. With plain training the CIFAR-10
# classifier stopped at 63.6 %, which caps every CIFAR-10 quality figure; the strong
# recipe with two convolutions per block (--depth 2) is what the shipped one uses.
RECIPES = ("plain", "strong")
# The semi-supervised VAE's defaults (Kingma et al.'s M1 and M2 sizes; see augkit.ssvae):
# M1 is trained for 20 epochs (4.5 minutes on the 2-core CPU); alpha weighs M2's
# classification term per labeled image against its bound (nats).
SSVAE_M1_EPOCHS, SSVAE_ALPHA = 20, 10.0


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"


def _slice(x, y, quick: bool, n_quick: int = 2048):
    if not quick:
        return x, y
    idx = data.stratified_indices(y, n_quick // len(np.unique(y)), seed=0)
    return x[idx], y[idx]


def check_writable(folder, what: str) -> Path:
    """Create ``folder`` if needed and prove it takes a file; a ``ValueError`` naming it if not."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # One probe name per process: parallel study workers check the same folder.
        name = f".augkit-write-test-{os.getpid()}"
        with files.atomic_path(folder / name) as probe:
            probe.write_bytes(b"")
        (folder / name).unlink()
    except OSError as exc:
        raise ValueError(f"{what} {folder} is not writable: {exc.strerror or exc}") from None
    return folder


def architecture(kind: str, dataset: str, options: dict) -> dict:
    """The options that fix the networks' shapes: a checkpoint only resumes into the same."""
    keys = {"gan": ("conditional", "latent_dim", "width", "loss"),
            "vae": ("conditional", "latent_dim", "width", "likelihood"),
            "classifier": ("width", "depth", "recipe"),
            # The labeled subset is drawn by the seed: a resume must keep both.
            "ssgan": ("latent_dim", "labels_per_class", "seed"),
            "ssvae": ("latent_dim", "labels_per_class", "seed", "m1_epochs", "alpha")}[kind]
    return {"kind": kind, "dataset": dataset, **{k: options.get(k) for k in keys}}


def _build(kind: str, dataset: str, o: dict, seed: int):
    """The GAN or VAE to train (classifiers are built by :func:`augkit.classify.train_classifier`)."""
    from augkit import gan, vae

    if kind == "gan":
        return gan.build_gan(dataset, o["conditional"], o["latent_dim"], loss=o["loss"],
                             width=o["width"], seed=seed)
    return vae.build_vae(dataset, o["conditional"], o["latent_dim"], beta=o["beta"],
                         likelihood=o["likelihood"], sigma=o["sigma"], width=o["width"], seed=seed)


def train_model(kind: str, dataset: str, *, name: str, out_dir, quick: bool, epochs: int = 8,
                batch_size: int | None = None, seed: int = 0, data_dir=None, checkpoint_dir=None,
                resume: bool = False, command: str = "", progress: bool = True,
                **options) -> dict:
    """Train a model of ``kind`` (``gan``, ``vae``, ``classifier``, ``ssgan`` or ``ssvae``,
    the semi-supervised GAN and VAE), measure it, save it and register it in ``out_dir``'s manifest;
    return its manifest entry.

    ``options``: ``conditional``, ``latent_dim``, ``width``, ``loss`` (GAN), ``beta``,
    ``likelihood``, ``sigma`` (VAE), ``labels_per_class`` (semi-supervised GAN: the labeled
    subset the seed draws; every training image is its unlabeled pool), ``m1_epochs`` and
    ``alpha`` (semi-supervised VAE: M1's epochs, the classification weight; ``epochs`` are
    M2's). ``batch_size`` defaults to 64 (100 for the semi-supervised models, as their
    authors). Everything is
    validated before the data is loaded.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    spec = datasets.get(dataset)
    files.check_name(name)
    if batch_size is None:
        batch_size = 100 if kind in ("ssgan", "ssvae") else 64
    if min(epochs, batch_size) <= 0:
        raise ValueError("--epochs and --batch-size must be positive")
    o = {"conditional": False, "latent_dim": {"gan": 64, "ssgan": 100, "ssvae": 50}.get(kind, 16),
         "m1_epochs": SSVAE_M1_EPOCHS, "alpha": SSVAE_ALPHA,
         "loss": "non_saturating", "labels_per_class": 10, "seed": seed,
         "beta": 1.0, "likelihood": spec.likelihood, "sigma": 0.1,
         "width": DOMAIN_WIDTH if kind == "classifier" else 32, "depth": 1, "recipe": "plain",
         **options}
    if o["recipe"] not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {o['recipe']!r}")
    if o["depth"] < 1:
        raise ValueError(f"depth must be at least 1, got {o['depth']}")
    if o["likelihood"] is None:
        o["likelihood"] = spec.likelihood
    meta = architecture(kind, dataset, o)
    out_dir = check_writable(out_dir, "output folder")
    if checkpoint_dir is not None:
        check_writable(checkpoint_dir, "--checkpoint-dir")
    if kind == "ssvae":
        _check_stages(checkpoint_dir, resume, meta)
    else:
        checkpoints.check_start(checkpoint_dir, resume, meta)

    (x, y), (xt, yt) = data.load(dataset, data_dir)
    x, y = _slice(x, y, quick)
    if kind == "ssgan":
        model, fitted = _fit_ssgan(dataset, x, y, xt, yt, o, epochs=epochs, quick=quick,
                                   seed=seed, batch_size=batch_size,
                                   checkpoint_dir=checkpoint_dir, resume=resume, meta=meta,
                                   progress=progress)
    elif kind == "ssvae":
        model, fitted = _fit_ssvae(x, y, xt, yt, o, epochs=epochs, quick=quick, seed=seed,
                                   batch_size=batch_size, checkpoint_dir=checkpoint_dir,
                                   resume=resume, meta=meta, progress=progress)
    elif kind == "classifier":
        model, fitted = _fit_classifier(dataset, x, y, xt, yt, width=o["width"], depth=o["depth"],
                                        recipe=o["recipe"], epochs=epochs, quick=quick,
                                        seed=seed, batch_size=batch_size, progress=progress)
    else:
        model = _build(kind, dataset, o, seed)
        fitted = _fit_generative(kind, model, x, y, xt, yt, epochs=epochs, quick=quick,
                                 seed=seed, batch_size=batch_size, checkpoint_dir=checkpoint_dir,
                                 resume=resume, meta=meta, progress=progress)
    path = out_dir / f"{name}.weights.h5"
    _save(kind, model, path)
    history_file = None
    if fitted.get("record"):
        history_file = out_dir / f"{name}.history.npz"
        files.save_npz(history_file, **fitted["record"])
    info = {**meta, **({"beta": o["beta"], "sigma": o["sigma"]} if kind == "vae" else {}),
            "epochs": epochs, "batch_size": batch_size, "command": command,
            "train_seconds": round(fitted["seconds"], 1), "machine": _machine(), "quick": quick,
            "train_images": len(x), "metrics": fitted["metrics"], **fitted.get("extra", {})}
    return zoo.register(name, path, info, out_dir, history_file=history_file)


def _save(kind: str, model, path: Path) -> None:
    if kind == "gan":
        files.save_weights(model.generator, path)  # the generator is what samples are made of
    elif kind in ("vae", "ssgan", "ssvae"):  # several networks in one file
        with files.atomic_path(path, suffix=".weights.h5") as tmp:
            model.save_networks(tmp)
    else:
        files.save_weights(model, path)


def _final_logs(run) -> dict:
    """Every logged metric's value after the last epoch (for the manifest)."""
    return {k: round(float(v[-1]), 4) for k, v in run.history.history.items()}


def _fit_generative(kind, model, x, y, xt, yt, *, epochs, quick, seed, batch_size,
                    checkpoint_dir, resume, meta, progress) -> dict:
    from augkit import loop

    n_val = 500 if quick else 2000
    run = loop.fit(model, x, y, scale="minus1_1" if kind == "gan" else "unit",
                   epochs=1 if quick else epochs, batch_size=batch_size,
                   steps_per_epoch=10 if quick else None, checkpoint_dir=checkpoint_dir,
                   resume=resume, meta=meta, progress=progress, seed=seed,
                   validation=(xt[-n_val:], yt[-n_val:]) if kind == "vae" else None)
    if run.guard.message:
        raise RuntimeError(run.guard.message)
    measured = measure_generative(model, kind, meta["dataset"], xt, yt,
                                  n=500 if quick else 5000, seed=seed)
    final = _final_logs(run)
    return {"seconds": run.seconds, "metrics": measured, "record": run.record(),
            "extra": {"final_logs": final}}


def _fit_ssgan(dataset, x, y, xt, yt, o, *, epochs, quick, seed, batch_size, checkpoint_dir,
               resume, meta, progress) -> tuple:
    """The semi-supervised GAN: ``labels_per_class`` labeled images drawn by ``seed``, every
    training image unlabeled. The curve is measured on the last test images after every
    epoch (reported only: nothing is chosen on it); the manifest's accuracy is the final
    weight average's on the whole test set."""
    from augkit import loop, ssgan

    xl, yl = data.labeled_subset(x, y, o["labels_per_class"], seed)
    model = ssgan.build_ssgan(dataset, xl, yl, x, latent_dim=o["latent_dim"], seed=seed)
    n_curve = 500 if quick else 2000
    run: loop.Run = ssgan.train_ssgan(
        model, x, epochs=1 if quick else epochs, batch_size=batch_size,
        steps_per_epoch=10 if quick else None, validation=(xt[-n_curve:], yt[-n_curve:]),
        checkpoint_dir=checkpoint_dir, resume=resume, meta=meta, progress=progress, seed=seed)
    if run.guard.message:
        raise RuntimeError(run.guard.message)
    measured = {"test_accuracy": round(model.accuracy(xt, yt), 4),
                "test_accuracy_no_average": round(model.accuracy(xt, yt, average=False), 4),
                **evaluate_generator(model, dataset, xt, n=500 if quick else 5000, seed=seed)}
    final = _final_logs(run)
    return model, {"seconds": run.seconds, "metrics": measured, "record": run.record(),
                   "extra": {"final_logs": final, "labeled_images": len(xl),
                             "curve_images": f"test images {len(xt) - n_curve}-{len(xt) - 1}"}}


def _stage_dirs(checkpoint_dir) -> tuple:
    """The semi-supervised VAE trains in two stages, each checkpointed in its own folder."""
    if checkpoint_dir is None:
        return None, None
    return Path(checkpoint_dir) / "m1", Path(checkpoint_dir) / "m2"


def _has_checkpoint(folder) -> bool:
    return folder is not None and folder.is_dir() and checkpoints.latest(folder) is not None


def _check_stages(checkpoint_dir, resume: bool, meta: dict) -> None:
    """:func:`augkit.checkpoints.check_start` for both stages: a resume needs a checkpoint of
    at least the first, a fresh start must not overwrite either."""
    stages = _stage_dirs(checkpoint_dir)
    if resume and not any(_has_checkpoint(d) for d in stages):
        checkpoints.check_start(checkpoint_dir, True, meta)  # raises the usual message
    for folder, stage in zip(stages, ("m1", "m2"), strict=True):
        if folder is not None:
            checkpoints.check_start(folder, resume and _has_checkpoint(folder),
                                    {**meta, "stage": stage})


def _fit_ssvae(x, y, xt, yt, o, *, epochs, quick, seed, batch_size, checkpoint_dir, resume,
               meta, progress) -> tuple:
    """The semi-supervised VAE: M1 on every training image (no labels), then M2 on M1's
    posteriors with ``labels_per_class`` labels drawn by ``seed``. The curve (M2's accuracy
    on the last test images after every epoch) is reported only; nothing is chosen on it."""
    from augkit import loop, ssvae

    m1_dir, m2_dir = _stage_dirs(checkpoint_dir)
    idx = data.stratified_indices(y, o["labels_per_class"], seed)
    spec = datasets.get(meta["dataset"])
    model = ssvae.build_ssvae(spec.image_shape, spec.num_classes, m1_latent=50,
                              latent_dim=o["latent_dim"], alpha=o["alpha"], seed=seed)
    run1 = loop.fit(model.m1, x, None, scale="unit", epochs=1 if quick else o["m1_epochs"],
                    batch_size=batch_size, steps_per_epoch=10 if quick else None,
                    checkpoint_dir=m1_dir, resume=resume and _has_checkpoint(m1_dir),
                    meta={**meta, "stage": "m1"}, progress=progress, sample_every=False,
                    seed=seed)
    if run1.guard.message:
        raise RuntimeError(run1.guard.message)
    rows = ssvae.m1_rows(model.m1, x)
    model.m2 = ssvae.build_m2(rows[idx], y[idx], model.num_classes, latent_dim=o["latent_dim"],
                              alpha=o["alpha"], seed=seed)
    n_curve = 500 if quick else 2000
    run2 = ssvae.train_m2(model.m2, rows, epochs=1 if quick else epochs, batch_size=batch_size,
                          validation=(ssvae.m1_rows(model.m1, xt[-n_curve:]), yt[-n_curve:]),
                          seed=seed, progress=progress, checkpoint_dir=m2_dir,
                          resume=resume and _has_checkpoint(m2_dir),
                          meta={**meta, "stage": "m2"})
    if run2.guard.message:
        raise RuntimeError(run2.guard.message)
    measured = {"test_accuracy": round(model.accuracy(xt, yt), 4),
                "m1_seconds": round(run1.seconds, 1),
                **evaluate_generator(model, meta["dataset"], xt, n=500 if quick else 5000,
                                     seed=seed)}
    return model, {"seconds": run1.seconds + run2.seconds, "metrics": measured,
                   "record": run2.record(),
                   "extra": {"final_logs": _final_logs(run2), "labeled_images": len(idx),
                             "m1_epochs": 1 if quick else o["m1_epochs"],
                             "curve_images": f"test images {len(xt) - n_curve}-{len(xt) - 1}"}}


def _fit_classifier(dataset, x, y, xt, yt, *, width, depth, recipe, epochs, quick, seed,
                    batch_size, progress) -> tuple:
    """The domain classifier: the small-data classifier's network trained for ``epochs``
    passes over the whole training set with ``recipe`` (see :data:`RECIPES`)."""
    from augkit import augment, classify

    steps = max(1, (1 if quick else epochs) * len(x) // batch_size)
    augmenter = None
    if recipe == "strong":
        budget = classify.Budget(steps, batch_size, **classify.STANDARD_RECIPE)
        augmenter = augment.Augmenter(augment.default_config(dataset), seed=seed)
    else:
        budget = classify.Budget(steps, batch_size)
    start = time.perf_counter()
    res = classify.train_classifier(x, y, xt, yt, budget=budget, augmenter=augmenter,
                                    seed=seed, width=width, depth=depth, progress=progress,
                                    num_classes=datasets.get(dataset).num_classes)
    return res["model"], {"seconds": time.perf_counter() - start,
                          "metrics": {"test_accuracy": round(res["test_acc"], 4)},
                          "extra": {"steps": steps, "batch_norm": budget.batch_norm,
                                    "train_accuracy": round(res["train_acc"], 4)}}


def measure_generative(model, kind: str, dataset: str, x_test, y_test, n: int, seed: int) -> dict:
    """Every manifest metric of a generative model: :func:`evaluate_generator`, plus
    :func:`evaluate_vae` for a VAE (one place, so training and re-measuring agree)."""
    measured = evaluate_generator(model, dataset, x_test, n=n, seed=seed)
    if kind == "vae":
        measured.update(evaluate_vae(model, dataset, x_test, y_test, n=n, seed=seed))
    return measured


def evaluate_generator(model, dataset: str, x_test, n: int = 5000, seed: int = 0) -> dict:
    """Domain-FID against real test images and, for conditional models, label consistency."""
    n = min(n, len(x_test))
    out = model.sample(n, seed=seed)
    images, labels = out if model.conditional else (out, None)
    result = {"domain_fid": round(metrics.domain_fid(dataset, images, x_test[:n]), 3)}
    hist = metrics.class_histogram(dataset, images)
    result["class_histogram"] = [round(float(v), 4) for v in hist]
    if labels is not None:
        result["label_consistency"] = round(metrics.label_consistency(dataset, images, labels), 4)
    return result


def evaluate_vae(model, dataset: str, x_test, y_test, n: int = 5000, seed: int = 0) -> dict:
    """What only a VAE has: test negative ELBO and its terms (nats per image), how much
    better reconstructions are than the mean image, and how many latent dimensions are used."""
    from augkit import vae

    n = min(n, len(x_test))
    x, y = x_test[:n], (y_test[:n] if model.conditional else None)
    unit = vae.to_unit_float(x)
    logs = model.evaluate(unit, y, batch_size=500, verbose=0, return_dict=True)
    recon = vae.to_unit_float(model.reconstruct(x, y))
    mean_image = unit.mean(axis=0, keepdims=True)
    kl_dims = model.kl_per_dimension(x, y)
    m = min(n, 1000)
    z = np.random.default_rng(seed).standard_normal((m, model.latent_dim)).astype(np.float32)
    prior = model.decode(z, (np.arange(m) % model.num_classes) if model.conditional else None)
    return {"test_neg_elbo": round(logs["neg_elbo"], 2),
            "test_reconstruction": round(logs["reconstruction"], 2),
            "test_kl": round(logs["kl"], 2),
            "reconstruction_mse": round(float(np.mean((recon - unit) ** 2)), 5),
            "mean_image_mse": round(float(np.mean((mean_image - unit) ** 2)), 5),
            # 0.01 nats: the usual threshold for an "active" unit (Burda et al. use a variance test).
            "active_units": int((kl_dims > 0.01).sum()),
            "sharpness": round(metrics.sharpness(vae.to_uint8(prior)), 2)}



def remeasure(name: str, data_dir=None, n: int = 5000) -> dict:
    """Measure generator ``name`` again with today's domain classifier and rewrite its
    manifest entry (metrics only; weights and hashes unchanged); return the new entry.

    Domain-FID and label consistency are read through the domain classifier, so when a
    stronger one is shipped every generator of that dataset is measured again with it.
    The entry records which classifier measured it (``metrics_judge``).
    """
    e, folder = zoo.locate(name)
    if e["kind"] not in ("gan", "vae"):
        raise ValueError(f"{name} is a {e['kind']}, not a generative model")
    _, (xt, yt) = data.load(e["dataset"], data_dir)
    model = zoo.load_generator_model(name)
    got = measure_generative(model, e["kind"], e["dataset"], xt, yt, n=n, seed=0)
    judge = zoo.entry(f"classifier_{e['dataset']}")
    info = {k: v for k, v in e.items() if k not in ("file", "sha256", "bytes", "history_file",
                                                    "history_sha256")}
    info["metrics"] = {**e["metrics"], **got}
    info["metrics_judge"] = {"sha256": judge["sha256"],
                             "test_accuracy": judge["metrics"]["test_accuracy"]}
    history = folder / e["history_file"] if "history_file" in e else None
    return zoo.register(name, zoo.checked_path(name), info, folder, history_file=history)
