"""Test-wide settings: quick mode on (unless set), headless matplotlib.

The notebook kernels that nbval starts inherit this process's environment, so
``COURSE_QUICK=1`` reaches them too. Run ``COURSE_QUICK=0 pytest`` to test
the full-mode budgets instead.
"""

import os

os.environ.setdefault("COURSE_QUICK", "1")

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def tiny_caption_folder():
    """A function that writes a tiny CUB-style tree (2 classes, 3 images each, 2 of them
    captioned) under the folder it is given."""

    def _tiny_tree(root):
        from PIL import Image

        rng = np.random.default_rng(0)
        for cls in ("001.Albatross", "002.Blackbird"):
            (root / "images" / cls).mkdir(parents=True)
            (root / "text_c10" / cls).mkdir(parents=True)
            for k in range(3):
                array = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
                Image.fromarray(array).save(root / "images" / cls / f"img{k}.png")
                if k < 2:
                    text = f"a bird number {k}\nthis {cls[4:].lower()} has wings\n\n"
                    (root / "text_c10" / cls / f"img{k}.txt").write_text(text)

    return _tiny_tree
