"""What TensorFlow's op determinism costs the study's classifier on this CPU.

The study's workers call ``tf.config.experimental.enable_op_determinism()`` so that a cell
and seed give the same accuracy to the last digit (``augkit.study.runner``). This trains
the study's classifier (standard recipe, MNIST, 10 labels per class) for ``--steps`` steps,
once without and once with classic augmentation, in a fresh process per mode, ``--repeats``
times, alternating modes, and prints the seconds of each run.

    AUGKIT_DATA_DIR=../shared/data python benchmarks/determinism_cost.py --steps 300

Measured 2026-12-07 (2-core CPU, 300 steps, 2 repeats; seconds for real-only / classic):
default 25.1 / 20.1 and 18.5 / 25.8, op determinism 24.3 / 25.3 and 24.0 / 22.2: a mean of
22.4 against 24.0 s (+7 %), inside the +-15 % spread between repeats of the same mode.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CHILD = "--child"


def child(deterministic: bool, steps: int) -> None:
    import tensorflow as tf

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    from augkit import augment, classify, data

    (x, y), (xt, yt) = data.load("mnist", os.environ.get("AUGKIT_DATA_DIR"))
    xs, ys = data.labeled_subset(x, y, 10, seed=0)
    budget = classify.Budget(steps=steps, **classify.STANDARD_RECIPE)
    times = []
    for aug in (None, augment.Augmenter(augment.default_config("mnist"), seed=0)):
        start = time.perf_counter()
        classify.train_classifier(xs, ys, xt[:2000], yt[:2000], budget=budget, augmenter=aug,
                                  seed=0, width=24, num_classes=10)
        times.append(round(time.perf_counter() - start, 1))
    print(("determinism" if deterministic else "default"), times, flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument(CHILD, choices=["0", "1"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        child(args.child == "1", args.steps)
        return
    for _ in range(args.repeats):
        for mode in ("0", "1"):
            subprocess.run([sys.executable, __file__, CHILD, mode, "--steps", str(args.steps)],
                           check=True)


if __name__ == "__main__":
    main()
