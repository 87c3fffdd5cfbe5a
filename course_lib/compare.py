"""Compare a from-scratch result with a reference, in the spirit of
micrograd's ``cmp()``: exact? close? how far apart?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class CompareResult:
    """Outcome of :func:`cmp`."""

    name: str
    exact: bool
    close: bool
    max_diff: float

    def __str__(self) -> str:
        return (
            f"{self.name:<20s} | exact: {self.exact!s:<5} | close: {self.close!s:<5} "
            f"| max diff: {self.max_diff:.1e}"
        )

    def __bool__(self) -> bool:
        return self.close


def to_numpy(value: Any) -> np.ndarray:
    """A float64 NumPy copy of a tensor (any device, with or without grad),
    array or number."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def cmp(
    name: str,
    ours: Any,
    reference: Any,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    verbose: bool = True,
) -> CompareResult:
    """Compare ``ours`` with ``reference`` and (by default) print one line::

        conv2d (loops)       | exact: False | close: True  | max diff: 4.8e-07

    Args:
        name: what is being compared, for the printed line.
        ours: tensor, array or number computed from scratch.
        reference: the library's (or PyTorch's) result, same shape.
        atol, rtol: tolerances for "close" (as in ``torch.allclose``).
        verbose: print the line.

    Returns:
        A :class:`CompareResult`; it is truthy when the two are close.

    Raises:
        ValueError: when the shapes differ (both shapes are named).
    """
    a, b = to_numpy(ours), to_numpy(reference)
    if a.shape != b.shape:
        raise ValueError(
            f"cmp({name!r}): shapes differ: ours {tuple(a.shape)} vs reference {tuple(b.shape)}."
        )
    exact = bool(np.array_equal(a, b))
    close = bool(np.allclose(a, b, atol=atol, rtol=rtol))
    max_diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if np.isnan(max_diff):
        close = False
    result = CompareResult(name, exact, close, max_diff)
    if verbose:
        print(result)
    return result
