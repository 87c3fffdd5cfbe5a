"""Figures: image grids and training curves (matplotlib only, no torchvision).

Every function takes tensors on any device and draws on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes


def image_grid(
    images: torch.Tensor | np.ndarray,
    nrow: int = 8,
    padding: int = 2,
    value_range: tuple[float, float] = (-1.0, 1.0),
    pad_value: float = 1.0,
) -> np.ndarray:
    """Tile a batch of images into one picture.

    Args:
        images: ``[N, C, H, W]`` (C = 1 or 3) or ``[N, H, W]``, any device.
        nrow: images per row.
        padding: pixels between images.
        value_range: the range the images use (``(-1, 1)`` for the course's
            data and generators); mapped to ``[0, 1]`` and clipped.
        pad_value: colour of the padding in ``[0, 1]`` (1 = white).

    Returns:
        A float array ``[rows*(H+padding)+padding, nrow*(W+padding)+padding, 3]``
        in ``[0, 1]``, ready for ``plt.imshow``.

    Raises:
        ValueError: for a shape other than the two above, an empty batch, or
            a channel count other than 1 or 3.
    """
    x = (
        images.detach().to("cpu", torch.float32).numpy()
        if isinstance(images, torch.Tensor)
        else np.asarray(images, np.float32)
    )
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(
            f"image_grid expects a non-empty batch [N, C, H, W] or [N, H, W], got shape {x.shape}."
        )
    if x.shape[1] not in (1, 3):
        raise ValueError(f"image_grid expects 1 or 3 channels, got {x.shape[1]} (shape {x.shape}).")
    if nrow < 1 or padding < 0:
        raise ValueError(f"nrow must be >= 1 and padding >= 0, got nrow={nrow}, padding={padding}.")
    low, high = value_range
    if not high > low:
        raise ValueError(f"value_range must be (low, high) with high > low, got {value_range}.")
    x = np.clip((x - low) / (high - low), 0.0, 1.0)
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    n, _, h, w = x.shape
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    grid = np.full(
        (nrows * (h + padding) + padding, ncol * (w + padding) + padding, 3), pad_value, np.float32
    )
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[top : top + h, left : left + w] = x[i].transpose(1, 2, 0)
    return grid


def show_images(
    images: torch.Tensor | np.ndarray,
    nrow: int = 8,
    title: str = "",
    value_range: tuple[float, float] = (-1.0, 1.0),
    ax: Axes | None = None,
    scale: float = 0.6,
) -> Axes:
    """Draw a grid of images (see :func:`image_grid`) with a title, no axes.

    Returns the matplotlib ``Axes``; call ``plt.show()`` after it.
    """
    grid = image_grid(images, nrow=nrow, value_range=value_range)
    if ax is None:
        n = images.shape[0]
        cols = min(nrow, n)
        rows = math.ceil(n / cols)
        _, ax = plt.subplots(figsize=(max(2.0, cols * scale * 1.6), max(1.6, rows * scale * 1.6)))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def show_captioned(
    images: torch.Tensor | np.ndarray,
    captions: Sequence[str],
    ncols: int = 4,
    title: str = "",
    value_range: tuple[float, float] = (-1.0, 1.0),
    width: int = 22,
) -> np.ndarray:
    """Show images with a (wrapped) caption under each.

    Returns the array of matplotlib axes; call ``plt.show()`` after it.
    """
    import textwrap

    if len(captions) != len(images):
        raise ValueError(f"got {len(images)} images but {len(captions)} captions.")
    n = len(images)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for i, caption in enumerate(captions):
        ax = axes.flat[i]
        ax.imshow(image_grid(images[i : i + 1], nrow=1, padding=0, value_range=value_range))
        lines = [line for part in caption.split("\n") for line in textwrap.wrap(part, width)]
        ax.set_title("\n".join(lines), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return axes


def draw_windows(
    ax: Axes,
    placement: torch.Tensor,
    image_size: int,
    nrow: int = 8,
    padding: int = 2,
    color: str = "white",
    linewidth: float = 1.0,
) -> None:
    """Draw placement windows ``(scale, cx, cy)`` (affine-grid units, see
    :mod:`course_lib.geometry`) as squares on a grid that :func:`show_images` drew
    on ``ax`` with the same ``nrow`` and ``padding``; window ``i`` goes on image ``i``."""
    from matplotlib.patches import Rectangle

    placement = torch.as_tensor(placement).detach().to("cpu", torch.float32)
    if placement.ndim != 2 or placement.shape[1] != 3:
        raise ValueError(f"placement must be [N, 3] (scale, cx, cy), got {tuple(placement.shape)}.")
    ncol = min(nrow, len(placement))
    for i, (s, cx, cy) in enumerate(placement.tolist()):
        r, c = divmod(i, ncol)
        # pixel j covers [j - 0.5, j + 0.5] in imshow's coordinates
        left = padding + c * (image_size + padding) + (cx - s + 1) / 2 * image_size - 0.5
        top = padding + r * (image_size + padding) + (cy - s + 1) / 2 * image_size - 0.5
        side = s * image_size
        ax.add_patch(
            Rectangle((left, top), side, side, fill=False, color=color, linewidth=linewidth)
        )


def save_image_grid(
    images: torch.Tensor | np.ndarray,
    path: str | Path,
    nrow: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    upscale: int = 1,
) -> Path:
    """Write a grid of images to a PNG file (pixel-exact, no figure margins).

    Args:
        upscale: integer factor to enlarge each pixel (nearest neighbour), so
            that 32x32 samples are visible in a file browser.

    Returns:
        The path written.
    """
    if upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale}.")
    grid = image_grid(images, nrow=nrow, value_range=value_range)
    if upscale > 1:
        grid = grid.repeat(upscale, axis=0).repeat(upscale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, grid)
    return path


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_curves(
    history: Mapping[str, Sequence[float]],
    title: str = "Training curves",
    xlabel: str = "step",
    ylabel: str = "loss",
    smooth: int = 1,
    ax: Axes | None = None,
) -> Axes:
    """Plot named curves (e.g. ``{"loss_D": [...], "loss_G": [...]}``) on one axes.

    Args:
        history: name -> values, one value per step (or per epoch).
        smooth: moving-average window; the raw curve is drawn faintly behind.

    Returns:
        The matplotlib ``Axes``; call ``plt.show()`` after it.
    """
    if not history:
        raise ValueError("plot_curves needs at least one named curve, got an empty mapping.")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, values in history.items():
        y = np.asarray(values, dtype=np.float64)
        if y.ndim != 1:
            raise ValueError(f"curve {name!r} must be 1-D, got shape {y.shape}.")
        x = np.arange(len(y))
        if smooth > 1 and len(y) >= smooth:
            (line,) = ax.plot(x, y, alpha=0.25)
            ys = _moving_average(y, smooth)
            ax.plot(x[smooth - 1 :], ys, color=line.get_color(), label=f"{name} (avg {smooth})")
        else:
            ax.plot(x, y, label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
