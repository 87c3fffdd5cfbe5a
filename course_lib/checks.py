"""The checks that exercise notebooks call.

A passing check prints one line (``✓ name: ...``). A failing check raises
``AssertionError`` whose message says what was expected, what was got, and a
hint. Learners see these messages; keep them kind and specific.

Example::

    from course_lib import checks

    checks.check_close(
        "standardize(x).mean()",
        got=z.mean(),
        expected=0.0,
        atol=1e-6,
        hint="Subtract x.mean() before dividing.",
    )
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from course_lib.compare import to_numpy

PASS_MARK = "✓"


def _fail(name: str, expected: str, got: str, hint: str) -> None:
    lines = [f"{name}: not yet right.", f"  expected: {expected}", f"  got:      {got}"]
    if hint:
        lines.append(f"  hint:     {hint}")
    raise AssertionError("\n".join(lines))


def passed(name: str, detail: str = "") -> None:
    """Print the one-line success message."""
    print(f"{PASS_MARK} {name}: passed" + (f" ({detail})" if detail else ""))


def _short(value: Any) -> str:
    """A short, readable description of a value (no walls of tensors)."""
    if isinstance(value, torch.Tensor | np.ndarray):
        arr = to_numpy(value)
        kind = "tensor" if isinstance(value, torch.Tensor) else "array"
        if arr.ndim == 0:
            return f"{kind}({float(arr):.6g})"
        if arr.size <= 6:
            return f"{kind}({np.array2string(arr, precision=4, separator=', ')})"
        return f"{kind} of shape {tuple(arr.shape)}, mean {arr.mean():.4g}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_type(name: str, got: Any, expected: type | tuple[type, ...], hint: str = "") -> None:
    """Check that ``got`` is an instance of ``expected``."""
    if not isinstance(got, expected):
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        _fail(name, f"a {names}", f"a {type(got).__name__}: {_short(got)}", hint)
    passed(name)


def check_shape(name: str, got: Any, expected: Sequence[int], hint: str = "") -> None:
    """Check the shape of a tensor or array."""
    if not hasattr(got, "shape"):
        _fail(name, f"a tensor of shape {tuple(expected)}", f"a {type(got).__name__}", hint)
    if tuple(got.shape) != tuple(expected):
        _fail(name, f"shape {tuple(expected)}", f"shape {tuple(got.shape)}", hint)
    passed(name, f"shape {tuple(expected)}")


def check_equal(name: str, got: Any, expected: Any, hint: str = "") -> None:
    """Check exact equality (numbers, strings, tuples, or integer tensors)."""
    if isinstance(got, torch.Tensor | np.ndarray) or isinstance(
        expected, torch.Tensor | np.ndarray
    ):
        a, b = to_numpy(got), to_numpy(expected)
        ok = a.shape == b.shape and bool(np.array_equal(a, b))
    else:
        ok = got == expected
    if not ok:
        _fail(name, _short(expected), _short(got), hint)
    passed(name)


def check_close(
    name: str,
    got: Any,
    expected: Any,
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    hint: str = "",
) -> None:
    """Check that ``got`` is within tolerance of ``expected`` (numbers or tensors)."""
    if got is None:
        _fail(name, _short(expected), "None (did the function forget to `return`?)", hint)
    try:
        a, b = to_numpy(got), to_numpy(expected)
    except (TypeError, ValueError):
        _fail(name, _short(expected), f"a {type(got).__name__} that is not numeric", hint)
    if a.shape != b.shape:
        _fail(name, f"shape {tuple(b.shape)}", f"shape {tuple(a.shape)}", hint)
    if not np.all(np.isfinite(a)):
        _fail(name, _short(expected), f"{_short(got)} (contains NaN or inf)", hint)
    if not np.allclose(a, b, atol=atol, rtol=rtol):
        diff = float(np.max(np.abs(a - b)))
        _fail(name, _short(expected), f"{_short(got)} (max difference {diff:.3g})", hint)
    passed(name)


def check_true(name: str, condition: bool, *, expected: str, got: str, hint: str = "") -> None:
    """Check a condition; ``expected``/``got`` describe it in words for the message."""
    if not condition:
        _fail(name, expected, got, hint)
    passed(name)


def check_function(
    name: str,
    function: Callable[..., Any],
    reference: Callable[..., Any],
    inputs: Sequence[tuple[Any, ...]],
    *,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    hint: str = "",
) -> None:
    """Call ``function`` and ``reference`` on each input tuple and compare.

    The failure message names the first input on which they disagree.
    """
    if not callable(function):
        _fail(name, "a function", f"a {type(function).__name__}", hint)
    for i, args in enumerate(inputs):
        got = function(*args)
        expected = reference(*args)
        try:
            _close_or_raise(got, expected, atol, rtol)
        except AssertionError as error:
            detail = str(error)
            _fail(
                f"{name} on test input {i + 1} of {len(inputs)}",
                _short(expected),
                f"{_short(got)} {detail}",
                hint,
            )
    passed(name, f"{len(inputs)} test inputs")


def _close_or_raise(got: Any, expected: Any, atol: float, rtol: float) -> None:
    """Raise a bare AssertionError (with a difference) when not close."""
    if got is None:
        raise AssertionError("(returned None)")
    a, b = to_numpy(got), to_numpy(expected)
    if a.shape != b.shape:
        raise AssertionError(f"(shape {tuple(a.shape)}, expected {tuple(b.shape)})")
    if not np.allclose(a, b, atol=atol, rtol=rtol):
        raise AssertionError(f"(max difference {float(np.nanmax(np.abs(a - b))):.3g})")
