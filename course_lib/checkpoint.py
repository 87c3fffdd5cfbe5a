"""Checkpoints: written atomically, loaded safely.

``save_checkpoint`` writes to a temporary file in the same folder and renames
it over the target, so an interrupted save never leaves a half-written file.
``load_checkpoint`` always uses ``torch.load(..., weights_only=True)``: a
checkpoint can hold tensors, numbers, strings, lists and dicts, never
arbitrary pickled objects, so loading an untrusted file cannot run code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Atomically write ``state`` (tensors and plain data only) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(state, file)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; use the usual mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | Path, map_location: str | torch.device = "cpu", kind: str = "checkpoint"
) -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``.

    Raises:
        FileNotFoundError: naming the path (and what ``kind`` of file was expected).
        ValueError: if the file is not a checkpoint this course can read safely.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {kind} at {path} (looked for the file {path.resolve()}).")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # pickle errors come in many types
        raise ValueError(
            f"{path} is not a {kind} this course can load safely (weights_only=True): {error}"
        ) from error
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a {kind} dict.")
    return state
