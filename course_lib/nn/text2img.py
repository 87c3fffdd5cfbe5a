"""The text-conditioned GAN's generator and discriminator (notebook 11).

Generator (caption vector ``phi`` and noise ``z`` -> image):

- **conditioning augmentation** (StackGAN, eq.8): ``c, mu, logvar = CA(phi)``;
- a **"where" path**: an MLP reads the (normalised) caption vector and predicts
  the constrained
  transform of eq.7, bounded: ``s = s_min + (s_max - s_min) sigmoid(a)``,
  ``t = (1 - s) tanh(b)`` (its last layer starts at zero: a centred window);
- a **"what" path**: ``[z, c]`` -> object feature maps and an alpha mask on a
  full canvas, then *pasted* into the window with the inverse transform
  (GAWWN, Hinz et al. 2019: features are warped, not final pixels);
- a **background/global path**: ``[z, c]`` -> feature maps of the whole canvas;
- the two composed with the pasted alpha and rendered to an image by
  transposed convolutions.

Discriminator: a spectrally normalised image trunk gives image-only features
``h``; a matching score ``psi(h) + <h, W phi>`` (projection discriminator)
says whether image and caption belong together; auxiliary heads read each
attribute from ``h`` alone (AC-GAN / TAC-GAN). Heads that also saw the text
would let the generator cheat through the caption.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.geometry import paste_theta, warp
from course_lib.nn.text import ConditioningAugmentation
from course_lib.nn.validation import check_images


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    """Double the resolution: 4x4 transposed convolution, stride 2."""
    return [
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class TextToImageGenerator(nn.Module):
    """Caption vector + noise -> image, with a spatial-transformer "where" path.

    Args:
        text_dim: size of the caption vector ``phi``.
        latent_dim: size of the noise ``z``.
        c_dim: size of the conditioning vector ``c``.
        channels, image_size: the images (32 or 64).
        width: channels of the feature maps (the canvas features have ``2 * width``).
        s_min, s_max: bounds of the window's scale.
        use_stn: ``False`` removes the "where" path (the ablation: one global path
            draws everything).
        use_ca: ``False`` feeds ``mu`` (deterministic) instead of a sample ``c``.
    """

    def __init__(
        self,
        text_dim: int = 128,
        latent_dim: int = 64,
        c_dim: int = 64,
        channels: int = 3,
        image_size: int = 32,
        width: int = 32,
        s_min: float = 0.2,
        s_max: float = 0.9,
        use_stn: bool = True,
        use_ca: bool = True,
    ) -> None:
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError(f"image_size must be 32 or 64, got {image_size}.")
        self.text_dim, self.latent_dim, self.c_dim = text_dim, latent_dim, c_dim
        self.channels, self.image_size = channels, image_size
        self.s_min, self.s_max = s_min, s_max
        self.use_stn, self.use_ca = use_stn, use_ca
        self.feature_size = image_size // 2  # the canvas the object is pasted on
        w = width
        # caption vectors come at any scale: normalise each one, so that mu = Linear(phi)
        # starts at the scale of the noise it competes with
        self.text_norm = nn.LayerNorm(text_dim, elementwise_affine=False)
        self.ca = ConditioningAugmentation(text_dim, c_dim)
        with torch.no_grad():  # start with narrow clouds (sigma = 0.37): the caption is
            self.ca.fc.bias[c_dim:].fill_(-2.0)  # audible from step 1; the KL widens them
        joint = latent_dim + c_dim

        def seed_to_features(out_channels: int) -> nn.Sequential:
            layers: list[nn.Module] = [
                nn.Linear(joint, 4 * w * 16),
                nn.Unflatten(1, (4 * w, 4, 4)),
                nn.BatchNorm2d(4 * w),
                nn.ReLU(inplace=True),
            ]
            size, c_in = 4, 4 * w
            while size < self.feature_size:
                layers += _up(c_in, max(c_in // 2, w))
                c_in, size = max(c_in // 2, w), size * 2
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1))
            return nn.Sequential(*layers)

        self.background = seed_to_features(2 * w)
        if use_stn:
            self.where = nn.Sequential(
                nn.Linear(text_dim, 64), nn.ReLU(inplace=True), nn.Linear(64, 3)
            )
            nn.init.zeros_(self.where[-1].weight)
            nn.init.zeros_(self.where[-1].bias)
            self.what = seed_to_features(2 * w + 1)  # features + an alpha logit
        self.render = nn.Sequential(
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            *_up(2 * w, w),
            nn.Conv2d(w, channels, 3, padding=1),
            nn.Tanh(),
        )

    def condition(
        self, phi: torch.Tensor, noise: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c, mu, logvar)``; ``c = mu`` when conditioning augmentation is off."""
        c, mu, logvar = self.ca(self.text_norm(phi), noise=noise)
        return (c if self.use_ca else mu), mu, logvar

    def placement(self, text: torch.Tensor) -> torch.Tensor:
        """The window ``[N, 3]`` (scale, cx, cy) the object is pasted into, from the
        normalised caption vector ``text`` (where the caption says; the noise and the
        CA's sample do not move it)."""
        a, bx, by = self.where(text).unbind(1)
        # sigmoid(0) = 0.5: the window starts half-way between s_min and s_max, centred
        scale = self.s_min + (self.s_max - self.s_min) * torch.sigmoid(a)
        reach = 1 - scale
        return torch.stack([scale, reach * torch.tanh(bx), reach * torch.tanh(by)], 1)

    def forward(
        self,
        z: torch.Tensor,
        phi: torch.Tensor,
        noise: torch.Tensor | None = None,
        return_all: bool = False,
    ):
        """Images ``[N, C, S, S]`` in [-1, 1] (``noise`` ``[N, c_dim]``: the
        conditioning augmentation's, drawn here when None). With ``return_all``, a dict that also
        holds ``mu``, ``logvar``, ``placement`` (or None) and the pasted ``alpha``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be [N, {self.latent_dim}], got {tuple(z.shape)}.")
        if phi.shape != (z.shape[0], self.text_dim):
            raise ValueError(
                f"phi must be [N, {self.text_dim}] with N = {z.shape[0]}, got {tuple(phi.shape)}."
            )
        c, mu, logvar = self.condition(phi, noise)
        zc = torch.cat([z, c], 1)
        canvas = self.background(zc)
        placement = alpha = None
        if self.use_stn:
            placement = self.placement(self.text_norm(phi))  # where the caption says
            sprite = self.what(zc)  # [N, 2w + 1, F, F], fills its canvas
            features, alpha_logit = sprite[:, :-1], sprite[:, -1:]
            sprite = torch.cat([features, torch.sigmoid(alpha_logit)], 1)
            pasted = warp(sprite, paste_theta(placement), self.feature_size)  # zero outside
            alpha = pasted[:, -1:]
            canvas = canvas * (1 - alpha) + pasted[:, :-1]
        images = self.render(canvas)
        if return_all:
            return {
                "images": images,
                "mu": mu,
                "logvar": logvar,
                "placement": placement,
                "alpha": alpha,
            }
        return images


class TextToImageDiscriminator(nn.Module):
    """Matching-aware discriminator with auxiliary attribute heads.

    Args:
        text_dim: size of the caption vector.
        heads: attribute name -> number of classes (auxiliary heads on image-only
            features; empty for none).
        channels, image_size, width: the images and the trunk's width.
    """

    def __init__(
        self,
        text_dim: int = 128,
        heads: dict[str, int] | None = None,
        channels: int = 3,
        image_size: int = 32,
        width: int = 32,
    ) -> None:
        super().__init__()
        if image_size not in (32, 64):
            raise ValueError(f"image_size must be 32 or 64, got {image_size}.")
        self.channels, self.image_size, self.text_dim = channels, image_size, text_dim
        sn = nn.utils.parametrizations.spectral_norm
        w = width
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, w, 3, 1, 1)), nn.LeakyReLU(0.2, True)]
        size, c_in = image_size, w
        while size > 4:
            c_out = min(c_in * 2, 8 * w)
            layers += [sn(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            c_in, size = c_out, size // 2
        layers += [nn.Flatten(), sn(nn.Linear(c_in * 16, 4 * w)), nn.LeakyReLU(0.2, True)]
        self.trunk = nn.Sequential(*layers)
        self.feature_dim = 4 * w
        self.score = sn(nn.Linear(4 * w, 1))
        self.project = sn(nn.Linear(text_dim, 4 * w, bias=False))
        self.heads = nn.ModuleDict({k: nn.Linear(4 * w, n) for k, n in (heads or {}).items()})

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Image-only features ``[N, feature_dim]``."""
        check_images(images, self.channels, self.image_size, "TextToImageDiscriminator")
        return self.trunk(images)

    def match(self, h: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        """Logit ``[N]``: real *and* described by ``phi`` (projection discriminator)."""
        return self.score(h)[:, 0] + (h * self.project(phi)).sum(1)

    def forward(self, images: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """``(match logits [N], attribute logits {name: [N, classes]})``."""
        h = self.features(images)
        return self.match(h, phi), {k: head(h) for k, head in self.heads.items()}
