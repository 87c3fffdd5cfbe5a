"""Device selection: CUDA, then Apple MPS, then CPU.

Every component in the course takes a ``device`` argument; this is where the
default comes from. Set ``COURSE_DEVICE`` (``auto``, ``cpu``, ``cuda``,
``cuda:N`` or ``mps``) to override the automatic choice everywhere.
"""

from __future__ import annotations

import os
import re

import torch

DEVICE_ENV = "COURSE_DEVICE"
"""Name of the environment variable that overrides the automatic choice."""

ACCEPTED = ("auto", "cpu", "cuda", "cuda:N", "mps")

_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    Args:
        preferred: a device name or ``torch.device``. ``None`` or ``"auto"``
            means: read ``COURSE_DEVICE``; if it is unset or ``auto``, take
            CUDA if available, then Apple MPS, then the CPU.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: for a name that is not one of ``auto, cpu, cuda, cuda:N, mps``.
        RuntimeError: when the named device is not available on this machine.
    """
    explicit = preferred is not None and str(preferred).strip().lower() != "auto"
    if explicit:
        name, source = str(preferred), "the device argument"
    else:
        name, source = os.environ.get(DEVICE_ENV, "auto"), f"${DEVICE_ENV}"

    key = name.strip().lower()
    if not _PATTERN.match(key):
        raise ValueError(
            f"Unknown device {name!r} (from {source}); accepted values are {', '.join(ACCEPTED)}."
        )
    if key == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if key.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"Device {name!r} (from {source}) was asked for, but this PyTorch build "
                f"sees no CUDA GPU (torch {torch.__version__}). Use 'cpu' or 'auto', or "
                "install a CUDA build of torch (README, 'Using a GPU')."
            )
        index = int(key.split(":")[1]) if ":" in key else 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(
                f"Device {name!r} (from {source}) does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if key == "mps" and not _mps_available():
        raise RuntimeError(
            f"Device 'mps' (from {source}) was asked for, but Apple's MPS backend is not "
            "available here. Use 'cpu' or 'auto'."
        )
    return torch.device(key)


def describe_device(device: torch.device) -> str:
    """One line naming the device, e.g. ``'cpu (2 threads)'`` or the GPU's name."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
