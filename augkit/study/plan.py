"""The study's plan: its strategies (from the family registry) and settings, the presets
that size it, the runs they make in a fixed order, each run's configuration and id, and the
cells that shards take whole. What each strategy and setting means, and why nothing in it is
chosen on the test set, is the protocol in :mod:`augkit.study`. Introduced in
``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace

from augkit import datasets, families
from augkit.study import semisupervised as semi

SETTING_ONLY = ("real", "classic")  # runs whose result does not depend on the setting
SETTINGS = ("fair", "pool", "leaky")


def synthetic(setting: str = "fair") -> tuple[str, ...]:
    """Every generator strategy of the registry's study families (:mod:`augkit.families`):
    ``F``, ``classic+F`` and ``F_screened``. In the pool setting every generated image is
    pseudo-labelled and screened by the subset classifier, so ``F_screened`` would repeat ``F``."""
    keep = 2 if setting == "pool" else 3
    return tuple(s for f in families.in_study() for s in f.strategies()[:keep])


def strategies() -> tuple[str, ...]:
    """Every strategy a study can run, the registry's families included."""
    return (*SETTING_ONLY, *synthetic(), *(f.cas() for f in families.in_study()),
            *semi.STRATEGIES)


STRATEGIES = strategies()  # the built-in families' (a family registered later: strategies())
SYNTHETIC = synthetic()
POOL_SYNTHETIC = synthetic("pool")
SCREEN_CONFIDENCE = 0.5  # fixed in advance: the subset classifier's probability for the label


def leaky_model(family, dataset: str) -> str:
    """The leaky setting's generator: the family's shipped conditional model, trained on
    every labeled training image (its default name: ``cgan_mnist``, ``cvae_cifar10``)."""
    return family.default_name(dataset, {"conditional": True}, 0)


@dataclass(frozen=True)
class Preset:
    """The grid of one dataset: labeled sizes, synthetic ratios, seeds, strategies.

    ``ratios`` are swept for the strategies in ``sweep`` at the sizes in ``sweep_sizes``
    (``None``: every size); every other synthetic run uses one generated image per real
    image (ratio 1). ``strategies`` are the synthetic strategies run (real-only and classic
    always run, and the Classification Accuracy Score of each family in ``cas``). A
    generator's step budget is its family's (:attr:`augkit.families.Family.study_steps`,
    per budget level and device) unless ``generator_steps`` overrides it for every family
    (small test grids do; every shipped preset leaves it to the families). ``semi`` are the pool setting's semi-supervised
    strategies (:mod:`augkit.study.semisupervised`); the semi-supervised GAN (20 minutes a seed) and VAE
    run only at ``semi_sizes`` (``None``: every size) and ``semi_seeds`` (``None``: every
    seed), for ``ssgan_epochs`` epochs over the pool (the VAE: ``ssvae_epochs`` epochs of
    M2, after M1's)."""

    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    seeds: tuple[int, ...]
    test_images: int | None  # None: the whole test set
    quick: bool
    sweep: tuple[str, ...] = ("gan",)
    sweep_sizes: tuple[int, ...] | None = None
    strategies: tuple[str, ...] = ("gan", "vae", "classic+gan", "classic+vae", "gan_screened")
    semi: tuple[str, ...] = ()
    semi_sizes: tuple[int, ...] | None = None
    ssgan_epochs: int = 1
    ssvae_epochs: int = 1
    semi_seeds: tuple[int, ...] | None = None
    cas: tuple[str, ...] = ("gan",)
    generator_steps: int | None = None  # None: each family's budget (the registry's)

    def epochs_of(self, family: str) -> int:
        """The epochs of a semi-supervised family's model (``ssgan_epochs``, ``ssvae_epochs``)."""
        return getattr(self, f"{family}_epochs")


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
# The pool setting's semi-supervised runs (augkit.study.semisupervised) on MNIST at 10 labels per class, the
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
    ("mnist", "quick"): Preset((10,), (1.0,), (0, 1, 2), 2000, True, (), semi=_SEMI),
    ("mnist", "full"): Preset((10, 100), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4), None,
                              False, ("gan",), (10,), _FULL, _SEMI, (10,), 36, 10),
    ("mnist", "extended"): Preset((10, 50, 100, 500), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4),
                                  None, False, SYNTHETIC, strategies=SYNTHETIC, semi=_SEMI,
                                  ssgan_epochs=36, ssvae_epochs=10, cas=("gan", "vae")),
    ("cifar10", "quick"): Preset((20,), (1.0,), (0, 1, 2), 2000, True, ()),
    ("cifar10", "full"): Preset((100,), (1.0,), (0, 1, 2, 3, 4), None, False, (),
                                None, _CIFAR_FULL, ("ssgan",), (100,), 20, semi_seeds=(0, 1, 2)),
    ("cifar10", "extended"): Preset((100, 500), (0.5, 1.0, 2.0, 4.0), (0, 1, 2, 3, 4), None,
                                    False, SYNTHETIC, strategies=SYNTHETIC, cas=("gan", "vae")),
}


@dataclass(frozen=True)
class Run:
    """One run of the grid. ``fingerprint`` hashes everything else that decides its result
    (:func:`run_config` and the library versions): two runs with the same fields but another
    budget, width or version are different runs."""

    dataset: str
    setting: str
    n_per_class: int
    strategy: str
    ratio: float
    seed: int
    fingerprint: str = ""


def run_id(run: Run) -> str:
    """Readable fields, then the fingerprint: ``mnist|fair|n10|gan|r1|s0|3f2a9c1d0b``."""
    head = (f"{run.dataset}|{run.setting}|n{run.n_per_class}|{run.strategy}|r{run.ratio:g}"
            f"|s{run.seed}")
    return f"{head}|{run.fingerprint}" if run.fingerprint else head


def run_config(run: Run, preset: Preset) -> dict:
    """What decides a run's result besides its own fields: the budget level, the classifier's
    budget and width, the test images, the screening threshold, and for a run that uses a
    model its family's settings and step budget (on this device) or epochs."""
    from augkit import budgets, classify

    level = budgets.level(preset.quick)
    config = {"level": level, "test_images": preset.test_images,
              "classifier_width": datasets.get(run.dataset).classifier_width,
              "budget": asdict(classify.budget_for(run.dataset, preset.quick)),
              "screen_confidence": SCREEN_CONFIDENCE}
    family = families.strategy_family(run.strategy)
    if family is not None and run.setting == "leaky":
        config["generator"] = {"family": family.name,
                               "model": leaky_model(family, run.dataset)}
    elif family is not None:
        config["generator"] = {"family": family.name, **family.study_options,
                               "steps": generator_steps(family, preset)}
    if run.strategy in semi.MODELS:
        config["epochs"] = preset.epochs_of(run.strategy)
    if run.strategy == "pseudo_label":
        config["labeller"] = "classic"
    return config


def generator_steps(family, preset: Preset) -> int:
    """The step budget of one of ``family``'s generators in a study run with ``preset``."""
    from augkit import budgets

    return preset.generator_steps or family.steps_for(budgets.level(preset.quick),
                                                      budgets.device())


def versions() -> dict:
    """The versions a result depends on (in every fingerprint) and the machine (recorded)."""
    import platform

    import keras
    import tensorflow as tf

    from augkit import __version__

    return {"augkit": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count()}


def fingerprint(run: Run, config: dict, version: dict) -> str:
    """A short hash of the run's fields, its :func:`run_config` and the library versions."""
    fields = {k: v for k, v in asdict(run).items() if k != "fingerprint"}
    libs = {k: version[k] for k in ("augkit", "tensorflow", "keras")}
    text = json.dumps({"run": fields, "config": config, "versions": libs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def with_fingerprints(runs: list[Run], preset: Preset) -> list[Run]:
    version = versions()
    return [replace(r, fingerprint=fingerprint(r, run_config(r, preset), version)) for r in runs]


def cell_of(run: Run) -> tuple:
    """The unit of work a run belongs to: its cell (size, seed), or in the pool setting its
    seed (one pool generator serves every size of a seed)."""
    return (run.dataset, run.setting, run.seed) if run.setting == "pool" else (
        run.dataset, run.setting, run.n_per_class, run.seed)


def strategies_for(setting: str, preset: Preset) -> tuple[str, ...]:
    """The synthetic strategies a setting runs (the pool setting always screens)."""
    allowed = synthetic(setting)
    return tuple(s for s in preset.strategies if s in allowed)


def grid(dataset: str, setting: str, preset: Preset) -> list[Run]:
    """Every run of the study, in a fixed order (cell by cell, so generators are reused),
    each with its fingerprint."""
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
            runs += [Run(dataset, setting, n, families.get(f).cas(), 1.0, seed) for f in preset.cas]
            if setting == "pool":
                runs += [Run(dataset, setting, n, s, semi.RATIOS[s], seed) for s in preset.semi
                         if s not in semi.MODELS or _runs_model(preset, n, seed)]
    return with_fingerprints(runs, preset)


def _runs_model(preset: Preset, n: int, seed: int) -> bool:
    """Whether the cell (n, seed) trains the preset's semi-supervised models (costly)."""
    return ((preset.semi_sizes is None or n in preset.semi_sizes)
            and (preset.semi_seeds is None or seed in preset.semi_seeds))


def shard(runs: list[Run], spec: str | None) -> list[Run]:
    """The ``i/n`` slice of the grid (1-based): whole cells (:func:`cell_of`), every n-th
    from the i-th, so each judge and generator is trained by one shard; shards partition it."""
    if not spec:
        return runs
    try:
        i, n = (int(v) for v in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like 2/4, got {spec!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard {spec}: need 1 <= i <= n")
    cells = list(dict.fromkeys(cell_of(r) for r in runs))
    mine = set(cells[i - 1::n])
    return [r for r in runs if cell_of(r) in mine]
