"""The dataset registry: consistent specs, and a new dataset is one entry away."""

import re
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from augkit import augment, classify, data, datasets, losses

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", datasets.NAMES)
def test_every_spec_is_consistent(name):
    import keras

    spec = datasets.get(name)
    assert spec.name == name and spec.num_classes == len(spec.class_names) >= 2
    assert len(spec.image_shape) == 3 and spec.image_shape[2] in (1, 3)
    assert spec.likelihood in losses.LIKELIHOODS
    assert set(spec.augment) <= {f.name for f in fields(augment.AugmentConfig)}
    assert spec.npz_file.endswith(".npz") and "put" in spec.how_to_get
    assert hasattr(keras.datasets, spec.keras_loader)
    assert spec.classifier_width > 0 and spec.classifier_steps > 0


def test_unknown_names_are_one_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'; choose one of mnist"):
        datasets.get("svhn")


def test_a_new_dataset_is_one_registry_entry(monkeypatch):
    """A three-class dataset flows through loading checks, augmentation, budgets and models."""
    from augkit import gan, vae

    toy = replace(datasets.get("mnist"), name="toy3", class_names=("a", "b", "c"),
                  npz_file="toy3.npz")
    monkeypatch.setitem(datasets.SPECS, "toy3", toy)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    y = np.arange(12) % 3
    (xt, yt), _ = data.validate("toy3", ((x, y), (x, y)), "memory")
    assert yt.tolist() == y.tolist()
    with pytest.raises(data.DataFormatError, match="expected 0..2"):
        data.validate("toy3", ((x, y + 1), (x, y)), "memory")
    assert augment.default_config("toy3").rotation == 12
    assert classify.budget_for("toy3", quick=False).steps == toy.classifier_steps
    model = gan.build_gan("toy3", True, latent_dim=4, width=8)
    images, labels = model.sample(5, seed=0)
    assert images.shape == (5, 28, 28, 1) and labels.tolist() == [0, 1, 2, 0, 1]
    assert vae.build_vae("toy3", True, latent_dim=2, width=8).num_classes == 3


def test_no_module_hard_codes_ten_classes():
    pattern = re.compile(r"num_classes: int = 10|% 10\b|np\.eye\(10\)|range\(10\)|= 10 if conditional")
    # The registry is where a dataset's classes are written down, so it is the one exception.
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "augkit").rglob("*.py")
                 if p.name != "datasets.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, offenders
