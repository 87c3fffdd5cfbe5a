"""Bring your own captioned images: the CUB-200 / Oxford-102 folder layout.

The layout of Reed et al.'s captions (and of StackGAN's data preparation)::

    root/
      images/<class>/<name>.jpg          (or .png, .jpeg)
      text_c10/<class>/<name>.txt        one caption per line

Images without a caption file (or with no non-empty line) are skipped, with a
count in :attr:`CaptionFolder.skipped`. Images are centre-cropped to a square
and resized. Nothing is downloaded: point ``root`` at data you already have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from course_lib.data.scenes import CaptionedScenes
from course_lib.data.vocab import Vocabulary, tokenize

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def load_image(path: Path, image_size: int) -> torch.Tensor:
    """Read an image as ``[3, image_size, image_size]`` uint8, centre-cropped."""
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(path) as image:
        image = image.convert("RGB")
        w, h = image.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
        array = np.asarray(image, dtype=np.uint8).copy()
    return torch.from_numpy(array).permute(2, 0, 1)


class CaptionFolder(CaptionedScenes):
    """Captioned images from a folder tree (see the module docstring).

    Args:
        root: the data set folder.
        image_size: output side in pixels (64 by default).
        images_dir, text_dir: sub-folder names.
        captions_per_image: captions kept per image (default: the smallest
            number any image has, so that batches stack).
        vocab: a vocabulary to encode with (e.g. a trained model's); by default
            one is built from these captions.

    ``labels`` hold the class (the sub-folder) of each image; ``placement`` is
    unknown for such data and filled with NaN.
    """

    def __init__(
        self,
        root: str | Path,
        image_size: int = 64,
        images_dir: str = "images",
        text_dir: str = "text_c10",
        captions_per_image: int | None = None,
        vocab: Vocabulary | None = None,
    ) -> None:
        root = Path(root)
        image_root, text_root = root / images_dir, root / text_dir
        for folder in (image_root, text_root):
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"{folder} is not a folder. CaptionFolder expects {root}/{images_dir}/<class>/"
                    f"<name>.jpg and {root}/{text_dir}/<class>/<name>.txt."
                )
        if image_size < 8:
            raise ValueError(f"image_size must be at least 8, got {image_size}.")
        pairs: list[tuple[Path, list[str]]] = []
        self.skipped = 0
        for path in sorted(p for p in image_root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            text = (text_root / path.relative_to(image_root)).with_suffix(".txt")
            lines = []
            if text.is_file():
                lines = [
                    line.strip()
                    for line in text.read_text(encoding="utf-8").splitlines()
                    if tokenize(line)
                ]
            if lines:
                pairs.append((path, lines))
            else:
                self.skipped += 1
        if not pairs:
            raise FileNotFoundError(
                f"no image in {image_root} has a caption file with text in {text_root}."
            )
        fewest = min(len(lines) for _, lines in pairs)
        k = fewest if captions_per_image is None else captions_per_image
        if not 1 <= k <= fewest:
            raise ValueError(
                f"captions_per_image={captions_per_image} but some images have only {fewest} "
                "caption(s)."
            )
        classes = sorted({p.parent.relative_to(image_root).as_posix() for p, _ in pairs})
        self.ATTRIBUTES = {"class": tuple(classes)}  # per instance: the folder's classes
        self.split = "folder"
        self.root = root
        self.paths = [p for p, _ in pairs]
        self.captions = [lines[:k] for _, lines in pairs]
        self.vocab = vocab or Vocabulary.build(c for caps in self.captions for c in caps)
        self.images = torch.stack([load_image(p, image_size) for p in self.paths])
        index = {name: i for i, name in enumerate(classes)}
        self.labels = torch.tensor(
            [[index[p.parent.relative_to(image_root).as_posix()]] for p in self.paths]
        )
        self.placement = torch.full((len(pairs), 3), float("nan"))
