"""Command-line options from configuration dataclasses (one helper for every command).

``add_config_arguments(parser, SomeConfig)`` gives every field of ``SomeConfig`` an
option (``lr_g`` -> ``--lr-g``) of the field's type, with the field's default;
``config_values(args, SomeConfig)`` collects them back for ``SomeConfig(**values)``.
Booleans accept true/false, 1/0, yes/no, on/off and nothing else.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any


def boolean(text: str) -> bool:
    """Parse a command-line boolean; anything unknown is an argparse error."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(
        f"expected true or false (or 1/0, yes/no, on/off), got {text!r}"
    )


def add_config_arguments(
    parser: argparse.ArgumentParser, config_type: type, skip: tuple[str, ...] = ()
) -> None:
    """One option per field of the dataclass ``config_type`` (except those in ``skip``)."""
    for f in fields(config_type):
        if f.name in skip:
            continue
        kind = boolean if isinstance(f.default, bool) else type(f.default)
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)


def config_values(
    args: argparse.Namespace, config_type: type, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The parsed values of :func:`add_config_arguments`' options, by field name."""
    return {f.name: getattr(args, f.name) for f in fields(config_type) if f.name not in skip}
