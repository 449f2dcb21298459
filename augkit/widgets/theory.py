"""The derivation widgets: sliders that recompute a derivation's quantities with
:mod:`augkit.theory` and redraw its figure (no deep learning, so they run instantly).

Each is a :class:`augkit.widgets.base.LiveFigure`: ``.controls`` by name, ``.state`` with the
quantities for the current values, ``.figure``, ``.readout`` and ``.widget``.
:class:`GanValueWidget` and :class:`GeneratorGradientWidget` are introduced in
``notebooks/01_gan_objective.ipynb``; :class:`GaussianKLWidget` and
:class:`BetaRateDistortionWidget` in ``notebooks/02_vae_elbo.ipynb``.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from augkit import theory
from augkit.widgets.base import LiveFigure

_LAYOUT = widgets.Layout(width="420px")
_STYLE = {"description_width": "150px"}


def _slider(description: str, value: float, lo: float, hi: float, step: float,
            fmt: str = ".2f") -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               readout_format=fmt, continuous_update=False, layout=_LAYOUT,
                               style=_STYLE)


def _log_slider(description: str, value: float, lo_exp: float, hi_exp: float,
                step: float = 0.05, fmt: str = ".3g") -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(value=value, base=10, min=lo_exp, max=hi_exp, step=step,
                                  description=description, readout_format=fmt,
                                  continuous_update=False, layout=_LAYOUT, style=_STYLE)


class _TheoryFigure(LiveFigure):
    """Line plots redraw quickly; a little more resolution keeps the formulas readable."""

    dpi = 90


# --------------------------------------------------------------------------- GAN

class GanValueWidget(_TheoryFigure):
    r"""Generator mean and spread against a fixed data density: live :math:`p_{\text{data}}`,
    :math:`p_g`, :math:`D^*`, :math:`V(D^*, G)` and the JSD.

    ``state``: ``value``, ``jsd``, ``value_from_jsd`` (:math:`-\log 4 + 2\,\mathrm{JSD}`),
    ``d_star``, ``p_data``, ``p_g``, ``x``, and the sweep ``sweep_means``/``sweep_jsd``
    (JSD against the generator mean at the current spread) with its minimizer
    ``best_mean``. Introduced in ``notebooks/01_gan_objective.ipynb``.
    """

    def __init__(self, data: str = "one Gaussian", g_mean: float = -1.5, g_std: float = 1.0):
        self.x = theory.grid(-12.0, 12.0, 4001)
        self.sweep_means = np.linspace(-4.0, 4.0, 81)
        controls = {
            "data": widgets.Dropdown(options=list(theory.DATA_DENSITIES), value=data,
                                     description="data density", layout=_LAYOUT, style=_STYLE),
            "g_mean": _slider("generator mean", g_mean, -4.0, 4.0, 0.1),
            "g_std": _slider("generator spread", g_std, 0.2, 2.5, 0.05),
        }
        super().__init__(controls)

    def compute(self, data: str, g_mean: float, g_std: float) -> dict:
        x = self.x
        # Normalized on the grid, so that -log 4 + 2 JSD matches V to rounding error.
        p_data = theory.normalize(theory.data_density(data, x), x)
        p_g = theory.normalize(theory.gaussian_pdf(x, g_mean, g_std), x)
        state = theory.gan_quantities(p_data, p_g, x)
        sweep = np.array([theory.js_divergence(p_data, theory.gaussian_pdf(x, m, g_std), x)
                          for m in self.sweep_means])
        state.update(x=x, p_data=p_data, p_g=p_g, g_mean=g_mean, g_std=g_std,
                     sweep_means=self.sweep_means, sweep_jsd=sweep,
                     best_mean=float(self.sweep_means[np.argmin(sweep)]))
        return state

    def describe(self, s: dict) -> str:
        return (f"V(D*, G) = <b>{s['value']:.4f}</b> &nbsp; JSD = <b>{s['jsd']:.4f}</b> nats "
                f"&nbsp; -log 4 + 2 JSD = {s['value_from_jsd']:.4f} &nbsp; "
                f"(global minimum -log 4 = {-theory.LOG4:.4f})")

    def draw(self, fig: Figure, s: dict) -> None:
        ax, ax_sweep = fig.subplots(1, 2, width_ratios=[1.6, 1.0])
        keep = (s["x"] > -6) & (s["x"] < 6)
        x = s["x"][keep]
        ax.fill_between(x, s["p_data"][keep], alpha=0.3, color="C0", label=r"$p_{data}$")
        ax.plot(x, s["p_g"][keep], color="C3", label=r"$p_g$")
        ax.set_ylabel("density")
        ax.set_xlabel("x")
        ax_d = ax.twinx()
        ax_d.plot(x, s["d_star"][keep], "k--", lw=1.2, label=r"$D^*(x)$")
        ax_d.axhline(0.5, color="0.6", lw=0.8)
        ax_d.set_ylim(0, 1)
        ax_d.set_ylabel(r"$D^*(x)$")
        lines = ax.get_legend_handles_labels()
        lines_d = ax_d.get_legend_handles_labels()
        ax.legend(lines[0] + lines_d[0], lines[1] + lines_d[1], loc="upper left", fontsize=8)
        ax.set_title(f"V(D*,G) = {s['value']:.3f},  JSD = {s['jsd']:.3f}")
        ax_sweep.plot(s["sweep_means"], s["sweep_jsd"], color="C2")
        ax_sweep.plot([s["g_mean"]], [s["jsd"]], "o", color="C3")
        ax_sweep.axhline(np.log(2.0), color="0.6", lw=0.8, ls=":", label="log 2 (maximum)")
        ax_sweep.legend(fontsize=8, loc="lower right")
        ax_sweep.set_xlabel("generator mean")
        ax_sweep.set_ylabel("JSD (nats)")
        ax_sweep.set_ylim(0, 0.75)
        ax_sweep.set_title(f"JSD vs generator mean, spread {s['g_std']:.2f}", fontsize=10)


class GeneratorGradientWidget(_TheoryFigure):
    r"""A slider for :math:`D(G(z))` shows both generator losses and their gradients.

    ``state``: ``d``, ``saturating`` and ``non_saturating`` (gradients w.r.t. the fake
    logit, as in :func:`augkit.theory.generator_gradients`), ``ratio`` (non-saturating /
    saturating), ``loss_saturating`` and ``loss_non_saturating``.
    Introduced in ``notebooks/01_gan_objective.ipynb``.
    """

    figsize = (10.0, 3.2)

    def __init__(self, d: float = 0.01):
        self.curve = np.logspace(-4, np.log10(0.99), 300)
        super().__init__({"d": _log_slider("D(G(z))", d, -4.0, np.log10(0.99))})

    def compute(self, d: float) -> dict:
        grads = theory.generator_gradients(d)
        return {"d": float(d), "saturating": float(grads["saturating"]),
                "non_saturating": float(grads["non_saturating"]),
                "ratio": float(grads["ratio"]),
                "loss_saturating": float(theory.saturating_generator_loss(d)),
                "loss_non_saturating": float(theory.non_saturating_generator_loss(d))}

    def describe(self, s: dict) -> str:
        return (f"D(G(z)) = {s['d']:.4g}: gradient w.r.t. the logit, saturating "
                f"<b>{s['saturating']:.4g}</b>, non-saturating <b>{s['non_saturating']:.4g}</b> "
                f"(ratio {s['ratio']:.3g})")

    def draw(self, fig: Figure, s: dict) -> None:
        ax_loss, ax_grad = fig.subplots(1, 2)
        d = self.curve
        ax_loss.plot(d, theory.saturating_generator_loss(d), label=r"minimax: $\log(1-D)$")
        ax_loss.plot(d, theory.non_saturating_generator_loss(d),
                     label=r"non-saturating: $-\log D$")
        ax_loss.plot([s["d"]] * 2, [s["loss_saturating"], s["loss_non_saturating"]], "ko", ms=4)
        ax_loss.set_ylabel("generator loss (minimized)")
        ax_grad.plot(d, np.abs(theory.saturating_generator_gradient(d)), label="minimax")
        ax_grad.plot(d, np.abs(theory.non_saturating_generator_gradient(d)),
                     label="non-saturating")
        ax_grad.plot([s["d"]] * 2, [abs(s["saturating"]), abs(s["non_saturating"])], "ko", ms=4)
        ax_grad.set_yscale("log")
        ax_grad.set_ylabel("|d loss / d logit|")
        for ax in (ax_loss, ax_grad):
            ax.set_xscale("log")
            # a log axis's minor ticks took 40 % of a redraw; the decades are enough here
            ax.minorticks_off()
            ax.set_xlabel("D(G(z))  (fakes rejected  <-  ->  fakes accepted)")
            ax.axvline(s["d"], color="0.6", lw=0.8)
            ax.legend(fontsize=8)


# --------------------------------------------------------------------------- VAE

class GaussianKLWidget(_TheoryFigure):
    r"""Sliders for :math:`\mu` and :math:`\sigma` of :math:`q(z \mid x)` show the prior,
    the posterior and :math:`\mathrm{KL}(q\,\|\,p)`.

    ``state``: ``mu``, ``sigma``, ``kl`` (analytic), ``kl_grid`` (numerical integral, a
    cross-check), ``cross_entropy`` and ``entropy`` (:func:`augkit.theory.gaussian_kl_terms`),
    ``z``, ``prior``, ``posterior``. Introduced in ``notebooks/02_vae_elbo.ipynb``.
    """

    def __init__(self, mu: float = 1.0, sigma: float = 0.5):
        self.z = theory.grid(-8.0, 8.0, 4001)
        self.map_mu = np.linspace(-3.0, 3.0, 121)
        self.map_sigma = np.linspace(0.1, 3.0, 117)
        m, s = np.meshgrid(self.map_mu, self.map_sigma)
        self.kl_map = theory.gaussian_kl(m[..., None], 2.0 * np.log(s)[..., None])
        super().__init__({"mu": _slider("posterior mean μ", mu, -3.0, 3.0, 0.05),
                          "sigma": _slider("posterior std σ", sigma, 0.1, 3.0, 0.05)})

    def compute(self, mu: float, sigma: float) -> dict:
        prior = theory.gaussian_pdf(self.z, 0.0, 1.0)
        posterior = theory.gaussian_pdf(self.z, mu, sigma)
        terms = theory.gaussian_kl_terms(mu, sigma)
        kl = float(theory.gaussian_kl([mu], [2.0 * np.log(sigma)]))
        return {"mu": mu, "sigma": sigma, "kl": kl,
                "kl_grid": theory.kl_divergence(posterior, prior, self.z),
                "cross_entropy": terms["cross_entropy"], "entropy": terms["entropy"],
                "z": self.z, "prior": prior, "posterior": posterior}

    def describe(self, s: dict) -> str:
        return (f"KL(q || p) = <b>{s['kl']:.4f}</b> nats (numerical integral "
                f"{s['kl_grid']:.4f}) = cross-entropy {s['cross_entropy']:.4f} "
                f"- entropy {s['entropy']:.4f}")

    def draw(self, fig: Figure, s: dict) -> None:
        ax, ax_map = fig.subplots(1, 2, width_ratios=[1.5, 1.0])
        keep = (s["z"] > -5) & (s["z"] < 5)
        z, q, p = s["z"][keep], s["posterior"][keep], s["prior"][keep]
        ax.plot(z, p, color="C0", label=r"prior $p(z) = \mathcal{N}(0, 1)$")
        ax.plot(z, q, color="C3", label=rf"$q(z|x) = \mathcal{{N}}({s['mu']:.2f}, "
                                        rf"{s['sigma']:.2f}^2)$")
        integrand = theory.xlogy(q, q) - theory.xlogy(q, p)
        # Scaled into view: only its sign and shape matter here; its integral is the KL.
        scale = max(np.abs(integrand).max() / max(q.max(), p.max()), 1.0)
        ax.fill_between(z, integrand / scale, color="C1", alpha=0.3,
                        label=r"$q \log(q/p)$" + (f" / {scale:.1f}" if scale > 1 else ""))
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_xlabel("z")
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title(f"KL(q || p) = {s['kl']:.3f} nats")
        levels = [0.01, 0.1, 0.25, 0.5, 1, 2, 4]
        cs = ax_map.contour(self.map_mu, self.map_sigma, self.kl_map, levels=levels,
                            cmap="viridis")
        ax_map.clabel(cs, fontsize=7)
        ax_map.plot([0], [1], "k+", ms=10)
        ax_map.plot([s["mu"]], [s["sigma"]], "o", color="C3")
        ax_map.set_xlabel(r"$\mu$")
        ax_map.set_ylabel(r"$\sigma$")
        ax_map.set_title("KL over (μ, σ); + marks the prior")


class BetaRateDistortionWidget(_TheoryFigure):
    r"""A beta slider on a 2-D linear-Gaussian VAE, solved in closed form.

    Data :math:`x \sim \mathcal N(0, \mathrm{diag}(\lambda_1, \lambda_2))`, decoder noise
    variance :math:`s^2`; the optimum is :func:`augkit.theory.linear_vae_optimum`.
    ``state``: ``beta``, ``total_rate`` (nats), ``total_mse``, ``rate`` and ``mse`` per
    dimension, ``active`` (dimensions still encoded), ``shrink`` (the factor
    :math:`E[\hat x \mid x] / x` per dimension), ``loss``.
    Introduced in ``notebooks/02_vae_elbo.ipynb``.
    """

    figsize = (11.0, 3.4)

    def __init__(self, beta: float = 1.0, variances=(4.0, 1.0), noise_var: float = 0.25,
                 seed: int = 0):
        self.variances = np.asarray(variances, dtype=np.float64)
        self.noise_var = float(noise_var)
        self.sweep_betas = np.logspace(-2, 2.5, 200)
        sweep = [theory.linear_vae_optimum(self.variances, b, self.noise_var)
                 for b in self.sweep_betas]
        self.sweep_rate = np.array([o["total_rate"] for o in sweep])
        self.sweep_mse = np.array([o["total_mse"] for o in sweep])
        self.sweep_rates = np.array([o["rate"] for o in sweep])
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((300, len(self.variances))) * np.sqrt(self.variances)
        super().__init__({"beta": _log_slider("β", beta, -2.0, 2.5)})

    def compute(self, beta: float) -> dict:
        opt = theory.linear_vae_optimum(self.variances, beta, self.noise_var)
        return {"beta": float(beta), "total_rate": opt["total_rate"],
                "total_mse": opt["total_mse"], "rate": opt["rate"], "mse": opt["mse"],
                "active": opt["active"], "shrink": opt["w"] * opt["a"], "loss": opt["loss"],
                "water_level": float(beta * self.noise_var)}

    def describe(self, s: dict) -> str:
        return (f"β = {s['beta']:.3g}: rate <b>{s['total_rate']:.3f}</b> nats, distortion "
                f"(MSE) <b>{s['total_mse']:.3f}</b>, latent dimensions in use: "
                f"{int(s['active'].sum())} of {len(s['active'])} "
                f"(water level β·s² = {s['water_level']:.3g})")

    def draw(self, fig: Figure, s: dict) -> None:
        ax_rd, ax_rate, ax_x = fig.subplots(1, 3, width_ratios=[1.0, 1.0, 0.9])
        ax_rd.plot(self.sweep_rate, self.sweep_mse, color="0.3")
        ax_rd.plot([s["total_rate"]], [s["total_mse"]], "o", color="C3")
        ax_rd.set_xlabel("rate  E KL(q(z|x) || p(z))  [nats]")
        ax_rd.set_ylabel("distortion  E ||x - x̂||²")
        ax_rd.set_title("rate-distortion curve")
        for i in range(len(self.variances)):
            ax_rate.plot(self.sweep_betas, self.sweep_rates[:, i],
                         label=f"latent {i + 1} (data variance {self.variances[i]:g})")
        ax_rate.axvline(s["beta"], color="C3", lw=1)
        ax_rate.set_xscale("log")
        ax_rate.minorticks_off()  # they cost a third of a redraw (see GeneratorGradientWidget)
        ax_rate.set_xlabel("β")
        ax_rate.set_ylabel("rate per latent [nats]")
        ax_rate.legend(fontsize=7)
        ax_rate.set_title("posterior collapse, one dimension at a time")
        recon = self.x * s["shrink"]
        for start, end in zip(self.x[:40], recon[:40], strict=True):  # a few x -> x̂ moves
            ax_x.plot([start[0], end[0]], [start[1], end[1]], color="C3", lw=0.5, alpha=0.6)
        ax_x.scatter(*self.x.T, s=3, c="0.7", label="data x")
        ax_x.scatter(*recon.T, s=3, c="C3", label="mean reconstruction")
        ax_x.set_xlim(-6, 6)
        ax_x.set_ylim(-6, 6)
        ax_x.set_aspect("equal")
        ax_x.legend(fontsize=7, loc="upper left")
        ax_x.set_title("reconstructions shrink toward 0")
