"""The checks that exercises call: one line when passing, a helpful
AssertionError (expected / got / hint) when failing."""

import pytest
import torch

from course_lib import checks


def test_passing_check_prints_one_line(capsys):
    checks.check_close("mean", torch.tensor(0.5), 0.5)
    out = capsys.readouterr().out
    assert out == "✓ mean: passed\n"


def test_failing_close_says_expected_got_hint():
    with pytest.raises(AssertionError) as info:
        checks.check_close("mean", torch.tensor(0.7), 0.5, hint="divide by N")
    message = str(info.value)
    assert "mean: not yet right" in message
    assert "expected: 0.5" in message
    assert "got:      tensor(0.7)" in message and "max difference 0.2" in message
    assert "hint:     divide by N" in message


def test_close_catches_none_nan_and_shape():
    with pytest.raises(AssertionError, match="forget to `return`"):
        checks.check_close("f", None, 1.0)
    with pytest.raises(AssertionError, match="NaN or inf"):
        checks.check_close("f", torch.tensor([float("nan")]), torch.tensor([1.0]))
    with pytest.raises(AssertionError, match=r"expected: shape \(3,\)"):
        checks.check_close("f", torch.zeros(2), torch.zeros(3))


def test_shape_equal_type_true(capsys):
    checks.check_shape("x", torch.zeros(2, 3), (2, 3))
    checks.check_equal("n", 16, 16)
    checks.check_equal("ids", torch.tensor([1, 2]), torch.tensor([1, 2]))
    checks.check_type("m", torch.nn.Linear(2, 2), torch.nn.Module)
    checks.check_true("ok", True, expected="e", got="g")
    assert capsys.readouterr().out.count("passed") == 5
    with pytest.raises(
        AssertionError, match=r"expected: shape \(2, 3\)\n  got:      shape \(3, 2\)"
    ):
        checks.check_shape("x", torch.zeros(3, 2), (2, 3))
    with pytest.raises(AssertionError, match="expected: 16"):
        checks.check_equal("n", 15, 16)
    with pytest.raises(AssertionError, match="expected: a Module"):
        checks.check_type("m", 3, torch.nn.Module)
    with pytest.raises(AssertionError, match="expected: loss goes down"):
        checks.check_true("t", False, expected="loss goes down", got="it went up")


def test_check_function_names_failing_input():
    inputs = [(torch.tensor([1.0, 2.0]),), (torch.tensor([-1.0, 3.0]),)]
    checks.check_function("abs", torch.abs, torch.abs, inputs)
    with pytest.raises(AssertionError, match="abs on test input 2 of 2"):
        checks.check_function("abs", lambda x: x, torch.abs, inputs)
    with pytest.raises(AssertionError, match="returned None"):
        checks.check_function("abs", lambda x: None, torch.abs, inputs)
