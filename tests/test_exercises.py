"""The exercise pipeline: builder behaviour, exercises in sync with solutions,
and every exercise's checks fail on the blank (so that they can fail)."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.exercises import (
    ExerciseBuildError,
    build_all,
    build_exercise,
    main,
    stale_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"
CHECK_META = {
    "grade": True,
    "grade_id": "check-1",
    "locked": True,
    "points": 1,
    "schema_version": 3,
    "solution": False,
    "task": False,
}


def _write(path: Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, path)
    return path


def _answer_and_check(body: str) -> list:
    answer = nbformat.v4.new_code_cell(body)
    answer.outputs = [nbformat.v4.new_output("stream", text="old output\n")]
    answer.execution_count = 3
    check = nbformat.v4.new_code_cell(
        "assert f(2) == 4\n### BEGIN HIDDEN TESTS\nassert f(3) == 9\n### END HIDDEN TESTS"
    )
    check.metadata["nbgrader"] = dict(CHECK_META)
    return [nbformat.v4.new_markdown_cell("# Title"), answer, check]


def test_builder_replaces_answers_keeps_indent_and_hint(tmp_path):
    body = (
        "def f(x):\n"
        "    ### BEGIN SOLUTION\n"
        "    # Hint: multiply x by itself.\n"
        "    return x * x\n"
        "    ### END SOLUTION"
    )
    src = _write(tmp_path / "a.ipynb", _answer_and_check(body))
    built = build_exercise(src, tmp_path / "out.ipynb")
    nb = nbformat.reads(built.text, as_version=4)
    assert nb.cells[1].source == (
        "def f(x):\n"
        "    # YOUR CODE HERE\n"
        '    raise NotImplementedError("Exercise: multiply x by itself.")'
    )
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert nb.cells[1].metadata["nbgrader"]["solution"] is True
    assert nb.cells[2].source == "assert f(2) == 4"  # hidden test removed
    assert nb.cells[2].metadata["nbgrader"]["grade"] is True
    assert (built.answers, built.checks) == (1, 1)
    # the blank is valid Python
    compile(nb.cells[1].source, "cell", "exec")


def test_builder_default_hint_and_markdown_answers(tmp_path):
    cells = _answer_and_check(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
    )
    cells.append(
        nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    )
    built = build_exercise(_write(tmp_path / "a.ipynb", cells), tmp_path / "b.ipynb")
    nb = nbformat.reads(built.text, as_version=4)
    assert 'raise NotImplementedError(\n        "Exercise: replace this line' in nb.cells[1].source
    assert nb.cells[3].source == "Why?\nYOUR ANSWER HERE"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("### BEGIN SOLUTION\nx = 1", r"cell 2: '### BEGIN SOLUTION' is never closed"),
        ("x = 1\n### END SOLUTION", r"cell 2, line 2: '### END SOLUTION' without a matching"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
            r"cell 2, line 2: '### BEGIN SOLUTION' inside a block",
        ),
    ],
)
def test_builder_malformed_markers_name_file_and_cell(tmp_path, body, message):
    src = _write(tmp_path / "bad.ipynb", _answer_and_check(body))
    with pytest.raises(ExerciseBuildError, match=r"bad\.ipynb: " + message):
        build_exercise(src, tmp_path / "out.ipynb")


def test_builder_writes_nothing_when_one_notebook_is_bad(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    _write(
        solutions / "01_good.ipynb",
        _answer_and_check("### BEGIN SOLUTION\ndef f(x):\n    return x * x\n### END SOLUTION"),
    )
    _write(solutions / "02_bad.ipynb", _answer_and_check("### BEGIN SOLUTION\nx = 1"))
    code = main(["build", "--solutions", str(solutions), "--exercises", str(exercises)])
    err = capsys.readouterr().err
    assert code == 2
    assert "02_bad.ipynb: cell 2" in err and "Nothing was written" in err
    assert not exercises.exists()


def test_builder_requires_a_check_cell(tmp_path):
    cells = _answer_and_check("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")[:2]
    with pytest.raises(ExerciseBuildError, match="no check cell"):
        build_exercise(_write(tmp_path / "a.ipynb", cells), tmp_path / "b.ipynb")


def test_check_command_detects_stale_and_extra(tmp_path, capsys):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    _write(solutions / "a.ipynb", _answer_and_check("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"))
    args = ["--solutions", str(solutions), "--exercises", str(exercises)]
    assert main(["check", *args]) == 1
    assert main(["build", *args]) == 0
    assert main(["check", *args]) == 0
    (exercises / "a.ipynb").write_text((exercises / "a.ipynb").read_text().replace("x", "y"))
    _write(exercises / "orphan.ipynb", [])
    assert len(stale_exercises(solutions, exercises)) == 2
    assert main(["check", *args]) == 1
    assert "out of date" in capsys.readouterr().out


def test_repository_exercises_are_in_sync():
    problems = stale_exercises(SOLUTIONS, EXERCISES)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", [p.name for p in sorted(SOLUTIONS.glob("*.ipynb"))])
def test_blank_exercise_fails_every_check(name):
    """Run the blank exercise (errors allowed): every check cell must fail,
    with NotImplementedError (the blank) or AssertionError (a wrong answer)."""
    path = EXERCISES / name
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=300, allow_errors=True, resources={"metadata": {"path": str(EXERCISES)}}
    ).execute()
    check_cells = [
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    ]
    assert check_cells, f"{name} has no check cells"
    for cell in check_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        assert errors, f"{name}: check {grade_id!r} passed on the blank exercise"
        assert errors[0].ename in ("NotImplementedError", "AssertionError"), (
            f"{name}: check {grade_id!r} failed on the blank with {errors[0].ename}: "
            f"{errors[0].evalue}"
        )


def test_build_all_covers_every_solution():
    built = build_all(SOLUTIONS, EXERCISES)
    assert {b.source.name for b in built} == {p.name for p in SOLUTIONS.glob("*.ipynb")}
    for item in built:
        assert item.answers >= 1 and item.checks >= 1
        assert json.loads(item.text)["metadata"]["course"]["do_not_edit"] is True
