"""What every captioned data set of the course shares: the 3x3 position grid,
the two sizes, the placement convention, held-out combinations, and a
``torch.utils.data.Dataset`` that returns images with captions, token ids and
ground truth.

Placement convention (the one ``F.affine_grid`` uses, ``align_corners=False``):
x runs from -1 (left edge) to +1 (right edge), y from -1 (top) to +1 (bottom).
An object's placement is ``(scale, cx, cy)``: its window is a square of side
``scale`` times the canvas side, centred at ``(cx, cy)``. The spatial
transformer that pastes a canvas-filling sprite into that window uses
``theta = [[1/scale, 0, -cx/scale], [0, 1/scale, -cy/scale]]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from course_lib.data.vocab import Vocabulary

POSITIONS: tuple[str, ...] = (
    "top left", "top centre", "top right",
    "centre left", "centre", "centre right",
    "bottom left", "bottom centre", "bottom right",
)  # fmt: skip
"""The 3x3 grid, row by row; index = 3 * row + column."""

SIZES: tuple[str, ...] = ("small", "large")

SPLITS = ("train", "test", "heldout")
_SPLIT_STREAM = {"train": 0, "test": 1, "heldout": 2}

POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "top left": ("top left", "upper left"),
    "top centre": ("top centre", "top middle", "upper middle"),
    "top right": ("top right", "upper right"),
    "centre left": ("centre left", "middle left"),
    "centre": ("centre", "center", "middle"),
    "centre right": ("centre right", "middle right"),
    "bottom left": ("bottom left", "lower left"),
    "bottom centre": ("bottom centre", "bottom middle", "lower middle"),
    "bottom right": ("bottom right", "lower right"),
}
SIZE_PHRASES: dict[str, tuple[str, ...]] = {
    "small": ("small", "little", "tiny"),
    "large": ("large", "big", "huge"),
}


def position_offsets(position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column and row of each position index, each in {-1, 0, 1}."""
    position = np.asarray(position)
    return position % 3 - 1, position // 3 - 1


def place_objects(
    rng: np.random.Generator,
    size: np.ndarray,
    position: np.ndarray,
    scale_ranges: Sequence[tuple[float, float]],
    margin: float = 0.02,
    jitter: float = 0.05,
) -> np.ndarray:
    """Draw placements ``(scale, cx, cy)`` for the given size and position labels.

    The scale is uniform in ``scale_ranges[size]``; the centre of a grid cell
    at column/row offset ``k`` is ``k * (1 - scale - margin - jitter)`` plus a
    uniform jitter, so every object stays on the canvas.

    Returns:
        ``[N, 3]`` float32 array of ``(scale, cx, cy)`` in affine-grid units.
    """
    n = len(size)
    low = np.array([scale_ranges[s][0] for s in size])
    high = np.array([scale_ranges[s][1] for s in size])
    scale = rng.uniform(low, high)
    col, row = position_offsets(position)
    reach = 1.0 - scale - margin - jitter
    cx = col * reach + rng.uniform(-jitter, jitter, n)
    cy = row * reach + rng.uniform(-jitter, jitter, n)
    return np.stack([scale, cx, cy], axis=1).astype(np.float32)


def nearest_position(cx: torch.Tensor, cy: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The grid position whose cell a centre falls in (thirds of the reachable range)."""
    col = torch.where(cx < -0.2, 0, torch.where(cx > 0.2, 2, 1))
    row = torch.where(cy < -0.2, 0, torch.where(cy > 0.2, 2, 1))
    del scale  # kept in the signature: a finer rule may use it
    return 3 * row + col


class CaptionedScenes(Dataset):
    """Base class: a captioned, fully labelled set of single-object scenes.

    Subclasses set ``ATTRIBUTES`` (name -> value names, in label order) and
    ``HELDOUT`` (value-name pairs of ``HELDOUT_ATTRIBUTES`` that the train and
    test splits never contain, and the ``heldout`` split contains only), and
    fill ``images``, ``labels``, ``placement`` and ``captions``.

    Each item is a dict:

    - ``image``: ``[C, H, W]`` float in ``[-1, 1]``
    - ``captions``: list of ``K`` strings describing the image
    - ``tokens``: ``[K, L]`` long, word ids padded with 0; ``lengths``: ``[K]``
    - ``labels``: ``[A]`` long, one label per attribute (``ATTRIBUTES`` order)
    - ``placement``: ``[3]`` float, ``(scale, cx, cy)`` in affine-grid units
    - ``index``: the item's index

    Use ``DataLoader(dataset, batch_size, collate_fn=dataset.collate)``:
    the default collate would transpose the caption lists.
    """

    ATTRIBUTES: ClassVar[dict[str, tuple[str, ...]]] = {}
    HELDOUT_ATTRIBUTES: ClassVar[tuple[str, str]] = ("", "")
    HELDOUT: ClassVar[tuple[tuple[str, str], ...]] = ()

    images: torch.Tensor  # [N, C, H, W] uint8
    labels: torch.Tensor  # [N, A] long
    placement: torch.Tensor  # [N, 3] float32
    captions: list[list[str]]
    vocab: Vocabulary
    split: str

    @staticmethod
    def _check_args(
        n: int,
        split: str,
        image_size: int,
        sizes: Sequence[int],
        captions_per_image: int = 1,
        templates: int = 1,
    ) -> None:
        if not 1 <= captions_per_image <= templates:
            raise ValueError(
                f"captions_per_image must be between 1 and {templates}, got {captions_per_image}."
            )
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n (the number of images) must be a positive integer, got {n!r}.")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; accepted: {', '.join(SPLITS)}.")
        if image_size not in sizes:
            raise ValueError(
                f"image_size {image_size} is not supported; accepted: {', '.join(map(str, sizes))}."
            )

    @staticmethod
    def _draw_captions(
        rng: np.random.Generator,
        labels: np.ndarray,
        templates: int,
        captions_per_image: int,
        make_caption: Callable[..., str],
    ) -> list[list[str]]:
        """``captions_per_image`` captions per label row, each from a different template."""
        n = len(labels)
        chosen = np.argsort(rng.random((n, templates)), axis=1)[:, :captions_per_image]
        synonyms = rng.integers(0, 2**16, (n, captions_per_image))
        return [
            [make_caption(*row, template=t, synonym=w) for t, w in zip(ts, ws, strict=True)]
            for row, ts, ws in zip(labels.tolist(), chosen.tolist(), synonyms.tolist(), strict=True)
        ]

    @classmethod
    def attribute_names(cls) -> list[str]:
        return list(cls.ATTRIBUTES)

    @classmethod
    def heldout_mask(cls, labels: np.ndarray) -> np.ndarray:
        """True where a row of labels is one of the held-out combinations."""
        first, second = cls.HELDOUT_ATTRIBUTES
        names = list(cls.ATTRIBUTES)
        a, b = names.index(first), names.index(second)
        pairs = {
            (cls.ATTRIBUTES[first].index(x), cls.ATTRIBUTES[second].index(y))
            for x, y in cls.HELDOUT
        }
        return np.array([(int(r[a]), int(r[b])) in pairs for r in labels], dtype=bool)

    @classmethod
    def sample_labels(cls, rng: np.random.Generator, n: int, split: str) -> np.ndarray:
        """Uniform labels for every attribute, respecting the split's held-out rule."""
        out = np.empty((0, len(cls.ATTRIBUTES)), dtype=np.int64)
        while len(out) < n:
            need = (n - len(out)) * 2 + 16
            draw = np.stack(
                [rng.integers(0, len(v), need) for v in cls.ATTRIBUTES.values()], axis=1
            )
            held = cls.heldout_mask(draw)
            keep = held if split == "heldout" else ~held
            out = np.concatenate([out, draw[keep]])
        return out[:n]

    # -- the Dataset protocol -------------------------------------------------
    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} images.")
        captions = self.captions[index]
        tokens, lengths = self.vocab.encode_batch(captions)
        return {
            "image": self.images[index].float() / 127.5 - 1.0,
            "captions": list(captions),
            "tokens": tokens,
            "lengths": lengths,
            "labels": self.labels[index],
            "placement": self.placement[index],
            "index": index % len(self),
        }

    @staticmethod
    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Stack tensors; keep ``captions`` as a list (one list of strings per image)."""
        out: dict[str, Any] = {}
        for key in batch[0]:
            values = [item[key] for item in batch]
            if key == "captions":
                out[key] = values
            elif isinstance(values[0], torch.Tensor):
                out[key] = torch.stack(values)
            else:
                out[key] = torch.tensor(values)
        return out

    # -- conveniences -----------------------------------------------------------
    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    def images_float(self, indices: Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in ``[-1, 1]`` (all, or the given indices)."""
        images = self.images if indices is None else self.images[torch.as_tensor(indices)]
        return images.float() / 127.5 - 1.0

    def describe(self, index: int) -> dict[str, str]:
        """Attribute name -> value name of one image."""
        return {
            name: values[int(self.labels[index, a])]
            for a, (name, values) in enumerate(self.ATTRIBUTES.items())
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n={len(self)}, split={self.split!r}, "
            f"image_size={self.image_size}, channels={self.channels}, "
            f"captions per image={len(self.captions[0])}, vocabulary={len(self.vocab) - 1} words)"
        )
