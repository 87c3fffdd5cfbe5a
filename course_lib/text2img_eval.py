"""The quality metrics of a text-to-image model (``python -m course_lib.text2img evaluate``).

Everything is measured with the oracle and metrics of notebook 12
(:mod:`course_lib.metrics`) on captions of fresh images:

- ``seen``: captions of test images (training colour-shape combinations);
- ``heldout``: captions of the held-out colour-shape combinations;
- ``placement``: the "where" path's window against the data set's boxes: the
  fraction of captions whose predicted centre lies within 0.1 (affine-grid
  units) of where the caption says (the data set's mean centre for the
  caption's size and position words; also reported against the jittered box
  of the caption's own image), and whose predicted scale falls on the right
  side of the boundary between the two size words' scale ranges.
"""

from __future__ import annotations

import time

import torch

from course_lib.data import DATASETS
from course_lib.metrics import evaluate_against_real, frechet_floor
from course_lib.oracle import load_oracle
from course_lib.seeding import seed_everything


def _generate(model, captions: list[str], seed: int, batch: int = 500) -> dict[str, torch.Tensor]:
    parts = [
        model.generate(captions[i : i + batch], seed=seed + i, return_all=True)
        for i in range(0, len(captions), batch)
    ]
    return {
        k: torch.cat([p[k] for p in parts]) if parts[0][k] is not None else None for k in parts[0]
    }


def evaluate(model, n: int = 2000, seed: int = 0) -> dict[str, float]:
    """All metrics of ``model`` (a :class:`course_lib.text2img.TextToImageModel`)."""
    start = time.perf_counter()
    cfg = model.config
    if cfg.data not in DATASETS:
        raise ValueError(
            "evaluate grades a model with the oracle of a generated data set "
            f"({', '.join(DATASETS)}); "
            f"{model.path} was trained on --data {cfg.data}: look at its samples instead "
            "(python -m course_lib.text2img sample)."
        )
    cls = DATASETS[cfg.data]
    oracle = load_oracle(cfg.data, cfg.image_size)
    seen = cls(n, "test", cfg.image_size, seed=seed + 101)
    heldout = cls(n // 2, "heldout", cfg.image_size, seed=seed + 102)
    real_a = cls(n, "test", cfg.image_size, seed=seed + 103)
    real_b = cls(n, "test", cfg.image_size, seed=seed + 104)
    floor = frechet_floor(oracle, real_a.images_float(), real_b.images_float())
    result: dict[str, float] = {}
    for name, data in (("seen", seen), ("heldout", heldout)):
        out = _generate(model, [c[0] for c in data.captions], seed)
        metrics = evaluate_against_real(
            oracle, out["images"], data.labels, real_a.images_float(), real_a.labels, floor,
            generator=seed_everything(seed),
        )  # fmt: skip
        result.update({f"{name}_{k}": v for k, v in metrics.items()})
        if name == "seen" and out["placement"] is not None:
            predicted, true = out["placement"], data.placement.float()
            names = list(cls.ATTRIBUTES)
            words = data.labels[:, [names.index("size"), names.index("position")]]
            # where the caption says: the data set's mean centre for its size and position
            # words (a caption cannot name the jitter of one particular image)
            said = torch.zeros_like(true[:, 1:])
            for group in words.unique(dim=0):
                members = (words == group).all(1)
                said[members] = true[members, 1:].mean(0)
            error = (predicted[:, 1:] - said).norm(dim=1)
            result["placement_centre_within_0.1"] = float((error <= 0.1).double().mean())
            error = (predicted[:, 1:] - true[:, 1:]).norm(dim=1)
            result["placement_centre_within_0.1_of_this_image"] = float(
                (error <= 0.1).double().mean()
            )
            small = data.labels[:, names.index("size")] == 0
            boundary = (true[small, 0].max() + true[~small, 0].min()) / 2
            right_side = torch.where(small, predicted[:, 0] < boundary, predicted[:, 0] > boundary)
            result["placement_scale_separates_sizes"] = float(right_side.double().mean())
    result["seen_frechet_x_floor"] = result["seen_frechet"] / floor
    result["evaluate_seconds"] = time.perf_counter() - start
    return {k: round(float(v), 4) for k, v in result.items()}
