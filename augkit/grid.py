"""The study's grid: its strategies and settings, the presets that size it, and the runs
they make, in a fixed order. What each strategy and setting means, and why nothing in it is
chosen on the test set, is the protocol in :mod:`augkit.study` (whose public names these
remain). Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass

from augkit import datasets, semi

STRATEGIES = ("real", "classic", "gan", "vae", "classic+gan", "classic+vae", "gan_screened",
              "synthetic_only", *semi.STRATEGIES)
SYNTHETIC = ("gan", "vae", "classic+gan", "classic+vae", "gan_screened")
SETTINGS = ("fair", "pool", "leaky")
# In the pool setting every generated image is pseudo-labelled and screened by the subset
# classifier, so a separate "gan_screened" strategy would repeat "gan".
POOL_SYNTHETIC = ("gan", "vae", "classic+gan", "classic+vae")
SETTING_ONLY = ("real", "classic")  # runs whose result does not depend on the setting
SCREEN_CONFIDENCE = 0.5  # fixed in advance: the subset classifier's probability for the label
LEAKY_MODELS = {"gan": "cgan_{dataset}", "vae": "cvae_{dataset}"}


@dataclass(frozen=True)
class Preset:
    """The grid of one dataset: labeled sizes, synthetic ratios, seeds, generator steps.

    ``ratios`` are swept for the strategies in ``sweep`` at the sizes in ``sweep_sizes``
    (``None``: every size); every other synthetic run uses one generated image per real
    image (ratio 1). ``strategies`` are the synthetic strategies run (real-only, classic
    and synthetic-only always run). ``semi`` are the pool setting's semi-supervised
    strategies (:mod:`augkit.semi`); the semi-supervised GAN (20 minutes a seed) and VAE
    run only at ``semi_sizes`` (``None``: every size) and ``semi_seeds`` (``None``: every
    seed), for ``semi_epochs`` epochs over the pool (the VAE: ``ssvae_epochs`` epochs of
    M2, after M1's)."""

    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    seeds: tuple[int, ...]
    generator_steps: int
    test_images: int | None  # None: the whole test set
    quick: bool
    sweep: tuple[str, ...] = ("gan",)
    sweep_sizes: tuple[int, ...] | None = None
    strategies: tuple[str, ...] = SYNTHETIC
    semi: tuple[str, ...] = ()
    semi_sizes: tuple[int, ...] | None = None
    semi_epochs: int = 1
    ssvae_epochs: int = 1
    semi_seeds: tuple[int, ...] | None = None


# Sizing the full grid (2-core CPU, standard classifier budget: MNIST width 24 with batch
# norm, 1500 steps). Planned from single runs (2026-11-27): a classifier run takes 60-75 s
# alone, a cell's conditional GAN 80 s and its VAE 32 s (1500 steps each). The whole
# grid (4 sizes x 5 seeds x 8 strategies x 4 ratios = 460 runs + 40 generators) would take
# hours. The "full" preset keeps all 5 seeds and the baseline's full budget and cuts
# instead: labeled sizes 10 and 100 per class (few labels, and the 97 % baseline anchor); the
# ratio sweep (0.5, 1, 2, 4: the "past 1:1" question) for the plain GAN strategy at 10 per
# class, where generated data has the most room to help; classic + VAE (classic + GAN asks
# the same question). 85 classifier runs (the real-only run is the cell's screening judge,
# trained once) + 20 generators. Measured on a quiet machine with --jobs 2 (2026-12-07):
# 45 min 19 s of wall time (13 min for the 10 judges and 20 generators, 32 min for the other
# 75 runs), 4,349 s of CPU. "extended" is the whole grid.
_FULL = ("gan", "vae", "classic+gan", "gan_screened")
# CIFAR-10 (30,000-image subset): a classifier run (width 32, batch norm, 2000 steps, colour
# input) costs ~2.3 min per worker with --jobs 2 (median of the quiet run below), ~3x an MNIST
# run (44 s); planned from runs that shared the CPU, which took ~5.6 min each, the MNIST-shaped grid
# (both sizes, 6 runs per cell, 70 items) looked like ~3.5 hours. The full CIFAR-10 preset
# keeps the 5 seeds and the baseline's budget and cuts instead to one labeled size, 100 per
# class (few labels: where generated data has the most room to help), ratio 1 (MNIST answers
# "past 1:1"), and three synthetic strategies: GAN, classic + GAN, GAN-only (CAS); no
# screening (the judge trained on 1,000 photos is wrong on almost half the test photos,
# 53.5 % accuracy for seed 0, so it cannot tell good samples from bad) and no conditional
# VAE (its CIFAR-10 samples do not follow their labels, notebook 06). 5 runs per seed (the
# real-only run is the judge) + 5 GANs. Measured on a quiet machine with --jobs 2
# (2026-12-07): 34 min 23 s of wall time, 3,367 s of CPU. "extended" is the whole grid.
_CIFAR_FULL = ("gan", "classic+gan")
# The pool setting's semi-supervised runs (augkit.semi) on MNIST at 10 labels per class, the
# published anchors' setting: 36 epochs of the semi-supervised GAN is its budget of 20
# minutes per seed (an epoch, 600 steps, takes 31 s alone on the 2-core CPU).
# The semi-supervised VAE: M1 for 20 epochs (4.5 min) then M2 for 10 (2 min).
_SEMI = ("ssgan", "ssvae", "pseudo_label")
# CIFAR-10's pool setting runs the semi-supervised GAN only, with MNIST's architecture (a
# dense discriminator; the authors' CIFAR-10 model is a 9-layer CNN trained for 1,200
# epochs, far beyond a CPU): 20 epochs over the 30,000 images (34 s an epoch alone on the
# 2-core CPU, ~12 min a seed), at the first three seeds only: all the time one work session
# had left for it (2026-12-07). The answer did not hang on the seeds: see notebook 09.
PRESETS = {
    ("mnist", "quick"): Preset((10,), (1.0,), (0, 1, 2), 60, 2000, True, (), semi=_SEMI),
    ("mnist", "full"): Preset((10, 100), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4), 1500, None,
                              False, ("gan",), (10,), _FULL, _SEMI, (10,), 36, 10),
    ("mnist", "extended"): Preset((10, 50, 100, 500), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4),
                                  1500, None, False, SYNTHETIC, semi=_SEMI, semi_epochs=36,
                                  ssvae_epochs=10),
    ("cifar10", "quick"): Preset((20,), (1.0,), (0, 1, 2), 60, 2000, True, ()),
    ("cifar10", "full"): Preset((100,), (1.0,), (0, 1, 2, 3, 4), 1500, None, False, (),
                                None, _CIFAR_FULL, ("ssgan",), (100,), 20, semi_seeds=(0, 1, 2)),
    ("cifar10", "extended"): Preset((100, 500), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4), 1500,
                                    None, False, SYNTHETIC),
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


def strategies_for(setting: str, preset: Preset) -> tuple[str, ...]:
    """The synthetic strategies a setting runs (the pool setting always screens)."""
    allowed = POOL_SYNTHETIC if setting == "pool" else SYNTHETIC
    return tuple(s for s in preset.strategies if s in allowed)


def grid(dataset: str, setting: str, preset: Preset) -> list[Run]:
    """Every run of the study, in a fixed order (cell by cell, so generators are reused)."""
    datasets.get(dataset)
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {', '.join(SETTINGS)}, got {setting!r}")
    runs = []
    for n in preset.sizes:
        for seed in preset.seeds:
            runs += [Run(dataset, setting, n, s, 0.0, seed) for s in SETTING_ONLY]
            sweep = preset.sweep if preset.sweep_sizes is None or n in preset.sweep_sizes else ()
            runs += [Run(dataset, setting, n, s, r, seed) for s in strategies_for(setting, preset)
                     for r in (preset.ratios if s in sweep else (1.0,))]
            runs.append(Run(dataset, setting, n, "synthetic_only", 1.0, seed))
            if setting == "pool":
                runs += [Run(dataset, setting, n, s, semi.RATIOS[s], seed) for s in preset.semi
                         if s not in semi.MODELS or _runs_model(preset, n, seed)]
    return runs


def _runs_model(preset: Preset, n: int, seed: int) -> bool:
    """Whether the cell (n, seed) trains the preset's semi-supervised models (costly)."""
    return ((preset.semi_sizes is None or n in preset.semi_sizes)
            and (preset.semi_seeds is None or seed in preset.semi_seeds))


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
