"""Mode collapse on MNIST, provoked on purpose, then the kit's remedies, each measured.

Introduced in ``notebooks/04_gan_mnist.ipynb`` (section 4). The collapsing setting is the
kit's unconditional DCGAN with its generator learning 100 times faster than its
discriminator (Adam learning rates 5e-3 and 5e-5): the generator keeps jumping to
whatever the discriminator currently rates most real, faster than the discriminator can
learn that it is being fooled by one kind of digit. Every remedy changes one thing:

* ``conditional``: a conditional GAN asks for each class explicitly (projection D);
* ``minibatch_std``: D also sees the batch's spread (:class:`augkit.nets.MinibatchStdDev`);
* ``wgan_gp``: the Wasserstein loss with a gradient penalty (:mod:`augkit.losses`);
* ``balanced``: both players at the kit's default 2e-4, i.e. a slower *generator*;
* ``slower_d``: the remedy often quoted, a slower discriminator (2e-5 against 2e-4).

What is measured is the share of each class among the samples as the domain classifier
reads them, and its total-variation distance to uniform,

.. math::
    \\mathrm{TV}(h, u) = \\tfrac12 \\sum_{c=1}^{10} \\big|h_c - \\tfrac{1}{10}\\big|,

0 for a perfectly balanced generator and 0.9 for one that draws a single class. The
histogram is only as good as its judge: on real test digits it is 0.004-0.006 from the truth.
``python -m augkit.collapse`` reruns the whole table (``augkit/results/mode_collapse.json``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from augkit import datasets, files

SETTINGS = {
    "collapse": dict(d_lr=5e-5, g_lr=5e-3,
                     text="generator 100x faster than the discriminator"),
    "conditional": dict(d_lr=5e-5, g_lr=5e-3, conditional=True,
                        text="same rates, conditional GAN"),
    "minibatch_std": dict(d_lr=5e-5, g_lr=5e-3, minibatch_std=True,
                          text="same rates, minibatch std in D"),
    "wgan_gp": dict(d_lr=5e-5, g_lr=5e-3, loss="wgan_gp", text="same rates, WGAN-GP loss"),
    "balanced": dict(d_lr=2e-4, g_lr=2e-4, text="both at 2e-4 (a slower generator)"),
    "slower_d": dict(d_lr=2e-5, g_lr=2e-4, text="a slower discriminator (2e-5 vs 2e-4)"),
}
"""Each setting's optimiser learning rates and the one thing it changes (notebook 04)."""

SHIPPED = Path(__file__).parent / "results" / "mode_collapse.json"
SHIPPED_SAMPLES = SHIPPED.with_suffix(".samples.npz")


def tv_to_uniform(hist) -> float:
    """Total-variation distance of a class histogram to the uniform one (module docstring)."""
    from augkit import metrics

    return metrics.total_variation(hist, np.full(len(hist), 1.0 / len(hist)))


def train_setting(name: str, x, y, *, steps: int, seed: int = 0, width: int = 32,
                  batch_size: int = 64, progress: bool = False):
    """Train the GAN of setting ``name`` for ``steps`` steps on uint8 MNIST ``x`` (``y``)."""
    import keras

    from augkit import gan

    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}; settings: {', '.join(SETTINGS)}")
    s = SETTINGS[name]
    model = gan.build_gan("mnist", conditional=s.get("conditional", False), width=width,
                          seed=seed, minibatch_std=s.get("minibatch_std", False))
    # beta_1 = 0.5 throughout, as in every augkit GAN: only the rates differ between settings.
    model.compile(keras.optimizers.Adam(s["d_lr"], beta_1=0.5),
                  keras.optimizers.Adam(s["g_lr"], beta_1=0.5), loss=s.get("loss", "non_saturating"))
    gan.train_gan(model, x, y if model.conditional else None, epochs=1, steps_per_epoch=steps,
                  batch_size=batch_size, progress=progress, sample_every=False, seed=seed)
    return model


def measure(model, n: int = 2000, seed: int = 1) -> dict:
    """Class histogram of ``n`` samples (classes cycled for a conditional GAN), its TV to
    uniform, the largest share and how many classes get under 2 % of the samples."""
    from augkit import metrics, zoo

    images = model.sample(n, seed=seed)
    images = images[0] if isinstance(images, tuple) else images
    hist = metrics.class_histogram(zoo.domain_classifier("mnist"), images)
    return {"histogram": [round(float(v), 4) for v in hist], "tv": round(tv_to_uniform(hist), 4),
            "largest_share": round(float(hist.max()), 4),
            "rare_classes": int((hist < 0.02).sum()), "images": images}


def run_all(x, y, *, steps: int = 1500, seeds=(0, 1), names=tuple(SETTINGS), n_eval: int = 2000,
            progress: bool = True) -> tuple[dict, dict]:
    """Every setting for every seed: ``(table, samples)``. ``table["rows"]`` has one row per
    (setting, seed) with the numbers of :func:`measure` and the seconds it took;
    ``samples[name]`` holds 40 images of seed ``seeds[0]`` for a picture."""
    from tqdm.auto import tqdm

    rows, samples = [], {}
    jobs = [(name, seed) for name in names for seed in seeds]
    for name, seed in tqdm(jobs, desc="mode-collapse settings", unit="GAN", disable=not progress):
        start = time.perf_counter()
        model = train_setting(name, x, y, steps=steps, seed=seed)
        m = measure(model, n_eval)
        images = m.pop("images")
        if seed == seeds[0]:
            samples[name] = images[:40]
        rows.append({"setting": name, "seed": seed, **m,
                     "seconds": round(time.perf_counter() - start, 1)})
    table = {"steps": steps, "batch_size": 64, "seeds": list(seeds), "n_eval": n_eval,
             "settings": {k: SETTINGS[k] for k in names}, "rows": rows}
    return table, samples


def load_shipped() -> tuple[dict, dict]:
    """The shipped table and sample images (notebook 04 reads these instead of ~30 minutes)."""
    table = files.read_json(SHIPPED, "mode-collapse table")
    with np.load(SHIPPED_SAMPLES) as f:
        return table, {k: f[k] for k in f.files}


def _ordered(table: dict) -> list[str]:
    """The table's settings in :data:`SETTINGS` order (the JSON file sorts its keys)."""
    return [k for k in SETTINGS if k in table["settings"]] + sorted(
        set(table["settings"]) - set(SETTINGS))


def picture_rows(table: dict, pictures: dict, per_row: int = 12) -> dict:
    """One row of sample images per setting, in order. The conditional GAN's samples cycle
    through the classes; its row shows them grouped by class (four 0s, four 1s, ...), so
    that a collapse *within* a class is visible."""
    rows = {}
    for name in _ordered(table):
        images = pictures[name]
        if table["settings"][name].get("conditional"):
            k = datasets.get("mnist").num_classes
            images = np.concatenate([images[c::k] for c in range(k)])
        rows[name] = images[:per_row]
    return rows


def summary(table: dict) -> dict[str, dict]:
    """Per setting: mean TV over seeds, its per-seed values, and the mean largest share."""
    out = {}
    for name in _ordered(table):
        rows = [r for r in table["rows"] if r["setting"] == name]
        out[name] = {"tv": float(np.mean([r["tv"] for r in rows])),
                     "tv_seeds": [r["tv"] for r in rows],
                     "largest_share": float(np.mean([r["largest_share"] for r in rows])),
                     "rare_classes": float(np.mean([r["rare_classes"] for r in rows]))}
    return out


def plot(table: dict, floor: float | None = None, title: str | None = None):
    """One bar per setting: mean TV to uniform over seeds, each seed a dot; a line where a
    generator draws one class only (0.9) and, if given, the judge's ``floor`` on real digits."""
    import matplotlib.pyplot as plt

    summ = summary(table)
    names = list(summ)[::-1]  # the collapsing setting on top
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(names) + 1.5))
    means = [summ[k]["tv"] for k in names]
    colours = ["tab:red" if k == "collapse" else "tab:blue" for k in names]
    ax.barh(range(len(names)), means, color=colours, alpha=0.6, height=0.6)
    for i, k in enumerate(names):
        ax.plot(summ[k]["tv_seeds"], [i] * len(summ[k]["tv_seeds"]), "k.", ms=6)
        ax.annotate(f"{summ[k]['tv']:.2f}", (summ[k]["tv"] + 0.01, i + 0.22), fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.axvline(0.9, color="tab:red", ls=":", lw=1)
    ax.text(0.89, len(names) - 0.5, "one class only", ha="right", va="bottom", fontsize=8,
            color="tab:red")
    if floor is not None:
        ax.axvline(floor, color="0.3", ls="--", lw=1)
        ax.text(floor + 0.01, len(names) - 0.5, "judge's floor", va="bottom", fontsize=8)
    ax.set_xlim(0, 0.95)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.set_xlabel("TV distance of the class histogram to uniform (bar: mean, dots: seeds)")
    ax.set_title(title or f"mode collapse and its remedies: {table['steps']:,} steps, "
                 f"{table['n_eval']:,} samples per GAN", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv=None) -> int:
    """``python -m augkit.collapse [--steps N] [--seeds 0 1] [--data-dir D] [--out FILE]``."""
    import argparse
    import platform

    from augkit import data

    ap = argparse.ArgumentParser(prog="python -m augkit.collapse", description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--data-dir")
    ap.add_argument("--out", default=str(SHIPPED))
    args = ap.parse_args(argv)
    (x, y), _ = data.load("mnist", data_dir=args.data_dir)
    start = time.perf_counter()
    table, samples = run_all(x, y, steps=args.steps, seeds=tuple(args.seeds))
    table.update(command="python -m augkit.collapse " + " ".join(argv or sys.argv[1:]),
                 seconds=round(time.perf_counter() - start), train_images=int(len(x)),
                 machine=f"{platform.machine()}, {os.cpu_count()} CPU cores")
    out = Path(args.out)
    files.write_json(out, table)
    files.save_npz(out.with_suffix(".samples.npz"), **samples)
    print(f"wrote {out} ({table['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
