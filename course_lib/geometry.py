"""Geometry of the spatial transformer: the constrained transform of eq.7, crop and paste.

Pure functions (no learnable parameters), used by the data sets to place
objects and by :class:`course_lib.nn.stn.SpatialTransformer` and the
text-conditioned generator to move them.

PyTorch's convention (``F.affine_grid`` then ``F.grid_sample``): ``theta``
``[N, 2, 3]`` maps each OUTPUT pixel's coordinates to the INPUT coordinates it
samples from, both in [-1, 1] (x = -1 at the left edge, y = -1 at the top).
The course uses ``align_corners=False`` everywhere (:data:`ALIGN_CORNERS`);
with it, the identity ``theta`` reproduces the input exactly.

With the constrained transform ``A = [[s, 0, tx], [0, s, ty]]`` (eq.7):

- **crop** (zoom into a box): ``s < 1`` samples the window of relative size
  ``s`` centred at ``(tx, ty)`` = ``(cx, cy)`` into the whole output;
- **paste** (place a canvas-filling sprite at size ``s`` and centre
  ``(cx, cy)``) needs the inverse, ``[[1/s, 0, -cx/s], [0, 1/s, -cy/s]]``.

Placements ``(scale, cx, cy)`` are in the units of the course's data sets
(:mod:`course_lib.data.scenes`), so ``paste(sprite, dataset.placement)``
draws an object where the data set says it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ALIGN_CORNERS = False


def _check_placement(placement: torch.Tensor) -> None:
    if placement.ndim != 2 or placement.shape[1] != 3:
        raise ValueError(f"placement must be [N, 3] (scale, cx, cy), got {tuple(placement.shape)}.")
    if (placement[:, 0] <= 0).any():
        raise ValueError(
            f"scale must be positive, got a smallest scale of {placement[:, 0].min().item():.3g}."
        )


def constrained_theta(scale: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """``[[s, 0, tx], [0, s, ty]]`` for each element (eq.7): ``[N, 2, 3]``."""
    zero = torch.zeros_like(scale)
    return torch.stack([torch.stack([scale, zero, tx], 1), torch.stack([zero, scale, ty], 1)], 1)


def crop_theta(placement: torch.Tensor) -> torch.Tensor:
    """The forward transform that crops the window ``(scale, cx, cy)``."""
    _check_placement(placement)
    s, cx, cy = placement.unbind(1)
    return constrained_theta(s, cx, cy)


def paste_theta(placement: torch.Tensor) -> torch.Tensor:
    """The inverse transform that pastes a canvas-filling sprite into ``(scale, cx, cy)``."""
    _check_placement(placement)
    s, cx, cy = placement.unbind(1)
    return constrained_theta(1 / s, -cx / s, -cy / s)


def warp(images: torch.Tensor, theta: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Sample ``images`` ``[N, C, H, W]`` through ``theta`` ``[N, 2, 3]`` into ``[N, C, *size]``
    (bilinear, zeros outside)."""
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got {tuple(images.shape)}.")
    if theta.shape != (images.shape[0], 2, 3):
        raise ValueError(
            f"theta must be [N, 2, 3] with N = {images.shape[0]} (the batch of images "
            f"{tuple(images.shape)}), got {tuple(theta.shape)}."
        )
    h, w = (size, size) if isinstance(size, int) else size
    if h < 1 or w < 1:
        raise ValueError(f"output size must be positive, got {size}.")
    grid = F.affine_grid(
        theta.to(images.dtype),
        [images.shape[0], images.shape[1], h, w],
        align_corners=ALIGN_CORNERS,
    )
    return F.grid_sample(
        images, grid, mode="bilinear", padding_mode="zeros", align_corners=ALIGN_CORNERS
    )


def crop(images: torch.Tensor, placement: torch.Tensor, size: int) -> torch.Tensor:
    """Zoom into each image's window ``(scale, cx, cy)``; output ``[N, C, size, size]``."""
    return warp(images, crop_theta(placement), size)


def paste(sprites: torch.Tensor, placement: torch.Tensor, size: int) -> torch.Tensor:
    """Place each canvas-filling sprite into its window ``(scale, cx, cy)`` on an empty
    (zero) canvas of ``size`` x ``size``."""
    return warp(sprites, paste_theta(placement), size)
