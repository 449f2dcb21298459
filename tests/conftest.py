"""Fixtures for the unit tests: an isolated environment with no data sources."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def no_sources(tmp_path, monkeypatch):
    """No data dir, an empty Keras cache, and downloads switched off."""
    monkeypatch.delenv("AUGKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("AUGKIT_OFFLINE", "1")
    return tmp_path


@pytest.fixture
def shared_data():
    """The real datasets beside the project (CI points AUGKIT_DATA_DIR there)."""
    import os

    env = os.environ.get("AUGKIT_DATA_DIR")
    if env:  # CI sets it: then the real data must be there, a skip would hide a failure
        assert (Path(env) / "mnist.npz").is_file(), f"AUGKIT_DATA_DIR={env} has no mnist.npz"
        return Path(env)
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip(f"real data not found in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="module")
def tiny_data():
    """128 random 28x28 uint8 'images' with labels 0..9 in turn: enough to run train steps."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (128, 28, 28), dtype=np.uint8)
    y = (np.arange(128) % 10).astype(np.uint8)
    return x, y


@pytest.fixture
def sampling_contract():
    """Checks the sampling contract every conditional generator keeps (GAN and VAE alike):
    uint8 images, labels cycling through the classes, deterministic under a seed."""
    return _check_conditional_sampling


def _check_conditional_sampling(model):
    import numpy as np

    images, labels = model.sample(12, seed=5)
    again, _ = model.sample(12, seed=5)
    assert images.dtype == np.uint8 and images.shape == (12, 28, 28, 1)
    assert np.array_equal(images, again) and labels.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert not np.array_equal(images, model.sample(12, seed=6)[0])
    assert (model.sample(4, labels=7, seed=0)[1] == 7).all()
    return images
