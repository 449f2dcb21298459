"""The small CNN and fixed training budget shared by every accuracy experiment.

Notebook 03 measures classic augmentation with it; the downstream study reuses the
same network and budget so that "real + generated" is compared with "real +
classic augmentation" on equal terms. Introduced in
``notebooks/03_classic_augmentation.ipynb``.

Budgets are counted in optimizer *steps*, not epochs: with 10 images per class an
epoch is two batches, so an epoch budget would give the smallest sets almost no
training. Every run sees the same number of gradient updates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from augkit import config


@dataclass(frozen=True)
class Budget:
    """How long a classifier trains: ``steps`` updates of ``batch_size`` at Adam ``lr``."""

    steps: int
    batch_size: int = 64
    lr: float = 1e-3


# Measured on 2 CPU cores: ~12 ms (MNIST, width 16) / ~40 ms (CIFAR-10, width 32) per step.
BUDGETS = {
    "mnist": Budget(steps=800), "fashion_mnist": Budget(steps=800), "cifar10": Budget(steps=2000),
}
# Photos need more filters than digits: width 16 left CIFAR-10 at ~44 % with 200 per class.
WIDTHS = {"mnist": 16, "fashion_mnist": 16, "cifar10": 32}
QUICK_BUDGET = Budget(steps=80, lr=2e-3)


def budget_for(dataset: str) -> Budget:
    """The standard budget for ``dataset`` (a tiny one in quick mode)."""
    return config.preset(BUDGETS[dataset], QUICK_BUDGET)


def build_classifier(input_shape, num_classes: int = 10, width: int = 16, dropout: float = 0.3,
                     seed: int = 0):
    """A small CNN taking raw pixels in [0, 255] and returning logits.

    Three 3x3 conv layers (width, 2*width, 4*width filters), each followed by 2x2 max
    pooling, then global average pooling, dropout and a linear head: about 2 M
    multiply-adds per MNIST image, so a training step costs milliseconds on a CPU.
    Batch norm is left out on purpose: with 100 training images its batch statistics
    are noisy.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    if len(input_shape) == 2:
        input_shape = (*input_shape, 1)
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (width, 2 * width, 4 * width):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(8 * width, activation="relu", name="features")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def _train_pipeline(x, y, budget: Budget, augmenter, mixer, num_classes: int, seed: int):
    import tensorflow as tf

    x = np.asarray(x, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    onehot = np.eye(num_classes, dtype=np.float32)[np.asarray(y).reshape(-1)]
    ds = tf.data.Dataset.from_tensor_slices((x, onehot)).cache()
    ds = ds.shuffle(len(x), seed=seed).repeat().batch(budget.batch_size, drop_remainder=False)

    def aug(images, labels):
        if augmenter is not None:
            images = augmenter(images)
        if mixer is not None:
            images, labels = mixer(images, labels)
        return images, labels

    if augmenter is not None or mixer is not None:
        ds = ds.map(aug)  # sequential map: keeps the random stream deterministic under a seed
    return ds.prefetch(tf.data.AUTOTUNE)


def train_classifier(x, y, x_test, y_test, *, budget: Budget, augmenter=None, mixer=None,
                     seed: int = 0, num_classes: int = 10, width: int = 16, eval_every: int = 0,
                     verbose: int = 0):
    """Train the small CNN on ``(x, y)`` and report test accuracy.

    ``augmenter`` (label-preserving, :class:`augkit.augment.Augmenter`) and ``mixer``
    (:class:`augkit.augment.LabelMixer`) are applied to every training batch.
    Returns a dict: ``test_acc``, ``test_loss``, ``train_acc`` (on the un-augmented
    training set), ``history`` (``[(step, test_acc), ...]`` when ``eval_every``),
    and the trained ``model``.
    """
    import keras

    x_test = np.asarray(x_test, np.float32)
    if x_test.ndim == 3:
        x_test = x_test[..., None]
    model = build_classifier(x_test.shape[1:], num_classes, width=width, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(budget.lr),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    ds = _train_pipeline(x, y, budget, augmenter, mixer, num_classes, seed)
    y_test_1h = np.eye(num_classes, dtype=np.float32)[np.asarray(y_test).reshape(-1)]
    history = []
    chunk = eval_every if eval_every else budget.steps
    done = 0
    while done < budget.steps:
        steps = min(chunk, budget.steps - done)
        model.fit(ds, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=verbose)
        done += steps
        if eval_every:
            history.append((done, model.evaluate(x_test, y_test_1h, batch_size=500, verbose=0)[1]))
    test_loss, test_acc = model.evaluate(x_test, y_test_1h, batch_size=500, verbose=0)
    x_tr = np.asarray(x, np.float32)
    x_tr = x_tr[..., None] if x_tr.ndim == 3 else x_tr
    train_acc = model.evaluate(x_tr, np.eye(num_classes, dtype=np.float32)[np.asarray(y).reshape(-1)],
                               batch_size=500, verbose=0)[1]
    return {"test_acc": float(test_acc), "test_loss": float(test_loss), "train_acc": float(train_acc),
            "history": history, "model": model}


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def accuracy_grid(dataset: str, x, y, x_test, y_test, *, sizes, strengths, seeds, budget=None,
                  mixer_method: str | None = None, eval_every: int = 0,
                  progress: bool = True) -> list[dict]:
    """Train one classifier per (size, strength, seed) and return one row per run.

    Each run draws its labeled subset with :func:`augkit.data.labeled_subset`
    (``n`` per class, the run's seed), augments with
    ``augment.default_config(dataset, strength)`` (strength 0 = no augmentation) and,
    if ``mixer_method`` is given, MixUp/CutMix on top. Rows hold ``n_per_class``,
    ``strength``, ``seed``, ``test_acc``, ``train_acc``, ``seconds`` and ``history``
    (test accuracy every ``eval_every`` steps, when set). The network width is the
    dataset's standard one (:data:`WIDTHS`).
    """
    import time

    from tqdm.auto import tqdm

    from augkit import augment, data

    budget = budget or budget_for(dataset)
    runs = [(n, s, seed) for n in sizes for s in strengths for seed in seeds]
    rows = []
    for n, s, seed in tqdm(runs, desc=f"{dataset} classifiers", disable=not progress):
        xs, ys = data.labeled_subset(x, y, n, seed=seed)
        cfg = augment.default_config(dataset, s)
        aug = None if cfg.is_identity else augment.Augmenter(cfg, seed=seed)
        mixer = augment.LabelMixer(mixer_method, seed=seed) if mixer_method else None
        start = time.perf_counter()
        res = train_classifier(xs, ys, x_test, y_test, budget=budget, augmenter=aug, mixer=mixer,
                               seed=seed, width=WIDTHS.get(dataset, 16), eval_every=eval_every)
        rows.append({"n_per_class": n, "strength": s, "seed": seed, "test_acc": res["test_acc"],
                     "train_acc": res["train_acc"], "seconds": time.perf_counter() - start,
                     "history": res["history"]})
    return rows


def summarize(rows, by=("n_per_class", "strength"), value: str = "test_acc") -> dict:
    """Group rows by the ``by`` keys: ``{key: (mean, std, count)}`` of ``value``."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r[value])
    return {k: (*mean_std(v), len(v)) for k, v in sorted(groups.items())}
