"""From-scratch operations agree with PyTorch."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.from_scratch import (
    TwoLayerMLP,
    conv2d_loops,
    conv2d_unfold,
    conv_output_size,
    conv_transpose2d_fold,
    logsumexp,
    numerical_gradient,
)

g = torch.Generator().manual_seed(0)


def test_logsumexp_is_stable_and_matches_torch():
    x = torch.randn(5, 7, generator=g, dtype=torch.float64) * 50
    torch.testing.assert_close(logsumexp(x, dim=1), torch.logsumexp(x, dim=1))
    big = torch.tensor([1000.0, 1000.0])
    assert logsumexp(big).item() == pytest.approx(1000 + torch.log(torch.tensor(2.0)).item())
    assert logsumexp(torch.full((3,), -torch.inf)).item() == -torch.inf


def test_two_layer_mlp_backward_matches_autograd():
    x = torch.randn(16, 5, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 3, (16,), generator=g)
    params = {
        "w1": torch.randn(5, 8, generator=g, dtype=torch.float64),
        "b1": torch.randn(8, generator=g, dtype=torch.float64),
        "w2": torch.randn(8, 3, generator=g, dtype=torch.float64),
        "b2": torch.randn(3, generator=g, dtype=torch.float64),
    }
    loss, grads = TwoLayerMLP(**params).loss_and_gradients(x, targets)
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    logits = torch.relu(x @ leaves["w1"] + leaves["b1"]) @ leaves["w2"] + leaves["b2"]
    reference = F.cross_entropy(logits, targets)
    reference.backward()
    torch.testing.assert_close(loss, reference.detach())
    for name in params:
        torch.testing.assert_close(grads[name], leaves[name].grad, atol=1e-10, rtol=1e-8)


def test_numerical_gradient():
    x = torch.randn(3, 2, generator=g, dtype=torch.float64)
    numeric = numerical_gradient(lambda t: (t**3).sum(), x)
    torch.testing.assert_close(numeric, 3 * x**2, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_conv2d_from_scratch_matches_pytorch(stride, padding):
    x = torch.randn(2, 3, 9, 8, generator=g, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    reference = F.conv2d(x, w, b, stride=stride, padding=padding)
    torch.testing.assert_close(conv2d_loops(x, w, b, stride, padding), reference)
    torch.testing.assert_close(conv2d_unfold(x, w, b, stride, padding), reference)
    assert reference.shape[-2:] == (
        conv_output_size(9, 3, stride, padding),
        conv_output_size(8, 3, stride, padding),
    )


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), (2, 0)])
def test_transposed_conv_is_the_adjoint(stride, padding):
    x = torch.randn(2, 3, 8, 8, generator=g, dtype=torch.float64)
    w = torch.randn(5, 3, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randn_like(conv2d_unfold(x, w, stride=stride, padding=padding))
    ours = conv_transpose2d_fold(y, w, stride, padding, output_size=(8, 8))
    inner_left = (conv2d_unfold(x, w, stride=stride, padding=padding) * y).sum()
    inner_right = (x * ours).sum()
    torch.testing.assert_close(inner_left, inner_right)
    out_pad = 8 - ((y.shape[-1] - 1) * stride - 2 * padding + 4)
    reference = F.conv_transpose2d(y, w, stride=stride, padding=padding, output_padding=out_pad)
    torch.testing.assert_close(ours, reference)


def test_shape_errors_name_the_shapes():
    x = torch.zeros(1, 3, 5, 5)
    with pytest.raises(ValueError, match=r"channel mismatch: x has 3 .* weight expects 2"):
        conv2d_unfold(x, torch.zeros(4, 2, 3, 3))
    with pytest.raises(
        ValueError, match=r"kernel of size 7 .* larger than the padded input \(5 \+ 2 x 0 = 5\)"
    ):
        conv2d_loops(x, torch.zeros(4, 3, 7, 7))
    with pytest.raises(ValueError, match=r"bias must be \[4\]"):
        conv2d_unfold(x, torch.zeros(4, 3, 3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"x must be \[B, 5\]"):
        TwoLayerMLP(torch.zeros(5, 2), torch.zeros(2), torch.zeros(2, 3), torch.zeros(3)).forward(
            torch.zeros(4, 6)
        )
