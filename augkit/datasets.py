"""One registry of dataset facts: every other module and the CLI read this.

A :class:`DatasetSpec` holds everything augkit knows about a dataset: class names (and
so the number of classes), image shape, the files accepted in a data directory and how
to get them, the Keras loader for users who are online, the VAE decoder likelihood, the
small-data classifier's width and step budget, and the classic-augmentation defaults.
Adding a dataset is one entry in :data:`SPECS` plus its test. Introduced in
``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DatasetSpec:
    """The facts about one dataset (see the module docstring)."""

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]  # (H, W, C): the channel axis the networks see
    npz_file: str  # Keras layout: x_train, y_train, x_test, y_test
    how_to_get: str  # what to tell a user who has none of the files
    keras_loader: str  # the module under keras.datasets that downloads it
    likelihood: str  # VAE decoder: "bernoulli" or "gaussian"
    classifier_width: int  # filters of the small-data classifier's first layer
    classifier_steps: int  # optimizer steps of the standard small-data budget
    augment: dict = field(default_factory=dict)  # classic-augmentation defaults at strength 1

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def raw_shape(self) -> tuple[int, ...]:
        """Image shape as loaded: ``(H, W)`` for grey images, ``(H, W, C)`` for colour."""
        return self.image_shape[:2] if self.image_shape[2] == 1 else self.image_shape


_DIGITS = tuple(str(i) for i in range(10))

SPECS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec(
        "mnist", _DIGITS, (28, 28, 1), "mnist.npz",
        "put mnist.npz (Keras layout: x_train, y_train, x_test, y_test) in it",
        keras_loader="mnist", likelihood="bernoulli",
        # Tuned with classify.STANDARD_RECIPE (batch norm, cosine lr) on a validation split
        # of the labeled subset: benchmarks/baseline_tuning.py, numbers in its docstring.
        # The shipped domain classifier keeps its own width (augkit/zoo.py).
        classifier_width=24, classifier_steps=1500,
        # No flips: a mirrored 2 is no digit; no colour: there is none.
        augment={"rotation": 12, "translation": 0.1, "zoom": 0.1, "noise": 0.03}),
    DatasetSpec(
        "fashion_mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        (28, 28, 1), "fashion-mnist.npz",
        "put fashion-mnist.npz (Keras layout: x_train, y_train, x_test, y_test) in it",
        keras_loader="fashion_mnist", likelihood="bernoulli",
        classifier_width=16, classifier_steps=800,
        augment={"rotation": 8, "translation": 0.08, "zoom": 0.08, "flip": True, "noise": 0.02}),
    DatasetSpec(
        "cifar10",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"),
        (32, 32, 3), "cifar10_subset.npz",
        ("put the folder cifar-10-batches-py/ (data_batch_1..5 and test_batch, from "
         "cifar-10-python.tar.gz) or cifar10_subset.npz (x_train, y_train, x_test, y_test) in it"),
        keras_loader="cifar10",
        # Colour photos are not black-or-white: a Gaussian decoder with a stated sigma.
        likelihood="gaussian",
        # Photos need more filters than digits: width 16 left CIFAR-10 at ~44 % with 200 per
        # class. ~40 ms per step at width 32.
        classifier_width=32, classifier_steps=2000,
        # The standard recipe (flip + small shifts): rotation, zoom and colour jitter on top
        # made a CPU-budget CNN under-fit in our runs (notebook 03).
        augment={"translation": 0.1, "flip": True}),
)}

NAMES: tuple[str, ...] = tuple(SPECS)


def get(name: str) -> DatasetSpec:
    """The spec of ``name``; a ``ValueError`` listing the known datasets otherwise."""
    if not isinstance(name, str) or name not in SPECS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")
    return SPECS[name]
