"""Spatial transformer geometry, the from-scratch sampler, and the STN module."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import CaptionedShapes
from course_lib.from_scratch import affine_grid_from_scratch, grid_sample_from_scratch
from course_lib.geometry import crop, crop_theta, paste, paste_theta, warp
from course_lib.nn.stn import SpatialTransformer

g = torch.Generator().manual_seed(0)


@pytest.mark.parametrize("align_corners", [False, True])
def test_from_scratch_grid_and_sampler_match_pytorch(align_corners):
    theta = torch.tensor(
        [[[0.8, 0.3, 0.1], [-0.2, 0.9, -0.3]], [[1.3, 0.0, 0.5], [0.0, 0.6, 0.2]]],
        dtype=torch.float64,
    )
    images = torch.randn(2, 3, 7, 9, generator=g, dtype=torch.float64, requires_grad=True)
    grid = affine_grid_from_scratch(theta, (5, 6), align_corners)
    reference_grid = F.affine_grid(theta, [2, 3, 5, 6], align_corners=align_corners)
    torch.testing.assert_close(grid, reference_grid)
    ours = grid_sample_from_scratch(images, grid, align_corners)
    reference = F.grid_sample(
        images, reference_grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners
    )
    torch.testing.assert_close(ours, reference)
    weights = torch.randn_like(ours)
    (grad_ours,) = torch.autograd.grad((ours * weights).sum(), images)
    (grad_ref,) = torch.autograd.grad((reference * weights).sum(), images)
    torch.testing.assert_close(grad_ours, grad_ref)


def test_sampler_gradcheck():
    images = torch.randn(1, 2, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    grid = (torch.rand(1, 4, 4, 2, generator=g, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    assert torch.autograd.gradcheck(lambda i, q: grid_sample_from_scratch(i, q), (images, grid))


def test_identity_reproduces_input():
    images = torch.randn(3, 3, 16, 16, generator=g)
    theta = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(3, 2, 3)
    torch.testing.assert_close(warp(images, theta, 16), images)
    assert torch.allclose(
        paste_theta(torch.tensor([[1.0, 0.0, 0.0]])), crop_theta(torch.tensor([[1.0, 0.0, 0.0]]))
    )


def test_paste_then_crop_recovers_the_sprite():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    sprite = torch.exp(-(xx**2 + yy**2) * 3)[None, None].repeat(
        2, 3, 1, 1
    )  # smooth, canvas-filling
    placement = torch.tensor([[0.5, -0.3, 0.25], [0.6, 0.2, -0.2]])
    canvas = paste(sprite, placement, 64)
    recovered = crop(canvas, placement, 32)
    assert (recovered - sprite).abs().max() < 0.05


def test_crop_finds_the_data_sets_objects():
    data = CaptionedShapes(32, seed=1)
    centre = crop(data.images_float(), data.placement, 9)[:, :, 4, 4]  # middle pixel of each window
    saturation = centre.max(dim=1).values - centre.min(dim=1).values
    assert (saturation > 0.5).all()  # an object's colour, not the grey background


def test_bad_inputs_name_the_shapes():
    images = torch.zeros(2, 3, 8, 8)
    with pytest.raises(
        ValueError, match=r"theta must be \[N, 2, 3\] with N = 2 .* got \(2, 3, 3\)"
    ):
        warp(images, torch.zeros(2, 3, 3), 8)
    with pytest.raises(ValueError, match=r"scale must be positive, got a smallest scale of -0\.5"):
        paste(images, torch.tensor([[0.5, 0, 0], [-0.5, 0, 0]]), 8)
    with pytest.raises(ValueError, match=r"placement must be \[N, 3\]"):
        crop(images, torch.zeros(2, 2), 8)
    stn = SpatialTransformer(3, 16)
    with pytest.raises(ValueError, match=r"expects images \[N, 3, 16, 16\], got \(2, 3, 8, 8\)"):
        stn(images)
    with pytest.raises(ValueError, match="mode must be 'affine' or 'constrained'"):
        SpatialTransformer(3, 16, mode="projective")


@pytest.mark.parametrize("mode", ["affine", "constrained"])
def test_spatial_transformer_starts_at_identity_and_learns(mode):
    torch.manual_seed(0)
    stn = SpatialTransformer(3, 16, mode=mode)
    images = torch.randn(4, 3, 16, 16, generator=g)
    identity = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(4, 2, 3)
    torch.testing.assert_close(stn.theta(images), identity, atol=1e-3, rtol=0)
    if mode == "affine":
        torch.testing.assert_close(stn(images), images)
    out = stn(images)
    out.square().mean().backward()
    assert stn.head.weight.grad is not None and stn.head.weight.grad.abs().sum() > 0


def test_constrained_parameters_are_bounded():
    stn = SpatialTransformer(3, 16, mode="constrained", s_min=0.3, s_max=0.9)
    with torch.no_grad():
        stn.head.bias.copy_(torch.tensor([-50.0, 50.0, -50.0]))
    theta = stn.theta(torch.zeros(2, 3, 16, 16))
    scale, tx, ty = theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 2]
    assert torch.allclose(scale, torch.tensor(0.3)) and torch.allclose(tx, 1 - scale)
    assert torch.allclose(ty, -(1 - scale))  # the window just touches the canvas edge


def test_init_scale_starts_from_a_centred_window():
    stn = SpatialTransformer(1, 16, mode="constrained", s_min=0.2, s_max=1.0, init_scale=0.6)
    theta = stn.theta(torch.randn(3, 1, 16, 16, generator=g))
    expected = torch.tensor([[0.6, 0.0, 0.0], [0.0, 0.6, 0.0]]).expand(3, 2, 3)
    torch.testing.assert_close(theta, expected)
    with pytest.raises(ValueError, match="init_scale"):
        SpatialTransformer(1, 16, s_min=0.2, s_max=1.0, init_scale=1.0)


def test_stn_classifier_without_transform_reads_the_whole_canvas():
    from course_lib.nn.classifier import SmallCNN
    from course_lib.nn.stn import STNClassifier

    images = torch.randn(2, 1, 32, 32, generator=g)
    fixed = STNClassifier(SmallCNN(image_size=16), 1, 32, 16, learn_transform=False)
    torch.testing.assert_close(fixed.view(images), F.avg_pool2d(images, 2))
    assert fixed(images).shape == (2, 10)
    learned = STNClassifier(SmallCNN(image_size=16), 1, 32, 16, init_scale=0.5, hidden=8)
    assert learned.view(images).shape == (2, 1, 16, 16)
    with pytest.raises(ValueError, match=r"\[N, 1, 32, 32\]"):
        fixed(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"SmallCNN expects images \[N, 1, 16, 16\]"):
        SmallCNN(image_size=16)(torch.randn(2, 1, 32, 32))


def test_displaced_digits_are_placed_where_they_say():
    from course_lib.data.digits import displaced_digits
    from course_lib.metrics import locate_objects

    images, digits, placement = displaced_digits(64, "test", 64, (0.3, 0.5), seed=2)
    assert images.shape == (64, 1, 64, 64) and digits.shape == (64,)
    assert images.min() >= -1 and images.max() <= 1
    assert ((placement[:, 0] >= 0.3) & (placement[:, 0] <= 0.5)).all()
    assert (placement[:, 1:].abs() <= 1 - placement[:, :1]).all()  # the digit stays on the canvas
    again = displaced_digits(64, "test", 64, (0.3, 0.5), seed=2)
    torch.testing.assert_close(again[0], images)
    found = locate_objects(images)  # the ink's box lies inside the pasted window
    assert ((found["cx"] - placement[:, 1]).abs() <= placement[:, 0]).all()
    assert ((found["cy"] - placement[:, 2]).abs() <= placement[:, 0]).all()
    fixed = torch.tensor([[0.5, 0.0, 0.0]]).expand(3, 3)
    torch.testing.assert_close(displaced_digits(3, placement=fixed)[2], fixed)
    with pytest.raises(ValueError, match="split"):
        displaced_digits(3, "heldout")
    with pytest.raises(ValueError, match=r"placement must be \[n, 3\]"):
        displaced_digits(3, placement=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="scale_range"):
        displaced_digits(3, scale_range=(0.5, 0.2))


def test_train_classifier_is_seeded_and_learns():
    from course_lib.classify import accuracy, train_classifier
    from course_lib.data.digits import displaced_digits
    from course_lib.nn.classifier import SmallCNN

    centred = torch.tensor([[0.8, 0.0, 0.0]]).expand(400, 3)
    x, y, _ = displaced_digits(400, "train", 16, placement=centred)
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        model = SmallCNN(image_size=16)
        log = train_classifier(model, x, y, steps=60, seed=3, test=(x, y), eval_every=30)
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    torch.testing.assert_close(weights[0], weights[1])
    assert log["eval_step"] == [30, 60]
    assert accuracy(model, x, y) > 0.5  # chance is 0.1
    with pytest.raises(ValueError, match="labels"):
        accuracy(model, x, y[:3])


def test_sampler_gradient_on_pixel_centres_matches_pytorch():
    # align_corners=True with scale 0.5 lands sampling points exactly on pixels
    theta = torch.tensor([[[0.5, 0.0, 0.4], [0.0, 0.5, -0.2]]], dtype=torch.float64)
    images = torch.randn(1, 2, 9, 8, generator=g, dtype=torch.float64)
    grid_a = affine_grid_from_scratch(theta, (6, 7), True).requires_grad_()
    grid_b = grid_a.detach().clone().requires_grad_()
    grid_sample_from_scratch(images, grid_a, True).sum().backward()
    F.grid_sample(images, grid_b, align_corners=True).sum().backward()
    torch.testing.assert_close(grid_a.grad, grid_b.grad)
