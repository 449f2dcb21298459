"""Time to quality: augkit's conditional GAN vs the TensorFlow DCGAN tutorial, on full MNIST.

Usage:
    python benchmarks/gan_time_to_quality.py [--data-dir DIR] [--budget-minutes 10]
        [--baseline-budget-minutes 20] [--eval-every-seconds 60] [--n-eval 5000]
        [--fid-threshold F] [--full-budget] [--out runs/gan_benchmark.json] [--seed 0]
    python benchmarks/gan_time_to_quality.py --quick     # or AUGKIT_QUICK=1: a ~1-minute smoke run

Two models train one after the other in this process:

1. **baseline**: the TensorFlow docs DCGAN tutorial's published architecture and training
   step (unconditional; G ~2.33M and D ~213k parameters, batch 256, two Adam(1e-4), one
   ``tf.function`` step with two gradient tapes), re-implemented here from its description;
2. **augkit**: ``gan.build_gan("mnist", conditional=True, width=32)`` trained by
   ``gan.train_gan`` with its defaults (batch 64), i.e. the path ``augkit train gan`` ships.

Every ``--eval-every-seconds`` of *training* wall time (the clock is paused while evaluating)
each model draws ``--n-eval`` samples from fixed noise and is scored against as many real
test images with the domain-FID of :func:`augkit.metrics.domain_fid` (the shipped MNIST
domain classifier). A model stops at its budget or once its FID is at or below the threshold.
The default threshold is the baseline's best FID, which is why the baseline runs first: the
question answered is "augkit reaches the baseline's best quality in what fraction of the
baseline's time". Times to a threshold are the training time of the first evaluation at or
below it, so they carry the resolution of ``--eval-every-seconds``.

Prints the machine, a summary table and augkit's time to each baseline evaluation's FID, and
writes every evaluation to ``--out`` (JSON). This is a benchmark, not a test: numbers depend
on the CPU, and on anything else running on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from augkit import config, data, gan, metrics, zoo

DATASET = "mnist"
NOISE_DIM = 100  # the tutorial's noise size
BASELINE_BATCH = 256
AUGKIT_BATCH = 64  # train_gan's default


# --------------------------------------------------------------------------- baseline

def tutorial_generator() -> keras.Model:
    """The tutorial's generator: 100-d noise -> 7x7x256 -> 7x7x128 -> 14x14x64 -> 28x28x1."""
    return keras.Sequential([
        keras.Input((NOISE_DIM,)),
        layers.Dense(7 * 7 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                               activation="tanh"),
    ], name="tutorial_generator")


def tutorial_discriminator() -> keras.Model:
    """The tutorial's discriminator: two strided 5x5 convolutions with dropout, one logit."""
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"),
        layers.LeakyReLU(),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1),
    ], name="tutorial_discriminator")


def tutorial_train_step(generator, discriminator, g_opt, d_opt):
    """One compiled step: both networks see the same fake batch, each optimizer its own net."""
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(images):
        noise = tf.random.normal([tf.shape(images)[0], NOISE_DIM])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_logits = discriminator(images, training=True)
            fake_logits = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
            d_loss = (bce(tf.ones_like(real_logits), real_logits)
                      + bce(tf.zeros_like(fake_logits), fake_logits))
        g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars, strict=True))
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars, strict=True))
        return {"g_loss": g_loss, "d_loss": d_loss}

    return step


def tutorial_sampler(generator, n: int, seed: int):
    """Fixed noise, so successive evaluations differ only by what the generator learned."""
    z = np.random.default_rng(seed).standard_normal((n, NOISE_DIM)).astype(np.float32)

    def sample():
        out = [np.asarray(generator(z[i:i + 500], training=False)) for i in range(0, n, 500)]
        return data.from_minus1_1(np.concatenate(out)), None

    return sample


# --------------------------------------------------------------------------- clock and scoring

class Evaluator:
    """Domain-FID (plus class histogram and label consistency) against fixed real test images.

    The real images' features are computed once: per evaluation the classifier then runs only
    on the samples, and :func:`augkit.metrics.frechet_distance` of the two feature sets is
    exactly what :func:`augkit.metrics.domain_fid` returns (checked on the first call).
    """

    def __init__(self, x_test, n: int):
        self.real = x_test[:n]
        self.real_feats, _ = metrics.features_and_predictions(zoo.domain_classifier(DATASET), self.real)
        self.checked = False

    def __call__(self, images, labels=None) -> dict:
        feats, pred = metrics.features_and_predictions(zoo.domain_classifier(DATASET), images)
        fid = metrics.frechet_distance(feats, self.real_feats)
        if not self.checked:
            reference = metrics.domain_fid(zoo.domain_classifier(DATASET), images, self.real)
            if not np.isclose(fid, reference, rtol=1e-4, atol=1e-6):
                print(f"warning: cached-feature FID {fid:.4f} != domain_fid {reference:.4f}")
            self.checked = True
        out = {"domain_fid": round(fid, 3),
               "class_histogram": [round(float(v), 4)
                                   for v in np.bincount(pred, minlength=10) / len(pred)]}
        if labels is not None:
            out["label_consistency"] = round(float(np.mean(pred == np.asarray(labels))), 4)
        return out


class TrainingClock:
    """Training wall time with evaluations cut out, and the evaluation/stop schedule.

    ``after_step`` is called after every training step; it evaluates when an
    ``eval_every`` boundary or the budget has passed and returns True when training
    should stop (budget spent, or FID at or below ``threshold``).
    """

    def __init__(self, name, sample, evaluate, *, batch, budget_s, eval_every_s, threshold=None):
        self.name, self.sample, self.evaluate, self.batch = name, sample, evaluate, batch
        self.budget_s, self.eval_every_s, self.threshold = budget_s, eval_every_s, threshold
        self.steps, self.first_step_s, self.trajectory = 0, None, []
        self.next_eval_s, self._banked, self._since = eval_every_s, 0.0, None
        self.last_logs = {}

    def start(self):
        self._since = time.perf_counter()

    def seconds(self) -> float:
        return self._banked + (time.perf_counter() - self._since)

    def after_step(self, logs=None) -> bool:
        self.steps += 1
        self.last_logs = logs or {}
        now = self.seconds()
        if self.first_step_s is None:  # pipeline fill + tracing: reported, not in images/s
            self.first_step_s = now
        over_budget = now >= self.budget_s
        if not over_budget and now < self.next_eval_s:
            return False
        while self.next_eval_s <= now:
            self.next_eval_s += self.eval_every_s
        self._banked, self._since = now, None  # pause: evaluation is not training time
        fid = self._record(now)
        self.start()
        return over_budget or (self.threshold is not None and fid <= self.threshold)

    def _record(self, train_s: float) -> float:
        t0 = time.perf_counter()
        result = self.evaluate(*self.sample())
        losses = {k: round(float(v), 4) for k, v in self.last_logs.items()}
        self.trajectory.append({"train_minutes": round(train_s / 60, 3), "steps": self.steps,
                                "images_seen": self.steps * self.batch, **result,
                                "losses": losses,
                                "eval_seconds": round(time.perf_counter() - t0, 1)})
        extra = (f", label consistency {result['label_consistency']:.3f}"
                 if "label_consistency" in result else "")
        print(f"[{self.name}] {train_s / 60:6.2f} train min, {self.steps:6d} steps: "
              f"domain-FID {result['domain_fid']:.3f}{extra}", flush=True)
        return result["domain_fid"]

    def finish(self):
        """Evaluate the last step if training ended off-schedule (e.g. the divergence guard)."""
        if not self.trajectory or self.trajectory[-1]["steps"] != self.steps:
            self._banked, self._since = self.seconds(), None
            self._record(self._banked)

    def images_per_second(self) -> float:
        steady_s = self._banked - (self.first_step_s or 0.0)
        return (self.steps - 1) * self.batch / steady_s if self.steps > 1 and steady_s > 0 else 0.0


class _ClockCallback(keras.callbacks.Callback):
    """Lets :func:`augkit.gan.train_gan` (``model.fit``) run under a :class:`TrainingClock`."""

    def __init__(self, clock: TrainingClock):
        super().__init__()
        self.clock = clock

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.after_step(logs):
            self.model.stop_training = True


# --------------------------------------------------------------------------- the two runs

def run_baseline(x, evaluate, args, threshold) -> tuple[TrainingClock, dict]:
    keras.utils.set_random_seed(args.seed)
    generator, discriminator = tutorial_generator(), tutorial_discriminator()
    g_opt, d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    # Build the optimizer slots up front rather than inside the first traced step.
    g_opt.build(generator.trainable_variables)
    d_opt.build(discriminator.trainable_variables)
    step = tutorial_train_step(generator, discriminator, g_opt, d_opt)
    clock = TrainingClock("baseline", tutorial_sampler(generator, args.n_eval, args.seed),
                          evaluate, batch=BASELINE_BATCH, budget_s=args.baseline_budget_minutes * 60,
                          eval_every_s=args.eval_every_seconds, threshold=threshold)
    clock.start()  # the input pipeline and the first trace count as training time
    images = data.to_minus1_1(x)[..., None]
    # The tutorial's pipeline (shuffle the whole set, batch 256); drop_remainder keeps one
    # traced shape, as augkit's pipeline does, so neither pays for a retrace each epoch.
    ds = (tf.data.Dataset.from_tensor_slices(images).cache().shuffle(len(images), seed=args.seed)
          .batch(BASELINE_BATCH, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    for batch in ds:
        if clock.after_step(step(batch)):
            break
    clock.finish()
    info = {"g_params": generator.count_params(), "d_params": discriminator.count_params(),
            "batch": BASELINE_BATCH, "conditional": False}
    return clock, info


def run_augkit(x, y, evaluate, args, threshold) -> tuple[TrainingClock, dict]:
    model = gan.build_gan(DATASET, conditional=True, width=32, seed=args.seed)
    clock = TrainingClock("augkit", lambda: model.sample(args.n_eval, seed=args.seed), evaluate,
                          batch=AUGKIT_BATCH, budget_s=args.budget_minutes * 60,
                          eval_every_s=args.eval_every_seconds, threshold=threshold)
    clock.start()
    # Epochs are a formality here: the clock callback ends training.
    _, _, guard = gan.train_gan(model, x, y, epochs=10**6, batch_size=AUGKIT_BATCH,
                                progress=False, sample_every=False, seed=args.seed,
                                extra_callbacks=[_ClockCallback(clock)])
    clock.finish()
    info = {"g_params": model.generator.count_params(),
            "d_params": model.discriminator.count_params(), "batch": AUGKIT_BATCH,
            "conditional": True, "divergence_guard": guard.message}
    return clock, info


# --------------------------------------------------------------------------- reporting

def first_reaching(trajectory, threshold):
    """Training minutes of the first evaluation with FID <= threshold, or None."""
    return next((e["train_minutes"] for e in trajectory if e["domain_fid"] <= threshold), None)


def summarize(clock: TrainingClock, info: dict, threshold: float) -> dict:
    best = min(clock.trajectory, key=lambda e: e["domain_fid"])
    last = clock.trajectory[-1]
    return {**info, "images_per_second": round(clock.images_per_second(), 1),
            "first_step_seconds": round(clock.first_step_s, 2), "steps": clock.steps,
            "train_minutes": last["train_minutes"], "best_fid": best["domain_fid"],
            "best_fid_minutes": best["train_minutes"],
            "minutes_to_threshold": first_reaching(clock.trajectory, threshold),
            "final_label_consistency": last.get("label_consistency"),
            "trajectory": clock.trajectory}


def versus_baseline_evals(baseline, augkit) -> list[dict]:
    """augkit's time to each FID the baseline showed, and that time as a fraction of the baseline's."""
    rows = []
    for e in baseline:
        t = first_reaching(augkit, e["domain_fid"])
        rows.append({"baseline_minutes": e["train_minutes"], "baseline_fid": e["domain_fid"],
                     "augkit_minutes": t,
                     "time_fraction": None if t is None else round(t / e["train_minutes"], 3)})
    return rows


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(results: dict, threshold: float, threshold_source: str):
    print(f"\nthreshold: domain-FID <= {threshold:.3f} ({threshold_source}); times are training "
          "minutes at the first evaluation that showed it")
    head = (f"{'model':<22} {'params G/D':>17} {'batch':>5} {'images/s':>9} {'best FID':>9} "
            f"{'at min':>7} {'min to thr':>10} {'label cons.':>11}")
    print(head + "\n" + "-" * len(head))
    names = {"baseline": "TF tutorial DCGAN", "augkit": "augkit CGAN (w=32)"}
    for key, r in results.items():
        params = f"{r['g_params']:,}/{r['d_params']:,}"
        print(f"{names[key]:<22} {params:>17} {r['batch']:>5} {r['images_per_second']:>9,.0f} "
              f"{r['best_fid']:>9.3f} {r['best_fid_minutes']:>7.2f} "
              f"{_fmt(r['minutes_to_threshold'], '10.2f'):>10} "
              f"{_fmt(r['final_label_consistency'], '11.3f'):>11}")
    base_t, aug_t = (results[k]["minutes_to_threshold"] for k in ("baseline", "augkit"))
    if base_t and aug_t is not None:
        print(f"augkit reached the threshold in {aug_t / base_t:.1%} of the baseline's time")


def print_versus(rows):
    print(f"\n{'baseline min':>12} {'baseline FID':>12} {'augkit min':>10} {'fraction':>8}")
    for r in rows:
        print(f"{r['baseline_minutes']:>12.2f} {r['baseline_fid']:>12.3f} "
              f"{_fmt(r['augkit_minutes'], '10.2f'):>10} {_fmt(r['time_fraction'], '8.3f'):>8}")


def machine() -> dict:
    return {"platform": platform.platform(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__}


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None, help="folder with mnist.npz (else augkit's search)")
    p.add_argument("--budget-minutes", type=float, default=None, help="augkit (default 10)")
    p.add_argument("--baseline-budget-minutes", type=float, default=None, help="default 20")
    p.add_argument("--eval-every-seconds", type=float, default=None, help="default 60")
    p.add_argument("--n-eval", type=int, default=None, help="samples per evaluation (default 5000)")
    p.add_argument("--fid-threshold", type=float, default=None,
                   help="default: the baseline's best domain-FID")
    p.add_argument("--full-budget", action="store_true",
                   help="train each model for its whole budget even after reaching the threshold")
    p.add_argument("--out", type=Path, default=Path("runs/gan_benchmark.json"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="~20 s per model (also AUGKIT_QUICK=1)")
    args = p.parse_args(argv)
    args.quick = args.quick or config.env_quick()
    # Quick mode is a smoke run: seconds of training, small evaluations.
    presets = {"budget_minutes": (10, 20 / 60), "baseline_budget_minutes": (20, 20 / 60),
               "eval_every_seconds": (60, 10), "n_eval": (5000, 500)}
    for name, (full, quick) in presets.items():
        if getattr(args, name) is None:
            setattr(args, name, config.preset(full, quick, quick=args.quick))
    return args


def main(argv=None):
    args = parse_args(argv)
    info = machine()
    print(f"machine: {info['platform']}, {info['cpu_count']} CPU cores; Python {info['python']}, "
          f"TensorFlow {info['tensorflow']}, Keras {info['keras']}"
          + (" [quick mode]" if args.quick else ""), flush=True)
    (x, y), (x_test, _) = data.load(DATASET, args.data_dir)
    evaluate = Evaluator(x_test, args.n_eval)

    # Baseline first: with no threshold given, its best FID becomes augkit's target.
    stop_at = None if args.full_budget else args.fid_threshold
    base_clock, base_info = run_baseline(x, evaluate, args, stop_at)
    threshold = args.fid_threshold
    source = "--fid-threshold"
    if threshold is None:
        threshold = min(e["domain_fid"] for e in base_clock.trajectory)
        source = "the baseline's best"
    aug_clock, aug_info = run_augkit(x, y, evaluate, args, None if args.full_budget else threshold)

    results = {"baseline": summarize(base_clock, base_info, threshold),
               "augkit": summarize(aug_clock, aug_info, threshold)}
    rows = versus_baseline_evals(base_clock.trajectory, aug_clock.trajectory)
    print_table(results, threshold, source)
    print_versus(rows)
    if aug_info["divergence_guard"]:
        print(f"augkit: {aug_info['divergence_guard']}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"machine": info, "quick": args.quick, "fid_threshold": threshold,
              "threshold_source": source,
              "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "models": results, "augkit_vs_baseline_evals": rows}
    args.out.write_text(json.dumps(record, indent=1))
    print(f"\ntrajectories written to {args.out}")


if __name__ == "__main__":
    main()
