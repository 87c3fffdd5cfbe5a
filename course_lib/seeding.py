"""One seeding helper for Python, NumPy and PyTorch."""

from __future__ import annotations

import random

import numpy as np
import torch

MAX_SEED = 2**32 - 1


def seed_everything(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """Seed Python's ``random``, NumPy and PyTorch (all devices), and return a
    fresh ``torch.Generator`` seeded with the same number.

    Pass the returned generator to sampling calls
    (``torch.randn(..., generator=g)``) so that a cell's random numbers do not
    depend on what ran before it. The same seed gives the same numbers on the
    CPU; GPU kernels may differ in the last bits.

    Args:
        seed: an integer in ``[0, 2**32 - 1]``.
        device: where the generator lives (``"cpu"`` by default).

    Returns:
        A ``torch.Generator`` on ``device``, seeded with ``seed``.

    Raises:
        ValueError: if ``seed`` is not an integer in the accepted range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}.")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global state is what older code uses)
    torch.manual_seed(seed)  # also seeds every CUDA device
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
