"""Classic image augmentation: label-preserving transforms and label-mixing ones.

Built on Keras 3 preprocessing layers (each transform below maps to one layer), so it
runs inside a ``tf.data`` pipeline on the CPU. Introduced in
``notebooks/03_classic_augmentation.ipynb``.

* **Label-preserving** (:class:`Augmenter`): the label of an image stays what it was.
  rotation, translation, zoom, horizontal flip, contrast, brightness, Gaussian noise,
  random erasing (cutout), elastic deformation, RandAugment.
* **Label-mixing** (:class:`LabelMixer`): MixUp and CutMix blend two images and
  their one-hot labels, so the result carries a *soft* label that sums to 1.

Images go in and come out as float32 pixels in [0, 255] (uint8 input is cast);
models rescale themselves. One ``strength`` knob scales a dataset-aware default set
(:func:`default_config`); strength 0 is the identity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from augkit import datasets

LABEL_PRESERVING = ("rotation", "translation", "zoom", "flip", "contrast", "brightness",
                    "noise", "erasing", "elastic", "randaugment")
LABEL_MIXING = ("mixup", "cutmix")
VALUE_RANGE = (0.0, 255.0)


@dataclass(frozen=True)
class AugmentConfig:
    """Parameters of the label-preserving transforms; 0 (or False) switches one off.

    rotation:    max angle in degrees, drawn uniformly in [-rotation, rotation]
    translation: max shift as a fraction of height and width
    zoom:        max zoom in or out as a fraction of the size
    flip:        random horizontal flips (wrong for digits: a flipped 3 is not a 3)
    contrast:    contrast factor drawn in [1 - contrast, 1 + contrast]
    brightness:  brightness shift as a fraction of the value range
    noise:       std of additive Gaussian noise as a fraction of the value range
    erasing:     Keras' RandomErasing factor in [0, 1]: how often a random rectangle is
                 replaced by noise (cutout); at 1.0 about half the images, in our runs
    elastic:     magnitude of a random elastic deformation (Keras' scale, 0..1)
    randaugment: number of RandAugment ops per image (0 = off), at magnitude 0.5
    """

    rotation: float = 0.0
    translation: float = 0.0
    zoom: float = 0.0
    flip: bool = False
    contrast: float = 0.0
    brightness: float = 0.0
    noise: float = 0.0
    erasing: float = 0.0
    elastic: float = 0.0
    randaugment: int = 0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "flip" and (not np.isfinite(value) or value < 0):
                raise ValueError(f"{f.name} must be a finite number >= 0, got {value!r}")
        for name, upper in (("translation", 1.0), ("zoom", 0.9), ("contrast", 1.0), ("noise", 1.0),
                            ("brightness", 1.0), ("erasing", 1.0), ("elastic", 1.0)):
            if getattr(self, name) > upper:
                raise ValueError(f"{name} must be at most {upper}, got {getattr(self, name)!r}")
        if self.rotation > 180:
            raise ValueError(f"rotation is in degrees and must be at most 180, got {self.rotation!r}")

    @property
    def is_identity(self) -> bool:
        return not any(asdict(self).values())

    def active(self) -> list[str]:
        """Names of the transforms this config switches on, in pipeline order."""
        return [k for k, v in asdict(self).items() if v]


_CAPS = {"noise": 1.0, "translation": 1.0, "zoom": 0.9, "contrast": 1.0, "brightness": 1.0, "erasing": 1.0,
         "elastic": 1.0, "rotation": 180.0}


def default_config(dataset: str, strength: float = 1.0) -> AugmentConfig:
    """The dataset-aware default set with every magnitude multiplied by ``strength``.

    ``strength=0`` is the identity, 1 the recommended setting, 2-3 deliberately too much.
    Flips are on for any strength > 0 where the dataset allows them.
    """
    base = AugmentConfig(**datasets.get(dataset).augment)  # per-dataset, in the registry
    if not np.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength!r}")
    scaled = {}
    for f in fields(base):
        value = getattr(base, f.name)
        if f.name == "flip":
            scaled[f.name] = bool(value and strength > 0)
        elif f.name == "randaugment":
            scaled[f.name] = int(round(value * strength))
        else:
            scaled[f.name] = min(value * strength, _CAPS.get(f.name, np.inf))
    return AugmentConfig(**scaled)


def with_params(config: AugmentConfig, **params) -> AugmentConfig:
    """A copy of ``config`` with some transforms changed (validated)."""
    unknown = set(params) - set(LABEL_PRESERVING)
    if unknown:
        raise ValueError(f"unknown transform(s) {sorted(unknown)}; known: {', '.join(LABEL_PRESERVING)}")
    return replace(config, **params)


class Augmenter:
    """Apply an :class:`AugmentConfig` to a batch of images (label-preserving).

    ``Augmenter(cfg, seed=s)`` built twice gives identical outputs for identical
    inputs; successive calls on one augmenter draw fresh randomness. Works eagerly
    on numpy/tensors and inside ``tf.data`` ``map``.
    """

    def __init__(self, config: AugmentConfig, seed: int = 0):
        import keras

        self.config, self.seed = config, seed
        c, L, vr = config, keras.layers, VALUE_RANGE
        s = iter(range(seed * 100, seed * 100 + 100))  # a distinct seed for every layer
        layers = []
        if c.flip:
            layers.append(L.RandomFlip("horizontal", seed=next(s)))
        if c.rotation:
            # Keras' factor is a fraction of a full turn; constant fill keeps digits on black.
            layers.append(L.RandomRotation(c.rotation / 360.0, fill_mode="constant", seed=next(s)))
        if c.translation:
            layers.append(L.RandomTranslation(c.translation, c.translation, fill_mode="constant",
                                              seed=next(s)))
        if c.zoom:
            layers.append(L.RandomZoom(c.zoom, fill_mode="constant", seed=next(s)))
        if c.elastic:
            layers.append(L.RandomElasticTransform(factor=1.0, scale=c.elastic, fill_mode="constant",
                                                   value_range=vr, seed=next(s)))
        if c.contrast:
            layers.append(L.RandomContrast(c.contrast, value_range=vr, seed=next(s)))
        if c.brightness:
            layers.append(L.RandomBrightness(c.brightness, value_range=vr, seed=next(s)))
        if c.randaugment:
            layers.append(L.RandAugment(value_range=vr, num_ops=c.randaugment, factor=0.5,
                                        seed=next(s)))
        if c.erasing:
            layers.append(L.RandomErasing(factor=c.erasing, value_range=vr, seed=next(s)))
        if c.noise:
            # Keras' GaussianNoise takes a std in [0, 1], so it works on pixels scaled to [0, 1].
            noise = L.GaussianNoise(c.noise, seed=next(s))
            layers.append(lambda x, training: noise(x / vr[1], training=training) * vr[1])
        self.layers = layers

    @property
    def is_identity(self) -> bool:
        return not self.layers

    def __call__(self, images):
        """Augment a batch (N, H, W) or (N, H, W, C); returns float32 in [0, 255], same shape."""
        import tensorflow as tf

        x = tf.convert_to_tensor(images)
        squeeze = x.shape.rank == 3
        x = tf.cast(x[..., None] if squeeze else x, tf.float32)
        if x.shape.rank != 4:
            raise ValueError(f"expected images (N, H, W) or (N, H, W, C), got shape {tuple(x.shape)}")
        for layer in self.layers:
            x = layer(x, training=True)
        if self.layers:
            # Rotations and noise can leave the pixel range; keep images valid.
            x = tf.clip_by_value(x, *VALUE_RANGE)
        return x[..., 0] if squeeze else x


class LabelMixer:
    """MixUp or CutMix on a batch: mixes images *and* one-hot labels (soft labels).

    MixUp:  :math:`\\tilde x = \\lambda x_i + (1-\\lambda) x_j`, :math:`\\tilde y = \\lambda y_i + (1-\\lambda) y_j`,
    :math:`\\lambda \\sim \\mathrm{Beta}(\\alpha, \\alpha)`.
    CutMix: a rectangle of :math:`x_j` is pasted into :math:`x_i`; :math:`\\lambda` is the kept area.
    The partner :math:`j` is a random permutation of the batch.
    """

    def __init__(self, method: str = "mixup", alpha: float = 0.2, *, num_classes: int,
                 seed: int = 0):
        import keras

        if method not in LABEL_MIXING:
            raise ValueError(f"method must be one of {LABEL_MIXING}, got {method!r}")
        if not alpha > 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        self.method, self.num_classes = method, num_classes
        layer = keras.layers.MixUp if method == "mixup" else keras.layers.CutMix
        self.layer = layer(alpha, seed=seed) if method == "mixup" else layer(factor=alpha, seed=seed)

    def __call__(self, images, labels):
        """Return ``(mixed_images, soft_labels)``; ``labels`` are class ids or one-hot rows."""
        import tensorflow as tf

        x = tf.cast(tf.convert_to_tensor(images), tf.float32)
        squeeze = x.shape.rank == 3
        if squeeze:
            x = x[..., None]
        y = tf.convert_to_tensor(labels)
        if y.shape.rank == 1:
            y = tf.one_hot(tf.cast(y, tf.int32), self.num_classes)
        out = self.layer({"images": x, "labels": tf.cast(y, tf.float32)}, training=True)
        x = out["images"]
        return (x[..., 0] if squeeze else x), out["labels"]
