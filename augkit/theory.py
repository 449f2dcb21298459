"""Numeric tools that check the GAN and VAE derivations, in numpy float64.

Everything a derivation claims is turned into a number here: densities on a 1-D grid and
integrals over it (the optimal discriminator, the value function, KL and Jensen-Shannon
divergences), the generator's gradient under the two GAN losses, Monte Carlo versus
analytic Gaussian KL, the variance of two gradient estimators, and a linear-Gaussian model
whose evidence, posterior and (beta-)ELBO are known in closed form.

Integrals use the trapezoid rule on a uniform grid. For the smooth, fast-decaying
densities used here it is accurate to far below 1e-6 as long as the grid covers the
densities' mass (:func:`normalize` removes the remaining discretization error).

GAN tools are used in ``notebooks/01_gan_objective.ipynb``, VAE tools in
``notebooks/02_vae_elbo.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LOG4 = np.log(4.0)


# --------------------------------------------------------------------------- grid and densities

def grid(lo: float = -10.0, hi: float = 10.0, n: int = 4001) -> np.ndarray:
    """A uniform 1-D grid from ``lo`` to ``hi`` with ``n`` points (float64)."""
    return np.linspace(lo, hi, n, dtype=np.float64)


def integrate(y, x) -> np.ndarray:
    r"""Trapezoid rule along the last axis: :math:`\int y\,dx \approx \sum_k
    \tfrac12 (y_k + y_{k+1})(x_{k+1} - x_k)`."""
    y = np.asarray(y, dtype=np.float64)
    dx = np.diff(np.asarray(x, dtype=np.float64))
    return np.sum(0.5 * (y[..., 1:] + y[..., :-1]) * dx, axis=-1)


def normalize(p, x) -> np.ndarray:
    """Rescale a density on the grid so that it integrates to exactly 1 there."""
    p = np.asarray(p, dtype=np.float64)
    return p / integrate(p, x)


def gaussian_pdf(x, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    r""":math:`\mathcal N(x \mid \mu, s^2) = \exp(-(x - \mu)^2 / 2s^2) / \sqrt{2\pi s^2}`."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (np.sqrt(2.0 * np.pi) * std)


def mixture_pdf(x, means, stds, weights=None) -> np.ndarray:
    r"""A Gaussian mixture :math:`\sum_k \pi_k\,\mathcal N(x \mid \mu_k, s_k^2)`.

    ``weights`` default to equal; they are renormalized to sum to 1.
    """
    means = np.atleast_1d(np.asarray(means, dtype=np.float64))
    stds = np.broadcast_to(np.asarray(stds, dtype=np.float64), means.shape)
    w = np.ones_like(means) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    return sum(wk * gaussian_pdf(x, mk, sk) for wk, mk, sk in zip(w, means, stds, strict=True))


DATA_DENSITIES = {
    "one Gaussian": dict(means=[1.0], stds=[1.0]),
    "two modes": dict(means=[-2.0, 2.0], stds=[0.6, 0.6]),
}
"""The fixed data densities that the GAN widget offers (mixture parameters)."""


def data_density(name: str, x) -> np.ndarray:
    """One of :data:`DATA_DENSITIES` evaluated on ``x``."""
    try:
        spec = DATA_DENSITIES[name]
    except KeyError:
        raise ValueError(f"unknown data density {name!r}; choose one of "
                         f"{', '.join(DATA_DENSITIES)}") from None
    return mixture_pdf(x, **spec)


def xlogy(a, b) -> np.ndarray:
    """``a * log(b)`` with the convention ``0 * log(anything) = 0`` (no warnings)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.zeros(np.broadcast(a, b).shape)
    a, b = np.broadcast_to(a, out.shape), np.broadcast_to(b, out.shape)
    pos = a != 0
    with np.errstate(divide="ignore"):
        out[pos] = a[pos] * np.log(b[pos])
    return out


# --------------------------------------------------------------------------- GAN identities

def optimal_discriminator(p_data, p_g) -> np.ndarray:
    r"""The best discriminator for a fixed generator,
    :math:`D^*(x) = p_{\text{data}}(x) / (p_{\text{data}}(x) + p_g(x))`.

    Where both densities are 0 any value is optimal (it is weighted by zero); 1/2 is used.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    total = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p_data / np.where(total > 0, total, 1.0), 0.5)


def optimal_discriminator_logit(p_data, p_g) -> np.ndarray:
    r"""The logit of :math:`D^*`: :math:`\log p_{\text{data}}(x) - \log p_g(x)`.

    Exact where :math:`D^*` itself rounds to 0 or 1 (far in a tail, ``p_g / p_data`` can be
    below 1e-16, and then ``1 - D*`` is 0.0 in floating point). ``+inf``/``-inf`` where one
    density is 0; 0 where both are.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.log(p_data) - np.log(p_g)
    return np.where((p_data == 0) & (p_g == 0), 0.0, a)


def value_function(d, p_data, p_g, x, *, logits: bool = False) -> float:
    r"""The GAN value function on the grid,
    :math:`V(D, G) = \int p_{\text{data}}(x)\log D(x) + p_g(x)\log(1 - D(x))\,dx`.

    ``d`` is the discriminator's output on the grid: a probability, or with
    ``logits=True`` its logit ``a`` (then :math:`\log D = -\mathrm{softplus}(-a)` and
    :math:`\log(1 - D) = -\mathrm{softplus}(a)`, exact in the tails, as in
    :mod:`augkit.losses`). Terms with zero density contribute 0 even where ``D`` is 0 or 1.
    """
    d = np.asarray(d, dtype=np.float64)
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if logits:
        log_d, log_1md = -np.logaddexp(0.0, -d), -np.logaddexp(0.0, d)
        integrand = (np.where(p_data > 0, p_data * np.where(p_data > 0, log_d, 0.0), 0.0)
                     + np.where(p_g > 0, p_g * np.where(p_g > 0, log_1md, 0.0), 0.0))
    else:
        integrand = xlogy(p_data, d) + xlogy(p_g, 1.0 - d)
    return float(integrate(integrand, x))


def kl_divergence(p, q, x) -> float:
    r""":math:`\mathrm{KL}(p\,\|\,q) = \int p \log(p / q)\,dx` on the grid (nats);
    infinite where ``p > 0 = q``."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore"):
        integrand = xlogy(p, p) - xlogy(p, q)
    return float(integrate(integrand, x))


def js_divergence(p, q, x) -> float:
    r"""Jensen-Shannon divergence in nats, between 0 and :math:`\log 2`.

    .. math::
        \mathrm{JSD}(p\,\|\,q) = \tfrac12 \mathrm{KL}(p\,\|\,m) + \tfrac12 \mathrm{KL}(q\,\|\,m),
        \qquad m = \tfrac12 (p + q)
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, x) + 0.5 * kl_divergence(q, m, x)


def gan_quantities(p_data, p_g, x) -> dict:
    r"""Everything the GAN derivation talks about, for one generator density.

    Returns ``d_star`` and ``d_star_logit`` (arrays), ``value`` = :math:`V(D^*, G)`
    (computed from the logit, see :func:`optimal_discriminator_logit`), ``jsd``, and
    ``value_from_jsd`` = :math:`-\log 4 + 2\,\mathrm{JSD}`, which must equal ``value``.
    """
    logit_star = optimal_discriminator_logit(p_data, p_g)
    jsd = js_divergence(p_data, p_g, x)
    return {"d_star": optimal_discriminator(p_data, p_g), "d_star_logit": logit_star,
            "value": value_function(logit_star, p_data, p_g, x, logits=True), "jsd": jsd,
            "value_from_jsd": -LOG4 + 2.0 * jsd}


def generator_objectives_at_optimum(p_data, p_g, x) -> dict:
    r"""The generator's two losses against :math:`D^*`, and what each one equals.

    .. math::
        \mathbb{E}_{p_g}\big[\log(1 - D^*)\big] = \mathrm{KL}(p_g\,\|\,m) - \log 2,
        \qquad
        \mathbb{E}_{p_g}\big[-\log D^*\big] = \mathrm{KL}(p_g\,\|\,p_{\text{data}})
            - \mathrm{KL}(p_g\,\|\,m) + \log 2

    with :math:`m = (p_{\text{data}} + p_g)/2`. The non-saturating loss thus contains a
    *reverse* KL, which punishes mass where the data has none far more than a missing
    mode (Arjovsky & Bottou, 2017). Keys: ``minimax``, ``minimax_identity``,
    ``non_saturating``, ``non_saturating_identity``.
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    a = optimal_discriminator_logit(p_data, p_g)
    # log D* = -softplus(-a), log(1 - D*) = -softplus(a), exact in the tails.
    with np.errstate(invalid="ignore"):
        minimax = np.where(p_g > 0, p_g * -np.logaddexp(0.0, a), 0.0)
        non_sat = np.where(p_g > 0, p_g * np.logaddexp(0.0, -a), 0.0)
    m = 0.5 * (p_data + p_g)
    kl_gm = kl_divergence(p_g, m, x)
    return {"minimax": float(integrate(minimax, x)),
            "minimax_identity": kl_gm - np.log(2.0),
            "non_saturating": float(integrate(non_sat, x)),
            "non_saturating_identity": kl_divergence(p_g, p_data, x) - kl_gm + np.log(2.0)}


def cdf(p, x) -> np.ndarray:
    r"""Cumulative integral :math:`F(x_k) = \int_{x_0}^{x_k} p` on the grid (trapezoid)."""
    p = np.asarray(p, dtype=np.float64)
    steps = 0.5 * (p[1:] + p[:-1]) * np.diff(np.asarray(x, dtype=np.float64))
    return np.concatenate([[0.0], np.cumsum(steps)])


def wasserstein1(p, q, x) -> float:
    r"""Earth mover's distance between two 1-D densities,
    :math:`W_1(p, q) = \int |F_p(x) - F_q(x)|\,dx`.

    Unlike the JSD, it keeps growing with the distance between non-overlapping densities,
    which is why the Wasserstein GAN's critic still gives the generator a useful signal.
    """
    return float(integrate(np.abs(cdf(p, x) - cdf(q, x)), x))


def pointwise_objective(y, a: float, b: float) -> np.ndarray:
    r""":math:`a \log y + b \log(1 - y)`, the integrand of :math:`V` at one point, with
    :math:`a = p_{\text{data}}(x)`, :math:`b = p_g(x)`; maximized at :math:`y = a/(a+b)`."""
    y = np.asarray(y, dtype=np.float64)
    return xlogy(a, y) + xlogy(b, 1.0 - y)


def logit(p) -> np.ndarray:
    r""":math:`\log p - \log(1 - p)`, the inverse of the sigmoid."""
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def saturating_generator_loss(d) -> np.ndarray:
    r""":math:`\log(1 - D(G(z)))` as a function of :math:`D(G(z))` (minimized by G)."""
    return np.log1p(-np.asarray(d, dtype=np.float64))


def non_saturating_generator_loss(d) -> np.ndarray:
    r""":math:`-\log D(G(z))` as a function of :math:`D(G(z))` (minimized by G)."""
    return -np.log(np.asarray(d, dtype=np.float64))


def saturating_generator_gradient(d) -> np.ndarray:
    r"""Derivative of :math:`\log(1 - \sigma(a))` with respect to the logit ``a``, as a
    function of :math:`D = \sigma(a)`: :math:`-D`. Vanishes as :math:`D \to 0`."""
    return -np.asarray(d, dtype=np.float64)


def non_saturating_generator_gradient(d) -> np.ndarray:
    r"""Derivative of :math:`-\log \sigma(a)` with respect to the logit ``a``, as a
    function of :math:`D = \sigma(a)`: :math:`-(1 - D)`. Close to -1 as :math:`D \to 0`."""
    return -(1.0 - np.asarray(d, dtype=np.float64))


def generator_gradients(d) -> dict:
    """Both generator gradients (w.r.t. the fake logit) and their ratio at ``D(G(z)) = d``.

    The chain rule multiplies both by the same ``d logit / d theta``, so the ratio
    ``non_saturating / saturating = (1 - D) / D`` carries over to the generator's weights.
    """
    d = np.asarray(d, dtype=np.float64)
    sat = saturating_generator_gradient(d)
    ns = non_saturating_generator_gradient(d)
    with np.errstate(divide="ignore"):
        ratio = ns / sat
    return {"d": d, "saturating": sat, "non_saturating": ns, "ratio": ratio}


# --------------------------------------------------------------------------- Gaussian KL

def gaussian_kl(mu, log_var) -> np.ndarray:
    r""":math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,\mathcal N(0, I))
    = \tfrac12 \sum_j (\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2)`, summed over the last
    axis (numpy twin of :func:`augkit.losses.gaussian_kl`)."""
    mu = np.asarray(mu, dtype=np.float64)
    log_var = np.asarray(log_var, dtype=np.float64)
    return 0.5 * np.sum(mu ** 2 + np.exp(log_var) - 1.0 - log_var, axis=-1)


def gaussian_kl_terms(mu: float, sigma: float) -> dict:
    r"""The 1-D KL to :math:`\mathcal N(0, 1)` written as cross-entropy minus entropy.

    .. math::
        \mathrm{KL}(q\,\|\,p) = \underbrace{-\mathbb{E}_q[\log p(z)]}_{\text{cross-entropy}}
          - \underbrace{(-\mathbb{E}_q[\log q(z)])}_{\text{entropy}},\quad
        -\mathbb{E}_q \log p = \tfrac12\log 2\pi + \tfrac12(\mu^2 + \sigma^2),\quad
        -\mathbb{E}_q \log q = \tfrac12\log 2\pi + \tfrac12 + \log\sigma
    """
    cross_entropy = 0.5 * np.log(2.0 * np.pi) + 0.5 * (mu ** 2 + sigma ** 2)
    entropy = 0.5 * np.log(2.0 * np.pi) + 0.5 + np.log(sigma)
    return {"cross_entropy": float(cross_entropy), "entropy": float(entropy),
            "kl": float(cross_entropy - entropy)}


def gaussian_kl_monte_carlo(mu, log_var, n_samples: int, rng: np.random.Generator) -> tuple:
    r"""Monte Carlo estimate of :math:`\mathbb{E}_{z \sim q}[\log q(z) - \log p(z)]` with
    :math:`q = \mathcal N(\mu, \mathrm{diag}\,\sigma^2)`, :math:`p = \mathcal N(0, I)`.

    ``mu`` and ``log_var`` describe one distribution (shape ``(latent,)``). Returns
    ``(estimate, standard_error)``; the estimate is unbiased, so it should land within a
    few standard errors of :func:`gaussian_kl`.
    """
    mu = np.asarray(mu, dtype=np.float64)
    log_var = np.asarray(log_var, dtype=np.float64)
    std = np.exp(0.5 * log_var)
    eps = rng.standard_normal((n_samples,) + mu.shape)
    z = mu + std * eps
    # log q(z) - log p(z); the (2 pi) constants cancel.
    log_q = np.sum(-0.5 * eps ** 2 - 0.5 * log_var, axis=-1)
    log_p = np.sum(-0.5 * z ** 2, axis=-1)
    diff = log_q - log_p
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(n_samples))


# --------------------------------------------------------------------------- gradient estimators

OBJECTIVES: dict[str, tuple[Callable, Callable, Callable]] = {
    # name: (f(z), f'(z), exact d/dmu E_{z ~ N(mu, sigma^2)}[f(z)])
    "square": (lambda z: z ** 2, lambda z: 2.0 * z, lambda mu, sigma: 2.0 * mu),
    "cos": (np.cos, lambda z: -np.sin(z),
            lambda mu, sigma: -np.sin(mu) * np.exp(-0.5 * sigma ** 2)),
}
r"""Test objectives for :math:`\nabla_\mu \mathbb{E}_{z \sim \mathcal N(\mu, \sigma^2)}[f(z)]`:
:math:`\mathbb{E}[z^2] = \mu^2 + \sigma^2` and
:math:`\mathbb{E}[\cos z] = \cos\mu\, e^{-\sigma^2/2}`."""

ESTIMATORS = ("reparameterization", "score_function", "score_function_baseline")


def gradient_estimates(mu: float, sigma: float, *, estimator: str, objective: str = "square",
                       n_samples: int = 16, n_repeats: int = 2000,
                       rng: np.random.Generator | None = None) -> np.ndarray:
    r"""``n_repeats`` independent estimates of
    :math:`\frac{d}{d\mu}\mathbb{E}_{z \sim \mathcal N(\mu, \sigma^2)}[f(z)]`,
    each averaging ``n_samples`` draws.

    * ``"reparameterization"``: :math:`z = \mu + \sigma\epsilon`, so
      :math:`\frac{d}{d\mu} f(\mu + \sigma\epsilon) = f'(z)`.
    * ``"score_function"`` (REINFORCE): :math:`f(z)\,\nabla_\mu \log q(z)
      = f(z)\,(z - \mu)/\sigma^2`; needs no derivative of ``f``.
    * ``"score_function_baseline"``: :math:`(f(z) - b)(z - \mu)/\sigma^2` with the
      leave-one-out mean of ``f`` as baseline ``b`` (still unbiased; lower variance).
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
    if estimator == "score_function_baseline" and n_samples < 2:
        raise ValueError("a leave-one-out baseline needs n_samples >= 2")
    f, df, _ = OBJECTIVES[objective]
    rng = np.random.default_rng(0) if rng is None else rng
    eps = rng.standard_normal((n_repeats, n_samples))
    z = mu + sigma * eps
    if estimator == "reparameterization":
        per_sample = df(z)
    else:
        fz = f(z)
        if estimator == "score_function_baseline":
            # The baseline for sample i must not use sample i, or the estimator is biased.
            fz = fz - (fz.sum(axis=1, keepdims=True) - fz) / (n_samples - 1)
        per_sample = fz * (z - mu) / sigma ** 2
    return per_sample.mean(axis=1)


def compare_gradient_estimators(mu: float = 1.0, sigma: float = 1.0, *,
                                objective: str = "square", n_samples: int = 16,
                                n_repeats: int = 2000, seed: int = 0) -> dict:
    """Mean and variance over repeats of each estimator in :data:`ESTIMATORS`, and the
    exact gradient. Keys: ``true``, and ``<estimator>_mean`` / ``<estimator>_var``."""
    rng = np.random.default_rng(seed)
    out = {"true": float(OBJECTIVES[objective][2](mu, sigma))}
    for name in ESTIMATORS:
        est = gradient_estimates(mu, sigma, estimator=name, objective=objective,
                                 n_samples=n_samples, n_repeats=n_repeats, rng=rng)
        out[f"{name}_mean"] = float(est.mean())
        out[f"{name}_var"] = float(est.var(ddof=1))
    return out


# --------------------------------------------------------------------------- linear-Gaussian model

def log_mean_exp(a, axis=None) -> np.ndarray:
    r""":math:`\log \frac1n \sum_i e^{a_i}`, computed without overflow."""
    a = np.asarray(a, dtype=np.float64)
    m = np.max(a, axis=axis, keepdims=True)
    out = m + np.log(np.mean(np.exp(a - m), axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def mvn_logpdf(x, mean, cov) -> np.ndarray:
    r"""Log-density of :math:`\mathcal N(\text{mean}, \text{cov})` at each row of ``x``."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    d = cov.shape[0]
    chol = np.linalg.cholesky(cov)
    sol = np.linalg.solve(chol, (x - mean).T)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return -0.5 * (d * np.log(2.0 * np.pi) + logdet + np.sum(sol ** 2, axis=0))


def _as_cov(q_var) -> np.ndarray:
    """A covariance matrix from a vector of variances (mean-field) or a full matrix."""
    q_var = np.asarray(q_var, dtype=np.float64)
    return np.diag(q_var) if q_var.ndim == 1 else q_var


def gaussian_kl_full(mean_q, cov_q, mean_p, cov_p) -> float:
    r""":math:`\mathrm{KL}(\mathcal N(m_q, S_q)\,\|\,\mathcal N(m_p, S_p)) = \tfrac12\big[
    \mathrm{tr}(S_p^{-1}S_q) + (m_p - m_q)^\top S_p^{-1}(m_p - m_q) - k
    + \log\det S_p - \log\det S_q\big]`."""
    mean_q, mean_p = np.asarray(mean_q, float), np.asarray(mean_p, float)
    cov_q, cov_p = _as_cov(cov_q), _as_cov(cov_p)
    k = mean_q.shape[0]
    inv_p = np.linalg.inv(cov_p)
    diff = mean_p - mean_q
    return float(0.5 * (np.trace(inv_p @ cov_q) + diff @ inv_p @ diff - k
                        + np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1]))


class LinearGaussian:
    r"""A latent-variable model whose evidence and posterior are known exactly.

    .. math::
        p(z) = \mathcal N(0, I_k),\qquad p(x \mid z) = \mathcal N(Wz + b, s^2 I_d)
        \;\Rightarrow\; p(x) = \mathcal N(b, WW^\top + s^2 I),\quad
        p(z \mid x) = \mathcal N\big(S W^\top (x - b)/s^2,\; S\big),\;
        S = (I + W^\top W / s^2)^{-1}

    Used to check :math:`\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q(z)\,\|\,p(z \mid x))`
    for any Gaussian ``q`` (``notebooks/02_vae_elbo.ipynb``).
    """

    def __init__(self, W, b=None, noise_std: float = 0.5):
        self.W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        self.d, self.k = self.W.shape
        self.b = np.zeros(self.d) if b is None else np.asarray(b, dtype=np.float64)
        self.noise_var = float(noise_std) ** 2

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of ``x`` from the model."""
        z = rng.standard_normal((n, self.k))
        return z @ self.W.T + self.b + np.sqrt(self.noise_var) * rng.standard_normal((n, self.d))

    def log_marginal(self, x) -> float:
        r"""The evidence :math:`\log p(x)` in closed form."""
        cov = self.W @ self.W.T + self.noise_var * np.eye(self.d)
        return float(mvn_logpdf(x, self.b, cov)[0])

    def posterior(self, x) -> tuple[np.ndarray, np.ndarray]:
        r"""Mean and covariance of the exact posterior :math:`p(z \mid x)`."""
        x = np.asarray(x, dtype=np.float64)
        cov = np.linalg.inv(np.eye(self.k) + self.W.T @ self.W / self.noise_var)
        return cov @ self.W.T @ (x - self.b) / self.noise_var, cov

    def elbo(self, x, q_mean, q_var) -> float:
        r"""The ELBO for :math:`q(z) = \mathcal N(m, \Sigma)` in closed form.

        .. math::
            \mathrm{ELBO} = \log \mathcal N(x \mid Wm + b, s^2 I)
              - \frac{\mathrm{tr}(W^\top W \Sigma)}{2 s^2} - \mathrm{KL}(q\,\|\,\mathcal N(0, I))

        ``q_var``: a vector of variances (mean-field) or a full covariance matrix.
        """
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(q_mean, dtype=np.float64)
        cov = _as_cov(q_var)
        expected_loglik = (mvn_logpdf(x, self.W @ m + self.b, self.noise_var * np.eye(self.d))[0]
                           - np.trace(self.W.T @ self.W @ cov) / (2.0 * self.noise_var))
        kl = gaussian_kl_full(m, cov, np.zeros(self.k), np.eye(self.k))
        return float(expected_loglik - kl)

    def kl_to_posterior(self, x, q_mean, q_var) -> float:
        r""":math:`\mathrm{KL}(q(z)\,\|\,p(z \mid x))`, the gap between evidence and ELBO."""
        post_mean, post_cov = self.posterior(x)
        return gaussian_kl_full(q_mean, q_var, post_mean, post_cov)

    def log_weights(self, x, q_mean, q_var, n_samples: int,
                    rng: np.random.Generator) -> np.ndarray:
        r"""Samples of :math:`\log w = \log p(x, z) - \log q(z)`, :math:`z \sim q`.

        Their mean estimates the ELBO; :func:`log_mean_exp` of them estimates
        :math:`\log p(x)` (Jensen: the mean of logs is below the log of the mean).
        """
        x = np.asarray(x, dtype=np.float64)
        m = np.asarray(q_mean, dtype=np.float64)
        cov = _as_cov(q_var)
        z = m + rng.standard_normal((n_samples, self.k)) @ np.linalg.cholesky(cov).T
        log_lik = mvn_logpdf(z @ self.W.T + self.b, x, self.noise_var * np.eye(self.d))
        log_prior = mvn_logpdf(z, np.zeros(self.k), np.eye(self.k))
        return log_lik + log_prior - mvn_logpdf(z, m, cov)


# --------------------------------------------------------------------------- beta and rate-distortion

def linear_vae_objective(a, v, w, variances, beta: float, noise_var: float) -> dict:
    r"""Expected beta-VAE loss of a diagonal linear VAE on data :math:`x_i \sim \mathcal
    N(0, \lambda_i)`, per latent/data dimension pair ``i``.

    Encoder :math:`q(z_i \mid x) = \mathcal N(a_i x_i, v_i)`, decoder
    :math:`p(x_i \mid z_i) = \mathcal N(w_i z_i, s^2)`, prior :math:`\mathcal N(0, 1)`:

    .. math::
        R_i = \mathbb{E}_x \mathrm{KL} = \tfrac12(a_i^2\lambda_i + v_i - 1 - \log v_i),\quad
        \mathrm{MSE}_i = (1 - w_i a_i)^2 \lambda_i + w_i^2 v_i,\quad
        D_i = \frac{\mathrm{MSE}_i}{2s^2} + \tfrac12\log 2\pi s^2

    Returns arrays ``rate``, ``mse``, ``distortion`` (the expected Gaussian NLL) and the
    scalar ``loss`` :math:`= \sum_i D_i + \beta R_i`.
    """
    a, v, w, lam = (np.asarray(t, dtype=np.float64) for t in (a, v, w, variances))
    rate = 0.5 * (a ** 2 * lam + v - 1.0 - np.log(v))
    mse = (1.0 - w * a) ** 2 * lam + w ** 2 * v
    distortion = mse / (2.0 * noise_var) + 0.5 * np.log(2.0 * np.pi * noise_var)
    return {"rate": rate, "mse": mse, "distortion": distortion,
            "loss": float(np.sum(distortion + beta * rate))}


def linear_vae_optimum(variances, beta: float, noise_var: float) -> dict:
    r"""The beta-VAE optimum of :func:`linear_vae_objective`, in closed form.

    Setting the derivatives to zero gives, with :math:`c = \beta s^2`,
    :math:`a = w/(w^2 + c)`, :math:`v = c/(w^2 + c)` and
    :math:`w^2 = \max(\lambda_i - c, 0)`, hence

    .. math::
        R_i = \max\big(0, \tfrac12 \log(\lambda_i / \beta s^2)\big),\qquad
        \mathrm{MSE}_i = \min(\lambda_i, \beta s^2)

    This is reverse water-filling, the rate-distortion function of a Gaussian source: a
    dimension whose variance is below the "water level" :math:`\beta s^2` gets no rate at
    all (its posterior equals the prior: *posterior collapse*) and is reconstructed as 0.
    Returns the parameters ``a``, ``v``, ``w``, the arrays of :func:`linear_vae_objective`,
    totals ``total_rate`` and ``total_mse``, and ``active`` (dimensions with rate > 0).
    """
    lam = np.asarray(variances, dtype=np.float64)
    c = beta * noise_var
    w = np.sqrt(np.maximum(lam - c, 0.0))
    a = w / (w ** 2 + c)
    v = c / (w ** 2 + c)
    out = linear_vae_objective(a, v, w, lam, beta, noise_var)
    out.update(a=a, v=v, w=w, total_rate=float(out["rate"].sum()),
               total_mse=float(out["mse"].sum()), active=lam > c)
    return out
