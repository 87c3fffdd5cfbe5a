"""Unit tests for the core helpers: quick mode, devices, seeding, cmp, plots."""

import numpy as np
import pytest
import torch

from course_lib import cmp, is_quick, pick, pick_device, seed_everything
from course_lib.device import DEVICE_ENV, describe_device
from course_lib.mode import QUICK_ENV
from course_lib.viz import draw_windows, image_grid, plot_curves, save_image_grid, show_images


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("", False),
        ("False", False),
        ("off", False),
    ],
)
def test_quick_mode_values(monkeypatch, raw, expected):
    monkeypatch.setenv(QUICK_ENV, raw)
    assert is_quick() is expected
    assert pick(full=100, quick=3) == (3 if expected else 100)


def test_quick_mode_unset_is_full(monkeypatch):
    monkeypatch.delenv(QUICK_ENV, raising=False)
    assert is_quick() is False


def test_quick_mode_bad_value_names_accepted(monkeypatch):
    monkeypatch.setenv(QUICK_ENV, "maybe")
    with pytest.raises(ValueError, match=r"COURSE_QUICK='maybe'.*accepted values.*'1'.*'off'"):
        is_quick()


def test_test_suite_runs_in_quick_mode():
    # conftest.py switches quick mode on for the whole suite (notebooks included).
    assert is_quick()


def test_pick_device_auto_and_cpu(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    auto = pick_device()
    assert auto.type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        assert auto.type in ("cpu", "mps")
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    assert "cpu" in describe_device(torch.device("cpu"))


def test_pick_device_env_override(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "tpu", "CPU0"])
def test_pick_device_unknown_name(monkeypatch, bad):
    monkeypatch.delenv(DEVICE_ENV, raising=False)
    with pytest.raises(ValueError, match=r"Unknown device.*accepted values are auto, cpu, cuda"):
        pick_device(bad)


def test_pick_device_unknown_name_in_env(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match=r"'gpu' \(from \$COURSE_DEVICE\)"):
        pick_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_pick_device_cuda_missing_is_clear():
    with pytest.raises(RuntimeError, match="sees no CUDA GPU"):
        pick_device("cuda")


def test_seed_everything_reproducible():
    g = seed_everything(123)
    a = (torch.randn(4, generator=g), torch.rand(2), np.random.rand(2))  # noqa: NPY002
    g = seed_everything(123)
    b = (torch.randn(4, generator=g), torch.rand(2), np.random.rand(2))  # noqa: NPY002
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    assert isinstance(g, torch.Generator)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "3", True])
def test_seed_everything_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed must be an integer"):
        seed_everything(bad)


def test_cmp_reports_exact_close_and_diff(capsys):
    x = torch.linspace(0, 1, 5)
    assert cmp("same", x, x.clone()).exact
    result = cmp("near", x + 1e-8, x)
    assert result.close and not result.exact and 0 < result.max_diff < 1e-7
    far = cmp("far", x + 0.1, x.numpy())
    assert not far and abs(far.max_diff - 0.1) < 1e-6
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "exact: True" in out[0] and "close: False" in out[2]


def test_cmp_shape_mismatch():
    with pytest.raises(ValueError, match=r"shapes differ: ours \(2,\) vs reference \(3,\)"):
        cmp("x", torch.zeros(2), torch.zeros(3))


def test_cmp_nan_is_not_close():
    assert not cmp("nan", torch.tensor([float("nan")]), torch.tensor([0.0]), verbose=False)


def test_image_grid_layout_and_range():
    images = torch.full((5, 1, 4, 4), -1.0)
    images[1] = 1.0
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    assert grid.min() >= 0 and grid.max() <= 1
    assert np.all(grid[1:5, 1:5] == 0.0)  # first image: -1 -> black
    assert np.all(grid[1:5, 6:10] == 1.0)  # second image: +1 -> white


@pytest.mark.parametrize("shape", [(2, 2, 4, 4), (4, 4), (0, 3, 4, 4)])
def test_image_grid_bad_shapes(shape):
    with pytest.raises(ValueError, match="image_grid expects"):
        image_grid(torch.zeros(shape))


def test_save_image_grid_and_plots(tmp_path):
    import matplotlib.pyplot as plt

    path = save_image_grid(torch.rand(6, 3, 8, 8) * 2 - 1, tmp_path / "grid.png", nrow=3, upscale=2)
    image = plt.imread(path)
    assert image.shape[:2] == (2 * 22, 2 * 32)  # (2*(8+2)+2, 3*(8+2)+2), upscaled x2
    ax = show_images(torch.rand(4, 1, 8, 8), title="t")
    assert ax.get_title() == "t"
    ax = plot_curves({"loss": list(np.linspace(1, 0, 50))}, smooth=5, title="c")
    assert ax.get_title() == "c" and ax.get_xlabel() == "step"
    with pytest.raises(ValueError, match="at least one named curve"):
        plot_curves({})
    plt.close("all")


def test_draw_windows_on_a_grid():
    ax = show_images(torch.zeros(3, 3, 32, 32), nrow=2)
    draw_windows(
        ax, torch.tensor([[1.0, 0.0, 0.0], [0.5, -0.5, 0.5], [0.25, 0.0, 0.0]]), 32, nrow=2
    )
    boxes = [(p.get_x(), p.get_y(), p.get_width()) for p in ax.patches]
    # image 0: the whole canvas; image 1 (column 1): bottom-left quarter; image 2 (row 1)
    assert boxes[0] == pytest.approx((1.5, 1.5, 32))
    assert boxes[1] == pytest.approx((2 + 34 - 0.5, 2 + 16 - 0.5, 16))
    assert boxes[2] == pytest.approx((2 + 12 - 0.5, 2 + 34 + 12 - 0.5, 8))
    with pytest.raises(ValueError, match=r"placement must be \[N, 3\]"):
        draw_windows(ax, torch.zeros(2, 2), 32)
    ax.figure.clear()


def test_config_options_from_a_dataclass():
    import argparse
    from dataclasses import dataclass

    from course_lib.cli import add_config_arguments, config_values

    @dataclass
    class Config:
        lr_g: float = 2e-4
        use_ca: bool = True
        data: str = "shapes"

    parser = argparse.ArgumentParser(exit_on_error=False)
    add_config_arguments(parser, Config, skip=("data",))
    args = parser.parse_args(["--lr-g", "0.001", "--use-ca", "off"])
    assert config_values(args, Config, skip=("data",)) == {"lr_g": 0.001, "use_ca": False}
    assert config_values(parser.parse_args([]), Config, skip=("data",)) == {
        "lr_g": 2e-4,
        "use_ca": True,
    }
    with pytest.raises(argparse.ArgumentError, match="expected true or false"):
        parser.parse_args(["--use-ca", "maybe"])
