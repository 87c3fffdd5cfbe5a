"""Quick mode vs full mode, decided by one environment variable.

Full mode (the default) is what a learner gets: real training budgets, the
figures committed in the notebooks. Quick mode shrinks training budgets so
that the whole test suite fits in CI; it never fakes a result, it only trains
for less. The test command switches it on (see ``conftest.py``).

This module is the only place that reads the variable.
"""

from __future__ import annotations

import os
from typing import TypeVar

QUICK_ENV = "COURSE_QUICK"
"""Name of the environment variable that selects quick mode."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")

T = TypeVar("T")


def is_quick() -> bool:
    """Return True when quick mode is on (``COURSE_QUICK=1``).

    Raises:
        ValueError: if the variable holds anything but one of the accepted
            values (``1/true/yes/on`` or ``0/false/no/off``, any case, or unset).
    """
    raw = os.environ.get(QUICK_ENV, "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    accepted = ", ".join(repr(v) for v in (*_TRUE, *_FALSE[1:]))
    raise ValueError(
        f"{QUICK_ENV}={raw!r} is not understood; accepted values are {accepted} "
        "(or leave it unset for full mode)."
    )


def pick(full: T, quick: T) -> T:
    """Choose a budget: ``full`` normally, ``quick`` in quick mode.

    Example:
        >>> num_steps = pick(full=2000, quick=20)  # doctest: +SKIP
    """
    return quick if is_quick() else full
