r"""GAN objectives, as pure functions of discriminator logits.

The discriminator outputs a logit :math:`\ell`; :math:`D = \sigma(\ell)` is its
probability that the input is real. Written with ``softplus`` for stability:
:math:`-\log \sigma(\ell) = \operatorname{softplus}(-\ell)` and
:math:`-\log(1 - \sigma(\ell)) = \operatorname{softplus}(\ell)`.

- **Minimax** (Goodfellow et al. 2014, eq.6):
  :math:`\min_G \max_D \; E_x[\log D(x)] + E_z[\log(1 - D(G(z)))]`.
  D minimises :func:`discriminator_minimax_loss`; G minimises
  :func:`generator_saturating_loss` :math:`= E_z[\log(1 - D(G(z)))]`, whose
  gradient vanishes when D confidently rejects the fakes.
- **Non-saturating**: G minimises :math:`-E_z[\log D(G(z))]` instead
  (:func:`generator_non_saturating_loss`), the paper's own advice.
- **Hinge** (used by DF-GAN and SN-GAN): D minimises
  :math:`E[\operatorname{relu}(1 - \ell_{real})] + E[\operatorname{relu}(1 + \ell_{fake})]`;
  G minimises :math:`-E[\ell_{fake}]`.

Every function returns a scalar (the batch mean).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def discriminator_minimax_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    """:math:`-E[\\log D(x)] - E[\\log(1 - D(G(z)))]`, the binary cross-entropy of D.

    Args:
        real_label: target for real images; 0.9 gives one-sided label
            smoothing (Salimans et al. 2016).
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.softplus(fake_logits).mean()
    return real + fake


def generator_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """:math:`E[\\log(1 - D(G(z)))]`, minimised by G: the original minimax form."""
    return -F.softplus(fake_logits).mean()


def generator_non_saturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """:math:`-E[\\log D(G(z))]`, minimised by G: strong gradients when D wins."""
    return F.softplus(-fake_logits).mean()


def discriminator_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``mean(relu(1 - real_logits)) + mean(relu(1 + fake_logits))``."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def generator_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """:math:`-E[\\ell_{fake}]`."""
    return -fake_logits.mean()


def discriminator_matching_hinge_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, wrong_logits: torch.Tensor
) -> torch.Tensor:
    """The matching-aware discriminator loss of GAN-CLS (Reed et al. 2016), hinge form.

    The logits are D's scores for three kinds of pairs: a real image with its own
    caption (``real_logits``, to be called real), a generated image with the caption it
    was drawn for (``fake_logits``) and a real image with a caption that describes
    something else (``wrong_logits``), both to be called fake. As in GAN-CLS the two
    kinds of fake share one half each::

        mean(relu(1 - real)) + 1 / 2(mean(relu(1 + fake)) + mean(relu(1 + wrong)))
    """
    return F.relu(1 - real_logits).mean() + 0.5 * (
        F.relu(1 + fake_logits).mean() + F.relu(1 + wrong_logits).mean()
    )


def attribute_cross_entropy(logits: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """The auxiliary-classifier term of AC-GAN (Odena et al. 2017), one head per attribute.

    ``logits`` maps attribute names to ``[N, classes]`` logits, in the order of the
    columns of ``labels`` ``[N, A]``; returns the sum over attributes of the mean
    cross-entropy (zero when there are no heads). D minimises it on real images; G
    minimises it on its samples for the labels it was asked to draw.
    """
    if not logits:
        return torch.zeros((), device=labels.device)
    if labels.ndim != 2 or labels.shape[1] != len(logits):
        raise ValueError(f"labels must be [N, {len(logits)}], got {tuple(labels.shape)}.")
    return sum(F.cross_entropy(v, labels[:, a]) for a, v in enumerate(logits.values()))


OBJECTIVES = {
    "minimax": (discriminator_minimax_loss, generator_saturating_loss),
    "non_saturating": (discriminator_minimax_loss, generator_non_saturating_loss),
    "hinge": (discriminator_hinge_loss, generator_hinge_loss),
}
"""Name -> (discriminator loss, generator loss)."""


def objective(name: str):
    """The (discriminator loss, generator loss) pair of a named objective."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}; accepted: {', '.join(OBJECTIVES)}.")
    return OBJECTIVES[name]
