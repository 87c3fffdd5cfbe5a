"""The spatial transformer network (Jaderberg et al. 2015).

The geometry (eq.7's constrained transform, crop and paste, the
``align_corners`` convention) lives in :mod:`course_lib.geometry`.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.geometry import constrained_theta, warp
from course_lib.nn.validation import check_images


class SpatialTransformer(nn.Module):
    """A localisation network, a sampling grid and a bilinear sampler (Jaderberg et al. 2015).

    Args:
        in_channels, image_size: the input images (``image_size`` a multiple of 4).
        out_size: side of the transformed output (default: ``image_size``).
        mode: ``"affine"`` (6 free parameters) or ``"constrained"`` (eq.7: scale
            and translation, bounded: ``s = s_min + (s_max - s_min) sigmoid(a)``,
            ``t = (1 - s) tanh(b)``, so the window stays on the canvas).
        hidden: width of the localisation network.
        init_scale: constrained mode only: the scale of the centred window the
            network starts from (default: within 0.1% of ``s_max``, the
            identity when ``s_max = 1``).

    The localisation network's last layer starts at zero weight, with a bias
    giving the identity transform in affine mode, and in constrained mode a
    centred window of scale ``init_scale``.

    Pitfall of the bounded form: at ``s`` close to ``s_max`` the sigmoid is
    saturated (its slope at 0.999 is 0.001) and the translation's reach
    ``1 - s`` is close to 0, so the window can hardly move or shrink. A network
    that must learn *where* to look should start from a window that can move,
    e.g. ``init_scale=0.8`` (slope 0.19, reach 0.2).
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        out_size: int | None = None,
        mode: str = "constrained",
        s_min: float = 0.2,
        s_max: float = 1.0,
        hidden: int = 32,
        init_scale: float | None = None,
    ) -> None:
        super().__init__()
        if mode not in ("affine", "constrained"):
            raise ValueError(f"mode must be 'affine' or 'constrained', got {mode!r}.")
        if not 0 < s_min < s_max:
            raise ValueError(f"need 0 < s_min < s_max, got s_min={s_min}, s_max={s_max}.")
        if init_scale is not None and not s_min < init_scale < s_max:
            raise ValueError(
                f"init_scale must lie strictly between s_min={s_min} and s_max={s_max}, "
                f"got {init_scale}."
            )
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {image_size}.")
        self.mode, self.s_min, self.s_max = mode, s_min, s_max
        self.in_channels, self.image_size = in_channels, image_size
        self.out_size = out_size or image_size
        self.localisation = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1),  # [h, S, S]
            nn.MaxPool2d(2),  # [h, S/2, S/2]
            nn.ReLU(True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.MaxPool2d(2),  # [h, S/4, S/4]
            nn.ReLU(True),
            nn.Flatten(),
            nn.Linear(hidden * (image_size // 4) ** 2, hidden),
            nn.ReLU(True),
        )
        self.head = nn.Linear(hidden, 6 if mode == "affine" else 3)
        nn.init.zeros_(self.head.weight)
        with torch.no_grad():
            if mode == "affine":
                self.head.bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))
            elif init_scale is None:  # sigmoid(6.9) = 0.999: s within 0.1% of s_max, centred
                self.head.bias.copy_(torch.tensor([6.9, 0.0, 0.0]))
            else:
                fraction = torch.tensor((init_scale - s_min) / (s_max - s_min))
                self.head.bias.copy_(torch.stack([torch.logit(fraction), *torch.zeros(2)]))

    def theta(self, images: torch.Tensor) -> torch.Tensor:
        """The predicted transform ``[N, 2, 3]``."""
        check_images(images, self.in_channels, self.image_size, "SpatialTransformer")
        out = self.head(self.localisation(images))
        if self.mode == "affine":
            return out.view(-1, 2, 3)
        scale = self.s_min + (self.s_max - self.s_min) * torch.sigmoid(out[:, 0])
        reach = 1 - scale
        return constrained_theta(
            scale, reach * torch.tanh(out[:, 1]), reach * torch.tanh(out[:, 2])
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return warp(images, self.theta(images), self.out_size)


class STNClassifier(nn.Module):
    """A classifier that looks at its input through a spatial transformer.

    The transformer samples an ``out_size`` view of the ``image_size`` input,
    and ``classifier`` (which takes ``out_size`` images) reads that view. With
    ``learn_transform=False`` the view is fixed to the whole canvas (the
    identity transform, resampled to ``out_size``): the same classifier, same
    input resolution, without a spatial transformer, for a fair comparison.

    Args:
        classifier: a module taking ``[N, in_channels, out_size, out_size]``.
        in_channels, image_size, out_size: the input and the view.
        learn_transform: a learned :class:`SpatialTransformer` (constrained
            mode) or the fixed identity.
        **stn_options: passed to :class:`SpatialTransformer` (``s_min``,
            ``s_max``, ``hidden``, ``init_scale``, ``mode``).
    """

    def __init__(
        self,
        classifier: nn.Module,
        in_channels: int,
        image_size: int,
        out_size: int,
        learn_transform: bool = True,
        **stn_options,
    ) -> None:
        super().__init__()
        self.in_channels, self.image_size, self.out_size = in_channels, image_size, out_size
        self.classifier = classifier
        self.stn = (
            SpatialTransformer(in_channels, image_size, out_size, **stn_options)
            if learn_transform
            else None
        )

    def theta(self, images: torch.Tensor) -> torch.Tensor:
        """The transform each image is viewed through, ``[N, 2, 3]``."""
        if self.stn is not None:
            return self.stn.theta(images)
        check_images(images, self.in_channels, self.image_size, "STNClassifier")
        identity = torch.eye(2, 3, device=images.device, dtype=images.dtype)
        return identity.expand(len(images), 2, 3)

    def view(self, images: torch.Tensor) -> torch.Tensor:
        """What the classifier sees: ``[N, C, out_size, out_size]``."""
        return warp(images, self.theta(images), self.out_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.view(images))
