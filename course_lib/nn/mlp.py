"""Multi-layer perceptrons (the MLP GANs of notebook 07, small heads elsewhere)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def mlp(
    in_features: int,
    hidden: int,
    out_features: int,
    layers: int = 2,
    activation: Callable[[], nn.Module] = nn.ReLU,
    output_activation: nn.Module | None = None,
) -> nn.Sequential:
    """``layers`` hidden layers of width ``hidden``, then a linear output.

    Example: the 2-D GAN's generator ``mlp(2, 128, 2)`` and discriminator
    ``mlp(2, 128, 1, activation=nn.LeakyReLU)``.
    """
    if layers < 1:
        raise ValueError(f"an MLP needs at least one hidden layer, got layers={layers}.")
    modules: list[nn.Module] = []
    width = in_features
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), activation()]
        width = hidden
    modules.append(nn.Linear(width, out_features))
    if output_activation is not None:
        modules.append(output_activation)
    return nn.Sequential(*modules)
