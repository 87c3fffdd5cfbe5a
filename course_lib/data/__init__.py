"""Captioned data sets (all offline, deterministic by seed) and the vocabulary.

- :class:`CaptionedShapes`: procedurally drawn shapes with exact ground truth.
- :class:`CaptionedDigits`: real handwritten digits placed on a canvas.
- :class:`CaptionFolder`: your own images + captions (CUB-200 / Oxford-102 layout).
- :class:`Vocabulary`: words <-> ids, with helpful errors for unknown words.
"""

from course_lib.data.digits import CaptionedDigits, digit_caption_vocabulary
from course_lib.data.folder import CaptionFolder
from course_lib.data.scenes import POSITIONS, SIZES, CaptionedScenes
from course_lib.data.shapes import COLOURS, SHAPES, CaptionedShapes, shape_caption_vocabulary
from course_lib.data.vocab import Vocabulary, tokenize

DATASETS = {"shapes": CaptionedShapes, "digits": CaptionedDigits}
"""Generated data sets by name, as the command-line tools accept them."""

__all__ = [
    "COLOURS",
    "DATASETS",
    "POSITIONS",
    "SHAPES",
    "SIZES",
    "CaptionFolder",
    "CaptionedDigits",
    "CaptionedScenes",
    "CaptionedShapes",
    "Vocabulary",
    "digit_caption_vocabulary",
    "shape_caption_vocabulary",
    "tokenize",
]
