"""Captioned data sets: determinism, ground truth, splits, captions, loaders."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from course_lib.data import (
    COLOURS,
    POSITIONS,
    SHAPES,
    SIZES,
    CaptionedDigits,
    CaptionedShapes,
    CaptionFolder,
)
from course_lib.data.digits import DIGIT_WORDS, TRAIN_SCANS, load_digit_scans
from course_lib.data.scenes import POSITION_PHRASES, SIZE_PHRASES
from course_lib.data.shapes import SHAPE_PHRASES, TEMPLATES
from course_lib.data.vocab import tokenize
from course_lib.metrics import locate_objects


@pytest.fixture(scope="module")
def shapes():
    return CaptionedShapes(600, split="train", seed=3)


def test_shapes_item_contents(shapes):
    item = shapes[0]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert len(item["captions"]) == 5 and len(set(item["captions"])) == 5
    assert item["tokens"].shape == (5, shapes.vocab.max_length)
    assert item["labels"].shape == (4,) and item["placement"].shape == (3,)
    assert shapes.attribute_names() == ["shape", "colour", "size", "position"]
    assert len(SHAPES) >= 5 and len(COLOURS) >= 6 and len(SIZES) >= 2 and len(POSITIONS) == 9
    assert len(TEMPLATES) >= 8


def test_shapes_deterministic_by_seed():
    a, b = CaptionedShapes(50, seed=1), CaptionedShapes(50, seed=1)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, CaptionedShapes(50, seed=2).images)
    assert not torch.equal(a.images, CaptionedShapes(50, seed=1, split="test").images)


def test_every_caption_describes_every_attribute(shapes):
    for i in range(100):
        truth = shapes.describe(i)
        for caption in shapes.captions[i]:
            assert truth["colour"] in caption.split()
            assert any(w in caption for w in SHAPE_PHRASES[truth["shape"]])
            assert any(w in caption for w in SIZE_PHRASES[truth["size"]])
            assert any(p in caption for p in POSITION_PHRASES[truth["position"]])


def test_heldout_combinations_split(shapes):
    held = {(SHAPES.index(s), COLOURS.index(c)) for s, c in CaptionedShapes.HELDOUT}
    assert len(held) == 5
    test = CaptionedShapes(600, split="test")
    for data in (shapes, test):
        pairs = {(int(r[0]), int(r[1])) for r in data.labels}
        assert not pairs & held
        assert len(pairs) == len(SHAPES) * len(COLOURS) - len(held)
    heldout = CaptionedShapes(200, split="heldout")
    assert {(int(r[0]), int(r[1])) for r in heldout.labels} == held


def test_placement_matches_what_is_drawn(shapes):
    """The analytic box centre lies on the ground-truth centre (affine units)."""
    found = locate_objects(shapes.images_float())
    assert found["found"].all()
    s, cx, cy = shapes.placement.T
    assert (found["cx"] - cx).abs().max() < 0.1
    assert (found["cy"] - cy).abs().max() < 0.12  # the triangle's box sits slightly high
    assert torch.equal(found["position"], shapes.labels[:, 3])
    ratio = found["extent"] / s
    assert ratio.min() > 0.7 and ratio.max() < 1.15
    small, large = shapes.labels[:, 2] == 0, shapes.labels[:, 2] == 1
    assert s[small].max() < s[large].min()


def test_placement_is_in_affine_grid_units(shapes):
    """Cropping the window (s, cx, cy) with F.affine_grid centres the object."""
    images = shapes.images_float(range(64))
    s, cx, cy = shapes.placement[:64].T
    zero = torch.zeros_like(s)
    theta = torch.stack([torch.stack([s, zero, cx], 1), torch.stack([zero, s, cy], 1)], 1)
    grid = F.affine_grid(theta, [64, 3, 16, 16], align_corners=False)
    crops = F.grid_sample(images, grid, align_corners=False)
    centre = crops[:, :, 6:10, 6:10].mean(dim=(2, 3))  # [64, 3]
    colour = torch.tensor([[0.92, 0.16, 0.14], [0.95, 0.86, 0.14], [0.16, 0.76, 0.22],
                           [0.14, 0.80, 0.86], [0.20, 0.32, 0.96], [0.86, 0.20, 0.82]])  # fmt: skip
    expected = colour[shapes.labels[:64, 1]] * 2 - 1
    assert (centre - expected).abs().max() < 0.35


def test_shapes_64_and_loader():
    data = CaptionedShapes(40, image_size=64, captions_per_image=3)
    loader = DataLoader(data, batch_size=16, shuffle=True, collate_fn=data.collate)
    batch = next(iter(loader))
    assert batch["image"].shape == (16, 3, 64, 64)
    assert batch["tokens"].shape == (16, 3, data.vocab.max_length)
    assert len(batch["captions"]) == 16 and len(batch["captions"][0]) == 3
    assert batch["labels"].shape == (16, 4) and batch["index"].shape == (16,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "positive integer"),
        (
            {"n": 5, "split": "validation"},
            "unknown split 'validation'; accepted: train, test, heldout",
        ),
        ({"n": 5, "image_size": 48}, "image_size 48 is not supported; accepted: 32, 64"),
        ({"n": 5, "captions_per_image": 20}, "captions_per_image must be between 1 and 9"),
    ],
)
def test_shapes_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CaptionedShapes(**kwargs)


def test_index_error(shapes):
    with pytest.raises(IndexError, match="out of range for 600 images"):
        shapes[600]


def test_digits_real_scans_and_splits():
    scans, digits = load_digit_scans()
    assert scans.shape == (1797, 1, 8, 8)
    train = CaptionedDigits(300, split="train", seed=0)
    test = CaptionedDigits(300, split="test", seed=0)
    assert train.images.shape == (300, 1, 32, 32)
    assert (train.scan_index < TRAIN_SCANS).all() and (test.scan_index >= TRAIN_SCANS).all()
    assert torch.equal(digits[train.scan_index], train.labels[:, 0])
    heldout = CaptionedDigits(100, split="heldout")
    held = {(int(d), POSITIONS.index(p)) for d, p in CaptionedDigits.HELDOUT}
    assert {(int(r[0]), int(r[2])) for r in heldout.labels} <= held
    assert not {(int(r[0]), int(r[2])) for r in train.labels} & held
    found = locate_objects(train.images_float())
    assert (found["cx"] - train.placement[:, 1]).abs().median() < 0.1
    for i in range(20):
        digit = int(train.labels[i, 0])
        for caption in train.captions[i]:
            words = tokenize(caption)
            assert str(digit) in words or DIGIT_WORDS[digit] in words
            train.vocab.encode(caption)


def test_caption_folder(tmp_path, tiny_caption_folder):
    tiny_caption_folder(tmp_path)
    data = CaptionFolder(tmp_path, image_size=32)
    assert len(data) == 4 and data.skipped == 2
    item = data[0]
    assert item["image"].shape == (3, 32, 32)
    assert item["captions"] == ["a bird number 0", "this albatross has wings"]
    assert data.ATTRIBUTES["class"] == ("001.Albatross", "002.Blackbird")
    assert data.labels[:, 0].tolist() == [0, 0, 1, 1]
    assert torch.isnan(data.placement).all()
    batch = data.collate([data[i] for i in range(4)])
    assert batch["tokens"].shape == (4, 2, data.vocab.max_length)
    with pytest.raises(ValueError, match="unknown word"):
        data.vocab.encode("a red circle")


def test_caption_folder_errors(tmp_path, tiny_caption_folder):
    with pytest.raises(FileNotFoundError, match="CaptionFolder expects"):
        CaptionFolder(tmp_path)
    tiny_caption_folder(tmp_path)
    with pytest.raises(ValueError, match="some images have only 2 caption"):
        CaptionFolder(tmp_path, captions_per_image=3)


def test_parse_captions_back_to_labels(shapes):
    from course_lib.data.shapes import parse_shape_caption, shape_labels_from_caption

    for i in range(200):
        for caption in shapes.captions[i]:
            assert torch.equal(shape_labels_from_caption(caption), shapes.labels[i]), caption
    assert parse_shape_caption("a red thing") == {"colour": "red"}
    with pytest.raises(ValueError, match="does not say the shape, size, position"):
        shape_labels_from_caption("a red thing")
    with pytest.raises(ValueError, match="several values"):
        parse_shape_caption("a red blue circle")
