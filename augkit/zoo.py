"""Shipped models: small weight files in ``augkit/weights`` described by a manifest.

Each entry of ``manifest.json`` records how the weights were made (the exact
``augkit train ...`` command, the seconds it took, the machine) and what they reach
(domain-FID, label consistency, accuracy), plus the file's sha256. Notebooks load
these by default and train only when asked (load-or-train).
Introduced in ``notebooks/04_gan_mnist.ipynb``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from augkit.metrics import WEIGHTS_DIR

MANIFEST = WEIGHTS_DIR / "manifest.json"


class ModelNotFoundError(KeyError):
    """No shipped model of that name."""

    def __str__(self):
        return self.args[0]


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest(path: Path = MANIFEST) -> dict:
    """All shipped models: ``{name: entry}`` (empty when nothing is shipped)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def entry(name: str) -> dict:
    models = manifest()
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise ModelNotFoundError(f"unknown model {name!r}; shipped models: {known}")
    return models[name]


def register(name: str, file: Path, info: dict, path: Path = MANIFEST) -> dict:
    """Add or replace a manifest entry for ``file`` (stored relative to the weights folder)."""
    models = manifest(path)
    models[name] = {**info, "file": Path(file).name, "sha256": sha256(file),
                    "bytes": Path(file).stat().st_size}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(models, indent=1, sort_keys=True) + "\n")
    return models[name]


def verify(name: str) -> bool:
    """True when the shipped file's sha256 matches the manifest."""
    e = entry(name)
    return sha256(WEIGHTS_DIR / e["file"]) == e["sha256"]


def load_generator_model(name: str):
    """The shipped GAN or VAE ``name``, ready to ``sample`` (a VAE also encodes and reconstructs)."""
    from augkit import gan, vae

    e = entry(name)
    if e["kind"] not in ("gan", "vae"):
        raise ValueError(f"{name} is a {e['kind']}, not a generative model")
    if not verify(name):
        raise ValueError(f"{name}: {e['file']} does not match its sha256 in the manifest")
    if e["kind"] == "vae":
        model = vae.build_vae(e["dataset"], e["conditional"], e["latent_dim"], beta=e["beta"],
                              likelihood=e["likelihood"], sigma=e["sigma"], width=e["width"])
        model.load_networks(WEIGHTS_DIR / e["file"])
        return model
    model = gan.build_gan(e["dataset"], e["conditional"], e["latent_dim"], width=e["width"])
    model.generator.load_weights(WEIGHTS_DIR / e["file"])
    return model


def load_history(name: str) -> dict:
    """The training record shipped with a model: frames per epoch and step losses."""
    e = entry(name)
    with np.load(WEIGHTS_DIR / e["history_file"]) as f:
        return {k: f[k] for k in f.files}
