"""Build, train, measure and save a model of any family: the one path the command line
(``augkit train FAMILY``), the notebooks and the study all take.

Two layers. :func:`fit` trains a model of a family (:mod:`augkit.families`) from arrays
and returns :class:`~augkit.families.Fitted`; it touches no model folder, so the study
calls it for its cells' generators. :func:`train_model` is what ``augkit train`` does: it
checks everything first (the name, the output and checkpoint folders, a resumable
checkpoint of the same architecture), loads the data, calls :func:`fit`, saves every file
atomically and registers the model in its folder's manifest (:func:`augkit.zoo.register`).
Shipped weights were made by exactly this path (``--ship`` writes into ``augkit/weights``),
so every number in the manifest can be reproduced with the command it records. Quick mode
trains on a small slice for one short epoch (:mod:`augkit.budgets`), so CI exercises the
whole path in seconds.
"""

from __future__ import annotations

import os
import platform

from augkit import budgets, checkpoints, data, datasets, families, files, metrics, zoo
from augkit.families import Family, Fitted, Job


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"


def options_for(family: Family, dataset: str, options: dict) -> dict:
    """The family's defaults, overridden by ``options``, checked against each option's
    choices and minimum; an unknown option is a ``ValueError`` naming the family's options."""
    known = family.defaults()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} do{'es' if len(unknown) == 1 else ''} not apply "
                         f"to {family.name}; its options: {', '.join(known) or 'none'}")
    o = {**known, **{k: v for k, v in options.items() if v is not None}}
    if "likelihood" in o and o["likelihood"] is None:
        o["likelihood"] = datasets.get(dataset).likelihood
    for opt in family.options:
        value = o[opt.name]
        if opt.choices and value not in opt.choices:
            raise ValueError(f"{opt.flag} must be one of {', '.join(opt.choices)}, got {value!r}")
        if opt.minimum is not None and value < opt.minimum:
            raise ValueError(f"{opt.flag} must be at least {opt.minimum:g}, got {value}")
    return o


def architecture(kind: str, dataset: str, options: dict, seed: int = 0) -> dict:
    """The options that fix the networks' shapes: a checkpoint only resumes into the same."""
    family = families.get(kind)
    o = {**options, "seed": seed}
    return {"kind": kind, "dataset": dataset, **{k: o.get(k) for k in family.architecture}}


def fit(family: Family | str, job: Job) -> Fitted:
    """Train a model of ``family`` on ``job``'s arrays (see :class:`~augkit.families.Job`)."""
    family = families.get(family) if isinstance(family, str) else family
    return family.hooks().fit(job)


def save(family: Family | str, model, path) -> None:
    """Save ``model`` into one ``.weights.h5`` file, atomically."""
    family = families.get(family) if isinstance(family, str) else family
    family.hooks().save(model, path)


def train_model(kind: str, dataset: str, *, name: str, out_dir, quick: bool, epochs: int = 8,
                batch_size: int | None = None, seed: int = 0, data_dir=None, checkpoint_dir=None,
                resume: bool = False, command: str = "", progress: bool = True,
                **options) -> dict:
    """Train a model of family ``kind`` (``gan``, ``vae``, ``classifier``, ``ssgan``,
    ``ssvae``, or any registered family), measure it, save it and register it in
    ``out_dir``'s manifest; return its manifest entry.

    ``options`` are the family's (:attr:`augkit.families.Family.options`, e.g.
    ``conditional``, ``latent_dim``, ``width``, ``beta``, ``labels_per_class``).
    ``batch_size`` defaults to the family's. Everything is validated before the data is
    loaded.
    """
    family = families.get(kind)
    datasets.get(dataset)
    files.check_name(name)
    batch_size = family.batch_size if batch_size is None else batch_size
    if min(epochs, batch_size) <= 0:
        raise ValueError("--epochs and --batch-size must be positive")
    if seed < 0:
        raise ValueError(f"--seed must be >= 0, got {seed}")
    o = options_for(family, dataset, options)
    meta = architecture(kind, dataset, o, seed)
    out_dir = files.check_writable(out_dir, "output folder")
    if checkpoint_dir is not None:
        files.check_writable(checkpoint_dir, "--checkpoint-dir")
    getattr(family.hooks(), "check_start", checkpoints.check_start)(checkpoint_dir, resume, meta)

    (x, y), (xt, yt) = data.load(dataset, data_dir)
    x, y = budgets.train_slice(x, y, quick)
    fitted = fit(family, Job(dataset, x, y, xt, yt, o, seed=seed, epochs=epochs,
                             batch_size=batch_size, quick=quick, checkpoint_dir=checkpoint_dir,
                             resume=resume, meta=meta, progress=progress))
    path = out_dir / f"{name}.weights.h5"
    save(family, fitted.model, path)
    history_file = None
    if fitted.record:
        history_file = out_dir / f"{name}.history.npz"
        files.save_npz(history_file, **fitted.record)
    shown = {k: o[k] for k in ("beta", "sigma") if k in o}
    info = {**meta, **shown, "epochs": epochs, "batch_size": batch_size, "command": command,
            "train_seconds": round(fitted.seconds, 1), "machine": _machine(), "quick": quick,
            "train_images": len(x), "metrics": fitted.metrics, **fitted.extra}
    return zoo.register(name, path, info, out_dir, history_file=history_file)


def check_guard(*runs) -> None:
    """Stop with the divergence guard's message when it stopped a run."""
    for run in runs:
        if run.guard.message:
            raise RuntimeError(run.guard.message)


def schedule(job: Job, per_epoch: int | None = None) -> dict:
    """``epochs``, ``steps_per_epoch`` and ``batch_size`` for :func:`augkit.loop.fit`.

    A step budget (the study's generators) runs in epochs of at most 50 steps, so the
    record has a few points; quick mode is one epoch of a few steps; otherwise ``epochs``
    passes over the data (``per_epoch`` steps each when given).
    """
    if job.steps:
        return {"epochs": max(1, job.steps // 50), "steps_per_epoch": min(50, job.steps),
                "batch_size": min(job.batch_size, len(job.x))}
    quick = budgets.QUICK_TRAINING
    return {"epochs": quick.epochs if job.quick else job.epochs,
            "steps_per_epoch": quick.steps_per_epoch if job.quick else per_epoch,
            "batch_size": job.batch_size}


def curve_images(job: Job) -> tuple:
    """The last test images a model's reported curve is measured on (never chosen on)."""
    n = budgets.curve_images(job.quick)
    return job.x_test[-n:], job.y_test[-n:], f"test images {len(job.x_test) - n}-{len(job.x_test) - 1}"


def final_logs(run) -> dict:
    """Every logged metric's value after the last epoch (for the manifest)."""
    return {k: round(float(v[-1]), 4) for k, v in run.history.history.items()}


def evaluate_generator(model, dataset: str, x_test, n: int = 5000, seed: int = 0,
                       judge=None) -> dict:
    """Domain-FID against real test images and, for conditional models, label consistency,
    read by ``judge`` (default: the dataset's shipped domain classifier)."""
    judge = judge if judge is not None else zoo.domain_classifier(dataset)
    n = min(n, len(x_test))
    out = model.sample(n, seed=seed)
    images, labels = out if getattr(model, "conditional", False) else (out, None)
    result = {"domain_fid": round(metrics.domain_fid(judge, images, x_test[:n]), 3)}
    hist = metrics.class_histogram(judge, images)
    result["class_histogram"] = [round(float(v), 4) for v in hist]
    if labels is not None:
        result["label_consistency"] = round(metrics.label_consistency(judge, images, labels), 4)
    return result


def measure_generative(model, kind: str, dataset: str, x_test, y_test, n: int, seed: int,
                       judge=None) -> dict:
    """Every manifest metric of a generative model: :func:`evaluate_generator` plus what its
    family measures besides (a VAE's bound and reconstructions), so training and
    re-measuring agree."""
    measured = evaluate_generator(model, dataset, x_test, n=n, seed=seed, judge=judge)
    extra = getattr(families.get(kind).hooks(), "measure", None)
    if extra is not None:
        measured.update(extra(model, dataset, x_test, y_test, n=n, seed=seed))
    return measured


def fitted_generator(model, run, job: Job, kind: str, **extra) -> Fitted:
    """The :class:`Fitted` of a GAN or VAE run: measured unless the job says not to."""
    check_guard(run)
    measured = {}
    if job.measure:
        measured = measure_generative(model, kind, job.dataset, job.x_test, job.y_test,
                                      n=budgets.measure_images(job.quick), seed=job.seed)
    return Fitted(model, run.seconds, measured, run.record(),
                  {"final_logs": final_logs(run), **extra})


def remeasure(name: str, data_dir=None, n: int = 5000) -> dict:
    """Measure generator ``name`` again with today's domain classifier and rewrite its
    manifest entry (metrics only; weights and hashes unchanged); return the new entry.

    Domain-FID and label consistency are read through the domain classifier, so when a
    stronger one is shipped every generator of that dataset is measured again with it.
    The entry records which classifier measured it (``metrics_judge``).
    """
    e, folder = zoo.locate(name)
    if not families.of_entry(e).generates:
        raise ValueError(f"{name} is a {e['kind']}, which does not generate images")
    _, (xt, yt) = data.load(e["dataset"], data_dir)
    model = zoo.load_model(name)
    got = measure_generative(model, e["kind"], e["dataset"], xt, yt, n=n, seed=0)
    judge = zoo.entry(f"classifier_{e['dataset']}")
    info = {k: v for k, v in e.items() if k not in ("file", "sha256", "bytes", "history_file",
                                                    "history_sha256")}
    info["metrics"] = {**e["metrics"], **got}
    info["metrics_judge"] = {"sha256": judge["sha256"],
                             "test_accuracy": judge["metrics"]["test_accuracy"]}
    history = folder / e["history_file"] if "history_file" in e else None
    return zoo.register(name, zoo.checked_path(name), info, folder, history_file=history)
