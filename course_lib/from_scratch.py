"""From-scratch versions of standard operations, written to be read.

Notebooks build these to understand them; the rest of the course uses
PyTorch's own layers. Each function here is checked against PyTorch by a unit
test (``tests/test_from_scratch.py``).

- :func:`logsumexp`: the numerically stable log of a sum of exponentials.
- :class:`TwoLayerMLP`: forward and backward written out by the chain rule.
- :func:`numerical_gradient`: central finite differences, to check gradients.
- :func:`conv_output_size`: the output-size arithmetic of a convolution.
- :func:`conv2d_loops`, :func:`conv2d_unfold`: 2-D convolution (cross-correlation,
  as in deep learning) with stride and padding, by loops and by im2col.
- :func:`conv_transpose2d_fold`: transposed convolution as the adjoint of
  :func:`conv2d_unfold` (col2im).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``log(sum(exp(x)))`` along ``dim`` without overflow: subtract the max first,
    ``m + log(sum(exp(x - m)))``."""
    m = x.max(dim=dim, keepdim=True).values
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all -inf rows stay -inf
    return (m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))).squeeze(dim)


class TwoLayerMLP:
    """``logits = relu(x W1 + b1) W2 + b2`` with a hand-written backward pass.

    Shapes: ``x`` ``[B, D]``, ``W1`` ``[D, H]``, ``b1`` ``[H]``, ``W2`` ``[H, K]``,
    ``b2`` ``[K]``. :meth:`loss_and_gradients` returns the mean cross-entropy
    and the gradient of every parameter, computed by the chain rule.
    """

    def __init__(self, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor):
        if w1.shape[1] != b1.shape[0] or w1.shape[1] != w2.shape[0] or w2.shape[1] != b2.shape[0]:
            raise ValueError(
                f"inconsistent shapes: W1 {tuple(w1.shape)}, b1 {tuple(b1.shape)}, "
                f"W2 {tuple(w2.shape)}, b2 {tuple(b2.shape)}; expected [D, H], [H], [H, K], [K]."
            )
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate value (the backward pass needs them)."""
        if x.ndim != 2 or x.shape[1] != self.w1.shape[0]:
            raise ValueError(f"x must be [B, {self.w1.shape[0]}], got {tuple(x.shape)}.")
        pre = x @ self.w1 + self.b1  # [B, H]
        hidden = pre.clamp(min=0)  # ReLU
        logits = hidden @ self.w2 + self.b2  # [B, K]
        return {"x": x, "pre": pre, "hidden": hidden, "logits": logits}

    def loss_and_gradients(
        self, x: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Mean cross-entropy and ``{"w1", "b1", "w2", "b2"}`` gradients."""
        cache = self.forward(x)
        logits, batch = cache["logits"], x.shape[0]
        log_probs = logits - logsumexp(logits, dim=1)[:, None]
        loss = -log_probs[torch.arange(batch), targets].mean()
        # dL/dlogits = (softmax - onehot) / B
        d_logits = log_probs.exp()
        d_logits[torch.arange(batch), targets] -= 1
        d_logits /= batch
        grads = {
            "w2": cache["hidden"].T @ d_logits,  # [H, K]
            "b2": d_logits.sum(dim=0),  # [K]
        }
        d_hidden = d_logits @ self.w2.T  # [B, H]
        d_pre = d_hidden * (cache["pre"] > 0)  # ReLU passes gradient where its input > 0
        grads["w1"] = x.T @ d_pre  # [D, H]
        grads["b1"] = d_pre.sum(dim=0)  # [H]
        return loss, grads


def numerical_gradient(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for
    every entry of ``x`` (use float64). ``f`` returns a scalar."""
    grad = torch.zeros_like(x)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        plus = float(f(x))
        flat[i] = old - eps
        minus = float(f(x))
        flat[i] = old
        out[i] = (plus - minus) / (2 * eps)
    return grad


def conv_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """Output length of a convolution (Dumoulin & Visin):
    ``floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1``.

    Raises:
        ValueError: when the (dilated) kernel is larger than the padded input.
    """
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        raise ValueError(
            f"kernel of size {kernel} (dilation {dilation}, span {span}) is larger than the "
            f"padded input ({size} + 2 x {padding} = {size + 2 * padding})."
        )
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}.")
    return (size + 2 * padding - span) // stride + 1


def _conv_geometry(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int
) -> tuple[int, int, int, int, int, int]:
    """Check the shapes; return ``(N, C_out, kh, kw, out_h, out_w)``."""
    _check_conv(x, weight, bias)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    return n, c_out, kh, kw, oh, ow


def _check_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"expected x [N, C_in, H, W] and weight [C_out, C_in, kH, kW], got x "
            f"{tuple(x.shape)} and weight {tuple(weight.shape)}."
        )
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"channel mismatch: x has {x.shape[1]} input channels (shape {tuple(x.shape)}) but "
            f"weight expects {weight.shape[1]} (shape {tuple(weight.shape)})."
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bias must be [{weight.shape[0]}], got {tuple(bias.shape)}.")


def conv2d_loops(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """2-D cross-correlation by explicit loops over output positions.

    ``y[n, o, i, j] = b[o] + sum_{c, u, v} x_pad[n, c, i s + u, j s + v] w[o, c, u, v]``
    """
    n, c_out, kh, kw, oh, ow = _conv_geometry(x, weight, bias, stride, padding)
    xp = F.pad(x, (padding, padding, padding, padding))
    y = torch.zeros(n, c_out, oh, ow, dtype=x.dtype, device=x.device)
    for i in range(oh):
        for j in range(ow):
            patch = xp[
                :, :, i * stride : i * stride + kh, j * stride : j * stride + kw
            ]  # [N, C, kh, kw]
            y[:, :, i, j] = torch.einsum("ncuv,ocuv->no", patch, weight)
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv2d_unfold(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int = 1,
    padding: int = 0,
) -> torch.Tensor:
    """2-D cross-correlation as one matrix product (im2col): unfold every
    receptive field into a column, then multiply by the flattened kernels."""
    n, c_out, kh, kw, oh, ow = _conv_geometry(x, weight, bias, stride, padding)
    columns = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*kh*kw, L]
    y = weight.reshape(c_out, -1) @ columns  # [N, C_out, L]
    if bias is not None:
        y = y + bias[None, :, None]
    return y.reshape(n, c_out, oh, ow)


def conv_transpose2d_fold(
    y: torch.Tensor,
    weight: torch.Tensor,
    stride: int = 1,
    padding: int = 0,
    output_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Transposed convolution: the adjoint of :func:`conv2d_unfold` (col2im).

    Each input value scatters a copy of the kernel, scaled by itself, into the
    output; overlapping copies add up. ``weight`` is the *forward*
    convolution's kernel ``[C_out, C_in, kH, kW]``; ``y`` is ``[N, C_out, oh, ow]``.

    Args:
        output_size: the (H, W) of the forward convolution's input; by default
            the smallest size consistent with ``y``.
    """
    if y.ndim != 4 or weight.ndim != 4 or y.shape[1] != weight.shape[0]:
        raise ValueError(
            f"expected y [N, C_out, h, w] with C_out = weight.shape[0]; got y {tuple(y.shape)} "
            f"and weight {tuple(weight.shape)}."
        )
    n, c_out, oh, ow = y.shape
    _, _, kh, kw = weight.shape
    if output_size is None:
        output_size = ((oh - 1) * stride - 2 * padding + kh, (ow - 1) * stride - 2 * padding + kw)
    columns = weight.reshape(c_out, -1).T @ y.reshape(n, c_out, oh * ow)  # [N, C_in*kh*kw, L]
    return F.fold(columns, output_size, (kh, kw), padding=padding, stride=stride)


def affine_grid_from_scratch(
    theta: torch.Tensor, size: tuple[int, int], align_corners: bool = False
) -> torch.Tensor:
    """The sampling grid of ``F.affine_grid``: for every output pixel (x, y) in
    [-1, 1] coordinates, ``theta @ [x, y, 1]`` gives where to sample the input.

    Args:
        theta: ``[N, 2, 3]``; size: output ``(H, W)``.

    Returns:
        ``[N, H, W, 2]`` input coordinates (x first, then y).
    """
    if theta.ndim != 3 or theta.shape[1:] != (2, 3):
        raise ValueError(f"theta must be [N, 2, 3], got {tuple(theta.shape)}.")
    h, w = size

    def axis(n: int) -> torch.Tensor:
        i = torch.arange(n, dtype=theta.dtype, device=theta.device)
        if align_corners:  # pixel centres of the first and last pixel at -1 and +1
            return i * 2 / max(n - 1, 1) - 1
        return (2 * i + 1) / n - 1  # pixel centres, edges at -1 and +1

    ys, xs = torch.meshgrid(axis(h), axis(w), indexing="ij")
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # [H, W, 3]
    return torch.einsum("hwk,nik->nhwi", points, theta)


def grid_sample_from_scratch(
    images: torch.Tensor, grid: torch.Tensor, align_corners: bool = False
) -> torch.Tensor:
    """Bilinear sampling with zero padding, as ``F.grid_sample(..., mode="bilinear",
    padding_mode="zeros")``: each output pixel mixes the four input pixels around
    its sampling point, weighted by closeness; pixels outside the image count as 0.

    Args:
        images: ``[N, C, H, W]``; grid: ``[N, h, w, 2]`` (x, y) in [-1, 1].
    """
    if (
        images.ndim != 4
        or grid.ndim != 4
        or grid.shape[-1] != 2
        or grid.shape[0] != images.shape[0]
    ):
        raise ValueError(
            f"expected images [N, C, H, W] and grid [N, h, w, 2] with the same N, got "
            f"{tuple(images.shape)} and {tuple(grid.shape)}."
        )
    n, c, h, w = images.shape
    x, y = grid[..., 0], grid[..., 1]
    if align_corners:  # [-1, 1] -> pixel index
        px, py = (x + 1) / 2 * (w - 1), (y + 1) / 2 * (h - 1)
    else:
        px, py = ((x + 1) * w - 1) / 2, ((y + 1) * h - 1) / 2
    x0, y0 = torch.floor(px), torch.floor(py)
    flat = images.reshape(n, c, h * w)
    out = torch.zeros(n, c, *grid.shape[1:3], dtype=images.dtype, device=images.device)
    fx, fy = px - x0, py - y0  # fractional parts in [0, 1)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            # (1 - |px - xi|)(1 - |py - yi|), written without abs() so that the
            # gradient at a sampling point exactly on a pixel is one-sided, as
            # in PyTorch's kernel (abs() has gradient 0 at 0)
            weight = (fx if dx else 1 - fx) * (fy if dy else 1 - fy)  # [N, h, w]
            inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            index = (yi.clamp(0, h - 1) * w + xi.clamp(0, w - 1)).long().reshape(n, 1, -1)
            values = flat.gather(2, index.expand(n, c, index.shape[-1])).reshape(out.shape)
            out = out + values * (weight * inside)[:, None]
    return out
