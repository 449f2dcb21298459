"""Resume that continues the same run, for the VAE, the semi-supervised GAN and M2.

Each test trains one model N epochs straight through (with checkpoints), another K < N
epochs into a second folder, then resumes a freshly built model (another init seed, so
only the checkpoint can make it agree) to N epochs. The resumed weights and the last
epoch's logs must equal the straight run's, and must differ from the K-epoch model's: a
"resume" that silently retrained, or restored the weights but not the optimizer, the
random generators or the data order, fails here. (The GAN's version is in
tests/test_safety.py.)

On one CPU the runs agree bit for bit (measured: max |difference| = 0.0 for all three);
the tolerance (1e-6) only leaves room for another machine's thread scheduling.
"""

import numpy as np
import pytest

from augkit import ssgan, ssvae, vae

N_EPOCHS, K_EPOCHS = 3, 1
ATOL = 1e-6
META = {"kind": "resume-test"}


@pytest.fixture(scope="module")
def images():
    """Like the tiny_data fixture: 128 random uint8 'images', labels 0..9 in turn."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (128, 28, 28), dtype=np.uint8)
    return x, (np.arange(128) % 10).astype(np.uint8)


def _weights(model):
    return [np.array(w.numpy()) for w in model.weights]


def _max_diff(a, b):
    assert len(a) == len(b)
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b, strict=True))


def _check(straight, short, resumed):
    """``(weights, history)`` of the N-epoch, K-epoch and resumed runs."""
    (w_n, h_n), (w_k, h_k), (w_r, h_r) = straight, short, resumed
    assert _max_diff(w_n, w_r) <= ATOL
    assert set(h_r) == set(h_n)
    for name in h_n:
        assert len(h_r[name]) == len(h_n[name]) == N_EPOCHS
        # The whole record is continuous, so the last epoch's logs agree too.
        np.testing.assert_allclose(h_r[name], h_n[name], rtol=0, atol=ATOL, err_msg=name)
    # A resume that restarted from scratch would end where the K-epoch run ended.
    assert _max_diff(w_k, w_r) > 1e-4
    assert len(h_k[next(iter(h_k))]) == K_EPOCHS


# A full pass of 64 images in batches of 32 is 2 steps, so "epoch" means one pass. With 128
# images and 2 steps an epoch is half a pass: Keras keeps one iterator across epochs, so the
# uninterrupted run's epoch e is batches 2e, 2e+1 of the stream, and a resumed run must start
# there, not at permutation e (augkit.loop.fit's first_batch; before it, the resumed run
# trained on other batches and ended up to 0.013 away in weights).
FULL_PASS = pytest.param(64, id="epoch_is_one_pass")
HALF_PASS = pytest.param(128, id="epoch_is_half_a_pass")


def _compare_resume(run, x, y, tmp_path):
    """Train N epochs straight, K epochs into another folder, then resume a model built with
    another seed to N: it must equal the straight run and differ from the short one."""
    straight = run(x, y, epochs=N_EPOCHS, ckpt=tmp_path / "straight")
    short = run(x, y, epochs=K_EPOCHS, ckpt=tmp_path / "split")
    resumed = run(x, y, epochs=N_EPOCHS, ckpt=tmp_path / "split", resume=True, build_seed=99)
    _check(straight, short, resumed)


# ---------------------------------------------------------------------------- VAE

def _vae_run(x, y, *, epochs, ckpt, resume=False, build_seed=3):
    model = vae.build_vae("mnist", True, latent_dim=4, width=8, seed=build_seed)
    history, _, _ = vae.train_vae(model, x, y, epochs=epochs, batch_size=32,
                                  steps_per_epoch=2, progress=False, sample_every=False,
                                  seed=1, checkpoint_dir=ckpt, resume=resume, meta=META)
    return _weights(model), history.history


@pytest.mark.parametrize("n", [FULL_PASS, HALF_PASS])
def test_vae_resumed_run_matches_an_uninterrupted_one(images, tmp_path, n):
    _compare_resume(_vae_run, images[0][:n], images[1][:n], tmp_path)


# ---------------------------------------------------------------- semi-supervised GAN

def _ssgan_run(x, y, *, epochs, ckpt, resume=False, build_seed=1):
    # The labeled subset is part of the model, not of the checkpoint: the same 20 images
    # everywhere. The data-dependent init reads the unlabeled images; the resumed model's
    # init (another seed) is overwritten by the checkpoint.
    model = ssgan.build_ssgan("mnist", x[:20], y[:20], x, latent_dim=8, hidden=(32, 16),
                              seed=build_seed)
    run = ssgan.train_ssgan(model, x, epochs=epochs, batch_size=16, steps_per_epoch=2,
                            checkpoint_dir=ckpt, resume=resume, progress=False, seed=1,
                            meta=META)
    return _weights(model), run.history.history


@pytest.mark.parametrize("n", [FULL_PASS, HALF_PASS])
def test_ssgan_resumed_run_matches_an_uninterrupted_one(images, tmp_path, n):
    # batch_size=16 takes 2 x 16 unlabeled images a step: 64 images are a 2-step pass;
    # model.weights holds G, D and D's weight average (what gets evaluated) alike.
    _compare_resume(_ssgan_run, images[0][:n], images[1][:n], tmp_path)


# ------------------------------------------------------------ semi-supervised VAE, M2

@pytest.fixture(scope="module")
def m1_rows(images):
    x, _ = images
    m1 = ssvae.build_m1(latent_dim=5, hidden=16, seed=0)
    vae.train_vae(m1, x, epochs=1, batch_size=32, progress=False, sample_every=False)
    return ssvae.m1_rows(m1, x)


def _m2_run(rows, y, *, epochs, ckpt, resume=False, build_seed=1):
    model = ssvae.build_m2(rows[:20], y[:20], 10, latent_dim=4, hidden=16, lr=3e-3,
                           seed=build_seed)
    run = ssvae.train_m2(model, rows, epochs=epochs, batch_size=32, steps_per_epoch=2,
                         progress=False, seed=1, checkpoint_dir=ckpt, resume=resume,
                         meta=META)
    return _weights(model), run.history.history


@pytest.mark.parametrize("n", [FULL_PASS, HALF_PASS])
def test_m2_resumed_run_matches_an_uninterrupted_one(images, m1_rows, tmp_path, n):
    _compare_resume(_m2_run, m1_rows[:n], images[1][:n], tmp_path)
