"""The ``augkit`` command line.

``augkit info``          datasets found (and from where), TensorFlow/Keras, CPU/GPU, quick mode
``augkit run NOTEBOOK [-p NAME VALUE]``  execute a notebook headless (papermill) and save
                         the executed copy under runs/
``augkit train FAMILY ...``  train, measure and save a model of a family (gan, vae, ssgan,
                         ssvae, classifier, ...: :mod:`augkit.families`; ``--ship`` into the package)
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
import shlex
import sys
from pathlib import Path

from augkit import __version__, config, data, datasets, families, train

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
    """A notebook file, or the one notebook of the course whose name starts with ``name``."""
    path = Path(name)
    if path.is_file():
        return path
    if path.is_absolute() or len(path.parts) > 1:
        raise UsageError(f"no such notebook: {name}")  # a path, not a name prefix
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


def _seed(text: str) -> int:
    """argparse type of ``--seed``: a whole number >= 0 (NumPy refuses negative seeds late,
    in words that name no option). argparse's message names the option."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {seed}")
    return seed


def _study_datasets() -> list[str]:
    """The datasets the study has presets for: the only ones ``augkit study`` can run."""
    from augkit.study import PRESETS  # imported here: the study is not needed for other commands

    return [name for name in datasets.NAMES if any(d == name for d, _ in PRESETS)]


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
    try:
        seconds = book.run_notebook(nb_path, out, params, args.timeout)
    except book.NotebookInterrupted as exc:
        return _interrupted(args, exc)
    print(f"ok: {nb_path.name} ran in {seconds:.1f} s; executed copy: {out}")
    return 0


def _interrupted(args, exc) -> int:
    """Ctrl-C in a notebook: one line that names it and its cell, and the usual status."""
    print(f"augkit {args.command}: {exc}", file=sys.stderr)
    return 130


def _book_folder(out: str) -> None:
    """Create the book's ``--out`` folder, or say in one line why it cannot be one."""
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; give a folder for the pages")
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror})") from exc


def cmd_book(args) -> int:
    from augkit import book

    _check_timeout(args)
    if args.executed and not Path(args.executed).is_dir():
        raise UsageError(f"--executed {args.executed} is not a directory")
    _book_folder(args.out)
    quick = config.env_quick() if args.quick is None else args.quick
    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    try:
        index = book.build(args.out, quick=quick, only=only, executed_dir=args.executed,
                           timeout=args.timeout, log=lambda line: print(line, flush=True))
    except book.NotebookInterrupted as exc:
        return _interrupted(args, exc)
    print(f"the course as static pages: {index} (open it in a browser; no kernel needed)")
    return 0


def cmd_train(args) -> int:
    from augkit import families, zoo

    family = families.get(args.what)
    if args.epochs <= 0 or (args.batch_size is not None and args.batch_size <= 0):
        raise UsageError("--epochs and --batch-size must be positive")
    if args.ship and args.out_dir:
        raise UsageError("--ship writes into augkit/weights; do not combine it with --out-dir")
    given = {o.name: getattr(args, o.name) for o in family.options}
    options = train.options_for(family, args.dataset, given)  # bad values fail before any data
    command = "augkit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else ""
    out = zoo.WEIGHTS_DIR if args.ship else Path(args.out_dir or zoo.user_dir())
    name = args.name or family.default_name(args.dataset, options, args.seed)
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
    from augkit import files, zoo

    if args.n <= 0:
        raise UsageError(f"--n must be positive, got {args.n}")
    if args.n > zoo.MAX_SAMPLES:
        raise UsageError(f"--n {args.n:,} is above the bound of {zoo.MAX_SAMPLES:,} samples per "
                         "file; write several files (each with its own --seed)")
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
    try:
        # SIGTERM as an interrupt: the writer then removes its part file on the way out.
        with files.sigterm_as_interrupt():
            x_shape, y_shape = zoo.sample_to_file(args.model, args.n, args.label, args.seed,
                                                  out, overwrite=args.overwrite)
    except FileExistsError as exc:  # another run made or is making --out meanwhile
        raise UsageError(f"--out {exc}") from None
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
          f"open it offline in a browser, e.g. python -m webbrowser "
          f"{shlex.quote(str(written['html']))}")
    return 0


def _train_parser(tr: argparse.ArgumentParser, family) -> None:
    """``augkit train FAMILY``'s options: the shared ones, then the family's own."""
    tr.add_argument("--dataset", choices=datasets.NAMES, default="mnist")
    for o in family.options:
        if o.type is bool:
            tr.add_argument(o.flag, action="store_true", default=None, help=o.help)
        else:
            shown = "" if o.default is None else f" (default {o.default})"
            tr.add_argument(o.flag, type=o.type, choices=o.choices, help=o.help + shown)
    tr.add_argument("--epochs", type=int, default=8)
    tr.add_argument("--batch-size", type=int, help=f"default {family.batch_size}")
    tr.add_argument("--seed", type=_seed, default=0, help="random seed (a semi-supervised "
                    "model's seed also draws its labeled subset)")
    tr.add_argument("--name", help="model name (default: "
                    f"{family.name_pattern.replace('{prefix}', family.plain_prefix or family.name)})")
    tr.add_argument("--data-dir")
    tr.add_argument("--checkpoint-dir", help="save every epoch here (resume with --resume)")
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--out-dir", help="where the model goes (default: your models folder, "
                    "$AUGKIT_MODELS_DIR or runs/models)")
    tr.add_argument("--ship", action="store_true", help="write into augkit/weights (maintainers)")
    tr.set_defaults(func=cmd_train)


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

    tr = sub.add_parser("train", help="train a model of a family and record it in a manifest")
    kinds = tr.add_subparsers(dest="what", required=True, metavar="FAMILY")
    for family in families.FAMILIES.values():
        _train_parser(kinds.add_parser(family.name, help=family.summary,
                                       description=family.summary), family)
    sub.add_parser("models", help="list shipped models").set_defaults(func=cmd_models)
    st = sub.add_parser("study", help="the downstream study (classifier + generated data)")
    st.add_argument("--dataset", choices=_study_datasets(), default="mnist")
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
    sa.add_argument("--seed", type=_seed, default=0)
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
