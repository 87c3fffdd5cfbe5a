"""Captioned shapes: procedurally drawn single-object scenes with captions.

Each image shows one object, described by four attributes:

- shape: circle, square, triangle, diamond, cross
- colour: red, yellow, green, cyan, blue, magenta
- size: small, large
- position: a 3x3 grid, "top left" ... "bottom right" (with jitter)

on a dark, lightly textured background (a grey level, a faint gradient and
pixel noise). Every image has several captions drawn from nine templates with
synonyms ("a small red circle in the top left", "top left: a little red
disc", ...). Because the data set draws the scenes, it knows the ground truth
exactly: attribute labels and the continuous placement ``(scale, cx, cy)``
in ``F.affine_grid`` units (see :mod:`course_lib.data.scenes`).

Five shape-colour combinations (``HELDOUT``) never appear in the ``train``
and ``test`` splits; the ``heldout`` split holds only them, to measure
compositional generalisation.
"""

from __future__ import annotations

from collections.abc import Callable
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

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross")
COLOURS: tuple[str, ...] = ("red", "yellow", "green", "cyan", "blue", "magenta")
COLOUR_RGB = torch.tensor(
    [
        [0.92, 0.16, 0.14],  # red
        [0.95, 0.86, 0.14],  # yellow
        [0.16, 0.76, 0.22],  # green
        [0.14, 0.80, 0.86],  # cyan
        [0.20, 0.32, 0.96],  # blue
        [0.86, 0.20, 0.82],  # magenta
    ]
)
"""RGB in [0, 1] of each colour, in ``COLOURS`` order."""

SHAPE_PHRASES: dict[str, tuple[str, ...]] = {
    "circle": ("circle", "disc"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle",),
    "diamond": ("diamond", "rhombus"),
    "cross": ("cross", "plus"),
}

TEMPLATES: tuple[str, ...] = (
    "a {size} {colour} {shape} in the {position}",
    "{position}: a {size} {colour} {shape}",
    "there is a {size} {colour} {shape} at the {position}",
    "a {colour} {shape}, {size}, in the {position} of the image",
    "the {position} holds a {size} {colour} {shape}",
    "{size} {colour} {shape} located at the {position}",
    "in the {position} there is a {size} {colour} {shape}",
    "a {shape} that is {colour} and {size}, {position}",
    "one {size} {colour} {shape} near the {position}",
)

SCALE_RANGES = ((0.24, 0.32), (0.42, 0.50))
"""Window side relative to the canvas, for small and large objects."""


def _circle(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u * u + v * v <= 0.95**2


def _square(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.maximum(u.abs(), v.abs()) <= 0.82


def _triangle(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # apex at the top (y grows downwards), base at the bottom
    return (v >= -0.92) & (v <= 0.8) & (u.abs() <= (v + 0.92) * 0.55)


def _diamond(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return u.abs() + v.abs() <= 0.98


def _cross(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    a, b = u.abs(), v.abs()
    return ((a <= 0.33) & (b <= 0.95)) | ((b <= 0.33) & (a <= 0.95))


SHAPE_MASKS: tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ...] = (
    _circle,
    _square,
    _triangle,
    _diamond,
    _cross,
)
"""Inside-tests in sprite coordinates ``(u, v)`` in [-1, 1]: the shape fills its window."""


def render_shapes(
    shape: torch.Tensor,
    colour_rgb: torch.Tensor,
    placement: torch.Tensor,
    image_size: int = 32,
    generator: torch.Generator | None = None,
    supersample: int = 3,
    chunk: int = 1024,
) -> torch.Tensor:
    """Draw one object per image, anti-aliased by supersampling.

    Args:
        shape: ``[N]`` long, index into ``SHAPES``.
        colour_rgb: ``[N, 3]`` object colours in [0, 1].
        placement: ``[N, 3]`` ``(scale, cx, cy)`` in affine-grid units.
        image_size: canvas side in pixels.
        generator: for the background texture.
        supersample: sub-pixels per pixel side.

    Returns:
        ``[N, 3, image_size, image_size]`` uint8 images.
    """
    n = len(shape)
    if placement.shape != (n, 3) or colour_rgb.shape != (n, 3):
        raise ValueError(
            f"expected placement and colour_rgb of shape ({n}, 3), got "
            f"{tuple(placement.shape)} and {tuple(colour_rgb.shape)}."
        )
    size = image_size
    fine = size * supersample
    coords = (torch.arange(fine, dtype=torch.float32) * 2 + 1) / fine - 1  # pixel centres
    pixel = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1
    out = torch.empty(n, 3, size, size, dtype=torch.uint8)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        m = stop - start
        s, cx, cy = placement[start:stop].T
        u = (coords[None, None, :] - cx[:, None, None]) / s[:, None, None]  # [m, 1, fine]
        v = (coords[None, :, None] - cy[:, None, None]) / s[:, None, None]  # [m, fine, 1]
        mask = torch.zeros(m, fine, fine, dtype=torch.bool)
        kinds = shape[start:stop]
        for k, inside in enumerate(SHAPE_MASKS):
            sel = kinds == k
            if sel.any():
                mask[sel] = inside(u[sel], v[sel])
        # coverage of each pixel by its supersample x supersample sub-pixels
        alpha = F.avg_pool2d(mask[:, None].float(), supersample)  # [m, 1, size, size]

        # background: grey level + faint linear gradient + pixel noise
        grey = torch.rand(m, 1, 1, 1, generator=generator) * 0.10 + 0.06
        angle = torch.rand(m, generator=generator) * 2 * torch.pi
        amplitude = torch.rand(m, generator=generator) * 0.06
        ramp = (angle.cos()[:, None, None] * pixel[None, None, :]) + (
            angle.sin()[:, None, None] * pixel[None, :, None]
        )  # [m, size, size]
        background = grey + (amplitude[:, None, None] * ramp / 2)[:, None]
        background = background + 0.012 * torch.randn(m, 3, size, size, generator=generator)
        colour = colour_rgb[start:stop, :, None, None]
        image = alpha * colour + (1 - alpha) * background
        out[start:stop] = (image.clamp(0, 1) * 255).round().to(torch.uint8)
    return out


def shape_caption_vocabulary() -> Vocabulary:
    """The vocabulary of every caption the templates can produce.

    It equals the vocabulary built from any large training set (every word
    appears), and it is the same for every split, seed and size, so token ids
    agree between data sets and checkpoints.
    """

    def longest(table: dict[str, tuple[str, ...]]) -> str:
        return max((p for ps in table.values() for p in ps), key=lambda p: len(p.split()))

    words: set[str] = set(COLOURS)
    for phrases in (*SIZE_PHRASES.values(), *SHAPE_PHRASES.values(), *POSITION_PHRASES.values()):
        for phrase in phrases:
            words.update(tokenize(phrase))
    max_length = 0
    for template in TEMPLATES:
        text = template.format(
            size=longest(SIZE_PHRASES),
            colour=COLOURS[0],
            shape=longest(SHAPE_PHRASES),
            position=longest(POSITION_PHRASES),
        )
        words.update(tokenize(text))
        max_length = max(max_length, len(tokenize(text)))
    return Vocabulary(words, max_length=max_length)


def _phrase(table: dict[str, tuple[str, ...]], name: str, pick: int) -> str:
    options = table[name]
    return options[pick % len(options)]


def make_shape_caption(
    shape: int, colour: int, size: int, position: int, template: int = 0, synonym: int = 0
) -> str:
    """One caption for the given labels; ``template`` and ``synonym`` choose the wording."""
    return TEMPLATES[template % len(TEMPLATES)].format(
        size=_phrase(SIZE_PHRASES, SIZES[size], synonym),
        colour=COLOURS[colour],
        shape=_phrase(SHAPE_PHRASES, SHAPES[shape], synonym // 3),
        position=_phrase(POSITION_PHRASES, POSITIONS[position], synonym // 7),
    )


def parse_shape_caption(caption: str) -> dict[str, str]:
    """Read the attributes back from a caption of the shapes grammar.

    Returns:
        attribute name -> value name for each attribute the caption names
        (a caption that omits, say, the size gives no ``"size"`` entry).

    Raises:
        ValueError: if the caption names two different values of one attribute.
    """
    words = tokenize(caption)
    text = " " + " ".join(words) + " "
    found: dict[str, set[str]] = {}

    def add(attribute: str, value: str) -> None:
        found.setdefault(attribute, set()).add(value)

    for colour in COLOURS:
        if colour in words:
            add("colour", colour)
    for attribute, table in (("shape", SHAPE_PHRASES), ("size", SIZE_PHRASES)):
        for value, phrases in table.items():
            if any(p in words for p in phrases):
                add(attribute, value)
    # positions: longest phrases first, so "top centre" is not read as "centre"
    phrases = sorted(
        ((p, v) for v, ps in POSITION_PHRASES.items() for p in ps), key=lambda pv: -len(pv[0])
    )
    for phrase, value in phrases:
        if f" {phrase} " in text:
            add("position", value)
            text = text.replace(f" {phrase} ", " ")
    clashes = {k: sorted(v) for k, v in found.items() if len(v) > 1}
    if clashes:
        raise ValueError(
            f"the caption {caption!r} names several values of one attribute: {clashes}."
        )
    return {k: next(iter(v)) for k, v in found.items()}


def shape_labels_from_caption(caption: str) -> torch.Tensor:
    """``[4]`` long labels (shape, colour, size, position) of a complete caption.

    Raises:
        ValueError: naming the attributes the caption leaves out.
    """
    parsed = parse_shape_caption(caption)
    missing = [a for a in CaptionedShapes.ATTRIBUTES if a not in parsed]
    if missing:
        raise ValueError(f"the caption {caption!r} does not say the {', '.join(missing)}.")
    return torch.tensor(
        [values.index(parsed[a]) for a, values in CaptionedShapes.ATTRIBUTES.items()]
    )


class CaptionedShapes(CaptionedScenes):
    """Captioned shapes, generated in memory (deterministic by seed).

    Args:
        n: number of images.
        split: ``"train"``, ``"test"`` (same combinations, different draws)
            or ``"heldout"`` (only the held-out shape-colour combinations).
        image_size: 32 (default) or 64.
        seed: the same seed and split give the same images and captions.
        captions_per_image: how many distinct templates describe each image.

    Example::

        data = CaptionedShapes(1000, split="train")
        loader = DataLoader(data, batch_size=64, shuffle=True, collate_fn=data.collate)
    """

    ATTRIBUTES: ClassVar[dict[str, tuple[str, ...]]] = {
        "shape": SHAPES,
        "colour": COLOURS,
        "size": SIZES,
        "position": POSITIONS,
    }
    HELDOUT_ATTRIBUTES = ("shape", "colour")
    HELDOUT = (
        ("circle", "green"),
        ("square", "magenta"),
        ("triangle", "blue"),
        ("diamond", "red"),
        ("cross", "yellow"),
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
        self.split = split
        self.seed = seed
        rng = np.random.default_rng([seed, _SPLIT_STREAM[split], image_size])
        labels = self.sample_labels(rng, n, split)
        placement = place_objects(rng, labels[:, 2], labels[:, 3], SCALE_RANGES)
        jitter = rng.uniform(-0.06, 0.06, (n, 3)).astype(np.float32)
        colour = (COLOUR_RGB[labels[:, 1]] + torch.from_numpy(jitter)).clamp(0, 1)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))

        self.labels = torch.from_numpy(labels)
        self.placement = torch.from_numpy(placement)
        self.images = render_shapes(
            self.labels[:, 0], colour, self.placement, image_size, generator=generator
        )
        self.captions = self._draw_captions(
            rng, labels, len(TEMPLATES), captions_per_image, make_shape_caption
        )
        self.vocab = shape_caption_vocabulary()
