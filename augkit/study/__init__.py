"""The downstream study: does adding generated images to a small labeled set help a classifier?

**Protocol** (fixed before any result is seen; :data:`PRESETS` holds the sizes):

* a *cell* is (dataset, setting, labeled images per class n, seed); each seed draws its
  own class-balanced subset (:func:`augkit.data.labeled_subset`);
* every *run* trains the same standard classifier (:func:`augkit.classify.train_classifier`,
  the dataset's width and step budget) on one training set built by a *strategy*, and
  reports its accuracy on real test images:

  ``real`` the subset alone; ``classic`` the subset with classic augmentation; and for
  every generator family of the registry (:mod:`augkit.families`: ``gan``, ``vae``, ...)
  ``F`` the subset plus ``ratio`` x n generated images per class; ``classic+F`` the same
  with classic augmentation on top; ``F_screened`` generated images kept only when a
  classifier trained on the subset alone agrees with their label at confidence >= 0.5;
  ``F_only`` generated images alone (Classification Accuracy Score, Ravuri & Vinyals 2019;
  the GAN's is called ``synthetic_only``); ``ssgan``, ``ssvae`` and ``pseudo_label``
  (pool setting only) learn from the unlabeled pool itself (:mod:`augkit.study.semisupervised`);
* *settings* say where a generator comes from: ``fair``, trained on the cell's subset
  only (the honest question); ``pool``, trained on every training image with its label
  hidden; ``leaky``, the shipped generators trained on every labeled training image, run
  only to show how leakage inflates gains;
* nothing is chosen on the test set: thresholds and ratios are fixed here, and every
  strategy uses the same network, budget and seed.

The package, a module each: :mod:`~augkit.study.plan` (strategies, settings, presets, the
grid, run ids and shards), :mod:`~augkit.study.cells` (a cell's data, judge and generators,
and one run), :mod:`~augkit.study.results` (the results files, shipped results checked by
hash), :mod:`~augkit.study.runner` (workers, resume, the one writer),
:mod:`~augkit.study.report` and :mod:`~augkit.study.semisupervised`.

A cell (:func:`~augkit.study.plan.cell_of`) is the unit of work: its judge and generators
are trained once, and shards (``--shard i/n``) take whole cells. A run's id
(:func:`run_id`) ends in a fingerprint of everything else that decides its result (budget
level, classifier budget and width, test images, the family's settings and step budget,
library versions), so ``--resume`` never counts a run of another configuration as done and
a report never merges two. Each finished run is appended to ``results.<setting>.jsonl``
(one JSON object per line, with its configuration, versions, thread count and timing) by a
single writer that holds the file's lock; an interrupted study resumes without redoing a
finished run, and in a worker TensorFlow's op determinism makes a run repeat to the last
digit on the same machine and thread count.
Introduced in ``notebooks/08_downstream_generalization.ipynb``.
"""

from augkit.study.cells import execute, screen
from augkit.study.plan import (
    POOL_SYNTHETIC,
    PRESETS,
    SCREEN_CONFIDENCE,
    SETTING_ONLY,
    SETTINGS,
    STRATEGIES,
    SYNTHETIC,
    Preset,
    Run,
    grid,
    leaky_model,
    run_id,
    shard,
    strategies_for,
)
from augkit.study.results import (
    SHIPPED_DIR,
    all_results,
    append_result,
    read_results,
    results_path,
    shipped_results,
)
from augkit.study.runner import live_preset, run_study, write_study_report

__all__ = ["leaky_model", "POOL_SYNTHETIC", "PRESETS", "SCREEN_CONFIDENCE", "SETTING_ONLY",
           "SETTINGS", "STRATEGIES", "SYNTHETIC", "Preset", "Run", "grid", "run_id", "shard",
           "strategies_for", "SHIPPED_DIR", "all_results", "append_result", "read_results",
           "results_path", "shipped_results", "live_preset", "run_study", "write_study_report",
           "execute", "screen"]
