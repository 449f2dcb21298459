"""The ``augkit`` command line.

``augkit info``          datasets found (and from where), TensorFlow/Keras, CPU/GPU, quick mode
``augkit run NOTEBOOK [-p NAME VALUE]``  execute a notebook headless (papermill) and save
                         the executed copy under runs/
``augkit train gan|vae|classifier|ssgan|ssvae ...``  train, measure and save a model (``--ship``
                         into the package)
``augkit models``        the shipped models with their manifest metrics
``augkit study ...``     the downstream study: does generated data help a small-data classifier?
``augkit sample ...``    write generated images and labels to an .npz file
``augkit book``          every notebook executed, as static HTML pages (read without installing)
``augkit explore``       the explorers as a local web app (Voila, offline)

Bad input and failures end with one line on stderr that names the file or option at
fault, and exit status 2; ``augkit --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from augkit import __version__, config, data, datasets, train

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


class UsageError(Exception):
    """A user mistake the CLI reports in one line."""


def _dataset_rows(data_dir):
    rows = []
    for name in datasets.NAMES:
        try:
            ((xtr, _), (xte, _)), src = data.load_with_source(name, data_dir)
        except (data.DataNotFoundError, data.DataFormatError) as exc:
            first = str(exc).split(". To fix:")[0]
            hint = f"not found: {datasets.get(name).how_to_get} and set ${config.DATA_ENV}"
            rows.append((name, "missing", first if isinstance(exc, data.DataFormatError) else hint))
            continue
        size = f"{len(xtr):,} train / {len(xte):,} test, {xtr.shape[1:]}"
        rows.append((name, size, str(src)))
    return rows


def cmd_info(args) -> int:
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)  # keep the table readable
    if args.data_dir is not None and not args.data_dir.strip():
        raise UsageError("--data-dir is an empty string; give a folder path or leave it out")
    for label, folder in (("--data-dir", args.data_dir), (f"${config.DATA_ENV}", os.environ.get(config.DATA_ENV))):
        if folder and not Path(folder).expanduser().is_dir():
            raise UsageError(f"{label} points to {folder}, which is not a directory")
    print(f"augkit {__version__}")
    print(f"quick mode: {'ON' if config.env_quick() else 'off'} ({config.QUICK_ENV}={os.environ.get(config.QUICK_ENV, '')!r})")
    print(f"data dir:   {args.data_dir or os.environ.get(config.DATA_ENV) or '(none; set ' + config.DATA_ENV + ')'}")
    print(f"keras cache: {data.keras_cache_dir()}")
    import keras
    import tensorflow as tf

    print("datasets:")
    for name, size, where in _dataset_rows(args.data_dir):
        print(f"  {name:<14} {size:<45} {where}")

    gpus = tf.config.list_physical_devices("GPU")
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, backend {keras.backend.backend()}")
    print(f"devices:    {len(gpus)} GPU(s){' ' + str([g.name for g in gpus]) if gpus else ''}, "
          f"{os.cpu_count()} CPU core(s)")
    return 0


def _find_notebook(name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    matches = sorted(NOTEBOOK_DIR.glob(f"{name}*.ipynb")) if NOTEBOOK_DIR.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))) or "none found"
    raise UsageError(f"no single notebook matches {name!r} (notebooks: {known})")


def _parameter_value(text: str):
    """``True``, ``3``, ``0.5``, ``'a'``... as Python values; anything else stays a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _check_timeout(args) -> None:
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout}")


def cmd_run(args) -> int:
    from augkit import book

    _check_timeout(args)
    nb_path = _find_notebook(args.notebook)
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}") from exc
    out = out_dir / nb_path.name
    params = {name: _parameter_value(value) for name, value in args.parameters or []}
    if "QUICK" in params:  # "-p QUICK maybe" must not silently mean "on" (a truthy string)
        params["QUICK"] = config.parse_bool(params["QUICK"], "-p QUICK")
    quick = params.get("QUICK", config.env_quick())
    print(f"running {nb_path} (quick mode {'ON' if quick else 'off'}"
          f"{', parameters ' + str(params) if params else ''}) ...", flush=True)
    seconds = book.run_notebook(nb_path, out, params, args.timeout)
    print(f"ok: {nb_path.name} ran in {seconds:.1f} s; executed copy: {out}")
    return 0


def cmd_book(args) -> int:
    from augkit import book

    _check_timeout(args)
    if args.executed and not Path(args.executed).is_dir():
        raise UsageError(f"--executed {args.executed} is not a directory")
    quick = config.env_quick() if args.quick is None else args.quick
    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    index = book.build(args.out, quick=quick, only=only, executed_dir=args.executed,
                       timeout=args.timeout, log=lambda line: print(line, flush=True))
    print(f"the course as static pages: {index} (open it in a browser; no kernel needed)")
    return 0


def cmd_train(args) -> int:
    from augkit import losses, zoo

    semi = args.what in ("ssgan", "ssvae")
    if min(args.epochs, args.batch_size or 1, args.width, args.depth,
           args.labels_per_class, args.m1_epochs) <= 0:
        raise UsageError("--epochs, --batch-size, --width, --depth, --labels-per-class and "
                         "--m1-epochs must be positive")
    if not semi and args.labels_per_class != 10:
        raise UsageError("--labels-per-class applies to 'augkit train ssgan|ssvae' only")
    if args.what != "ssvae" and (args.m1_epochs != train.SSVAE_M1_EPOCHS
                                 or args.alpha != train.SSVAE_ALPHA):
        raise UsageError("--m1-epochs and --alpha apply to 'augkit train ssvae' only")
    if args.alpha < 0:
        raise UsageError(f"--alpha must be >= 0, got {args.alpha}")
    if args.what != "classifier" and (args.depth != 1 or args.recipe != "plain"):
        raise UsageError("--depth and --recipe apply to 'augkit train classifier' only")
    losses.get_gan_loss(args.loss)  # an unknown name fails here, before any data is loaded
    if args.latent_dim is not None and args.latent_dim <= 0:
        raise UsageError(f"--latent-dim must be positive, got {args.latent_dim}")
    if args.beta < 0 or args.sigma <= 0:
        raise UsageError("--beta must be >= 0 and --sigma > 0")
    if args.ship and args.out_dir:
        raise UsageError("--ship writes into augkit/weights; do not combine it with --out-dir")
    command = "augkit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else ""
    out = zoo.WEIGHTS_DIR if args.ship else Path(args.out_dir or zoo.user_dir())
    prefix = {"gan": ("cgan", "dcgan"), "vae": ("cvae", "vae")}.get(args.what)
    if semi:
        default = f"{args.what}_{args.dataset}_n{args.labels_per_class}_s{args.seed}"
    elif prefix is None:
        default = f"classifier_{args.dataset}"
    else:
        default = f"{prefix[0] if args.conditional else prefix[1]}_{args.dataset}"
    name = args.name or default
    options = {"conditional": args.conditional, "width": args.width}
    if args.latent_dim:
        options["latent_dim"] = args.latent_dim
    if args.what == "gan":
        options["loss"] = args.loss
    if args.what == "vae":
        options.update(beta=args.beta, likelihood=args.likelihood, sigma=args.sigma)
    if args.what == "classifier":
        options.update(depth=args.depth, recipe=args.recipe)
    if semi:
        options = {"labels_per_class": args.labels_per_class,
                   **({"latent_dim": args.latent_dim} if args.latent_dim else {})}
    if args.what == "ssvae":
        options.update(m1_epochs=args.m1_epochs, alpha=args.alpha)
    info = train.train_model(args.what, args.dataset, name=name, out_dir=out,
                             quick=config.env_quick(), epochs=args.epochs, seed=args.seed,
                             batch_size=args.batch_size, data_dir=args.data_dir,
                             checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                             command=command, **options)
    print(f"saved {out / info['file']} in {info['train_seconds']} s; metrics: {info['metrics']}")
    return 0


def cmd_models(args) -> int:
    from augkit import zoo

    models = zoo.catalogue()
    if not models:
        print("no models")
        return 0
    print(f"{'name':<22} {'kind':<11} {'dataset':<8} {'train s':>8}  {'where':<8} metrics")
    for name, (e, folder) in models.items():
        where = "shipped" if folder == zoo.WEIGHTS_DIR else "yours"
        shown = {k: v for k, v in e.get("metrics", {}).items() if k != "class_histogram"}
        print(f"{name:<22} {e.get('kind', '?'):<11} {e.get('dataset', '?'):<8} "
              f"{e.get('train_seconds', '?'):>8}  {where:<8} {shown}")
    print(f"your models: {zoo.user_dir()}")
    return 0


def cmd_sample(args) -> int:
    from augkit import zoo

    if args.n <= 0:
        raise UsageError(f"--n must be positive, got {args.n}")
    try:
        e = zoo.entry(args.model)
    except zoo.ModelNotFoundError as exc:
        raise UsageError(str(exc)) from None
    k = datasets.get(e["dataset"]).num_classes
    if args.label is not None and not 0 <= args.label < k:
        raise UsageError(f"--label must be a class in 0..{k - 1}, got {args.label}")
    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out must end in .npz, got {out}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file name ending in .npz")
    if out.exists() and not args.overwrite:
        raise UsageError(f"--out {out} exists; add --overwrite to replace it")
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise UsageError(f"--out {out}: folder {out.parent} is missing or not writable")
    x_shape, y_shape = zoo.sample_to_file(args.model, args.n, args.label, args.seed, out,
                                          overwrite=args.overwrite)
    print(f"wrote {out}: x {x_shape} uint8, y {y_shape}")
    return 0


def cmd_explore(args) -> int:
    from augkit import explore

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port number (1-65535)")
    return explore.serve(port=args.port, open_browser=not args.no_browser,
                         data_dir=args.data_dir)


def cmd_study(args) -> int:
    from augkit import study

    res = study.run_study(args.dataset, args.preset, args.setting, out_dir=args.out,
                          resume=args.resume, jobs=args.jobs, shard_spec=args.shard,
                          data_dir=args.data_dir, report=False,
                          only=tuple(args.only.split(",")) if args.only else None)
    print(f"{res['done']} of {res['total']} runs finished ({res['new']} new); results: "
          f"{res['results']}")
    written = study.write_study_report(args.out)
    print(f"report: {written['html']}\nsummary: {written['markdown']}\n"
          f"open it offline in a browser, e.g. python -m webbrowser {written['html']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="augkit", description="augkit: generative data augmentation kit")
    p.add_argument("--version", action="version", version=f"augkit {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="datasets, versions, devices, quick mode")
    info.add_argument("--data-dir", help=f"dataset directory (default: ${config.DATA_ENV})")
    info.set_defaults(func=cmd_info)
    run = sub.add_parser("run", help="execute a notebook headless (e.g. 'augkit run 00')")
    run.add_argument("notebook", help="notebook path or name prefix, e.g. 00")
    run.add_argument("--out-dir", default="runs", help="where the executed copy goes (default: runs/)")
    run.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", dest="parameters",
                     metavar=("NAME", "VALUE"),
                     help="set a parameter of the notebook's parameters cell, e.g. -p QUICK True")
    run.set_defaults(func=cmd_run)
    bk = sub.add_parser("book", help="every notebook executed, as static HTML pages")
    bk.add_argument("--out", default="runs/book", help="folder for the pages (default runs/book)")
    mode = bk.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="quick", action="store_true", default=None,
                      help="quick mode (default: full mode unless $AUGKIT_QUICK is on)")
    mode.add_argument("--full", dest="quick", action="store_false", help="full mode")
    bk.add_argument("--only", help="notebook name prefixes, e.g. 00,03")
    bk.add_argument("--executed", help="convert the executed copies in this folder, run nothing")
    bk.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    bk.set_defaults(func=cmd_book)

    tr = sub.add_parser("train", help="train a model and record it in a manifest")
    tr.add_argument("what", choices=list(train.KINDS))
    tr.add_argument("--dataset", choices=datasets.NAMES, default="mnist")
    tr.add_argument("--conditional", action="store_true",
                    help="conditional GAN/VAE (labeled samples)")
    tr.add_argument("--loss", default="non_saturating",
                    help="GAN loss: non_saturating, minimax, least_squares, hinge or wgan_gp")
    tr.add_argument("--latent-dim", type=int,
                    help="latent size (default: GAN 64, VAE 16, semi-supervised GAN 100, "
                         "semi-supervised VAE's z2 50)")
    tr.add_argument("--beta", type=float, default=1.0, help="VAE: weight of the KL term")
    tr.add_argument("--likelihood", choices=["bernoulli", "gaussian"],
                    help="VAE decoder (default: bernoulli for digits, gaussian for CIFAR-10)")
    tr.add_argument("--sigma", type=float, default=0.1,
                    help="VAE: the Gaussian decoder's standard deviation on [0, 1] pixels")
    tr.add_argument("--epochs", type=int, default=8)
    tr.add_argument("--batch-size", type=int,
                    help="default 64 (semi-supervised GAN and VAE: 100, as their authors)")
    tr.add_argument("--seed", type=int, default=0,
                    help="random seed (semi-supervised models: it also draws the labeled subset)")
    tr.add_argument("--labels-per-class", type=int, default=10,
                    help="semi-supervised GAN/VAE: labeled images per class (the rest are "
                         "unlabeled)")
    tr.add_argument("--m1-epochs", type=int, default=train.SSVAE_M1_EPOCHS,
                    help=f"semi-supervised VAE: epochs of M1 (default {train.SSVAE_M1_EPOCHS}; "
                         "--epochs are M2's)")
    tr.add_argument("--alpha", type=float, default=train.SSVAE_ALPHA,
                    help="semi-supervised VAE: weight of M2's classification term "
                         f"(default {train.SSVAE_ALPHA:g})")
    tr.add_argument("--width", type=int, default=32, help="network width (filters)")
    tr.add_argument("--depth", type=int, default=1,
                    help="classifier: convolutions per block (CIFAR-10's shipped one: 2)")
    tr.add_argument("--recipe", choices=["plain", "strong"], default="plain",
                    help="classifier: plain Adam, or batch norm + cosine lr + classic "
                         "augmentation (CIFAR-10's shipped one)")
    tr.add_argument("--name", help="model name (default: cgan_/dcgan_/cvae_/vae_/classifier_DATASET, "
                    "ssgan_/ssvae_DATASET_nLABELS_sSEED)")
    tr.add_argument("--data-dir")
    tr.add_argument("--checkpoint-dir", help="save every epoch here (resume with --resume)")
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--out-dir", help="where the model goes (default: your models folder, "
                    "$AUGKIT_MODELS_DIR or runs/models)")
    tr.add_argument("--ship", action="store_true", help="write into augkit/weights (maintainers)")
    tr.set_defaults(func=cmd_train)
    sub.add_parser("models", help="list shipped models").set_defaults(func=cmd_models)
    st = sub.add_parser("study", help="the downstream study (classifier + generated data)")
    st.add_argument("--dataset", choices=datasets.NAMES, default="mnist")
    st.add_argument("--preset", choices=["quick", "full", "extended"], default="quick",
                    help="quick: minutes; full: the shipped results (34-45 min each); extended: "
                         "every size and ratio (hours)")
    st.add_argument("--setting", choices=["fair", "pool", "leaky"], default="fair",
                    help="fair: generators see only the labeled subset; pool: also the "
                         "unlabeled images (pseudo-labels, the semi-supervised GAN, "
                         "pseudo-labelling); leaky: the shipped generators, trained on every "
                         "label")
    st.add_argument("--out", default="runs/study", help="results and report folder")
    st.add_argument("--resume", action="store_true", help="continue the study in --out")
    st.add_argument("--jobs", type=int, default=1, help="worker processes")
    st.add_argument("--shard", help="run only slice i of n of the grid, e.g. 2/4")
    st.add_argument("--only", metavar="STRATEGY[,...]",
                    help="run only these strategies, e.g. ssgan,pseudo_label (--resume "
                         "without it adds the rest)")
    st.add_argument("--data-dir")
    st.set_defaults(func=cmd_study)
    sa = sub.add_parser("sample", help="write generated images (x) and labels (y) to an .npz")
    sa.add_argument("--model", required=True)
    sa.add_argument("--n", type=int, required=True)
    sa.add_argument("--label", type=int)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", required=True)
    sa.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    sa.set_defaults(func=cmd_sample)
    ex = sub.add_parser("explore", help="the explorers as a local web app (Voila, offline)")
    ex.add_argument("--port", type=int, default=8866)
    ex.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    ex.add_argument("--data-dir", default=None, help="folder with mnist.npz (else $AUGKIT_DATA_DIR, ...)")
    ex.set_defaults(func=cmd_explore)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"augkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, OSError, RuntimeError, KeyError, MemoryError) as exc:
        # ValueError covers bad data files, corrupt JSON manifests and checkpoints, hash
        # mismatches; OSError every file-system fault (missing, permissions, disk full,
        # time-outs); KeyError an unknown model.
        if getattr(args, "debug", False):
            raise
        print(f"augkit {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; ask for less (a smaller --n, --batch-size or quick mode)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{exc.filename}: {text}"
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.strerror:
        text = f"{text} ({type(exc).__name__})"
    return text


if __name__ == "__main__":
    sys.exit(main())
