"""course_lib.probability against independent references (scipy, torch.distributions)."""

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from torch.distributions import Normal
from torch.distributions import kl_divergence as torch_kl

from course_lib.probability import (
    gaussian_kl,
    gaussian_kl_to_standard_normal,
    gaussian_log_likelihood,
    kl_divergence,
)

rng = np.random.default_rng(0)


def _random_distributions(batch, k, zeros=False):
    p = rng.random((batch, k))
    if zeros:
        p[p < 0.3] = 0
        p[:, 0] += 0.1  # no all-zero rows
    return p / p.sum(axis=1, keepdims=True)


def test_discrete_kl_matches_scipy_batched():
    p, q = _random_distributions(20, 7), _random_distributions(20, 7)
    ours = kl_divergence(p, q)
    reference = np.array([scipy.stats.entropy(a, b) for a, b in zip(p, q, strict=True)])
    assert isinstance(ours, np.ndarray) and ours.shape == (20,)
    np.testing.assert_allclose(ours, reference, rtol=1e-12)
    np.testing.assert_allclose(ours, scipy.special.rel_entr(p, q).sum(axis=1), rtol=1e-12)


def test_discrete_kl_zero_conventions():
    p = _random_distributions(10, 6, zeros=True)
    q = _random_distributions(10, 6)
    np.testing.assert_allclose(kl_divergence(p, q), scipy.special.rel_entr(p, q).sum(1))
    assert kl_divergence([0.5, 0.5, 0.0], [0.5, 0.5, 0.0]) == 0.0
    assert kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2))


def test_discrete_kl_is_asymmetric_and_nonnegative():
    p, q = _random_distributions(50, 4), _random_distributions(50, 4)
    forward, reverse = kl_divergence(p, q), kl_divergence(q, p)
    assert (forward >= 0).all() and not np.allclose(forward, reverse)


def test_discrete_kl_torch_keeps_type_device_and_grad():
    p = torch.tensor([[0.2, 0.8], [0.5, 0.5]])
    logits = torch.zeros(2, 2, requires_grad=True)
    value = kl_divergence(p, logits.softmax(dim=-1))
    assert isinstance(value, torch.Tensor) and value.shape == (2,)
    value.sum().backward()
    assert logits.grad is not None


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, 0.6], [0.5, 0.5], r"p does not sum to 1 .* 1\.1"),
        ([0.5, 0.5], [1.2, -0.2], r"q has negative probabilities \(smallest -0\.2\)"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], r"p has shape \(2,\), q has shape \(3,\)"),
        (0.5, 0.5, "at least one axis"),
    ],
)
def test_discrete_kl_bad_input(p, q, message):
    with pytest.raises(ValueError, match=message):
        kl_divergence(p, q)


def test_gaussian_log_likelihood_matches_scipy():
    x = rng.normal(size=(30, 4))
    mean = rng.normal(size=(30, 4))
    std = rng.uniform(0.1, 3, size=(30, 4))
    ours = gaussian_log_likelihood(x, mean, np.log(std**2))
    reference = scipy.stats.norm.logpdf(x, mean, std).sum(axis=1)
    np.testing.assert_allclose(ours, reference, rtol=1e-12)


def test_gaussian_log_likelihood_tiny_variance_is_stable():
    logvar = np.full(3, -60.0)  # sigma^2 = 8.8e-27
    value = gaussian_log_likelihood(np.zeros(3), np.zeros(3), logvar)
    assert np.isfinite(value)
    reference = scipy.stats.norm.logpdf(0.0, 0.0, np.exp(-30.0)) * 3
    assert value == pytest.approx(reference, rel=1e-12)


def test_gaussian_kl_matches_torch_distributions():
    mp, mq = torch.randn(40, 5, dtype=torch.float64), torch.randn(40, 5, dtype=torch.float64)
    lp, lq = torch.randn(40, 5, dtype=torch.float64), torch.randn(40, 5, dtype=torch.float64)
    ours = gaussian_kl(mp, lp, mq, lq)
    reference = torch_kl(Normal(mp, (0.5 * lp).exp()), Normal(mq, (0.5 * lq).exp())).sum(-1)
    torch.testing.assert_close(ours, reference)


def test_kl_to_standard_normal():
    mean, logvar = torch.randn(16, 8, dtype=torch.float64), torch.randn(16, 8, dtype=torch.float64)
    reference = torch_kl(Normal(mean, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl_to_standard_normal(mean, logvar), reference)
    torch.testing.assert_close(
        gaussian_kl_to_standard_normal(mean, logvar, reduction="mean"), reference / 8
    )
    assert gaussian_kl_to_standard_normal(np.zeros(4), np.zeros(4)) == 0.0
    assert gaussian_kl_to_standard_normal([0.0], [-40.0]) == pytest.approx(0.5 * (40 - 1), rel=1e-9)
    with pytest.raises(ValueError, match="reduction must be 'sum' or 'mean'"):
        gaussian_kl_to_standard_normal(mean, logvar, reduction="max")
    with pytest.raises(ValueError, match=r"mean has shape \(16, 8\), logvar has shape \(16, 7\)"):
        gaussian_kl_to_standard_normal(mean, logvar[:, :7])


def test_kl_to_standard_normal_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.tensor([0.7, -1.2]), torch.tensor([0.3, -0.8])
    std = (0.5 * logvar).exp()
    z = mean + std * torch.randn(200_000, 2, generator=g)
    log_q = gaussian_log_likelihood(z, mean, logvar)
    log_p = gaussian_log_likelihood(z, torch.zeros(2), torch.zeros(2))
    estimate = (log_q - log_p).mean()
    assert estimate.item() == pytest.approx(
        gaussian_kl_to_standard_normal(mean, logvar).item(), abs=0.02
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_probability_on_gpu():
    p = torch.tensor([0.3, 0.7], device="cuda")
    assert kl_divergence(p, p).device.type == "cuda"
