"""One input check shared by the course's image networks."""

from __future__ import annotations

import torch


def check_images(images: torch.Tensor, channels: int, size: int, owner: str) -> None:
    """Raise ``ValueError`` unless ``images`` is ``[N, channels, size, size]``,
    naming the network (``owner``), the expected and the received shape."""
    expected = (channels, size, size)
    if (
        not isinstance(images, torch.Tensor)
        or images.ndim != 4
        or tuple(images.shape[1:]) != expected
    ):
        got = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"{owner} expects images [N, {channels}, {size}, {size}], got {got}.")
