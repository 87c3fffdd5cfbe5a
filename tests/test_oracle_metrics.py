"""The shipped oracles, oracle training, the metrics, and checkpoints."""

import json

import numpy as np
import pytest
import torch

from course_lib.checkpoint import load_checkpoint, save_checkpoint
from course_lib.data import CaptionedDigits, CaptionedShapes
from course_lib.metrics import (
    attribute_accuracy,
    confident_fraction,
    diversity,
    frechet_distance,
    frechet_floor,
    gaussian_frechet_distance,
    locate_objects,
    oracle_features,
    r_precision,
)
from course_lib.oracle import (
    OracleConfig,
    default_oracle_path,
    load_oracle,
    save_oracle,
    train_oracle,
)


@pytest.fixture(scope="module")
def oracle():
    return load_oracle("shapes")


@pytest.fixture(scope="module")
def real():
    return CaptionedShapes(600, split="test", seed=11)


def test_shipped_shapes_oracle_is_accurate(oracle, real):
    accuracy = attribute_accuracy(oracle, real.images_float(), real.labels)
    assert min(accuracy.values()) >= 0.98, accuracy
    heldout = CaptionedShapes(300, split="heldout", seed=11)
    assert attribute_accuracy(oracle, heldout.images_float(), heldout.labels)["all"] >= 0.98
    assert confident_fraction(oracle, real.images_float()) >= 0.95
    report = json.loads(default_oracle_path("shapes").with_suffix(".json").read_text())
    assert report["config"]["data"] == "shapes"


def test_shipped_digits_oracle_is_accurate():
    oracle = load_oracle("digits")
    data = CaptionedDigits(500, split="test", seed=11)  # handwriting it never saw
    accuracy = attribute_accuracy(oracle, data.images_float(), data.labels)
    assert accuracy["digit"] >= 0.95 and accuracy["position"] >= 0.98, accuracy


def test_metrics_see_damage(oracle, real):
    images = real.images_float()
    wrong_colour = real.labels.clone()
    wrong_colour[:, 1] = (wrong_colour[:, 1] + 1) % 6
    accuracy = attribute_accuracy(oracle, images, wrong_colour)
    assert accuracy["colour"] < 0.05 and accuracy["shape"] > 0.95 and accuracy["all"] < 0.05
    noise = torch.rand(200, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert confident_fraction(oracle, noise) < 0.5


def test_frechet_distance_floor_and_damage(oracle):
    a = CaptionedShapes(500, split="test", seed=21).images_float()
    b = CaptionedShapes(500, split="test", seed=22).images_float()
    floor = frechet_floor(oracle, a, b)
    collapsed = a[:1].repeat(500, 1, 1, 1) + 0.01 * torch.randn(500, 3, 32, 32)
    damaged = frechet_distance(oracle_features(oracle, a), oracle_features(oracle, collapsed))
    assert 0 <= floor < damaged / 5


def test_gaussian_frechet_closed_form():
    # 1-D: (mu1 - mu2)^2 + (s1 - s2)^2
    assert gaussian_frechet_distance(
        np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]])
    ) == pytest.approx(4.0 + 1.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(x, x + 2.0) == pytest.approx(12.0, rel=1e-6)
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(x, x[:, :2])


def test_r_precision():
    g = torch.Generator().manual_seed(0)
    emb = torch.randn(300, 16, generator=g)
    assert r_precision(emb, emb, generator=g) == 1.0
    chance = r_precision(emb, torch.randn(300, 16, generator=g), generator=g)
    assert chance < 0.05
    labels = torch.randint(0, 3, (300, 2), generator=g)
    text = torch.nn.functional.one_hot(labels[:, 0] * 3 + labels[:, 1], 9).float()
    # equivalent captions are never distractors, so label-perfect embeddings score 1
    assert r_precision(text, text, labels=labels, generator=g) == 1.0
    with pytest.raises(ValueError, match="embeddings must both be"):
        r_precision(emb, emb[:, :3])


def test_diversity():
    g = torch.Generator().manual_seed(0)
    features = torch.randn(40, 8, generator=g)
    assert diversity(features) > 1
    assert diversity(features[:1].repeat(40, 1)) == 0
    groups = torch.arange(40) // 10
    assert diversity(features, groups) > 1
    with pytest.raises(ValueError, match="groups has 3 entries"):
        diversity(features, [0, 1, 2])


def test_locate_objects_blank():
    found = locate_objects(torch.full((2, 3, 32, 32), -0.8))
    assert not found["found"].any() and torch.isnan(found["cx"]).all()
    assert (found["position"] == -1).all()
    with pytest.raises(ValueError, match=r"expects images \[N, C, H, W\]"):
        locate_objects(torch.zeros(3, 32, 32))


def test_train_save_load_oracle(tmp_path):
    config = OracleConfig(train_images=400, steps=20, batch_size=16)
    model, report = train_oracle(config, device="cpu", progress=False)
    assert set(report["test_accuracy"]) == {"shape", "colour", "size", "position"}
    path = save_oracle(model, report, tmp_path / "oracle.pt")
    loaded = load_oracle("shapes", path=path)
    x = CaptionedShapes(8).images_float()
    assert torch.allclose(loaded(x)["shape"], model(x)["shape"])
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".*tmp"))
    with pytest.raises(ValueError, match="is an oracle for shapes at 32x32, not digits"):
        load_oracle("digits", path=path)
    with pytest.raises(
        FileNotFoundError, match=r"python -m course_lib\.oracle train --data shapes"
    ):
        load_oracle("shapes", path=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match=r"expects images \[N, 3, 32, 32\]"):
        loaded(torch.zeros(2, 1, 32, 32))


class _Unsafe:
    pass


def test_checkpoints_atomic_and_safe(tmp_path):
    path = save_checkpoint({"w": torch.ones(2), "step": 3}, tmp_path / "sub" / "c.pt")
    assert load_checkpoint(path)["step"] == 3
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"obj": _Unsafe()}, tmp_path / "unsafe.pt")
    with pytest.raises(ValueError, match=r"not a checkpoint this course can load safely"):
        load_checkpoint(tmp_path / "unsafe.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="holds a list"):
        load_checkpoint(tmp_path / "list.pt")


def test_mode_coverage():
    from course_lib.metrics import mode_coverage

    centres = torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    g = torch.Generator().manual_seed(0)
    two_modes = torch.cat(
        [
            centres[0] + 0.1 * torch.randn(50, 2, generator=g),
            centres[1] + 0.1 * torch.randn(50, 2, generator=g),
        ]
    )
    result = mode_coverage(two_modes, centres, radius=0.5)
    assert result["covered"] == 2 and result["quality"] == 1.0
    far = torch.full((10, 2), 100.0)
    assert mode_coverage(far, centres, radius=0.5) == {"covered": 0.0, "quality": 0.0}
    with pytest.raises(ValueError, match="must share D"):
        mode_coverage(torch.zeros(3, 3), centres, radius=1)
