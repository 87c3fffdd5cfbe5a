"""Committed notebooks: executed top to bottom, in order, without errors.

nbval (configured in pyproject.toml) re-runs notebooks/ and solutions/ in
quick mode; this test checks what is committed: the outputs a learner reads.
"""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])


def test_there_are_notebooks():
    assert EXECUTED, "no notebooks found"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_ran_in_order_without_errors(path):
    nb = nbformat.read(path, as_version=4)
    counts = []
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        for output in cell.outputs:
            assert output.output_type != "error", (
                f"{path.name}: cell {index} holds an error output ({output.ename}); "
                "re-run the notebook (tools/execute_notebooks.py)."
            )
        counts.append(cell.execution_count)
    expected = list(range(1, len(counts) + 1))
    assert counts == expected, (
        f"{path.name}: execution counts {counts} are not 1..{len(counts)}: the committed "
        "notebook was not run top to bottom in one kernel. Re-run it with "
        "`python tools/execute_notebooks.py`."
    )
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_exercises_are_committed_blank():
    for path in sorted(ROOT.glob("exercises/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name
