"""Captioned digits: real handwritten digits placed on a larger canvas.

The digits are scikit-learn's bundled 8x8 scans (1,797 images by 13 writers,
shipped inside the package, so nothing is downloaded). Each is smoothed to the
canvas resolution and pasted, with the same spatial-transformer arithmetic
the course's generator uses, into a window of relative size ``scale`` centred
at ``(cx, cy)`` (``F.affine_grid`` units). Captions follow alignDRAW's
captioned MNIST ("the digit 3 is at the top left of the image"), with a size
word added so that every caption describes every attribute.

The 1,797 scans are split once, by a fixed permutation, into 1,400 scans for
the ``train`` split and 397 for ``test`` and ``heldout``: the digit oracle is
evaluated on handwriting it never saw. Six digit-position combinations are
held out of ``train`` and ``test``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.data.scenes import (
    _SPLIT_STREAM,
    POSITION_PHRASES,
    POSITIONS,
    SIZE_PHRASES,
    SIZES,
    CaptionedScenes,
    place_objects,
)
from course_lib.data.vocab import Vocabulary, tokenize
from course_lib.geometry import paste

DIGITS: tuple[str, ...] = tuple(str(d) for d in range(10))
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES: tuple[str, ...] = (
    "the {size} digit {digit} is at the {position} of the image",
    "a {size} {digit} in the {position}",
    "the number {digit}, {size}, at the {position}",
    "{position}: a {size} digit {digit}",
    "there is a {size} {digit} in the {position} of the image",
    "a {size} handwritten {digit} at the {position}",
    "the {position} shows a {size} {digit}",
    "{size} digit {digit} located at the {position}",
)
SCALE_RANGES = ((0.36, 0.44), (0.58, 0.66))
TRAIN_SCANS = 1400


@lru_cache(maxsize=1)
def load_digit_scans() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 scans as ``[N, 1, 8, 8]`` floats in [0, 1] and their digits,
    in a fixed shuffled order (train scans first)."""
    from sklearn.datasets import load_digits  # imported here: only digits need it

    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))
    images = torch.from_numpy(bunch.images[order] / 16.0).float()[:, None]
    return images, torch.from_numpy(bunch.target[order]).long()


@lru_cache(maxsize=2)
def digit_sprites(resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every scan smoothed to ``[N, 1, resolution, resolution]`` (bicubic, in
    [0, 1]), and its digit label."""
    images, digits = load_digit_scans()
    sprites = F.interpolate(images, size=resolution, mode="bicubic", align_corners=False)
    return sprites.clamp(0, 1), digits


def digit_caption_vocabulary() -> Vocabulary:
    """Every word the digit templates can produce (the same for every split)."""
    words: set[str] = set(DIGITS) | set(DIGIT_WORDS)
    for phrases in (*SIZE_PHRASES.values(), *POSITION_PHRASES.values()):
        for phrase in phrases:
            words.update(tokenize(phrase))
    max_length = 0
    for template in TEMPLATES:
        text = template.format(size="small", digit="3", position="bottom centre")
        words.update(tokenize(text))
        max_length = max(max_length, len(tokenize(text)))
    return Vocabulary(words, max_length=max_length)


def make_digit_caption(
    digit: int, size: int, position: int, template: int = 0, synonym: int = 0
) -> str:
    """One caption; ``template`` and ``synonym`` choose the wording (numeral or word)."""
    size_words = SIZE_PHRASES[SIZES[size]]
    position_words = POSITION_PHRASES[POSITIONS[position]]
    return TEMPLATES[template % len(TEMPLATES)].format(
        size=size_words[synonym % len(size_words)],
        digit=DIGIT_WORDS[digit] if (synonym // 3) % 4 == 0 else DIGITS[digit],
        position=position_words[(synonym // 12) % len(position_words)],
    )


class CaptionedDigits(CaptionedScenes):
    """Captioned handwritten digits on a black canvas (1 channel).

    Args:
        n: number of images.
        split: ``"train"`` (1,400 scans), ``"test"`` (the other 397 scans) or
            ``"heldout"`` (the other 397 scans, only the held-out digit-position
            combinations).
        image_size: 32 (default) or 64.
        seed: the same seed and split give the same images and captions.
        captions_per_image: how many distinct templates describe each image.
    """

    ATTRIBUTES: ClassVar[dict[str, tuple[str, ...]]] = {
        "digit": DIGITS,
        "size": SIZES,
        "position": POSITIONS,
    }
    HELDOUT_ATTRIBUTES = ("digit", "position")
    HELDOUT = (
        ("0", "top left"),
        ("1", "bottom right"),
        ("3", "centre"),
        ("5", "top right"),
        ("7", "bottom left"),
        ("9", "top centre"),
    )

    def __init__(
        self,
        n: int,
        split: str = "train",
        image_size: int = 32,
        seed: int = 0,
        captions_per_image: int = 5,
    ) -> None:
        self._check_args(n, split, image_size, (32, 64), captions_per_image, len(TEMPLATES))
        self.split, self.seed = split, seed
        rng = np.random.default_rng([seed, _SPLIT_STREAM[split], image_size, 10])
        labels = self.sample_labels(rng, n, split)
        sprites, scan_digits = digit_sprites(image_size)
        pool = np.arange(TRAIN_SCANS) if split == "train" else np.arange(TRAIN_SCANS, len(sprites))
        by_digit = [pool[scan_digits[pool].numpy() == d] for d in range(10)]
        scan = np.array([by_digit[d][rng.integers(len(by_digit[d]))] for d in labels[:, 0]])
        placement = place_objects(rng, labels[:, 1], labels[:, 2], SCALE_RANGES)

        self.labels = torch.from_numpy(labels)
        self.placement = torch.from_numpy(placement)
        self.scan_index = torch.from_numpy(scan)
        canvas = paste(sprites[self.scan_index], self.placement, image_size)
        self.images = (canvas.clamp(0, 1) * 255).round().to(torch.uint8)
        self.captions = self._draw_captions(
            rng, labels, len(TEMPLATES), captions_per_image, make_digit_caption
        )
        self.vocab = digit_caption_vocabulary()


def displaced_digits(
    n: int,
    split: str = "train",
    image_size: int = 64,
    scale_range: tuple[float, float] = (0.2, 0.4),
    seed: int = 0,
    placement: torch.Tensor | None = None,
    train_scans: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Handwritten digits pasted at random sizes and places, for classification.

    Each image holds one scan (``train``: the 1,400 training scans, or only the
    first ``train_scans`` of them; ``test``: the other 397) pasted into a window
    of relative size drawn uniformly from ``scale_range``, centred anywhere the
    window stays on the canvas, or at the given ``placement`` ``[n, 3]``
    (scale, cx, cy).

    Returns:
        images ``[n, 1, image_size, image_size]`` in [-1, 1], digits ``[n]``,
        placement ``[n, 3]``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}.")
    low, high = scale_range
    if not 0 < low <= high <= 1:
        raise ValueError(f"scale_range must satisfy 0 < low <= high <= 1, got {scale_range}.")
    generator = torch.Generator().manual_seed(seed * 2 + (split == "test"))
    sprites, digits = digit_sprites(32)
    if train_scans is not None and not 10 <= train_scans <= TRAIN_SCANS:
        raise ValueError(f"train_scans must be between 10 and {TRAIN_SCANS}, got {train_scans}.")
    if split == "train":
        pool = torch.arange(train_scans or TRAIN_SCANS)
    else:
        pool = torch.arange(TRAIN_SCANS, len(sprites))
    scan = pool[torch.randint(len(pool), (n,), generator=generator)]
    if placement is None:
        scale = low + (high - low) * torch.rand(n, generator=generator)
        centre = (1 - scale)[:, None] * (2 * torch.rand(n, 2, generator=generator) - 1)
        placement = torch.cat([scale[:, None], centre], 1)
    elif placement.shape != (n, 3):
        raise ValueError(f"placement must be [n, 3] = [{n}, 3], got {tuple(placement.shape)}.")
    images = paste(sprites[scan], placement.float(), image_size).clamp(0, 1) * 2 - 1
    return images, digits[scan], placement
