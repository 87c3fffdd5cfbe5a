r"""Probability pieces that later notebooks reuse (notebooks 01, 02, 06, 10).

Every function accepts NumPy arrays or torch tensors (on any device) and
returns the same kind; it works on batches along the **last** axis (one
distribution, or one diagonal Gaussian, per row) and reduces that axis.

- :func:`kl_divergence`: discrete KL (eq.3),
  :math:`D_{KL}(P \Vert Q) = \sum_x P(x) \log \frac{P(x)}{Q(x)}`, with
  :math:`0 \log 0 = 0` and :math:`D_{KL} = \infty` where :math:`Q(x) = 0 < P(x)`.
- :func:`gaussian_log_likelihood`: :math:`\sum_d \log \mathcal N(x_d; \mu_d, \sigma_d^2)`.
- :func:`gaussian_kl`: KL between two diagonal Gaussians, in closed form.
- :func:`gaussian_kl_to_standard_normal`: eq.8, the conditioning-augmentation and
  VAE regulariser :math:`-\tfrac12 \sum_d (1 + \log\sigma_d^2 - \mu_d^2 - \sigma_d^2)`.

Variances are passed as log-variances (``logvar``), the form networks output
and the stable one for very small variances.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


def _as_tensors(*values: Any) -> tuple[list[torch.Tensor], bool]:
    """Convert inputs to float tensors on a common device; remember whether to
    hand back NumPy (when no input was a tensor)."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    device = tensors[0].device if tensors else torch.device("cpu")
    dtype = tensors[0].dtype if tensors and tensors[0].is_floating_point() else torch.float64
    out = []
    for v in values:
        if not isinstance(v, torch.Tensor):
            v = torch.as_tensor(np.asarray(v, dtype=np.float64))
        out.append(v.to(device=device, dtype=dtype))
    return out, not tensors


def _back(value: torch.Tensor, to_numpy: bool) -> Any:
    if to_numpy:
        array = value.cpu().numpy()
        return array.item() if array.ndim == 0 else array
    return value


def _same_shape(**named: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in named.items()}
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name} has shape {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes must match: {described}.")


def check_distribution(p: torch.Tensor, name: str = "p", atol: float = 1e-6) -> None:
    """Raise ``ValueError`` unless ``p`` holds probabilities summing to 1 on its last axis."""
    if p.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (the outcomes), got a scalar.")
    if torch.isnan(p).any():
        raise ValueError(f"{name} contains NaN.")
    if (p < 0).any():
        raise ValueError(
            f"{name} has negative probabilities (smallest {p.min().item():.3g}); "
            "probabilities must be >= 0."
        )
    sums = p.sum(dim=-1)
    if ((sums - 1).abs() > atol).any():
        raise ValueError(
            f"{name} does not sum to 1 along its last axis (sums range from "
            f"{sums.min().item():.6g} to {sums.max().item():.6g}; tolerance {atol:g})."
        )


def kl_divergence(p: Any, q: Any, atol: float = 1e-6) -> Any:
    """Discrete KL divergence :math:`D_{KL}(P \\Vert Q)` along the last axis (eq.3).

    Args:
        p, q: probabilities ``[..., K]`` (arrays or tensors), each summing to 1.
        atol: tolerance for the sums.

    Returns:
        ``[...]`` KL in nats: 0 where ``p`` is 0 (``0 log 0 = 0``), ``inf`` if
        ``q`` is 0 where ``p`` is not.

    Raises:
        ValueError: for shapes that differ, negative entries, or sums off 1.
    """
    (p_t, q_t), to_numpy = _as_tensors(p, q)
    _same_shape(p=p_t, q=q_t)
    check_distribution(p_t, "p", atol)
    check_distribution(q_t, "q", atol)
    # xlogy(p, p) - xlogy(p, q): 0 where p == 0; +inf where q == 0 < p.
    terms = torch.special.xlogy(p_t, p_t) - torch.special.xlogy(p_t, q_t)
    return _back(terms.sum(dim=-1), to_numpy)


def gaussian_log_likelihood(x: Any, mean: Any, logvar: Any) -> Any:
    """Log-density of ``x`` under a diagonal Gaussian, summed over the last axis::

        log p(x) = -1/2 sum_d [ log(2 pi) + log sigma_d^2 + (x_d - mu_d)^2 / sigma_d^2 ]

    Args:
        x, mean, logvar: broadcastable ``[..., D]``; ``logvar`` is :math:`\\log \\sigma^2`.

    Returns:
        ``[...]`` log-likelihood in nats.
    """
    (x_t, m_t, lv_t), to_numpy = _as_tensors(x, mean, logvar)
    try:
        x_t, m_t, lv_t = torch.broadcast_tensors(x_t, m_t, lv_t)
    except RuntimeError as error:
        raise ValueError(
            f"x {tuple(x_t.shape)}, mean {tuple(m_t.shape)} and logvar {tuple(lv_t.shape)} "
            "do not broadcast."
        ) from error
    value = -0.5 * (LOG_2PI + lv_t + (x_t - m_t) ** 2 * torch.exp(-lv_t))
    return _back(value.sum(dim=-1), to_numpy)


def gaussian_kl(mean_p: Any, logvar_p: Any, mean_q: Any, logvar_q: Any) -> Any:
    """KL between diagonal Gaussians P and Q, summed over the last axis::

        KL = sum_d 1/2 [ log(s_q^2 / s_p^2) + (s_p^2 + (mu_p - mu_q)^2) / s_q^2 - 1 ]

    Args are means and log-variances, broadcastable ``[..., D]``.
    """
    (mp, lp, mq, lq), to_numpy = _as_tensors(mean_p, logvar_p, mean_q, logvar_q)
    try:
        mp, lp, mq, lq = torch.broadcast_tensors(mp, lp, mq, lq)
    except RuntimeError as error:
        raise ValueError("the means and log-variances of P and Q do not broadcast.") from error
    value = 0.5 * (lq - lp + (torch.exp(lp) + (mp - mq) ** 2) * torch.exp(-lq) - 1)
    return _back(value.sum(dim=-1), to_numpy)


def gaussian_kl_to_standard_normal(mean: Any, logvar: Any, reduction: str = "sum") -> Any:
    """Eq.8: KL( N(mu, diag sigma^2) || N(0, I) )::

        KL = -1/2 sum_d [ 1 + log sigma_d^2 - mu_d^2 - sigma_d^2 ]

    Args:
        mean, logvar: ``[..., D]``.
        reduction: ``"sum"`` over the D dimensions (the true KL) or ``"mean"``
            (the KL per dimension, as StackGAN's code uses: D times weaker for
            the same weight; with D = 100 that is the "100x" of notebook 10).

    Returns:
        ``[...]``.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    (m, lv), to_numpy = _as_tensors(mean, logvar)
    _same_shape(mean=m, logvar=lv)
    per_dim = -0.5 * (1 + lv - m**2 - torch.exp(lv))
    value = per_dim.sum(dim=-1) if reduction == "sum" else per_dim.mean(dim=-1)
    return _back(value, to_numpy)
