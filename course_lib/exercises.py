"""Build the classroom exercises from the solution notebooks.

``solutions/*.ipynb`` are the source of truth. Answers are marked with the
nbgrader markers, so a course can also run them through nbgrader unchanged::

    def standardize(x):
        ### BEGIN SOLUTION
        # Hint: subtract the mean, then divide by the standard deviation.
        return (x - x.mean()) / x.std()
        ### END SOLUTION

becomes, in ``exercises/``::

    def standardize(x):
        # YOUR CODE HERE
        raise NotImplementedError(
            "Exercise: subtract the mean, then divide by the standard deviation."
        )

A first line ``# Hint: ...`` inside a block becomes the error's message.
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks are removed from
check cells, and every output is cleared. Markdown answers become
``YOUR ANSWER HERE``.

Check cells are the cells whose nbgrader metadata says ``"grade": true``;
every notebook with an answer needs at least one. Answer cells get nbgrader
solution metadata if they lack it.

Command line (from the repository root)::

    python -m course_lib.exercises build   # regenerate exercises/ from solutions/
    python -m course_lib.exercises check   # exit 1 if exercises/ is out of date

The builder validates every notebook before writing any: an unclosed or
stray marker stops it with the file and cell number, and nothing is written.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
HINT_PREFIX = "# Hint:"
DEFAULT_HINT = "replace this line with your answer (see the instructions above)."
NBGRADER_SCHEMA = 3
LINE_LENGTH = 100  # as [tool.ruff] line-length in pyproject.toml


class ExerciseBuildError(ValueError):
    """A solution notebook that cannot be turned into an exercise."""


@dataclass(frozen=True)
class BuiltExercise:
    """One exercise notebook, built in memory."""

    source: Path
    target: Path
    text: str
    answers: int
    checks: int


def _where(path: Path, index: int) -> str:
    return f"{path}: cell {index + 1}"


def _strip_blocks(
    source: str, begin: str, end: str, where: str, replace: Callable[[str, list[str]], list[str]]
) -> tuple[str, int]:
    """Replace each ``begin``...``end`` block using ``replace(indent, block_lines)``."""
    out: list[str] = []
    block: list[str] | None = None
    indent = ""
    count = 0
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(begin):
            if block is not None:
                raise ExerciseBuildError(
                    f"{where}, line {number}: {begin!r} inside a block that was opened and "
                    f"not closed with {end!r}."
                )
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif stripped.startswith(end):
            if block is None:
                raise ExerciseBuildError(
                    f"{where}, line {number}: {end!r} without a matching {begin!r}."
                )
            out.extend(replace(indent, block))
            block = None
            count += 1
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ExerciseBuildError(f"{where}: {begin!r} is never closed with {end!r}.")
    return "\n".join(out), count


def _code_stub(indent: str, block: list[str]) -> list[str]:
    hint = DEFAULT_HINT
    first = next((line.strip() for line in block if line.strip()), "")
    if first.startswith(HINT_PREFIX):
        hint = first[len(HINT_PREFIX) :].strip()
    message = json.dumps(f"Exercise: {hint}", ensure_ascii=False)  # a valid Python literal
    raise_line = f"{indent}raise NotImplementedError({message})"
    if len(raise_line) > LINE_LENGTH:  # wrapped as `ruff format` would
        return [
            f"{indent}# YOUR CODE HERE",
            f"{indent}raise NotImplementedError(",
            f"{indent}    {message}",
            f"{indent})",
        ]
    return [f"{indent}# YOUR CODE HERE", raise_line]


def _markdown_stub(indent: str, block: list[str]) -> list[str]:
    return [f"{indent}YOUR ANSWER HERE"]


def _drop(indent: str, block: list[str]) -> list[str]:
    return []


def build_exercise(source: Path, target: Path) -> BuiltExercise:
    """Turn one solution notebook into its exercise (in memory).

    Raises:
        ExerciseBuildError: naming the file and cell of any malformed marker,
            or when the notebook has answers but no check cell.
    """
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as error:  # nbformat raises several types
        raise ExerciseBuildError(f"{source}: not a readable notebook ({error}).") from error
    nb = copy.deepcopy(nb)
    answers = checks = 0
    for index, cell in enumerate(nb.cells):
        where = _where(source, index)
        if cell.cell_type == "code":
            cell.source, n_answers = _strip_blocks(
                cell.source, BEGIN_SOLUTION, END_SOLUTION, where, _code_stub
            )
            cell.source, _ = _strip_blocks(cell.source, BEGIN_HIDDEN, END_HIDDEN, where, _drop)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source, n_answers = _strip_blocks(
                cell.source, BEGIN_SOLUTION, END_SOLUTION, where, _markdown_stub
            )
        else:
            n_answers = 0
        grader = cell.metadata.get("nbgrader", {})
        if n_answers:
            answers += n_answers
            if not grader.get("solution"):
                grader = {
                    "grade": bool(grader.get("grade", False)),
                    "grade_id": grader.get("grade_id", f"answer-{index + 1}"),
                    "locked": False,
                    "schema_version": NBGRADER_SCHEMA,
                    "solution": True,
                    "task": False,
                    **({"points": grader["points"]} if "points" in grader else {}),
                }
                cell.metadata["nbgrader"] = grader
        if grader.get("grade") and not grader.get("solution"):
            checks += 1
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    if answers and not checks:
        raise ExerciseBuildError(
            f"{source}: has {answers} answer block(s) but no check cell; mark the cells that "
            "check the answers with nbgrader metadata "
            "{'grade': true, 'grade_id': ..., 'points': 1}."
        )
    nb.metadata.pop("widgets", None)
    nb.metadata["course"] = {"generated_from": f"solutions/{source.name}", "do_not_edit": True}
    return BuiltExercise(source, target, nbformat.writes(nb) + "\n", answers, checks)


def build_all(solutions: Path, exercises: Path) -> list[BuiltExercise]:
    """Build every ``solutions/*.ipynb`` in memory; raise before anything is written."""
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise ExerciseBuildError(f"no solution notebooks found in {solutions}/.")
    return [build_exercise(path, exercises / path.name) for path in sources]


def stale_exercises(solutions: Path, exercises: Path) -> list[str]:
    """Describe every way ``exercises/`` differs from what ``build`` would write."""
    built = build_all(solutions, exercises)
    problems = []
    for item in built:
        if not item.target.exists():
            problems.append(f"{item.target}: missing")
        elif item.target.read_text(encoding="utf-8") != item.text:
            problems.append(f"{item.target}: out of date with {item.source}")
    expected = {item.target.name for item in built}
    for extra in sorted(exercises.glob("*.ipynb")):
        if extra.name not in expected:
            problems.append(f"{extra}: has no solution notebook in {solutions}/")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.exercises",
        description="Generate exercises/ from solutions/ (nbgrader markers), or check they agree.",
    )
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--exercises", type=Path, default=Path("exercises"))
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            problems = stale_exercises(args.solutions, args.exercises)
            for line in problems:
                print(line)
            if problems:
                print("Run `python -m course_lib.exercises build` to regenerate exercises/.")
                return 1
            print(f"exercises/ is up to date with {args.solutions}/.")
            return 0
        built = build_all(args.solutions, args.exercises)
    except ExerciseBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2
    args.exercises.mkdir(parents=True, exist_ok=True)
    for item in built:
        item.target.write_text(item.text, encoding="utf-8")
        print(f"{item.source} -> {item.target} ({item.answers} answers, {item.checks} checks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
