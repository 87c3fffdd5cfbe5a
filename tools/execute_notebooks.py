"""Execute notebooks top to bottom, in place, and report how long each took.

Maintainers run this after changing a notebook, so that the committed outputs
are the ones the code produces now (full mode by default, as a learner sees
them)::

    python tools/execute_notebooks.py                      # notebooks/ and solutions/
    python tools/execute_notebooks.py notebooks/00_orientation.ipynb
    python tools/execute_notebooks.py --quick --no-write   # time quick mode only

Then regenerate the exercises: ``python -m course_lib.exercises build``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--quick", action="store_true", help="run in quick mode (COURSE_QUICK=1)")
    parser.add_argument("--no-write", action="store_true", help="execute and time only")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)

    os.environ["COURSE_QUICK"] = "1" if args.quick else "0"
    paths = args.paths or sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
    failed = False
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            print(f"FAILED {path}: {error.ename}: {error.evalue}", file=sys.stderr)
            failed = True
            continue
        seconds = time.perf_counter() - start
        mode = "quick" if args.quick else "full"
        print(f"{path}: {seconds:.1f} s ({mode} mode)")
        if not args.no_write:
            nbformat.write(nb, path)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
