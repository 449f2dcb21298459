"""The model-family registry: a new family is one module (here, this file's hooks) plus one
registry entry, and it goes through ``augkit train``, ``augkit sample``, a study cell and the
report without any other change."""

import json
from types import MappingProxyType

import keras
import numpy as np
import pytest

from augkit import cli, families, losses, study
from augkit.families import Family, Fitted, Option


# ---------------------------------------------------------------- the toy family's hooks
class ClassMeans(keras.Model):
    """Learns one mean image per class by gradient descent on the squared error: the
    simplest model that trains through augkit.loop.fit and can be sampled per class."""

    conditional = True

    def __init__(self, image_shape, num_classes, noise=0.1):
        super().__init__()
        self.num_classes, self.noise, self.latent_dim = num_classes, noise, int(np.prod(image_shape))
        self.image_shape = tuple(image_shape)
        self.means = self.add_weight(shape=(num_classes, *image_shape), initializer="zeros",
                                     name="means")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.built = True  # its one weight exists from the start

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, batch):
        import tensorflow as tf

        x, y = batch[0], batch[1]
        with tf.GradientTape() as tape:
            pred = tf.gather(self.means, tf.cast(tf.reshape(y, [-1]), tf.int32))
            loss = tf.reduce_mean(tf.square(pred - x))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, [self.means]), [self.means], strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def sample(self, n, labels=None, seed=None):
        labels = np.arange(n) % self.num_classes if labels is None else \
            np.broadcast_to(np.asarray(labels), (n,)).astype(int)
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim))
        return images_from_noise(self, z.astype(np.float32), labels), labels


def fit(job):
    from augkit import datasets, loop, train

    spec = datasets.get(job.dataset)
    model = ClassMeans(spec.image_shape, spec.num_classes, job.options["noise"])
    model.compile(keras.optimizers.Adam(0.05))
    run = loop.fit(model, job.x, job.y, scale="unit", checkpoint_dir=job.checkpoint_dir,
                   resume=job.resume, meta=job.meta, progress=False, seed=job.seed,
                   sample_every=False, **train.schedule(job))
    return Fitted(model, run.seconds, {"final_loss": train.final_logs(run)["loss"]}, run.record())


def save(model, path):
    from augkit import files

    files.save_weights(model, path)


def load(entry, path):
    from augkit import datasets

    spec = datasets.get(entry["dataset"])
    model = ClassMeans(spec.image_shape, spec.num_classes, entry["noise"])
    model.load_weights(path)
    return model


def images_from_noise(model, z, labels):
    means = keras.ops.convert_to_numpy(model.means)[np.asarray(labels, int)]
    x = means + model.noise * np.asarray(z).reshape(means.shape)
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


TOY = Family("toy", __name__, "class means plus noise (a test family)",
             options=(Option("noise", float, 0.1, "pixel noise", minimum=0),),
             architecture=("noise",), conditional_prefix="toy", plain_prefix="toy", study=True,
             study_options=MappingProxyType({"noise": 0.1}),
             study_steps=MappingProxyType({"quick": {"cpu": 20, "gpu": 20},
                                           "standard": {"cpu": 200, "gpu": 200}}))


@pytest.fixture
def toy_family():
    families.register(TOY)
    yield TOY
    families.unregister("toy")


def test_registry_names_every_builtin_family_and_its_strategies():
    assert set(families.FAMILIES) >= {"gan", "vae", "ssgan", "ssvae", "classifier"}
    assert families.get("gan").strategies() == ("gan", "classic+gan", "gan_screened",
                                                "synthetic_only")
    assert families.strategy_family("classic+vae").name == "vae"
    assert families.strategy_family("real") is None
    # The GAN family's loss choices are exactly the losses augkit implements.
    loss = next(o for o in families.get("gan").options if o.name == "loss")
    assert set(loss.choices) == set(losses.GAN_LOSSES)
    with pytest.raises(ValueError, match="unknown model family 'nope'"):
        families.get("nope")


def test_a_toy_family_goes_through_train_sample_a_study_cell_and_the_report(
        toy_family, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUGKIT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("AUGKIT_QUICK", "1")
    # augkit train toy: the parser's sub-command and options come from the registry.
    assert cli.main(["train", "toy", "--noise", "0.05"]) == 0
    entry = json.loads((tmp_path / "models" / "manifest.json").read_text())["toy_mnist"]
    assert entry["kind"] == "toy" and entry["noise"] == 0.05 and entry["metrics"]["final_loss"] < 0.2
    # augkit sample: streamed through the family's images_from_noise, labels cycling.
    out = tmp_path / "toy.npz"
    assert cli.main(["sample", "--model", "toy_mnist", "--n", "30", "--out", str(out)]) == 0
    with np.load(out) as f:
        x, y = f["x"], f["y"]
    assert x.shape == (30, 28, 28, 1) and y.tolist() == [i % 10 for i in range(30)]
    # The learned class means differ by class: a 1 and a 0 do not share their pixels.
    assert np.abs(x[y == 0].mean(0).astype(float) - x[y == 1].mean(0)).mean() > 10
    # A study cell runs the family's four strategies, and the report shows them.
    preset = study.Preset((10,), (1.0,), (0,), 200, True, strategies=("toy", "classic+toy",
                                                                      "toy_screened"),
                          cas=("toy",))
    res = study.run_study("mnist", preset, "fair", out_dir=tmp_path / "study", progress=False)
    rows = study.read_results(res["results"])
    got = {r["strategy"]: r for r in rows}
    assert set(got) == {"real", "classic", "toy", "classic+toy", "toy_screened", "toy_only"}
    assert all(0.0 <= r["test_acc"] <= 1.0 for r in rows)
    assert got["toy"]["config"]["generator"] == {"family": "toy", "noise": 0.1, "steps": 20}
    assert got["toy_only"]["train_images"] == 100  # the CAS run trains on samples alone
    assert (tmp_path / "study" / "generators" / "toy_mnist_n10_s0_20steps.weights.h5").is_file()
    page = res["report"]["html"].read_text()
    assert "toy_screened" in page and "classic+toy" in page
