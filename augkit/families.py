"""Model families: one registry of everything ``augkit train`` can build, train, save, load,
sample, measure and put into the study.

A *family* is one module that implements the hooks below plus one :class:`Family` entry in
:data:`FAMILIES` (or a call to :func:`register`). Everything else loops over the registry:
``augkit train FAMILY`` (its options come from :attr:`Family.options`), the model folders
(:mod:`augkit.zoo` loads a model through its entry's ``kind``), ``augkit sample``, the
study's strategies (``F``, ``classic+F``, ``F_screened`` and ``F_only`` for every family
with :attr:`Family.study`), and the report's colours and order.

The hooks a family's module defines (``job`` is a :class:`Job`):

``fit(job) -> Fitted``
    build the model from ``job.options`` and train it on ``job``'s arrays through
    :func:`augkit.loop.fit` (checkpoints, resume, the divergence guard, a progress bar);
    measure it when ``job.measure``.
``save(model, path)`` / ``load(entry, path) -> model``
    one ``.weights.h5`` file; ``entry`` is the manifest entry (its options included).
``images_from_noise(model, z, labels) -> uint8 images``  (generative families)
    what the model's own ``sample`` makes of noise ``z``: ``augkit sample`` streams through
    it. Optional: ``noise(model, rng, n)`` when the noise is not a standard normal of
    ``model.latent_dim``; ``measure(model, dataset, x_test, y_test, n, seed)`` for metrics
    beyond the generator's; ``check_start(checkpoint_dir, resume, meta)`` for a family that
    checkpoints in stages.

The registry is plain data, so the command line builds its parser without importing
TensorFlow; a family's module is imported only when one of its hooks is called.
Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Option:
    """A family option: ``--latent-dim`` on the command line, ``latent_dim`` in the manifest.

    ``default=None`` means "the family or dataset decides" (e.g. the VAE's likelihood).
    ``minimum`` is the smallest value accepted (checked before any data is loaded).
    """

    name: str
    type: type
    default: object
    help: str
    choices: tuple | None = None
    minimum: float | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Job:
    """What a family's ``fit`` gets: the data, its options and how long to train.

    ``steps`` (when set) is the whole budget in optimizer steps (the study's generators);
    otherwise ``epochs`` passes, or in ``quick`` mode one short epoch. ``x_test``/``y_test``
    are for measuring only (and the semi-supervised models' reported curves).
    """

    dataset: str
    x: object
    y: object
    x_test: object
    y_test: object
    options: dict
    seed: int = 0
    epochs: int = 8
    batch_size: int = 64
    quick: bool = False
    steps: int | None = None
    checkpoint_dir: object = None
    resume: bool = False
    meta: dict = field(default_factory=dict)
    progress: object = True
    measure: bool = True


@dataclass
class Fitted:
    """What a family's ``fit`` returns: the model, its training seconds, its metrics (empty
    when not measured), the arrays its history file holds and extra manifest fields."""

    model: object
    seconds: float
    metrics: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """One model family (see the module docstring for the hooks its ``module`` defines).

    ``architecture``: the options that fix the networks' shapes (a checkpoint resumes only
    into the same). ``name_pattern``: the default model name, formatted with ``dataset``,
    ``seed``, the options and ``prefix`` (``conditional_prefix`` when the model is
    conditional, else ``plain_prefix`` or the family's name). ``study_steps``: the study's training budget of one
    generator in optimizer steps, per budget level (``quick``, ``standard``) and device
    (``cpu``, ``gpu``). ``study_options``: the options of the study's generators (smaller
    than ``augkit train``'s defaults where a cell's few images need less).
    """

    name: str
    module: str
    summary: str
    options: tuple[Option, ...] = ()
    architecture: tuple[str, ...] = ()
    batch_size: int = 64
    generates: bool = True
    conditional_prefix: str | None = None
    plain_prefix: str | None = None
    name_pattern: str = "{prefix}_{dataset}"
    study: bool = False
    cas_strategy: str | None = None
    study_options: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    study_steps: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def hooks(self):
        """The family's module (imported on first use)."""
        return importlib.import_module(self.module)

    def defaults(self) -> dict:
        return {o.name: o.default for o in self.options}

    def strategies(self) -> tuple[str, ...]:
        """The study strategies this family adds (empty unless :attr:`study`)."""
        f = self.name
        return (f, f"classic+{f}", f"{f}_screened", self.cas()) if self.study else ()

    def cas(self) -> str:
        """The strategy that trains on this family's samples alone (Classification Accuracy
        Score): ``F_only``, or the GAN's historical name ``synthetic_only``."""
        return self.cas_strategy or f"{self.name}_only"

    def default_name(self, dataset: str, options: dict, seed: int) -> str:
        prefix = self.conditional_prefix if options.get("conditional") else self.plain_prefix
        return self.name_pattern.format(dataset=dataset, seed=seed, prefix=prefix or self.name,
                                        **options)

    def steps_for(self, level: str, device: str = "cpu") -> int:
        """The study's step budget of one of this family's generators."""
        try:
            return int(self.study_steps[level][device])
        except KeyError:
            raise ValueError(f"family {self.name!r} has no study budget for {level!r} on "
                             f"{device!r}") from None


_LATENT = "latent size"
_WIDTH = Option("width", int, 32, "base width of the networks (channels)", minimum=1)
_CONDITIONAL = Option("conditional", bool, False, "conditional model (labeled samples)")
_LABELS = Option("labels_per_class", int, 10, "labeled images per class the seed draws",
                 minimum=1)
_GAN_STEPS = MappingProxyType({"quick": {"cpu": 60, "gpu": 60},
                               "standard": {"cpu": 1500, "gpu": 1500}})

FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add ``family`` (or replace one of the same name); return it."""
    if not family.name.isidentifier():
        raise ValueError(f"a family name must be an identifier, got {family.name!r}")
    FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    FAMILIES.pop(name, None)


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def of_entry(entry: dict) -> Family:
    """The family of a manifest entry (its ``kind``)."""
    return get(entry["kind"])


def in_study() -> list[Family]:
    return [f for f in FAMILIES.values() if f.study]


def strategy_family(strategy: str) -> Family | None:
    """The family a study strategy draws from (``classic+vae`` -> vae), or ``None``."""
    for f in in_study():
        if strategy in f.strategies():
            return f
    return None


register(Family(
    "gan", "augkit.gan", "DCGAN (conditional with --conditional)",
    options=(_CONDITIONAL, Option("latent_dim", int, 64, _LATENT, minimum=1), _WIDTH,
             Option("loss", str, "non_saturating", "the GAN loss (augkit.losses.GAN_LOSSES)",
                    ("non_saturating", "minimax", "least_squares", "hinge", "wgan_gp"))),
    architecture=("conditional", "latent_dim", "width", "loss"),
    conditional_prefix="cgan", plain_prefix="dcgan", study=True, cas_strategy="synthetic_only",
    study_options=MappingProxyType({"latent_dim": 64, "width": 32}), study_steps=_GAN_STEPS))
register(Family(
    "vae", "augkit.vae", "VAE (conditional with --conditional)",
    options=(_CONDITIONAL, Option("latent_dim", int, 16, _LATENT, minimum=1), _WIDTH,
             Option("beta", float, 1.0, "weight of the KL term", minimum=0),
             Option("likelihood", str, None, "decoder: bernoulli or gaussian (default: "
                    "bernoulli for digits, gaussian for CIFAR-10)", ("bernoulli", "gaussian")),
             Option("sigma", float, 0.1, "the Gaussian decoder's standard deviation on [0, 1] "
                    "pixels", minimum=1e-6)),
    architecture=("conditional", "latent_dim", "width", "likelihood"),
    conditional_prefix="cvae", study=True,
    study_options=MappingProxyType({"latent_dim": 16, "width": 32}), study_steps=_GAN_STEPS))
register(Family(
    "ssgan", "augkit.ssgan", "semi-supervised GAN (Salimans et al. 2016): a K-class "
    "discriminator trained on a labeled subset and every image unlabeled",
    options=(Option("latent_dim", int, 100, _LATENT, minimum=1), _LABELS),
    architecture=("latent_dim", "labels_per_class", "seed"), batch_size=100,
    name_pattern="ssgan_{dataset}_n{labels_per_class}_s{seed}"))
register(Family(
    "ssvae", "augkit.ssvae", "semi-supervised VAE (Kingma et al. 2014, M1 + M2)",
    options=(Option("latent_dim", int, 50, "M2's latent size z2", minimum=1), _LABELS,
             Option("m1_epochs", int, 20, "M1's epochs (--epochs are M2's)", minimum=1),
             Option("alpha", float, 10.0, "weight of M2's classification term", minimum=0)),
    architecture=("latent_dim", "labels_per_class", "seed", "m1_epochs", "alpha"),
    batch_size=100, name_pattern="ssvae_{dataset}_n{labels_per_class}_s{seed}"))
# The domain classifier is twice as wide as the study's small-data classifier by default: it
# judges samples, so its own error rate bounds how well label consistency can be measured.
register(Family(
    "classifier", "augkit.classify", "the domain classifier that measures generators",
    options=(Option("width", int, 32, "base width (channels)", minimum=1),
             Option("depth", int, 1, "convolutions per block", minimum=1),
             Option("recipe", str, "plain", "plain: constant Adam, no augmentation; strong: "
                    "batch norm, cosine schedule and classic augmentation",
                    ("plain", "strong"))),
    architecture=("width", "depth", "recipe"), generates=False,
    name_pattern="classifier_{dataset}"))
