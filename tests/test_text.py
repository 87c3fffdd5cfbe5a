"""Text encoder, conditioning augmentation and the joint embedding."""

import pytest
import torch

from course_lib.data import CaptionedShapes, shape_caption_vocabulary
from course_lib.embedding import (
    EmbeddingConfig,
    contrastive_loss,
    load_text_encoder,
    save_text_encoder,
    train_joint_embedding,
)
from course_lib.nn.text import ConditioningAugmentation, ImageEncoder, TextEncoder
from course_lib.probability import gaussian_kl_to_standard_normal

vocab = shape_caption_vocabulary()
CAPTIONS = ["a small red circle in the top left", "a big blue square", "the green cross"]


@pytest.mark.parametrize("kind", ["bow", "gru"])
def test_encoder_is_invariant_to_padding(kind):
    torch.manual_seed(0)
    encoder = TextEncoder(len(vocab), kind).eval()
    tokens, lengths = vocab.encode_batch(CAPTIONS)
    longer = torch.cat([tokens, torch.zeros(3, 7, dtype=torch.long)], 1)
    shorter = tokens[:, : int(lengths.max())]
    reference = encoder(tokens, lengths)
    torch.testing.assert_close(encoder(longer, lengths), reference)
    torch.testing.assert_close(encoder(shorter, lengths), reference)
    # one caption alone gives the same vector as in a batch
    torch.testing.assert_close(encoder.encode(CAPTIONS[1:2], vocab), reference[1:2])
    assert reference.shape == (3, 128)


def test_encoder_bad_input():
    encoder = TextEncoder(len(vocab))
    with pytest.raises(ValueError, match="unknown word"):
        encoder.encode(["a purple circle"], vocab)
    with pytest.raises(ValueError, match="empty"):
        encoder.encode([""], vocab)
    with pytest.raises(ValueError, match=r"tokens \[B, L\]"):
        encoder(torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="between 1 and L"):
        encoder(torch.ones(2, 4, dtype=torch.long), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="different vocabulary"):
        encoder(torch.full((1, 3), len(vocab)), torch.tensor([3]))
    with pytest.raises(ValueError, match="kind"):
        TextEncoder(len(vocab), "transformer")


def test_ca_kl_matches_closed_form_and_monte_carlo():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(in_dim=8, c_dim=4)
    c, mu, logvar = ca(torch.randn(5, 8))
    assert c.shape == mu.shape == logvar.shape == (5, 4)
    closed = gaussian_kl_to_standard_normal(mu, logvar).mean()
    torch.testing.assert_close(ca.kl(mu, logvar, "sum"), closed)
    torch.testing.assert_close(ca.kl(mu, logvar, "mean"), closed / 4)
    # Monte Carlo: E_q[log q(c) - log p(c)] for the first row
    q = torch.distributions.Normal(mu[0].detach(), torch.exp(0.5 * logvar[0].detach()))
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    samples = q.sample((200_000,))
    estimate = (q.log_prob(samples) - p.log_prob(samples)).sum(1).mean()
    exact = gaussian_kl_to_standard_normal(mu[0], logvar[0]).detach()
    assert abs(estimate - exact) < 0.02 * max(1.0, exact.item())


def test_ca_zero_kl_at_standard_normal_and_seeded_sampling():
    ca = ConditioningAugmentation(in_dim=3, c_dim=2)
    zeros = torch.zeros(4, 2)
    assert ca.kl(zeros, zeros).item() == 0.0
    phi = torch.randn(4, 3)
    a = ca(phi, generator=torch.Generator().manual_seed(1))[0]
    b = ca(phi, generator=torch.Generator().manual_seed(1))[0]
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, ca(phi, generator=torch.Generator().manual_seed(2))[0])
    with pytest.raises(ValueError, match=r"\[B, 3\]"):
        ca(torch.randn(4, 5))


def test_contrastive_loss_counts_equivalent_rows_as_matches():
    v = torch.eye(3)
    labels = torch.tensor([[0, 1], [0, 1], [2, 2]])
    perfect = contrastive_loss(v * 10, v * 10, torch.tensor([[0], [1], [2]]), temperature=0.01)
    assert perfect < 1e-3
    # rows 0 and 1 share labels: swapping their texts costs nothing extra
    swapped = contrastive_loss(v, v[[1, 0, 2]], labels)
    torch.testing.assert_close(swapped, contrastive_loss(v, v, labels))


def test_joint_embedding_trains_saves_and_loads(tmp_path):
    config = EmbeddingConfig(n_train=300, steps=30, batch_size=32)
    text, image, vocab_, history = train_joint_embedding(config, progress=False)
    assert len(history["loss"]) == 30 and history["loss"][-1] < history["loss"][0]
    assert isinstance(image, ImageEncoder)
    path = save_text_encoder(tmp_path / "enc.pt", text, vocab_)
    loaded, loaded_vocab = load_text_encoder(path, expected_vocab=vocab)
    torch.testing.assert_close(loaded.encode(CAPTIONS, loaded_vocab), text.encode(CAPTIONS, vocab))
    from course_lib.data import digit_caption_vocabulary

    with pytest.raises(ValueError, match="different vocabulary"):
        load_text_encoder(path, expected_vocab=digit_caption_vocabulary())
    with pytest.raises(FileNotFoundError):
        load_text_encoder(tmp_path / "missing.pt")
    # deterministic given the seed
    again = train_joint_embedding(config, progress=False)[0]
    torch.testing.assert_close(again.encode(CAPTIONS, vocab), text.encode(CAPTIONS, vocab))
    assert CaptionedShapes(2, seed=0).vocab == vocab


def test_kl_weight_on_a_summed_kl_makes_c_forget_the_caption():
    from course_lib.embedding import conditioning_sweep_point

    g = torch.Generator().manual_seed(0)
    labels = torch.randint(4, (400, 1), generator=g)
    phi = torch.nn.functional.one_hot(labels[:, 0], 4).float() * 3 + 0.1 * torch.randn(
        400, 4, generator=g
    )
    weak = conditioning_sweep_point(phi, labels, phi, labels, kl_weight=0.01, c_dim=8, steps=150)
    strong = conditioning_sweep_point(phi, labels, phi, labels, 30.0, "sum", c_dim=8, steps=150)
    assert weak["accuracy"] > 0.95
    assert strong["accuracy"] < 0.5 and strong["sigma"] > weak["sigma"]


def test_command_line_trains_and_reports(tmp_path, capsys):
    from course_lib.embedding import main

    out = tmp_path / "enc.pt"
    assert (
        main(["train", "--n-train", "200", "--steps", "5", "--batch-size", "16", "--out", str(out)])
        == 0
    )
    assert out.exists()
    assert main(["evaluate", "--checkpoint", str(out)]) == 0
    assert "caption_to_image" in capsys.readouterr().out
    assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt")]) == 1
    assert "error:" in capsys.readouterr().err
