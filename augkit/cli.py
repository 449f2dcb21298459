"""The ``augkit`` command line.

``augkit info``          datasets found (and from where), TensorFlow/Keras, CPU/GPU, quick mode
``augkit run NOTEBOOK``  execute a notebook headless and save the executed copy under runs/
``augkit train gan|vae|classifier ...``  train, measure and save a model (``--ship`` into the package)
``augkit models``        the shipped models with their manifest metrics
``augkit sample ...``    write generated images and labels to an .npz file

Bad input ends with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from augkit import __version__, config, data

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


class UsageError(Exception):
    """A user mistake the CLI reports in one line."""


def _dataset_rows(data_dir):
    rows = []
    for name in data.DATASETS:
        try:
            ((xtr, _), (xte, _)), src = data.load_with_source(name, data_dir)
        except (data.DataNotFoundError, data.DataFormatError) as exc:
            first = str(exc).split(". To fix:")[0]
            hint = f"not found: {data.HOW_TO_GET[name]} and set ${config.DATA_ENV}"
            rows.append((name, "missing", first if isinstance(exc, data.DataFormatError) else hint))
            continue
        size = f"{len(xtr):,} train / {len(xte):,} test, {xtr.shape[1:]}"
        rows.append((name, size, str(src)))
    return rows


def cmd_info(args) -> int:
    import logging

    logging.getLogger("augkit").setLevel(logging.WARNING)  # keep the table readable
    for label, folder in (("--data-dir", args.data_dir), (f"${config.DATA_ENV}", os.environ.get(config.DATA_ENV))):
        if folder and not Path(folder).expanduser().is_dir():
            raise UsageError(f"{label} points to {folder}, which is not a directory")
    print(f"augkit {__version__}")
    print(f"quick mode: {'ON' if config.quick() else 'off'} ({config.QUICK_ENV}={os.environ.get(config.QUICK_ENV, '')!r})")
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


def cmd_run(args) -> int:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb_path = _find_notebook(args.notebook)
    out_dir = Path(args.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output folder {out_dir}: {exc.strerror}") from exc
    out = out_dir / nb_path.name
    nb = nbformat.read(nb_path, as_version=4)
    config.pin_data_dir()  # the kernel starts in the notebook's folder, not here
    print(f"running {nb_path} (quick mode {'ON' if config.quick() else 'off'}) ...", flush=True)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(nb_path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        nbformat.write(nb, out)
        last = [ln for ln in str(exc).strip().splitlines() if ln.strip()][-1]
        raise UsageError(f"{nb_path.name} failed: {last} (executed copy with the error: {out})") from exc
    nbformat.write(nb, out)
    print(f"ok: {nb_path.name} ran in {time.perf_counter() - start:.1f} s; executed copy: {out}")
    return 0


def _out_dir(args) -> Path:
    from augkit import metrics

    return metrics.WEIGHTS_DIR if args.ship else Path(args.out_dir)


def cmd_train(args) -> int:
    from augkit import losses, train

    if min(args.epochs, args.batch_size, args.width) <= 0:
        raise UsageError("--epochs, --batch-size and --width must be positive")
    losses.get_gan_loss(args.loss)  # an unknown name fails here, before any data is loaded
    if args.latent_dim is not None and args.latent_dim <= 0:
        raise UsageError(f"--latent-dim must be positive, got {args.latent_dim}")
    if args.beta < 0 or args.sigma <= 0:
        raise UsageError("--beta must be >= 0 and --sigma > 0")
    command = "augkit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train"] else ""
    out = _out_dir(args)
    if args.what == "vae":
        name = args.name or f"{'cvae' if args.conditional else 'vae'}_{args.dataset}"
        info = train.train_vae_model(args.dataset, name=name, out_dir=out,
                                     conditional=args.conditional, latent_dim=args.latent_dim or 16,
                                     beta=args.beta, likelihood=args.likelihood, sigma=args.sigma,
                                     epochs=args.epochs, batch_size=args.batch_size,
                                     width=args.width, data_dir=args.data_dir,
                                     checkpoint_dir=args.checkpoint_dir, resume=args.resume,
                                     command=command)
    elif args.what == "classifier":
        info = train.train_domain_classifier(args.dataset, out_dir=out, epochs=args.epochs,
                                             data_dir=args.data_dir, command=command)
    else:
        name = args.name or f"{'cgan' if args.conditional else 'dcgan'}_{args.dataset}"
        info = train.train_gan_model(args.dataset, name=name, out_dir=out,
                                     conditional=args.conditional, epochs=args.epochs,
                                     batch_size=args.batch_size, loss=args.loss, width=args.width,
                                     latent_dim=args.latent_dim or 64,
                                     data_dir=args.data_dir, checkpoint_dir=args.checkpoint_dir,
                                     resume=args.resume, command=command)
    print(f"saved {out / info['file']} in {info['train_seconds']} s; metrics: {info['metrics']}")
    return 0


def cmd_models(args) -> int:
    from augkit import zoo

    models = zoo.manifest()
    if not models:
        print("no shipped models")
        return 0
    print(f"{'name':<22} {'kind':<11} {'dataset':<8} {'train s':>8}  metrics")
    for name, e in sorted(models.items()):
        shown = {k: v for k, v in e["metrics"].items() if k != "class_histogram"}
        print(f"{name:<22} {e['kind']:<11} {e['dataset']:<8} {e['train_seconds']:>8}  {shown}")
    return 0


def cmd_sample(args) -> int:
    from augkit import train, zoo

    if args.n <= 0:
        raise UsageError(f"--n must be positive, got {args.n}")
    try:
        zoo.entry(args.model)
    except zoo.ModelNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if args.label is not None and not 0 <= args.label <= 9:
        raise UsageError(f"--label must be a class in 0..9, got {args.label}")
    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out must end in .npz, got {out}")
    if not out.parent.exists() or not os.access(out.parent, os.W_OK):
        raise UsageError(f"cannot write {out}: folder {out.parent} is missing or not writable")
    x, y = train.sample_to_file(args.model, args.n, args.label, args.seed, out)
    print(f"wrote {out}: x {x.shape} {x.dtype}, y {y.shape}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="augkit", description="augkit: generative data augmentation kit")
    p.add_argument("--version", action="version", version=f"augkit {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="datasets, versions, devices, quick mode")
    info.add_argument("--data-dir", help=f"dataset directory (default: ${config.DATA_ENV})")
    info.set_defaults(func=cmd_info)
    run = sub.add_parser("run", help="execute a notebook headless (e.g. 'augkit run 00')")
    run.add_argument("notebook", help="notebook path or name prefix, e.g. 00")
    run.add_argument("--out-dir", default="runs", help="where the executed copy goes (default: runs/)")
    run.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    run.set_defaults(func=cmd_run)

    tr = sub.add_parser("train", help="train a model and record it in a manifest")
    tr.add_argument("what", choices=["gan", "vae", "classifier"])
    tr.add_argument("--dataset", choices=["mnist", "fashion_mnist", "cifar10"], default="mnist")
    tr.add_argument("--conditional", action="store_true",
                    help="conditional GAN/VAE (labeled samples)")
    tr.add_argument("--loss", default="non_saturating",
                    help="GAN loss: non_saturating, minimax, least_squares, hinge or wgan_gp")
    tr.add_argument("--latent-dim", type=int, help="latent size (default: GAN 64, VAE 16)")
    tr.add_argument("--beta", type=float, default=1.0, help="VAE: weight of the KL term")
    tr.add_argument("--likelihood", choices=["bernoulli", "gaussian"],
                    help="VAE decoder (default: bernoulli for digits, gaussian for CIFAR-10)")
    tr.add_argument("--sigma", type=float, default=0.1,
                    help="VAE: the Gaussian decoder's standard deviation on [0, 1] pixels")
    tr.add_argument("--epochs", type=int, default=8)
    tr.add_argument("--batch-size", type=int, default=64)
    tr.add_argument("--width", type=int, default=32, help="network width (filters)")
    tr.add_argument("--name", help="model name (default: cgan_/dcgan_/cvae_/vae_DATASET)")
    tr.add_argument("--data-dir")
    tr.add_argument("--checkpoint-dir", help="save every epoch here (resume with --resume)")
    tr.add_argument("--resume", action="store_true")
    tr.add_argument("--out-dir", default="runs/models")
    tr.add_argument("--ship", action="store_true", help="write into augkit/weights (maintainers)")
    tr.set_defaults(func=cmd_train)
    sub.add_parser("models", help="list shipped models").set_defaults(func=cmd_models)
    sa = sub.add_parser("sample", help="write generated images (x) and labels (y) to an .npz")
    sa.add_argument("--model", required=True)
    sa.add_argument("--n", type=int, required=True)
    sa.add_argument("--label", type=int)
    sa.add_argument("--seed", type=int, default=0)
    sa.add_argument("--out", required=True)
    sa.set_defaults(func=cmd_sample)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, data.DataNotFoundError, data.DataFormatError, ValueError,
            FileNotFoundError, RuntimeError) as exc:
        print(f"augkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"augkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
