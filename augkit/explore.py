"""``augkit explore``: the kit's explorers as a small web app, for people who want to move the
sliders without reading code, and for a classroom projector.

Each page is a tiny notebook (a title, a paragraph for a reader who has not opened the course,
one call to :func:`show`) that Voila runs and renders without its code. The pages are written
from :data:`PAGES` into a folder when the app starts, so they can never drift from the
package; Voila serves that folder on 127.0.0.1 with everything it needs (no CDN request is
needed to render; the browser test blocks the network to prove it).

Every explorer is a :class:`augkit.widgets.base.LiveFigure` introduced in a notebook; this
module only builds them from shipped models, shipped study results and the data loader.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as W


@dataclass(frozen=True)
class Page:
    name: str   # the file name in the app, and the key for show()
    title: str
    text: str   # markdown for a reader who has not opened the course


PAGES = (
    Page("1-augmentation-gallery", "Augmentation gallery",
         "Classic augmentation makes new training images by transforming real ones. Move "
         "**strength** to scale every transform at once, or a single slider to change one "
         "transform. Each row is one digit, each column one random augmented copy. Where does "
         "a 6 start to look like a 9? (Notebook 03 measures what this does for a classifier.)"),
    Page("2-gan-value-function", "The GAN value function",
         "A GAN's discriminator D tells real data from the generator's. For a fixed generator the "
         "best D has a closed form, D*(x) = p_data(x) / (p_data(x) + p_g(x)), and the value of "
         "the game is then -log 4 + 2 JSD(p_data || p_g). Move the generator's mean and spread: "
         "the value reaches its minimum, -log 4, only when the two densities match. (Notebook 01 "
         "derives it.)"),
    Page("3-conditional-gan", "Conditional GAN",
         "A conditional GAN draws an image of the class you ask for. Pick a class and a "
         "**seed** (the random noise) to see 20 digits; below, walk in a straight line between "
         "two noise vectors of one class (**t** from 0 to 1): the class stays, the style changes. "
         "At the bottom, the same kind of model trained on CIFAR-10 photos on a CPU. "
         "(Notebooks 04 and 06 train them.)"),
    Page("4-vae-latent-space", "VAE latent space",
         "A variational autoencoder squeezes each digit into a code, here only two numbers. "
         "Left: the codes of test digits, coloured by class; the cross is where the two sliders "
         "point. Right: the digit the decoder draws from that code. Move between class regions "
         "and watch one digit turn into another. (Notebook 05.)"),
    Page("5-study-results", "Does generated data help a classifier?",
         "The kit's downstream study trained small classifiers on a few labeled images, with and "
         "without extra images: classic augmentation, images from a conditional GAN or VAE, "
         "semi-supervised models. Pick a dataset, a setting (fair: the generator saw only the "
         "classifier's labeled images; pool: it also saw unlabeled ones; leaky: it saw every "
         "label, which inflates gains), a labeled set size and a strategy: left, each seed "
         "against the classifier trained on the real images alone; right, every strategy's "
         "gain with its 95 % interval. (Notebook 08 explains every number.)"),
)
NAMES = tuple(p.name for p in PAGES)
START = "0-start"  # the page `augkit explore` opens: a short index of the others


def start_page() -> str:
    """Markdown of the start page: one link and one line per explorer."""
    lines = ["# augkit explorers", "",
             "Generative data augmentation, to explore without code. Each page runs a small "
             "model or a shipped result of the kit live: move the sliders and the pictures "
             "redraw. The course itself (the maths, the training, the study) is in the "
             "notebooks of `augkit`.", ""]
    for page in PAGES:
        lines.append(f"- [{page.title}]({page.name}.ipynb): {page.text.split('. ')[0]}.")
    return "\n".join(lines)


def _mnist():
    from augkit import data

    return data.load("mnist")


def gallery():
    """Three MNIST digits (a 1, a 6, a 7) under classic augmentation
    (:class:`~augkit.widgets.data.AugmentGallery`, notebook 03)."""
    import numpy as np

    from augkit.widgets.data import AugmentGallery

    (x, y), _ = _mnist()
    samples = x[[np.flatnonzero(y == c)[0] for c in (1, 6, 7)]]
    return [AugmentGallery(samples, "mnist", strength=1.0, copies=8)]


def value_function():
    """:class:`~augkit.widgets.theory.GanValueWidget` (notebook 01)."""
    from augkit.widgets.theory import GanValueWidget

    return [GanValueWidget(data="one Gaussian", g_mean=-1.5, g_std=1.0)]


def conditional_gan():
    """The shipped conditional GANs: class and seed, then a latent walk (notebooks 04, 06)."""
    from augkit import datasets, zoo
    from augkit.widgets.gan import ConditionalExplorer, LatentInterpolation

    mnist = zoo.load_generator_model("cgan_mnist")
    shown = [ConditionalExplorer(mnist, datasets.get("mnist").class_names),
             LatentInterpolation(mnist, label=3)]
    try:  # the CIFAR-10 generator needs no data, but say so if its weights are missing
        cifar = zoo.load_generator_model("cgan_cifar10")
        shown.append(ConditionalExplorer(cifar, datasets.get("cifar10").class_names))
    except (FileNotFoundError, KeyError, ValueError) as exc:
        shown.append(W.HTML(f"<p>CIFAR-10 generator not available: {exc}</p>"))
    return shown


def vae_latent():
    """The 2-D VAE's latent space over 2,000 encoded test digits
    (:class:`~augkit.widgets.vae.LatentSliders`, notebook 05)."""
    from augkit import datasets, zoo
    from augkit.widgets.vae import LatentSliders

    _, (x_test, y_test) = _mnist()
    model = zoo.load_generator_model("vae2d_mnist")
    mu, _ = model.encode(x_test[:2000])
    return [LatentSliders(model, dims=2, background=(mu, y_test[:2000]),
                          class_names=datasets.get("mnist").class_names)]


def study_results():
    """Every shipped result of the downstream study
    (:class:`~augkit.widgets.study.ResultsExplorer`, notebook 08)."""
    from augkit import study
    from augkit.widgets.study import ResultsExplorer

    rows = study.shipped_results()
    if not rows:
        return [W.HTML("<p>No shipped study results in this installation.</p>")]
    return [ResultsExplorer(rows)]


BUILDERS = dict(zip(NAMES, (gallery, value_function, conditional_gan, vae_latent,
                            study_results), strict=True))


def build(name: str) -> list:
    """The explorers of page ``name`` (widgets, or HTML notes where something is missing)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown explorer page {name!r}; pages: {', '.join(NAMES)}")
    return BUILDERS[name]()


def show(name: str) -> None:
    """Display page ``name``'s explorers (the one code cell of each page)."""
    from IPython.display import display

    for item in build(name):
        display(item.widget if hasattr(item, "widget") else item)


def write_pages(folder) -> list[Path]:
    """Write one notebook per page into ``folder``; returns their paths."""
    import nbformat

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    pages = {START: [nbformat.v4.new_markdown_cell(start_page())]}
    for page in PAGES:
        pages[page.name] = [
            nbformat.v4.new_markdown_cell(f"# {page.title}\n\n{page.text}"),
            nbformat.v4.new_code_cell(f"from augkit import explore\nexplore.show({page.name!r})"),
            nbformat.v4.new_markdown_cell(f"[← all explorers]({START}.ipynb)")]
    paths = []
    for name, cells in pages.items():
        nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel})
        path = folder / f"{name}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def voila_command(folder, port: int) -> list[str]:
    """The Voila server for ``folder``: localhost only, tracebacks hidden from the page."""
    return [sys.executable, "-m", "voila", str(folder), f"--port={port}",
            "--Voila.port_retries=0",  # fail, never move to a port other than the URL we print
            "--Voila.ip=127.0.0.1", "--theme=light", "--no-browser"]


def check_port_free(port: int) -> None:
    """A ``ValueError`` if something already listens on 127.0.0.1:``port``, before Voila starts
    (Voila itself would print its error among its log lines)."""
    import errno
    import socket

    with socket.socket() as probe:
        # as Voila's server binds: a port left in TIME_WAIT by a closed server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"is refused ({exc.strerror})"
            raise ValueError(f"port {port} {why}; choose another with --port") from None


def start_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/voila/render/{START}.ipynb"


def _open_when_up(url: str, timeout: float = 60.0) -> None:
    """Open ``url`` in the user's browser once the server answers (Voila itself would open
    its file list, not the start page)."""
    import time
    import urllib.request
    import webbrowser

    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            webbrowser.open(url)
            return
        except OSError:
            time.sleep(0.5)


def serve(port: int = 8866, open_browser: bool = True, data_dir=None) -> int:
    """Write the pages into a temporary folder and run Voila on it until interrupted."""
    import importlib.util

    if importlib.util.find_spec("voila") is None:
        raise RuntimeError("augkit explore needs Voila: pip install voila (it is in augkit's "
                           "dependencies; reinstall augkit with `pip install -e .`)")
    from augkit import config

    check_port_free(port)
    config.pin_data_dir()  # the pages' kernels start in a temporary folder, not here
    env = dict(os.environ)
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"--data-dir {data_dir} is not a directory")
        env["AUGKIT_DATA_DIR"] = str(folder.resolve())
    with tempfile.TemporaryDirectory(prefix="augkit-explore-") as folder:
        write_pages(folder)
        print(f"augkit explore: {start_url(port)} ({len(PAGES)} explorers; Ctrl-C stops it)",
              flush=True)
        if open_browser:
            import threading

            threading.Thread(target=_open_when_up, args=(start_url(port),), daemon=True).start()
        server = subprocess.Popen(voila_command(folder, port), env=env)
        # a plain `kill` of this process, too, runs the clean-up below
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:  # never leave Voila (and its kernels) running without us
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=30)
