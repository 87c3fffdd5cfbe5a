"""Vocabulary and tokeniser for captions.

Captions are lower-cased and split into words (letters and digits; other
characters separate words). A :class:`Vocabulary` maps each word to an id;
id 0 is padding. Unknown words are an error, not a silent ``<unk>``: the
message names the word and the closest known words, so a learner typing
"a small red circel" learns what the model can read.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

PAD = "<pad>"
_WORD = re.compile(r"[a-z0-9]+")


def tokenize(caption: str) -> list[str]:
    """Split a caption into lower-case words: ``"Top left: a RED disc"`` ->
    ``["top", "left", "a", "red", "disc"]``."""
    if not isinstance(caption, str):
        raise TypeError(f"a caption must be a string, got {type(caption).__name__}: {caption!r}")
    return _WORD.findall(caption.lower())


class Vocabulary:
    """Words <-> ids, with id 0 reserved for padding.

    Args:
        words: the known words (duplicates and order do not matter; ids follow
            sorted order so that the same words always give the same ids).
        max_length: the longest caption, in words, that :meth:`encode` accepts.
    """

    def __init__(self, words: Iterable[str], max_length: int = 24) -> None:
        unique = sorted(set(words) - {PAD})
        if not unique:
            raise ValueError("a vocabulary needs at least one word.")
        bad = [w for w in unique if not _WORD.fullmatch(w)]
        if bad:
            raise ValueError(f"vocabulary words must be lower-case letters/digits, got {bad[:5]}.")
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}.")
        self.words: list[str] = [PAD, *unique]
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        self.max_length = int(max_length)

    @classmethod
    def build(cls, captions: Iterable[str], max_length: int | None = None) -> Vocabulary:
        """Collect every word of ``captions``; ``max_length`` defaults to the
        longest caption seen."""
        words: set[str] = set()
        longest = 0
        for caption in captions:
            tokens = tokenize(caption)
            words.update(tokens)
            longest = max(longest, len(tokens))
        return cls(words, max_length=max_length or max(longest, 1))

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index and word != PAD

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self.words == other.words
            and self.max_length == other.max_length
        )

    def __hash__(self) -> int:
        return hash((tuple(self.words), self.max_length))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.words) - 1} words, max_length={self.max_length})"

    def closest(self, word: str, n: int = 3) -> list[str]:
        """The known words most similar in spelling to ``word``."""
        return difflib.get_close_matches(word, self.words[1:], n=n, cutoff=0.5)

    def encode(self, caption: str) -> list[int]:
        """Word ids of one caption (no padding).

        Raises:
            ValueError: for an empty caption, a caption longer than
                ``max_length`` words, or unknown words (each named with the
                closest known words).
        """
        tokens = tokenize(caption)
        if not tokens:
            raise ValueError(f"the caption {caption!r} is empty: it has no words.")
        if len(tokens) > self.max_length:
            raise ValueError(
                f"the caption {caption!r} has {len(tokens)} words; this vocabulary accepts at "
                f"most {self.max_length}."
            )
        unknown = [t for t in dict.fromkeys(tokens) if t not in self.index or t == PAD]
        if unknown:
            parts = []
            for word in unknown:
                near = self.closest(word)
                parts.append(f"{word!r} (closest known: {', '.join(near)})" if near else repr(word))
            raise ValueError(
                f"unknown word{'s' if len(unknown) > 1 else ''} in caption {caption!r}: "
                f"{'; '.join(parts)}. Known words: {', '.join(self.words[1:])}."
            )
        return [self.index[t] for t in tokens]

    def encode_batch(
        self, captions: Sequence[str], device: str | torch.device = "cpu"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode and pad captions.

        Returns:
            ``(tokens, lengths)``: ``tokens`` is ``[B, max_length]`` (long, 0 =
            padding), ``lengths`` is ``[B]`` (long).
        """
        if isinstance(captions, str):
            raise TypeError("encode_batch takes a list of captions; use encode() for one.")
        ids = [self.encode(c) for c in captions]
        tokens = torch.zeros(len(ids), self.max_length, dtype=torch.long)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = torch.tensor(row)
        lengths = torch.tensor([len(r) for r in ids], dtype=torch.long)
        return tokens.to(device), lengths.to(device)

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Words of an id sequence, padding dropped."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.words[i] for i in values if i != 0)

    def state_dict(self) -> dict:
        """Plain data (lists, ints) that ``torch.load(..., weights_only=True)`` accepts."""
        return {"words": list(self.words), "max_length": self.max_length}

    @classmethod
    def from_state_dict(cls, state: dict) -> Vocabulary:
        try:
            words, max_length = state["words"], state["max_length"]
        except (KeyError, TypeError) as error:
            raise ValueError(
                "not a vocabulary state: expected a dict with 'words' and 'max_length'."
            ) from error
        if not words or words[0] != PAD:
            raise ValueError(f"not a vocabulary state: the first word must be {PAD!r}.")
        vocab = cls(words[1:], max_length=max_length)
        if vocab.words != list(words):
            raise ValueError("not a vocabulary state: the words are not sorted and unique.")
        return vocab

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON."""
        Path(path).write_text(json.dumps(self.state_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no vocabulary file at {path}.")
        return cls.from_state_dict(json.loads(path.read_text(encoding="utf-8")))
