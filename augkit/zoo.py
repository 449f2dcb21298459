"""Models on disk: the shipped ones in ``augkit/weights`` and yours in a user folder.

Each folder holds weight files and a ``manifest.json`` whose entries record how a model
was made (the exact ``augkit train ...`` command, the seconds it took, the machine),
what it reaches (domain-FID, label consistency, accuracy), and the sha256 of every file
that belongs to it. Every file is checked against its recorded hash before it is
loaded: a corrupted domain classifier would otherwise skew every quality figure.

Two folders, searched in this order by :func:`locate`:

1. **your models** (:func:`user_dir`: ``$AUGKIT_MODELS_DIR``, else ``runs/models`` of the
   project): what ``augkit train`` and the notebooks' retrain cells write. A model you
   retrain under a shipped name is the one that loads from then on; delete it to get
   the shipped one back;
2. **the shipped models** (:data:`WEIGHTS_DIR`), written only by ``augkit train --ship``.

Registering is safe with several processes at once (a lock around read-modify-write)
and atomic (a kill leaves the old manifest or the new one). Notebooks load these by
default and train only when asked (load-or-train). Introduced in
``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from augkit import data, datasets, families, files

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODELS_ENV = "AUGKIT_MODELS_DIR"
_PROJECT = WEIGHTS_DIR.parent.parent


class ModelNotFoundError(KeyError):
    """No model of that name in either folder."""

    def __str__(self):
        return self.args[0]


class IntegrityError(ValueError):
    """A model file does not match the sha256 its manifest recorded."""


def user_dir() -> Path:
    """Where your models go: ``$AUGKIT_MODELS_DIR``, or ``runs/models`` of the project
    (of the current folder when augkit is installed rather than checked out)."""
    env = os.environ.get(MODELS_ENV)
    if env:
        folder = Path(env).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"${MODELS_ENV} is {env}, which is not a folder; point it "
                                     "at a folder (made when first needed) or unset it")
        return folder
    root = _PROJECT if (_PROJECT / "pyproject.toml").is_file() else Path.cwd()
    return root / "runs" / "models"


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: Path | None = None) -> dict:
    """The manifest of one folder (default: the shipped one): ``{name: entry}``.

    A folder without one has no models, but the shipped folder always has one: its absence
    is a ``FileNotFoundError`` that says to reinstall. An entry that is not an object, or
    lacks a key augkit relies on, is a ``ValueError`` naming the manifest and the entry.
    """
    folder = WEIGHTS_DIR if folder is None else Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        if folder == WEIGHTS_DIR:
            raise FileNotFoundError(f"the augkit installation is broken: {path} is missing; "
                                    "reinstall augkit")
        return {}
    models = files.read_json(path, "model manifest")
    for name, e in models.items():
        if not isinstance(e, dict):
            raise ValueError(f"{path}: entry {name!r} is not an object but a "
                             f"{type(e).__name__}; repair or remove it")
        # register() writes file and sha256 into every entry; a model augkit can load (not
        # a test's stand-in) also names the dataset it was trained on.
        need = ["kind", "file", "sha256"]
        if e.get("kind") in families.FAMILIES:
            need.append("dataset")
        missing = [k for k in need if k not in e]
        if missing:
            raise ValueError(f"{path}: entry {name!r} lacks {', '.join(missing)}; repair or "
                             "remove it, or retrain the model")
    return models


def catalogue() -> dict[str, tuple[dict, Path]]:
    """Every model by name: ``{name: (entry, folder)}``, shipped first, then yours (which
    take precedence under the same name)."""
    out = {name: (e, WEIGHTS_DIR) for name, e in sorted(manifest(WEIGHTS_DIR).items())}
    mine = user_dir()
    if mine != WEIGHTS_DIR:
        out.update({name: (e, mine) for name, e in sorted(manifest(mine).items())})
    return out


def locate(name: str) -> tuple[dict, Path]:
    """``(entry, folder)`` of model ``name``; :class:`ModelNotFoundError` lists the known ones."""
    models = catalogue()
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {known}")
    return models[name]


def entry(name: str) -> dict:
    return locate(name)[0]


def register(name: str, file: Path, info: dict, folder: Path, *, history_file=None) -> dict:
    """Add or replace the entry of ``name`` in ``folder``'s manifest, with its files' hashes.

    The read-modify-write runs under a cross-process lock and the manifest is replaced
    atomically, so two trainings registering at once both land.
    """
    folder = Path(folder)
    entry = {**info, "file": Path(file).name, "sha256": sha256(file),
             "bytes": Path(file).stat().st_size}
    if history_file is not None:
        entry.update(history_file=Path(history_file).name, history_sha256=sha256(history_file))
    with files.lock(folder / "manifest.json"):
        models = manifest(folder)
        models[name] = entry
        files.write_json(folder / "manifest.json", models)
    return entry


def checked_path(name: str, key: str = "file") -> Path:
    """The path of model ``name``'s weights (``key="file"``) or training record
    (``"history_file"``), after checking its sha256 against the manifest."""
    e, folder = locate(name)
    if key not in e:
        raise ModelNotFoundError(f"model {name!r} has no {key.replace('_', ' ')}")
    path = folder / e[key]
    expected = e.get("sha256" if key == "file" else "history_sha256")
    if not path.is_file():
        raise FileNotFoundError(f"{path} is listed in {folder / 'manifest.json'} but missing; "
                                f"retrain it with: {e.get('command') or 'augkit train ...'}")
    if expected is None or sha256(path) != expected:
        raise IntegrityError(f"{path} does not match its sha256 in {folder / 'manifest.json'}: "
                             "the file is corrupt or was changed; reinstall augkit or retrain "
                             f"it with: {e.get('command') or 'augkit train ...'}")
    return path


def verify(name: str) -> bool:
    """True when every file of model ``name`` matches its recorded sha256."""
    try:
        checked_path(name)
        if "history_file" in entry(name):
            checked_path(name, "history_file")
    except (IntegrityError, FileNotFoundError):
        return False
    return True


@lru_cache(maxsize=4)
def domain_classifier(dataset: str):
    """The domain classifier of ``dataset`` (cached), hash-checked: the judge of
    :mod:`augkit.metrics`."""
    datasets.get(dataset)
    name = f"classifier_{dataset}"
    try:
        entry(name)
    except ModelNotFoundError:
        raise FileNotFoundError(f"no domain classifier for {dataset!r}; train one with "
                                f"'augkit train classifier --dataset {dataset}'") from None
    return load_model(name, "classifier")


def load_model(name: str, kind: str | None = None):
    """Model ``name``, hash-checked and loaded by its family (:mod:`augkit.families`);
    with ``kind``, a ``ValueError`` unless it is of that family."""
    e = entry(name)
    family = families.of_entry(e)
    if kind is not None and family.name != kind:
        raise ValueError(f"{name} is a {family.name}, not a {kind}")
    return family.hooks().load(e, checked_path(name))


def load_generator_model(name: str):
    """Model ``name`` of any family that generates images, ready to ``sample`` (a VAE also
    encodes and reconstructs; a semi-supervised model also classifies)."""
    family = families.of_entry(entry(name))
    if not family.generates:
        raise ValueError(f"{name} is a {family.name}, which does not generate images")
    return load_model(name)


def load_ssgan(name: str):
    """Semi-supervised GAN ``name``: ``predict_classes`` / ``accuracy`` (its weight-averaged
    discriminator) and ``sample`` (its generator). Introduced in notebook 09."""
    return load_model(name, "ssgan")


def load_ssvae(name: str):
    """Semi-supervised VAE ``name`` (M1 + M2): ``predict_classes`` / ``accuracy`` on uint8
    images and ``sample``. Introduced in notebook 09."""
    return load_model(name, "ssvae")


def load_history(name: str) -> dict:
    """The training record of a model: sample frames per epoch, step and epoch logs."""
    with np.load(checked_path(name, "history_file")) as f:
        return {k: f[k] for k in f.files}


# The most samples one ``sample_to_file`` call writes: 7.8 GB of MNIST pixels, 31 GB of
# CIFAR-10 before compression; a bigger request is far more likely a typo than a plan.
MAX_SAMPLES = 10_000_000


def sample_to_file(name: str, n: int, label, seed: int, out, *, overwrite: bool = False,
                   chunk: int = 5000) -> tuple[tuple, tuple]:
    """Write ``n`` images of model ``name`` and their labels to ``out`` (.npz: ``x``, ``y``).

    Streams: labels, then images, ``chunk`` at a time, so memory stays flat however large
    ``n`` is (at most :data:`MAX_SAMPLES`); the file appears complete or not at all, and of
    two calls onto one new ``out`` one writes it and the other gets ``FileExistsError``
    (:class:`augkit.files.NpzStreamWriter`). The images are the same as
    ``model.sample(n, labels=label, seed=seed)`` would give (one noise stream).
    Unconditional models have no label: ``y = -1`` says "unknown" rather than guessing.
    Returns the shapes of ``x`` and ``y``.
    """
    if not 0 < n <= MAX_SAMPLES:
        raise ValueError(f"n must be positive and at most {MAX_SAMPLES:,}, got {n:,}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    model = load_generator_model(name)
    hooks = families.of_entry(entry(name)).hooks()
    if label is not None and not model.conditional:
        raise ValueError(f"{name} is unconditional; --label needs a conditional model")
    k = getattr(model, "num_classes", None)
    given = None if np.ndim(label) == 0 else data.class_labels(n, label, num_classes=k)

    def labels(i: int, m: int) -> np.ndarray:
        """The labels of images ``i`` to ``i + m``, made per chunk, never all ``n`` at once."""
        if not model.conditional:
            return np.full(m, -1, np.int64)
        if given is not None:  # the caller already holds all n
            return given[i:i + m]
        if label is None:  # class_labels' cycle 0, 1, ..., K-1, 0, ... from image i on
            return (np.arange(i, i + m) % k).astype(np.int32)
        return data.class_labels(m, label, num_classes=k)

    rng = np.random.default_rng(seed)
    shape = datasets.get(entry(name)["dataset"]).image_shape
    x_shape, y_shape = (n, *shape), (n,)
    # y first: its rows need no model, and the writer fills one array after the other.
    arrays = {"y": (y_shape, np.int64), "x": (x_shape, np.uint8)}
    with files.NpzStreamWriter(out, arrays, overwrite=overwrite) as w:
        for i in range(0, n, chunk):
            w.write("y", labels(i, min(chunk, n - i)))
        for i in range(0, n, chunk):
            m = min(chunk, n - i)
            z = hooks.noise(model, rng, m) if hasattr(hooks, "noise") else \
                rng.standard_normal((m, model.latent_dim))
            w.write("x", _images(hooks, model, z.astype(np.float32),
                                 labels(i, m) if model.conditional else None))
    return x_shape, y_shape


def _images(hooks, model, z, labels, batch: int = 500) -> np.ndarray:
    """uint8 images for noise ``z`` exactly as the model's own ``sample`` makes them (its
    family's ``images_from_noise``, :mod:`augkit.families`)."""
    out = []
    for i in range(0, len(z), batch):
        yy = None if labels is None else labels[i:i + batch]
        out.append(hooks.images_from_noise(model, z[i:i + batch], yy))
    return np.concatenate(out)
