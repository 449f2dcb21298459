"""Throughput of the classic augmentation pipeline (images per second) on this machine.

Usage:  python benchmarks/augment_throughput.py [--batches 30] [--batch-size 128]

Measures, for MNIST-sized and CIFAR-10-sized batches, the dataset's default pipeline at
strength 1, the same inside a ``tf.data`` map, every transform switched on, and MixUp.
This is a benchmark, not a test: numbers depend on the CPU.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tensorflow as tf

from augkit import augment


def images_per_second(fn, batch, batches: int) -> float:
    fn(batch)  # warm-up: the first call builds the layers and traces
    start = time.perf_counter()
    for _ in range(batches):
        out = fn(batch)
    np.asarray(out[0] if isinstance(out, tuple) else out)  # make sure the work is done
    return batches * len(batch) / (time.perf_counter() - start)


def tf_data_rate(aug, batch, batches: int) -> float:
    ds = tf.data.Dataset.from_tensors(batch.astype(np.float32)).repeat(batches + 1).map(aug)
    it = iter(ds.prefetch(tf.data.AUTOTUNE))
    next(it)
    start = time.perf_counter()
    for b in it:
        b.numpy()
    return batches * len(batch) / (time.perf_counter() - start)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    everything = augment.AugmentConfig(rotation=15, translation=0.1, zoom=0.1, flip=True,
                                       contrast=0.2, brightness=0.1, noise=0.03, erasing=0.5,
                                       elastic=0.3, randaugment=2)
    print(f"batch size {args.batch_size}, {args.batches} timed batches, "
          f"TensorFlow {tf.__version__}")
    print(f"{'dataset':<8} {'pipeline':<34} {'images/s':>10}")
    for dataset, shape in (("mnist", (28, 28)), ("cifar10", (32, 32, 3))):
        batch = rng.integers(0, 256, (args.batch_size, *shape), dtype=np.uint8)
        labels = rng.integers(0, 10, args.batch_size)
        default = augment.Augmenter(augment.default_config(dataset, 1.0), seed=0)
        all_on = augment.Augmenter(everything, seed=0)
        mixer = augment.LabelMixer("mixup", num_classes=10, seed=0)
        cases = [
            ("default, strength 1 (eager)", default),
            ("every transform on (eager)", all_on),
            ("MixUp", lambda b, m=mixer, y=labels: m(b, y)),
        ]
        for name, fn in cases:
            print(f"{dataset:<8} {name:<34} {images_per_second(fn, batch, args.batches):>10,.0f}")
        rate = tf_data_rate(augment.Augmenter(augment.default_config(dataset, 1.0), seed=0),
                            batch, args.batches)
        print(f"{dataset:<8} {'default, strength 1 (tf.data map)':<34} {rate:>10,.0f}")


if __name__ == "__main__":
    main()
