"""One cell of the study (dataset, setting, labeled-set size, seed): its data, judge and
generators, and the runs that build a training set and train the classifier on it.

Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from augkit import data, datasets, families, files
from augkit.study import semisupervised as semi
from augkit.study.plan import (
    SCREEN_CONFIDENCE,
    Preset,
    Run,
    generator_steps,
    leaky_model,
    run_config,
    run_id,
    versions,
)


class _Context:
    """Data, generators and judges of one worker process, loaded once and reused across runs."""

    def __init__(self, dataset: str, preset: Preset, data_dir, out_dir: Path,
                 command: str = ""):
        (self.x, self.y), (xt, yt) = data.load(dataset, data_dir)
        if preset.test_images:  # a fixed, class-balanced slice of the test set
            per_class = min(preset.test_images // len(np.unique(yt)), np.bincount(yt).min())
            idx = data.stratified_indices(yt, int(per_class), seed=0)
            xt, yt = xt[idx], yt[idx]
        self.xt, self.yt = xt, yt
        self.dataset, self.preset, self.out_dir = dataset, preset, out_dir
        self.data_dir = data_dir
        self.command = command  # how to make this study again (recorded with its models)
        self._generators: dict = {}
        self._judges: dict = {}

    def subset(self, n: int, seed: int):
        return data.labeled_subset(self.x, self.y, n, seed=seed)

    def generator(self, kind: str, run: Run):
        """The generator of family ``kind`` that a run's setting allows (cached on disk, so
        every strategy and worker of a cell uses the same one): *fair*, a conditional model
        trained on the cell's subset; *pool*, an unconditional one trained on every training
        image with its label hidden (one per seed, shared by all subset sizes); *leaky*, the
        shipped conditional model trained on every labeled training image."""
        from augkit import train, zoo

        n = 0 if run.setting == "pool" else run.n_per_class
        key = (kind, run.setting, n, run.seed)
        if key in self._generators:
            return self._generators[key]
        family = families.get(kind)
        if run.setting == "leaky":
            model = zoo.load_generator_model(leaky_model(family, run.dataset))
        else:
            conditional = run.setting == "fair"
            what = f"n{n}" if conditional else "pool"
            steps = generator_steps(family, self.preset)
            path = self.out_dir / "generators" / (
                f"{kind}_{run.dataset}_{what}_s{run.seed}_{steps}steps.weights.h5")
            # "conditional" is the setting's, whether or not the family has it as an option.
            options = {**train.options_for(family, run.dataset, dict(family.study_options)),
                       "conditional": conditional}
            if path.is_file():
                model = family.hooks().load({"dataset": run.dataset, **options}, path)
            else:
                xs, ys = self.subset(n, run.seed) if conditional else (self.x, None)
                job = families.Job(run.dataset, xs, ys, None, None, options, seed=run.seed,
                                   steps=steps, progress=False, measure=False)
                model = train.fit(family, job).model
                path.parent.mkdir(parents=True, exist_ok=True)
                train.save(family, model, path)
        self._generators[key] = model
        return model

    def judge(self, n: int, seed: int, progress: bool = False) -> tuple[object, dict]:
        """The cell's real-only classifier: trained on the labeled subset alone, it is both
        the "real" run and the screening / pseudo-labelling judge (never a model that saw
        more labels). Trained once per cell and kept on disk with its scores."""
        from augkit import classify

        key = (n, seed)
        if key in self._judges:
            return self._judges[key]
        budget = "quick" if self.preset.quick else "standard"  # the classifier budget's name
        stem = self.out_dir / "judges" / f"{self.dataset}_n{n}_s{seed}_{budget}"
        weights, record_path = stem.with_suffix(".weights.h5"), stem.with_suffix(".json")
        spec = datasets.get(self.dataset)
        if record_path.is_file() and weights.is_file():
            record = files.read_json(record_path)
            model = classify.build_classifier(
                spec.image_shape, spec.num_classes, width=spec.classifier_width, seed=seed,
                batch_norm=classify.budget_for(self.dataset, self.preset.quick).batch_norm)
            model.load_weights(weights)
        else:
            start = time.perf_counter()
            xs, ys = self.subset(n, seed)
            res = self.train(xs, ys, seed, progress=progress)
            model = res["model"]
            record = {"test_acc": res["test_acc"], "train_acc": res["train_acc"],
                      "seconds": round(time.perf_counter() - start, 2)}
            files.save_weights(model, weights)
            files.write_json(record_path, record)
        self._judges[key] = (model, record)
        return model, record

    def train(self, x, y, seed: int, augmenter=None, progress: bool = False) -> dict:
        from augkit import classify

        spec = datasets.get(self.dataset)
        return classify.train_classifier(
            x, y, self.xt, self.yt, budget=classify.budget_for(self.dataset, self.preset.quick),
            augmenter=augmenter, seed=seed, width=spec.classifier_width,
            num_classes=spec.num_classes, progress="steps" if progress else False)


def screen(judge, draw, n_needed: int, num_classes: int, *, pseudo_label: bool = False,
           rounds: int = 5):
    """Keep generated images a judge is confident about, class-balanced.

    ``draw(round)`` returns a batch ``(images, labels)`` (labels ``None`` for an
    unconditional generator). With ``pseudo_label=False`` an image is kept when the judge
    gives its requested label a probability >= :data:`SCREEN_CONFIDENCE`; with
    ``pseudo_label=True`` it gets the judge's most probable class as its label and is kept
    when that probability is >= the same threshold. At most ``ceil(n_needed / classes)``
    images per class are kept, so screening cannot tilt the class balance. Returns the
    kept images and labels (up to ``n_needed``) and the share of drawn images kept.
    """
    quota = -(-n_needed // num_classes)
    keep_x, keep_y, drawn, accepted = [], [], 0, 0
    counts = np.zeros(num_classes, int)
    for round_ in range(rounds):  # draw until enough are kept (a weak judge keeps few)
        images, labels = draw(round_)
        probs = _softmax(judge.predict(images.astype(np.float32), batch_size=500, verbose=0))
        if pseudo_label:
            labels = probs.argmax(1)
        ok = probs[np.arange(len(labels)), labels] >= SCREEN_CONFIDENCE
        drawn += len(labels)
        accepted += int(ok.sum())
        for i in np.flatnonzero(ok):
            if counts[labels[i]] < quota:
                counts[labels[i]] += 1
                keep_x.append(images[i])
                keep_y.append(labels[i])
        if len(keep_y) >= n_needed or counts.min() >= quota:
            break
    if not keep_y:
        return images[:0], np.zeros(0, np.int64), 0.0
    return (np.stack(keep_x)[:n_needed], np.asarray(keep_y, np.int64)[:n_needed],
            accepted / drawn)


def _softmax(logits):
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def execute(ctx: _Context, run: Run, progress: bool = False) -> dict:
    """Build the run's training set, train the classifier, and return its results row."""
    from augkit import augment

    if run.strategy in semi.STRATEGIES:
        return _row(ctx, run, semi.execute(ctx, run, progress))
    start = time.perf_counter()
    xs, ys = ctx.subset(run.n_per_class, run.seed)
    spec = datasets.get(run.dataset)
    classic = augment.Augmenter(augment.default_config(run.dataset), seed=run.seed)
    n_synth = int(round(run.ratio * len(xs)))
    kept_share = None
    x_train, y_train, aug = xs, ys, None
    if run.strategy == "real":
        res = ctx.judge(run.n_per_class, run.seed, progress)[1]
    else:
        if run.strategy == "classic":
            aug = classic
        else:
            family = families.strategy_family(run.strategy)
            model = ctx.generator(family.name, run)
            seed = 10_000 + run.seed  # sampling noise apart from the generator's training noise
            if run.setting == "pool" or run.strategy == f"{family.name}_screened":
                judge = ctx.judge(run.n_per_class, run.seed)[0]
                if run.setting == "pool":
                    def draw(r):
                        return model.sample(2 * n_synth, seed=seed + 1000 * r), None
                else:
                    def draw(r):
                        return model.sample(n_synth, seed=seed + 1000 * r)
                gx, gy, kept_share = screen(judge, draw, n_synth, spec.num_classes,
                                            pseudo_label=run.setting == "pool")
            else:
                gx, gy = model.sample(n_synth, seed=seed)
            gx = gx.reshape(len(gx), *spec.raw_shape)
            if run.strategy == family.cas():
                x_train, y_train = gx, gy.astype(ys.dtype)
            else:
                x_train = np.concatenate([xs, gx])
                y_train = np.concatenate([ys, gy.astype(ys.dtype)])
            if run.strategy == f"classic+{family.name}":
                aug = classic
        if len(x_train) == 0:  # nothing to train on: recorded, left out of every summary
            res = {"test_acc": None, "train_acc": None}
        else:
            res = ctx.train(x_train, y_train, run.seed, augmenter=aug, progress=progress)
    return _row(ctx, run, {
        "test_acc": res["test_acc"], "train_acc": res["train_acc"],
        "train_images": int(len(x_train)), "kept_share": kept_share,
        "skipped": None if len(x_train) else "screening kept no generated image",
        "seconds": res["seconds"] if run.strategy == "real" else time.perf_counter() - start})


def _row(ctx: _Context, run: Run, res: dict) -> dict:
    """A results-file row: the run, its numbers (``res``) and everything needed to redo it:
    its configuration (:func:`augkit.study.plan.run_config`), versions and thread count."""
    extra = {k: v for k, v in res.items() if k not in (
        "test_acc", "train_acc", "train_images", "kept_share", "skipped", "seconds")}
    return {"run_id": run_id(run), **asdict(run), "test_acc": _round(res["test_acc"]),
            "train_acc": _round(res["train_acc"]), "skipped": res.get("skipped"),
            "kept_share": None if res["kept_share"] is None else round(res["kept_share"], 4),
            "train_images": res["train_images"], "seconds": round(res["seconds"], 2),
            "config": run_config(run, ctx.preset), "test_images": int(len(ctx.yt)),
            "data_images": int(len(ctx.y)),  # the training images the data source holds
            "versions": versions(), "threads": threads(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}


def threads() -> dict:
    """TensorFlow's thread pools (0: sized by TensorFlow for the machine): results are
    reproducible to the last digit only at the same thread count."""
    import tensorflow as tf

    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def _round(value):
    return None if value is None else round(value, 5)


