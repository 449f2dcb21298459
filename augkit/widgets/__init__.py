"""Interactive widgets for the notebooks (ipywidgets 8, JupyterLab 4), one module per family.

* :mod:`augkit.widgets.base`: the contract they all follow (:class:`~augkit.widgets.base.LiveFigure`:
  controls -> compute -> draw -> ``.state``), :func:`render_into` and :func:`class_buttons`;
* :mod:`augkit.widgets.data`: the data notebooks 00 and 03 (subset preview, augmentation gallery);
* :mod:`augkit.widgets.theory`: the derivations of notebooks 01 and 02 (no deep learning);
* :mod:`augkit.widgets.gan`: watching and probing GANs, notebooks 04 and 06;
* :mod:`augkit.widgets.vae`: walking a VAE's latent space, notebooks 05 and 06.
* :mod:`augkit.widgets.fidelity`: precision, recall, density and coverage on toy 2-D data, notebook 07.

Import a family module (``from augkit.widgets import gan as gan_widgets``); this package itself
imports only the light base, so ``import augkit.widgets`` does not start TensorFlow.
"""

from augkit.widgets.base import LiveFigure, class_buttons, render_into

__all__ = ["LiveFigure", "class_buttons", "render_into"]
