"""DCGAN generator and discriminator for 32x32 and 64x64 images.

Follows the guidelines of Radford et al. (2016) and pytorch/examples'
dcgan/main.py: transposed convolutions with 4x4 kernels and stride 2 in G,
strided convolutions in D, batch normalisation, ReLU in G and leaky ReLU
(0.2) in D, ``tanh`` output, weights drawn from N(0, 0.02) (batch-norm scales
from N(1, 0.02)) by :func:`dcgan_init`.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.nn.validation import check_images

SIZES = (32, 64)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation; use as ``model.apply(dcgan_init)``."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _check_size(image_size: int) -> int:
    if image_size not in SIZES:
        raise ValueError(f"image_size must be 32 or 64, got {image_size}.")
    return 3 if image_size == 32 else 4  # number of upsampling stages after 4x4


class DCGANGenerator(nn.Module):
    """z ``[N, latent_dim]`` -> image ``[N, channels, S, S]`` in [-1, 1].

    Args:
        latent_dim: size of z (100 in DCGAN).
        channels: 1 or 3.
        image_size: 32 or 64.
        width: channels of the last hidden layer; the first has ``width * 2**(stages-1)``.
    """

    def __init__(
        self, latent_dim: int = 100, channels: int = 3, image_size: int = 32, width: int = 32
    ):
        super().__init__()
        stages = _check_size(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        top = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, top, 4, 1, 0, bias=False),  # [top, 4, 4]
            nn.BatchNorm2d(top),
            nn.ReLU(True),
        ]
        c = top
        for _ in range(stages - 1):  # [c, s, s] -> [c/2, 2s, 2s]
            layers += [
                nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c // 2),
                nn.ReLU(True),
            ]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]  # [C, S, S]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be [N, {self.latent_dim}], got {tuple(z.shape)}.")
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """image ``[N, channels, S, S]`` -> logit ``[N]``.

    Args:
        spectral_norm: wrap every convolution in spectral normalisation
            (Miyato et al. 2018) and drop batch norm, a common stabiliser.
        cond_dim: size of a condition vector (e.g. one-hot labels); when > 0,
            ``forward(images, cond)`` adds the projection term of Miyato &
            Koyama (2018), ``<embed(cond), features>``, to the logit (the features
            flattened, the inner product averaged over the 4x4 positions).
        heads: attribute name -> number of classes: auxiliary classifiers on the
            image-only features (AC-GAN, Odena et al. 2017), read by :meth:`aux`.
    """

    def __init__(
        self,
        channels: int = 3,
        image_size: int = 32,
        width: int = 32,
        spectral_norm: bool = False,
        cond_dim: int = 0,
        heads: dict[str, int] | None = None,
    ):
        super().__init__()
        stages = _check_size(image_size)
        self.channels, self.image_size, self.cond_dim = channels, image_size, cond_dim

        def conv(c_in: int, c_out: int, stride: int, padding: int) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, 4, stride, padding, bias=spectral_norm)
            return nn.utils.parametrizations.spectral_norm(layer) if spectral_norm else layer

        layers: list[nn.Module] = [
            conv(channels, width, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]  # [w, S/2, S/2]
        c = width
        for _ in range(stages - 1):  # [c, s, s] -> [2c, s/2, s/2]
            layers.append(conv(c, 2 * c, 2, 1))
            if not spectral_norm:
                layers.append(nn.BatchNorm2d(2 * c))
            layers.append(nn.LeakyReLU(0.2, True))
            c *= 2
        layers.append(conv(c, 1, 1, 0))  # [1, 1, 1]
        self.net = nn.Sequential(*layers)
        self.feature_dim = c * 16  # the last 4x4 feature map, flattened
        self.project = nn.Linear(cond_dim, self.feature_dim, bias=False) if cond_dim else None
        self.heads = nn.ModuleDict(
            {name: nn.Linear(self.feature_dim, k) for name, k in (heads or {}).items()}
        )
        self.apply(dcgan_init)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The last 4x4 feature map, ``[N, C, 4, 4]`` (everything before the scoring layer)."""
        check_images(images, self.channels, self.image_size, "DCGANDiscriminator")
        return self.net[:-1](images)

    def score(self, h: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Logit ``[N]`` from features; with ``cond``, plus the projection term."""
        logit = self.net[-1](h).reshape(-1)
        if self.project is None:
            if cond is not None:
                raise ValueError("this discriminator has no condition (cond_dim=0); pass none.")
            return logit
        if cond is None or cond.ndim != 2 or cond.shape != (len(h), self.cond_dim):
            got = None if cond is None else tuple(cond.shape)
            raise ValueError(f"cond must be [{len(h)}, {self.cond_dim}], got {got}.")
        return logit + (self.project(cond) * h.flatten(1)).sum(1) / h[0, 0].numel()

    def aux(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """Auxiliary attribute logits ``{name: [N, classes]}`` from features."""
        return {name: head(h.flatten(1)) for name, head in self.heads.items()}

    def forward(self, images: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.features(images), cond)
