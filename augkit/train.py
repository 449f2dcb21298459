"""What ``augkit train ...`` does: train, measure, save weights, write a manifest entry.

Shipped weights are made by exactly these functions (``--ship`` writes into
``augkit/weights``; otherwise into ``runs/models``), so every number in the manifest
can be reproduced with the command it records. Quick mode trains on a small slice
for one short epoch, so CI exercises the whole path in seconds.
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from augkit import config, data, metrics, zoo


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}"


def _slice(x, y, quick: bool, n_quick: int = 2048):
    if not quick:
        return x, y
    idx = data.stratified_indices(y, n_quick // 10, seed=0)
    return x[idx], y[idx]


# The domain classifier is twice as wide as the small-data classifier: it judges samples,
# so its own error rate bounds how well label consistency can be measured.
DOMAIN_WIDTH = 32


def train_domain_classifier(dataset: str, *, out_dir: Path, epochs: int = 4, data_dir=None,
                            command: str = "", seed: int = 0) -> dict:
    """Train :func:`augkit.classify.build_classifier` on the full training set; save and register."""
    from augkit import classify

    quick = config.quick()
    (x, y), (xt, yt) = data.load(dataset, data_dir)
    x, y = _slice(x, y, quick)
    budget = classify.Budget(steps=max(1, (1 if quick else epochs) * len(x) // 64), batch_size=64)
    start = time.perf_counter()
    res = classify.train_classifier(x, y, xt, yt, budget=budget, seed=seed, width=DOMAIN_WIDTH)
    seconds = time.perf_counter() - start
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / metrics.classifier_path(dataset).name
    res["model"].save_weights(path)
    info = {"kind": "classifier", "dataset": dataset, "width": DOMAIN_WIDTH,
            "command": command, "train_seconds": round(seconds, 1), "machine": _machine(),
            "quick": quick, "metrics": {"test_accuracy": round(res["test_acc"], 4)},
            "train_images": len(x), "steps": budget.steps}
    return zoo.register(f"classifier_{dataset}", path, info, out_dir / "manifest.json")


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


def train_gan_model(dataset: str, *, name: str, out_dir: Path, conditional: bool = True,
                    epochs: int = 8, batch_size: int = 64, loss: str = "non_saturating",
                    latent_dim: int = 64, width: int = 32, seed: int = 0, data_dir=None,
                    checkpoint_dir=None, resume: bool = False, command: str = "") -> dict:
    """Train a (conditional) DCGAN, measure it, save the generator, register it."""
    from augkit import gan

    quick = config.quick()
    (x, y), (xt, _) = data.load(dataset, data_dir)
    x, y = _slice(x, y, quick)
    from augkit import callbacks

    model = gan.build_gan(dataset, conditional, latent_dim, loss=loss, width=width, seed=seed)
    steps = callbacks.StepHistory(every=10)
    start = time.perf_counter()
    history, recorder, guard = gan.train_gan(model, x, y, epochs=1 if quick else epochs,
                                             batch_size=batch_size, checkpoint_dir=checkpoint_dir,
                                             resume=resume, seed=seed, extra_callbacks=[steps],
                                             steps_per_epoch=10 if quick else None)
    seconds = time.perf_counter() - start
    if guard.message:
        raise RuntimeError(guard.message)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.weights.h5"
    model.generator.save_weights(path)
    history_file = _save_record(out_dir, name, recorder, steps, history)
    info = {"kind": "gan", "dataset": dataset, "conditional": conditional, "loss": loss,
            "latent_dim": latent_dim, "width": width, "epochs": epochs, "batch_size": batch_size,
            "command": command, "train_seconds": round(seconds, 1), "machine": _machine(),
            "quick": quick, "train_images": len(x), "history_file": history_file,
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
            "metrics": evaluate_generator(model, dataset, xt, n=500 if quick else 5000, seed=seed)}
    return zoo.register(name, path, info, out_dir / "manifest.json")


def _save_record(out_dir: Path, name: str, recorder, steps, history) -> str:
    """The training record the notebooks play back: fixed-noise frames, step and epoch logs."""
    file = f"{name}.history.npz"
    labels = recorder.labels if recorder.labels is not None else []
    np.savez_compressed(out_dir / file, frames=np.stack(recorder.frames),
                        frame_labels=np.asarray(labels), steps=np.asarray(steps.steps),
                        **{f"log_{k}": np.asarray(v) for k, v in steps.logs.items()},
                        **{f"epoch_{k}": np.asarray(v) for k, v in history.history.items()})
    return file


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
    return {"test_neg_elbo": round(logs["neg_elbo"], 2),
            "test_reconstruction": round(logs["reconstruction"], 2),
            "test_kl": round(logs["kl"], 2),
            "reconstruction_mse": round(float(np.mean((recon - unit) ** 2)), 5),
            "mean_image_mse": round(float(np.mean((mean_image - unit) ** 2)), 5),
            # 0.01 nats: the usual threshold for an "active" unit (Burda et al. use a variance test).
            "active_units": int((kl_dims > 0.01).sum()),
            "sharpness": round(metrics.sharpness(vae.to_uint8(
                model.decode(np.random.default_rng(seed).standard_normal(
                    (min(n, 1000), model.latent_dim)).astype(np.float32),
                    (np.arange(min(n, 1000)) % 10) if model.conditional else None))), 2)}


def train_vae_model(dataset: str, *, name: str, out_dir: Path, conditional: bool = False,
                    latent_dim: int = 16, beta: float = 1.0, likelihood: str | None = None,
                    sigma: float = 0.1, epochs: int = 10, batch_size: int = 64, width: int = 32,
                    seed: int = 0, data_dir=None, checkpoint_dir=None, resume: bool = False,
                    command: str = "") -> dict:
    """Train a (conditional) VAE, measure it, save encoder + decoder, register it."""
    from augkit import callbacks, vae

    quick = config.quick()
    (x, y), (xt, yt) = data.load(dataset, data_dir)
    x, y = _slice(x, y, quick)
    model = vae.build_vae(dataset, conditional, latent_dim, beta=beta, likelihood=likelihood,
                          sigma=sigma, width=width, seed=seed)
    steps = callbacks.StepHistory(every=10)
    n_val = 500 if quick else 2000
    start = time.perf_counter()
    history, recorder, guard = vae.train_vae(
        model, x, y, epochs=1 if quick else epochs, batch_size=batch_size,
        checkpoint_dir=checkpoint_dir, resume=resume, seed=seed, extra_callbacks=[steps],
        steps_per_epoch=10 if quick else None, validation=(xt[-n_val:], yt[-n_val:]))
    seconds = time.perf_counter() - start
    if guard.message:
        raise RuntimeError(guard.message)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.weights.h5"
    model.save_networks(path)
    n_eval = 500 if quick else 5000
    measured = evaluate_generator(model, dataset, xt, n=n_eval, seed=seed)
    measured.update(evaluate_vae(model, dataset, xt, yt, n=n_eval, seed=seed))
    info = {"kind": "vae", "dataset": dataset, "conditional": conditional,
            "latent_dim": latent_dim, "beta": beta, "likelihood": model.likelihood,
            "sigma": sigma, "width": width, "epochs": epochs, "batch_size": batch_size,
            "command": command, "train_seconds": round(seconds, 1), "machine": _machine(),
            "quick": quick, "train_images": len(x),
            "history_file": _save_record(out_dir, name, recorder, steps, history),
            "final_logs": {k: round(float(v[-1]), 4) for k, v in history.history.items()},
            "metrics": measured}
    return zoo.register(name, path, info, out_dir / "manifest.json")


def sample_to_file(name: str, n: int, label, seed: int, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` images with a shipped model and write them to ``out`` (.npz: x, y)."""
    model = zoo.load_generator_model(name)
    if label is not None and not model.conditional:
        raise ValueError(f"{name} is unconditional; --label needs a conditional model")
    res = model.sample(n, labels=label, seed=seed)
    # Unconditional samples have no label: y = -1 says "unknown" rather than guessing.
    x, y = res if model.conditional else (res, np.full(len(res), -1, np.int64))
    np.savez_compressed(out, x=x, y=np.asarray(y, np.int64))
    return x, y
