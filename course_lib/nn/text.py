"""From caption to vector: a text encoder, an image encoder for the joint
embedding, and conditioning augmentation (StackGAN, seed 1.6, eq.8).

A caption arrives as word ids ``tokens`` ``[B, L]`` (0 = padding, from
:meth:`course_lib.data.Vocabulary.encode_batch`) with its ``lengths`` ``[B]``.
Both encoders ignore the padding, so the same caption gives the same vector
whatever ``L`` it was padded to.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from course_lib.data.vocab import Vocabulary
from course_lib.nn.validation import check_images
from course_lib.probability import gaussian_kl_to_standard_normal

ENCODER_KINDS = ("bow", "gru")


def check_tokens(tokens: torch.Tensor, lengths: torch.Tensor, owner: str) -> None:
    """Raise ``ValueError`` unless ``tokens`` is ``[B, L]`` integer ids and
    ``lengths`` ``[B]`` with ``1 <= lengths <= L``."""
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.is_floating_point():
        got = tuple(tokens.shape) if hasattr(tokens, "shape") else type(tokens).__name__
        raise ValueError(f"{owner} expects tokens [B, L] of word ids (long), got {got}.")
    if not isinstance(lengths, torch.Tensor) or lengths.shape != tokens.shape[:1]:
        got = tuple(lengths.shape) if hasattr(lengths, "shape") else type(lengths).__name__
        raise ValueError(f"{owner} expects lengths [B] = [{tokens.shape[0]}], got {got}.")
    if len(lengths) and (lengths.min() < 1 or lengths.max() > tokens.shape[1]):
        raise ValueError(
            f"{owner}: every length must be between 1 and L = {tokens.shape[1]}, got "
            f"{lengths.min().item()}..{lengths.max().item()} (an empty caption has no words)."
        )


class TextEncoder(nn.Module):
    """Word embeddings and a sentence encoder.

    Args:
        vocab_size: number of words including padding (``len(vocab)``).
        kind: ``"bow"`` (bag of words: the mean of the word embeddings, then an
            MLP; order-blind, and it composes attributes freely) or ``"gru"``
            (a recurrent encoder reading the words in order; its last state).
        embed_dim, hidden, out_dim: sizes of the word vectors, the hidden
            layer and the sentence vector.
    """

    def __init__(
        self,
        vocab_size: int,
        kind: str = "bow",
        embed_dim: int = 64,
        hidden: int = 128,
        out_dim: int = 128,
    ) -> None:
        super().__init__()
        if kind not in ENCODER_KINDS:
            raise ValueError(f"kind must be one of {ENCODER_KINDS}, got {kind!r}.")
        self.kind, self.vocab_size, self.out_dim = kind, vocab_size, out_dim
        self.config = {
            "vocab_size": vocab_size,
            "kind": kind,
            "embed_dim": embed_dim,
            "hidden": hidden,
            "out_dim": out_dim,
        }
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        if kind == "bow":
            self.body = nn.Sequential(
                nn.Linear(embed_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, out_dim)
            )
        else:
            self.rnn = nn.GRU(embed_dim, hidden, batch_first=True)
            self.body = nn.Linear(hidden, out_dim)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Sentence vectors ``[B, out_dim]`` of padded word ids ``[B, L]``."""
        check_tokens(tokens, lengths, "TextEncoder")
        if tokens.max() >= self.vocab_size or tokens.min() < 0:
            raise ValueError(
                f"TextEncoder: word ids must lie in [0, {self.vocab_size}), got "
                f"{tokens.min().item()}..{tokens.max().item()} (a different vocabulary?)."
            )
        words = self.embedding(tokens)  # [B, L, E]
        if self.kind == "bow":
            mask = torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]
            mean = (words * mask[..., None]).sum(1) / lengths[:, None].to(words.dtype)
            return self.body(mean)
        packed = pack_padded_sequence(words, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.rnn(packed)  # [1, B, H]: the state after each caption's last word
        return self.body(last[0])

    def encode(self, captions: list[str], vocab: Vocabulary) -> torch.Tensor:
        """Sentence vectors of caption strings (unknown words raise the vocabulary's error)."""
        if len(vocab) != self.vocab_size:
            raise ValueError(
                f"this encoder was built for a vocabulary of {self.vocab_size} words, "
                f"got one of {len(vocab)}."
            )
        device = self.embedding.weight.device
        return self(*vocab.encode_batch(captions, device=device))


class ImageEncoder(nn.Module):
    """A small CNN mapping images ``[N, C, S, S]`` in [-1, 1] to ``[N, out_dim]``,
    the image side of the joint embedding."""

    def __init__(
        self, in_channels: int = 3, image_size: int = 32, out_dim: int = 128, width: int = 32
    ) -> None:
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}.")
        self.in_channels, self.image_size = in_channels, image_size
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1),  # [w, S, S]
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1),  # [2w, S/2, S/2]
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1),  # [2w, S/4, S/4]
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1),  # [2w, S/8, S/8]
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(2 * w * (image_size // 8) ** 2, out_dim),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_images(images, self.in_channels, self.image_size, "ImageEncoder")
        return self.net(images)


class ConditioningAugmentation(nn.Module):
    """StackGAN's conditioning augmentation (seed 1.6, eq.8).

    A linear layer maps the text embedding ``phi`` to ``(mu, logvar)``, and
    ``c = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``. Training adds
    ``weight * kl(mu, logvar)`` to the generator's loss, which keeps the
    conditioning manifold smooth: nearby captions give overlapping
    distributions of ``c``.

    No ReLU before the split: it would force ``logvar >= 0``, i.e.
    ``sigma >= 1`` (a bug of one public port).
    """

    def __init__(self, in_dim: int, c_dim: int = 64) -> None:
        super().__init__()
        self.in_dim, self.c_dim = in_dim, c_dim
        self.fc = nn.Linear(in_dim, 2 * c_dim)

    def forward(
        self,
        embedding: torch.Tensor,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(c, mu, logvar)``, each ``[B, c_dim]``. ``generator`` makes
        the noise reproducible; or pass the standard-normal ``noise`` itself."""
        if embedding.ndim != 2 or embedding.shape[1] != self.in_dim:
            raise ValueError(
                f"ConditioningAugmentation expects embeddings [B, {self.in_dim}], "
                f"got {tuple(embedding.shape)}."
            )
        mu, logvar = self.fc(embedding).chunk(2, dim=1)
        if noise is None:
            noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        elif noise.shape != mu.shape:
            raise ValueError(f"noise must be {tuple(mu.shape)}, got {tuple(noise.shape)}.")
        return mu + torch.exp(0.5 * logvar) * noise, mu, logvar

    @staticmethod
    def kl(mu: torch.Tensor, logvar: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """KL(N(mu, sigma^2) || N(0, I)) of eq.8, averaged over the batch.

        ``reduction="mean"`` averages over the ``c_dim`` dimensions (StackGAN's
        code, with weight 2.0); ``"sum"`` is the true KL, ``c_dim`` times
        larger: the same weight on it is ``c_dim`` times stronger (100x for a
        100-d ``c``), enough to make ``c`` forget the caption.
        """
        return gaussian_kl_to_standard_normal(mu, logvar, reduction=reduction).mean()
