"""A convolutional variational autoencoder (notebook 06).

Encoder q(z | x) = N(mu(x), diag sigma^2(x)); decoder p(x | z) a Gaussian
with fixed variance around the decoded image, so its negative log-likelihood
is a scaled squared error. The ELBO (evidence lower bound) is

    log p(x) >= E_q[log p(x | z)] - KL(q(z | x) || N(0, I)),

maximised by minimising :func:`vae_loss` (the negative ELBO).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.nn.dcgan import DCGANGenerator
from course_lib.nn.validation import check_images
from course_lib.probability import gaussian_kl_to_standard_normal


class ConvVAE(nn.Module):
    """Encoder: strided convolutions to ``(mu, logvar)``; decoder: a DCGAN-style generator.

    Args:
        channels: image channels; image_size: 32 or 64; latent_dim: size of z.
    """

    def __init__(
        self, channels: int = 3, image_size: int = 32, latent_dim: int = 16, width: int = 32
    ):
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError(f"image_size must be 32 or 64, got {image_size}.")
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        layers: list[nn.Module] = []
        c_in, c = channels, width
        size = image_size
        while size > 4:  # [c, size/2, size/2] each stage
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            c_in, c, size = c, c * 2, size // 2
        self.encoder = nn.Sequential(*layers, nn.Flatten())  # [c_in * 4 * 4]
        self.to_stats = nn.Linear(c_in * 16, 2 * latent_dim)  # mu and logvar
        self.decoder = DCGANGenerator(latent_dim, channels, image_size, width)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)``, each ``[N, latent_dim]``."""
        check_images(x, self.channels, self.image_size, "ConvVAE")
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)

    @staticmethod
    def reparameterise(
        mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps, eps ~ N(0, I): a sample whose gradient reaches mu and sigma."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction, mu, logvar."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterise(mu, logvar)), mu, logvar


def vae_loss(
    x: torch.Tensor,
    reconstruction: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    sigma: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Negative ELBO per image, and its two terms (all batch means, in nats).

    Reconstruction term: the negative log-likelihood of ``x`` under
    N(reconstruction, sigma^2 I) without its constant, ``||x - x_hat||^2 / (2 sigma^2)``.
    """
    recon = ((x - reconstruction) ** 2).flatten(1).sum(1) / (2 * sigma**2)
    kl = gaussian_kl_to_standard_normal(mu, logvar)
    return (recon + kl).mean(), recon.mean(), kl.mean()
