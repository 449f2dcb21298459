"""augkit.theory: the identities the notebooks derive, checked against independent
computations (closed forms, scipy, brute-force search and integration)."""

import numpy as np
import pytest
from scipy import integrate as sp_integrate
from scipy import optimize, stats

from augkit import theory

X = theory.grid()


def kl_two_gaussians(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


# --------------------------------------------------------------------------- grid and densities

def test_grid_integration_and_densities():
    x = theory.grid(0.0, 2.0, 11)
    assert theory.integrate(3.0 * x + 1.0, x) == pytest.approx(8.0)  # exact for lines
    assert theory.integrate(theory.gaussian_pdf(X, 0.5, 0.7), X) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(theory.gaussian_pdf(X, 0.5, 0.7), stats.norm.pdf(X, 0.5, 0.7),
                               rtol=1e-12)
    mix = theory.mixture_pdf(X, [-1, 2], [0.5, 1.0], weights=[3, 1])
    np.testing.assert_allclose(mix, 0.75 * stats.norm.pdf(X, -1, 0.5)
                               + 0.25 * stats.norm.pdf(X, 2, 1.0), rtol=1e-12)
    p = theory.normalize(2.0 * theory.gaussian_pdf(X), X)
    assert theory.integrate(p, X) == pytest.approx(1.0, abs=1e-14)
    for name in theory.DATA_DENSITIES:
        assert theory.integrate(theory.data_density(name, X), X) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="two modes"):
        theory.data_density("three modes", X)


def test_xlogy_convention():
    np.testing.assert_array_equal(theory.xlogy([0.0, 0.0, 2.0], [0.0, 5.0, 1.0]), [0, 0, 0])
    assert theory.xlogy(1.0, 0.0) == -np.inf


# --------------------------------------------------------------------------- GAN identities

@pytest.mark.parametrize("a,b", [(0.3, 0.7), (2.0, 0.5), (1e-3, 4.0)])
def test_optimal_discriminator_maximizes_pointwise_objective(a, b):
    y = np.linspace(1e-6, 1 - 1e-6, 200001)
    best = y[np.argmax(theory.pointwise_objective(y, a, b))]
    assert best == pytest.approx(float(theory.optimal_discriminator(a, b)), abs=1e-5)
    assert float(theory.optimal_discriminator(a, b)) == pytest.approx(a / (a + b))


def test_optimal_discriminator_conventions():
    np.testing.assert_array_equal(theory.optimal_discriminator([0, 1, 0], [0, 0, 1]),
                                  [0.5, 1.0, 0.0])


GENERATORS = [(0.0, 1.0), (1.0, 1.0), (-2.0, 0.5), (3.0, 2.0)]


@pytest.mark.parametrize("data", list(theory.DATA_DENSITIES))
@pytest.mark.parametrize("g_mean,g_std", GENERATORS)
def test_value_at_optimal_discriminator_is_minus_log4_plus_2jsd(data, g_mean, g_std):
    # Normalized on the grid: N(3, 2) has 2e-4 of its mass beyond x = 10, which would
    # shift -log 4 by log 2 times that.
    p_data = theory.normalize(theory.data_density(data, X), X)
    p_g = theory.normalize(theory.gaussian_pdf(X, g_mean, g_std), X)
    q = theory.gan_quantities(p_data, p_g, X)
    assert q["value"] == pytest.approx(-np.log(4.0) + 2 * q["jsd"], abs=1e-6)
    assert q["value"] == pytest.approx(q["value_from_jsd"], abs=1e-6)
    # D* beats any other discriminator, e.g. a perturbed one or the constant 1/2.
    rng = np.random.default_rng(0)
    worse = np.clip(q["d_star"] + 0.05 * rng.standard_normal(X.shape), 1e-9, 1 - 1e-9)
    assert theory.value_function(worse, p_data, p_g, X) < q["value"]
    assert theory.value_function(np.full_like(X, 0.5), p_data, p_g, X) <= q["value"] + 1e-12


def test_value_from_probabilities_and_from_logits_agree():
    x = theory.grid(-20.0, 20.0, 8001)  # wide enough that no normalization is needed
    p_data, p_g = theory.gaussian_pdf(x, 1.0, 2.0), theory.gaussian_pdf(x, 0.0, 1.0)
    q = theory.gan_quantities(p_data, p_g, x)
    assert q["value"] == pytest.approx(q["value_from_jsd"], abs=1e-9)
    # Far in the tails D* rounds to exactly 1 and log(1 - D*) to -inf; the logit is exact.
    assert theory.value_function(q["d_star"], p_data, p_g, x) == -np.inf
    inner = np.abs(x) < 6
    xi, pd_i, pg_i = x[inner], p_data[inner], p_g[inner]
    d_i = theory.optimal_discriminator(pd_i, pg_i)
    assert theory.value_function(d_i, pd_i, pg_i, xi) == pytest.approx(
        theory.value_function(theory.logit(d_i), pd_i, pg_i, xi, logits=True), abs=1e-12)
    np.testing.assert_allclose(theory.optimal_discriminator_logit([0, 1, 0], [0, 0, 1]),
                               [0, np.inf, -np.inf])


@pytest.mark.parametrize("g_mean,g_std", GENERATORS)
def test_generator_objectives_at_the_optimal_discriminator(g_mean, g_std):
    p_data = theory.normalize(theory.data_density("two modes", X), X)
    p_g = theory.normalize(theory.gaussian_pdf(X, g_mean, g_std), X)
    out = theory.generator_objectives_at_optimum(p_data, p_g, X)
    assert out["minimax"] == pytest.approx(out["minimax_identity"], abs=1e-9)
    assert out["non_saturating"] == pytest.approx(out["non_saturating_identity"], abs=1e-6)
    # Independent: E_pg[-log D*] by direct quadrature of p_g log((p_data + p_g) / p_data).
    assert p_data.min() > 0  # no underflow on X, so the direct formula is safe
    direct = theory.integrate(p_g * np.log((p_data + p_g) / p_data), X)
    assert out["non_saturating"] == pytest.approx(direct, abs=1e-6)


def test_wasserstein_keeps_growing_where_jsd_saturates():
    x = theory.grid(-5, 15, 8001)
    p = theory.gaussian_pdf(x, 0.0, 0.1)
    for shift in (3.0, 6.0, 9.0):
        q = theory.gaussian_pdf(x, shift, 0.1)
        assert theory.wasserstein1(p, q, x) == pytest.approx(shift, abs=1e-6)
        assert theory.js_divergence(p, q, x) == pytest.approx(np.log(2), abs=1e-9)
    rng = np.random.default_rng(0)
    q = theory.gaussian_pdf(x, 5.0, 2.0)
    samples = stats.wasserstein_distance(rng.normal(0, 0.1, 200000), rng.normal(5, 2, 200000))
    assert theory.wasserstein1(p, q, x) == pytest.approx(samples, abs=0.02)
    np.testing.assert_allclose(theory.cdf(q, x)[[0, -1]], [0.0, 1.0], atol=1e-6)


def test_global_optimum_is_p_g_equal_p_data():
    p = theory.data_density("two modes", X)
    q = theory.gan_quantities(p, p, X)
    assert q["jsd"] == pytest.approx(0.0, abs=1e-12)
    assert q["value"] == pytest.approx(-np.log(4.0), abs=1e-9)
    np.testing.assert_allclose(q["d_star"], 0.5)


def test_jsd_properties():
    p, q = theory.gaussian_pdf(X, -1, 1), theory.gaussian_pdf(X, 2, 0.5)
    assert theory.js_divergence(p, q, X) == pytest.approx(theory.js_divergence(q, p, X))
    assert 0 < theory.js_divergence(p, q, X) < np.log(2)
    # Disjoint supports: JSD = log 2 and KL is infinite.
    left = np.where(X < 0, 1.0, 0.0)
    right = np.where(X > 0, 1.0, 0.0)
    left, right = theory.normalize(left, X), theory.normalize(right, X)
    assert theory.js_divergence(left, right, X) == pytest.approx(np.log(2), abs=1e-3)
    assert theory.kl_divergence(left, right, X) == np.inf


def test_kl_on_grid_matches_closed_form():
    for m1, s1, m2, s2 in [(0, 1, 1, 2), (1, 0.5, -1, 1.5), (0, 1, 0, 1)]:
        got = theory.kl_divergence(theory.gaussian_pdf(X, m1, s1), theory.gaussian_pdf(X, m2, s2),
                                   X)
        assert got == pytest.approx(kl_two_gaussians(m1, s1, m2, s2), abs=1e-9)


# --------------------------------------------------------------------------- generator gradients

def test_generator_gradients_are_logit_derivatives():
    a = np.linspace(-9, 9, 37)
    h = 1e-6
    d = 1.0 / (1.0 + np.exp(-a))
    sat = lambda t: theory.saturating_generator_loss(1 / (1 + np.exp(-t)))  # noqa: E731
    ns = lambda t: theory.non_saturating_generator_loss(1 / (1 + np.exp(-t)))  # noqa: E731
    np.testing.assert_allclose(theory.saturating_generator_gradient(d),
                               (sat(a + h) - sat(a - h)) / (2 * h), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(theory.non_saturating_generator_gradient(d),
                               (ns(a + h) - ns(a - h)) / (2 * h), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(theory.logit(d), a, rtol=1e-8, atol=1e-8)


def test_non_saturating_gradient_larger_where_fakes_are_rejected():
    d = np.array([1e-4, 1e-2, 0.1, 0.4, 0.6, 0.9])
    g = theory.generator_gradients(d)
    np.testing.assert_allclose(g["ratio"], (1 - d) / d)
    small = d < 0.5
    assert np.all(np.abs(g["non_saturating"][small]) > np.abs(g["saturating"][small]))
    assert np.all(np.abs(g["non_saturating"][~small]) < np.abs(g["saturating"][~small]))
    assert abs(g["saturating"][0]) == pytest.approx(1e-4)  # ~0: the saturation
    assert abs(g["non_saturating"][0]) == pytest.approx(1.0, abs=1e-3)


# --------------------------------------------------------------------------- Gaussian KL

def test_gaussian_kl_analytic_vs_monte_carlo():
    rng = np.random.default_rng(7)
    for mu, log_var in [([1.0, -0.5], [0.2, -1.0]), ([0.0], [0.0]), ([2.0, 0.0, 1.0], [1, 1, -2])]:
        analytic = float(theory.gaussian_kl(mu, log_var))
        estimate, se = theory.gaussian_kl_monte_carlo(mu, log_var, 20000, rng)
        # Unbiased estimator: within 4 standard errors (se = 0 when q = p).
        assert abs(estimate - analytic) <= 4 * se + 1e-12


def test_gaussian_kl_terms_add_up_and_match_monte_carlo():
    rng = np.random.default_rng(0)
    mu, sigma = 0.8, 0.6
    terms = theory.gaussian_kl_terms(mu, sigma)
    assert terms["kl"] == pytest.approx(kl_two_gaussians(mu, sigma, 0.0, 1.0))
    assert terms["kl"] == pytest.approx(float(theory.gaussian_kl([mu], [2 * np.log(sigma)])))
    z = mu + sigma * rng.standard_normal(200000)
    assert terms["cross_entropy"] == pytest.approx(-stats.norm.logpdf(z).mean(), abs=0.01)
    assert terms["entropy"] == pytest.approx(stats.norm(mu, sigma).entropy(), abs=1e-12)


# --------------------------------------------------------------------------- gradient estimators

def test_reparameterization_has_lower_variance_than_reinforce():
    out = theory.compare_gradient_estimators(mu=1.0, sigma=1.0, n_samples=16, n_repeats=4000)
    assert out["true"] == 2.0
    for name in theory.ESTIMATORS:  # all unbiased: mean within 5 standard errors
        se = np.sqrt(out[f"{name}_var"] / 4000)
        assert abs(out[f"{name}_mean"] - out["true"]) < 5 * se
    assert out["reparameterization_var"] < out["score_function_var"] / 4
    assert out["score_function_baseline_var"] < out["score_function_var"]
    # Closed form for f(z) = z^2 and one sample: Var[2 z] = 4 sigma^2.
    single = theory.gradient_estimates(1.0, 1.0, estimator="reparameterization", n_samples=1,
                                       n_repeats=20000, rng=np.random.default_rng(1))
    assert single.var() == pytest.approx(4.0, rel=0.05)


def test_gradient_estimators_cos_objective_and_errors():
    out = theory.compare_gradient_estimators(mu=0.5, sigma=0.5, objective="cos", n_repeats=4000)
    assert out["true"] == pytest.approx(-np.sin(0.5) * np.exp(-0.125))
    se = np.sqrt(out["reparameterization_var"] / 4000)
    assert abs(out["reparameterization_mean"] - out["true"]) < 5 * se
    with pytest.raises(ValueError, match="estimator"):
        theory.gradient_estimates(0, 1, estimator="pathwise")
    with pytest.raises(ValueError, match="objective"):
        theory.gradient_estimates(0, 1, estimator="reparameterization", objective="tan")
    with pytest.raises(ValueError, match="n_samples"):
        theory.gradient_estimates(0, 1, estimator="score_function_baseline", n_samples=1)
    default_rng = theory.gradient_estimates(0, 1, estimator="score_function", n_repeats=5)
    assert default_rng.shape == (5,)


# --------------------------------------------------------------------------- linear-Gaussian ELBO

@pytest.fixture
def model():
    return theory.LinearGaussian([[1.0, 0.3], [0.2, -0.8], [0.5, 0.5]], b=[0.1, 0.0, -0.2],
                                 noise_std=0.5)


def test_mvn_logpdf_and_log_mean_exp():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + np.eye(3)
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(theory.mvn_logpdf(x, np.ones(3), cov),
                               stats.multivariate_normal(np.ones(3), cov).logpdf(x), rtol=1e-12)
    v = rng.normal(size=(4, 6)) * 300
    np.testing.assert_allclose(theory.log_mean_exp(v, axis=1),
                               np.log(np.mean(np.exp(v.astype(np.longdouble)), axis=1)),
                               rtol=1e-10)
    assert float(theory.log_mean_exp([1000.0, 1000.0])) == pytest.approx(1000.0)


def test_evidence_equals_elbo_plus_kl_to_posterior(model):
    rng = np.random.default_rng(3)
    x = model.sample(1, rng)[0]
    for q_mean, q_var in [(np.array([0.3, -0.2]), np.array([0.2, 0.3])),
                          (np.array([2.0, 1.0]), np.array([1.5, 0.05])),
                          (np.zeros(2), np.array([[0.5, 0.1], [0.1, 0.4]]))]:
        elbo = model.elbo(x, q_mean, q_var)
        gap = model.kl_to_posterior(x, q_mean, q_var)
        assert gap > 0
        assert elbo + gap == pytest.approx(model.log_marginal(x), abs=1e-10)
    post_mean, post_cov = model.posterior(x)
    assert model.elbo(x, post_mean, post_cov) == pytest.approx(model.log_marginal(x), abs=1e-10)
    assert model.kl_to_posterior(x, post_mean, post_cov) == pytest.approx(0.0, abs=1e-12)


def test_elbo_monte_carlo_and_jensen(model):
    rng = np.random.default_rng(4)
    x = model.sample(1, rng)[0]
    q_mean, q_var = np.array([0.3, -0.2]), np.array([0.2, 0.3])
    log_w = model.log_weights(x, q_mean, q_var, 100000, rng)
    se = log_w.std() / np.sqrt(len(log_w))
    assert abs(log_w.mean() - model.elbo(x, q_mean, q_var)) < 4 * se
    # Jensen: mean of log w <= log of mean w, which estimates log p(x).
    assert log_w.mean() < float(theory.log_mean_exp(log_w))
    assert float(theory.log_mean_exp(log_w)) == pytest.approx(model.log_marginal(x), abs=0.02)


def test_log_marginal_matches_numerical_integration():
    m = theory.LinearGaussian([[1.5]], b=[0.5], noise_std=0.7)
    x = np.array([1.3])

    def joint(z):
        return stats.norm.pdf(x[0], 1.5 * z + 0.5, 0.7) * stats.norm.pdf(z)

    evidence, _ = sp_integrate.quad(joint, -12, 12)
    assert m.log_marginal(x) == pytest.approx(np.log(evidence), abs=1e-10)
    mean, cov = m.posterior(x)
    z = np.linspace(-8, 8, 20001)
    post = joint(z) / evidence
    assert mean[0] == pytest.approx(np.trapezoid(z * post, z), abs=1e-8)
    assert cov[0, 0] == pytest.approx(np.trapezoid((z - mean[0]) ** 2 * post, z), abs=1e-8)


# --------------------------------------------------------------------------- beta and rate-distortion

@pytest.mark.parametrize("beta", [0.3, 1.0, 5.0, 40.0])
def test_linear_vae_optimum_is_the_minimum(beta):
    lam, s2 = np.array([4.0, 1.0]), 0.25
    opt = theory.linear_vae_optimum(lam, beta, s2)
    for i in range(2):
        def loss(p, i=i):
            a, log_v, w = p
            return theory.linear_vae_objective(a, np.exp(log_v), w, lam[i:i + 1], beta,
                                               s2)["loss"]
        found = optimize.minimize(loss, x0=[0.5, -1.0, 1.0], method="Nelder-Mead",
                                  options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        closed = theory.linear_vae_objective(opt["a"][i], opt["v"][i], opt["w"][i],
                                             lam[i:i + 1], beta, s2)["loss"]
        assert closed <= found.fun + 1e-9
        assert closed == pytest.approx(found.fun, abs=1e-6)


def test_reverse_water_filling_and_posterior_collapse():
    lam, s2 = np.array([4.0, 1.0]), 0.25
    for beta in (0.5, 1.0, 8.0, 20.0):
        opt = theory.linear_vae_optimum(lam, beta, s2)
        c = beta * s2
        np.testing.assert_allclose(opt["rate"], np.maximum(0, 0.5 * np.log(lam / c)), atol=1e-12)
        np.testing.assert_allclose(opt["mse"], np.minimum(lam, c), rtol=1e-12)
        np.testing.assert_array_equal(opt["active"], lam > c)
    assert theory.linear_vae_optimum(lam, 8.0, s2)["active"].tolist() == [True, False]
    collapsed = theory.linear_vae_optimum(lam, 20.0, s2)
    assert collapsed["total_rate"] == 0.0
    np.testing.assert_allclose(collapsed["v"], 1.0)  # q(z|x) = prior
    # beta = 1: the optimal -ELBO is the data's exact expected negative log-likelihood.
    at_one = theory.linear_vae_optimum(lam, 1.0, s2)
    assert at_one["loss"] == pytest.approx(np.sum(0.5 * np.log(2 * np.pi * lam) + 0.5))


def test_rate_decreases_and_distortion_increases_with_beta():
    betas = np.logspace(-2, 2, 50)
    runs = [theory.linear_vae_optimum([4.0, 1.0], b, 0.25) for b in betas]
    rates = np.array([r["total_rate"] for r in runs])
    mses = np.array([r["total_mse"] for r in runs])
    assert np.all(np.diff(rates) <= 0) and np.all(np.diff(mses) >= 0)
