"""Vocabulary and tokeniser: ids, padding, saving, and clear errors."""

import pytest
import torch

from course_lib.data import Vocabulary, shape_caption_vocabulary, tokenize


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize("Top left: a RED disc.") == ["top", "left", "a", "red", "disc"]
    assert tokenize("the digit 3") == ["the", "digit", "3"]
    with pytest.raises(TypeError, match="caption must be a string"):
        tokenize(3)


def test_build_encode_decode_roundtrip():
    vocab = Vocabulary.build(["a red circle", "a big blue square in the top left"])
    assert vocab.words[0] == "<pad>" and len(vocab) == 11
    assert vocab.max_length == 8
    ids = vocab.encode("A red square")
    assert vocab.decode(ids) == "a red square"
    tokens, lengths = vocab.encode_batch(["a red circle", "blue square"])
    assert tokens.shape == (2, 8) and tokens.dtype == torch.long
    assert lengths.tolist() == [3, 2]
    assert tokens[1, 2:].eq(0).all()


def test_unknown_word_names_word_and_closest():
    vocab = shape_caption_vocabulary()
    with pytest.raises(ValueError) as info:
        vocab.encode("a small red circel in the top left")
    message = str(info.value)
    assert "unknown word in caption" in message
    assert "'circel' (closest known: circle" in message
    with pytest.raises(ValueError, match=r"unknown words.*'purple'.*'hexagon'"):
        vocab.encode("a purple hexagon")


def test_empty_and_overlong_captions():
    vocab = shape_caption_vocabulary()
    with pytest.raises(ValueError, match="is empty"):
        vocab.encode("  ,. ")
    with pytest.raises(ValueError, match=r"has 13 words; this vocabulary accepts at most 11"):
        vocab.encode("a " * 13)
    with pytest.raises(TypeError, match="list of captions"):
        vocab.encode_batch("a red circle")


def test_save_load_and_state_dict(tmp_path):
    vocab = shape_caption_vocabulary()
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json") == vocab
    state = vocab.state_dict()
    torch.save(state, tmp_path / "v.pt")
    assert Vocabulary.from_state_dict(torch.load(tmp_path / "v.pt", weights_only=True)) == vocab
    with pytest.raises(FileNotFoundError, match="no vocabulary file"):
        Vocabulary.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="not a vocabulary state"):
        Vocabulary.from_state_dict({"words": ["b", "a"], "max_length": 3})
    with pytest.raises(ValueError, match="not sorted and unique"):
        Vocabulary.from_state_dict({"words": ["<pad>", "b", "a"], "max_length": 3})


def test_grammar_vocabulary_equals_one_built_from_training_captions():
    from course_lib.data import CaptionedDigits, CaptionedShapes, digit_caption_vocabulary

    shapes = CaptionedShapes(3000, split="train")
    built = Vocabulary.build(c for caps in shapes.captions for c in caps)
    assert built.words == shape_caption_vocabulary().words
    assert built.max_length <= shape_caption_vocabulary().max_length
    digits = CaptionedDigits(3000, split="train")
    built = Vocabulary.build(c for caps in digits.captions for c in caps)
    assert built.words == digit_caption_vocabulary().words
