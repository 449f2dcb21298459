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

from augkit import data, datasets, files

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
        return Path(env).expanduser().resolve()
    root = _PROJECT if (_PROJECT / "pyproject.toml").is_file() else Path.cwd()
    return root / "runs" / "models"


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(folder: Path = WEIGHTS_DIR) -> dict:
    """The manifest of one folder: ``{name: entry}`` (empty when there is none)."""
    path = Path(folder) / "manifest.json"
    return files.read_json(path, "model manifest") if path.is_file() else {}


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
    """The domain classifier of ``dataset`` (cached), hash-checked; used by :mod:`augkit.metrics`."""
    from augkit import classify

    spec = datasets.get(dataset)
    name = f"classifier_{dataset}"
    try:
        e = entry(name)
    except ModelNotFoundError:
        raise FileNotFoundError(f"no domain classifier for {dataset!r}; train one with "
                                f"'augkit train classifier --dataset {dataset}'") from None
    # Entries from before the recipe option: one convolution per block, no batch norm.
    model = classify.build_classifier(spec.image_shape, spec.num_classes, width=e["width"],
                                      depth=e.get("depth", 1),
                                      batch_norm=e.get("batch_norm", False))
    model.load_weights(checked_path(name))
    return model


def load_generator_model(name: str):
    """Model ``name`` (GAN or VAE), ready to ``sample`` (a VAE also encodes and reconstructs)."""
    from augkit import gan, vae

    e = entry(name)
    if e["kind"] not in ("gan", "vae"):
        raise ValueError(f"{name} is a {e['kind']}, not a generative model")
    path = checked_path(name)
    if e["kind"] == "vae":
        model = vae.build_vae(e["dataset"], e["conditional"], e["latent_dim"], beta=e["beta"],
                              likelihood=e["likelihood"], sigma=e["sigma"], width=e["width"])
        model.load_networks(path)
        return model
    model = gan.build_gan(e["dataset"], e["conditional"], e["latent_dim"], width=e["width"])
    model.generator.load_weights(path)
    return model


def load_ssgan(name: str):
    """Semi-supervised GAN ``name``: ``predict_classes`` / ``accuracy`` (its weight-averaged
    discriminator) and ``sample`` (its generator). Introduced in notebook 09."""
    from augkit import ssgan

    e = entry(name)
    if e["kind"] != "ssgan":
        raise ValueError(f"{name} is a {e['kind']}, not a semi-supervised GAN")
    model = ssgan.build_ssgan(e["dataset"], latent_dim=e["latent_dim"])
    model.load_networks(checked_path(name))
    return model


def load_ssvae(name: str):
    """Semi-supervised VAE ``name`` (M1 + M2): ``predict_classes`` / ``accuracy`` on uint8
    images and ``sample``. Introduced in notebook 09."""
    from augkit import datasets, ssvae

    e = entry(name)
    if e["kind"] != "ssvae":
        raise ValueError(f"{name} is a {e['kind']}, not a semi-supervised VAE")
    spec = datasets.get(e["dataset"])
    model = ssvae.build_ssvae(spec.image_shape, spec.num_classes, latent_dim=e["latent_dim"])
    model.load_networks(checked_path(name))
    return model


def load_history(name: str) -> dict:
    """The training record of a model: sample frames per epoch, step and epoch logs."""
    with np.load(checked_path(name, "history_file")) as f:
        return {k: f[k] for k in f.files}


def sample_to_file(name: str, n: int, label, seed: int, out, *, overwrite: bool = False,
                   chunk: int = 5000) -> tuple[tuple, tuple]:
    """Write ``n`` images of model ``name`` and their labels to ``out`` (.npz: ``x``, ``y``).

    Streams: ``chunk`` images are generated and written at a time, so memory stays flat
    however large ``n`` is; the file appears complete or not at all. The images are the
    same as ``model.sample(n, labels=label, seed=seed)`` would give (one noise stream).
    Unconditional models have no label: ``y = -1`` says "unknown" rather than guessing.
    Returns the shapes of ``x`` and ``y``.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    model = load_generator_model(name)
    if label is not None and not model.conditional:
        raise ValueError(f"{name} is unconditional; --label needs a conditional model")
    labels = data.class_labels(n, label, num_classes=model.num_classes) if model.conditional \
        else np.full(n, -1, np.int64)
    rng = np.random.default_rng(seed)
    shape = datasets.get(entry(name)["dataset"]).image_shape
    x_shape, y_shape = (n, *shape), (n,)
    with files.NpzStreamWriter(out, {"x": (x_shape, np.uint8), "y": (y_shape, np.int64)}) as w:
        for i in range(0, n, chunk):
            m = min(chunk, n - i)
            z = rng.standard_normal((m, model.latent_dim)).astype(np.float32)
            w.write("x", _images(model, z, labels[i:i + m] if model.conditional else None))
        w.write("y", labels.astype(np.int64))
    return x_shape, y_shape


def _images(model, z, labels, batch: int = 500) -> np.ndarray:
    """uint8 images for noise ``z`` exactly as the model's own ``sample`` makes them."""
    out = []
    for i in range(0, len(z), batch):
        zz, yy = z[i:i + batch], None if labels is None else labels[i:i + batch]
        if hasattr(model, "decode"):  # a VAE: decoder means in [0, 1]
            out.append(data.from_unit(model.decode(zz, yy)))
        else:  # a GAN: tanh output in [-1, 1]
            out.append(data.from_minus1_1(np.asarray(model.generate(zz, yy))))
    return np.concatenate(out)
