"""The label-conditional DCGAN: projection + auxiliary heads, its trainer, resume and errors."""

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import CaptionedShapes
from course_lib.losses import attribute_cross_entropy
from course_lib.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from course_lib.train import GANConfig, LabelConditionalGANTrainer

HEADS = {"shape": 5, "colour": 6, "size": 2, "position": 9}


def test_attribute_cross_entropy_sums_the_heads():
    logits = {"a": torch.randn(4, 3), "b": torch.randn(4, 5)}
    labels = torch.tensor([[0, 4], [2, 1], [1, 0], [2, 2]])
    expected = F.cross_entropy(logits["a"], labels[:, 0]) + F.cross_entropy(
        logits["b"], labels[:, 1]
    )
    torch.testing.assert_close(attribute_cross_entropy(logits, labels), expected)
    assert attribute_cross_entropy({}, labels).item() == 0
    with pytest.raises(ValueError, match=r"labels must be \[N, 2\], got \(4,\)"):
        attribute_cross_entropy(logits, labels[:, 0])


def test_conditional_discriminator_projection_and_heads():
    torch.manual_seed(0)
    d = DCGANDiscriminator(width=8, spectral_norm=True, cond_dim=22, heads=HEADS).eval()
    x = torch.randn(3, 3, 32, 32)
    y = torch.zeros(3, 22)
    h = d.features(x)
    assert h.shape == (3, 32, 4, 4) and d.feature_dim == 32 * 16
    assert {k: v.shape[1] for k, v in d.aux(h).items()} == HEADS
    # with an all-zero condition the projection term vanishes: the plain score remains
    # (eval mode: spectral norm runs no power iteration, so the weights stay put)
    torch.testing.assert_close(d(x, y), d.net[-1](h).reshape(-1))
    y[:, 3] = 1
    assert not torch.allclose(d(x, y), d(x, torch.zeros(3, 22)))
    with pytest.raises(ValueError, match=r"cond must be \[3, 22\], got None"):
        d(x)
    with pytest.raises(ValueError, match=r"cond must be \[3, 22\], got \(3, 21\)"):
        d(x, torch.zeros(3, 21))
    with pytest.raises(ValueError, match="has no condition"):
        DCGANDiscriminator(width=8)(x, y)


def _trainer(tmp_path=None, steps=6):
    data = CaptionedShapes(64, seed=5)
    torch.manual_seed(0)
    config = GANConfig(steps=steps, batch_size=8, latent_dim=16, objective="hinge",
                       ema_decay=0.9, seed=3)  # fmt: skip
    return LabelConditionalGANTrainer(
        DCGANGenerator(latent_dim=16 + 22, width=8),
        DCGANDiscriminator(width=8, spectral_norm=True, cond_dim=22, heads=HEADS),
        data,
        config,
        device="cpu",
        out_dir=tmp_path,
    )


def test_label_gan_trains_draws_what_it_is_asked_and_resumes_exactly(tmp_path):
    straight = _trainer()
    history = straight.fit(progress=False)
    assert {"loss_D", "loss_G", "aux_D", "aux_G", "D(x)", "D(G(z))"} <= set(history)
    # the latent of a fake is [z, one-hot labels]; asking for labels puts them there
    labels = torch.tensor([[0, 1, 1, 4], [3, 5, 0, 8]])
    latent = straight.latent_for(labels, seed=1)
    assert latent.shape == (2, 16 + 22)
    assert latent[0, 16:].nonzero().flatten().tolist() == [0, 5 + 1, 11 + 1, 13 + 4]
    assert torch.equal(latent, straight.latent_for(labels, seed=1))
    assert straight.sample(latent=latent).shape == (2, 3, 32, 32)

    first = _trainer(tmp_path / "b")
    first.fit(until=3, progress=False)
    path = first.save(tmp_path / "b" / "checkpoint.pt")
    resumed = _trainer(tmp_path / "c").load(path)
    resumed.fit(progress=False)
    for a, b in zip(straight.generator.parameters(), resumed.generator.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(straight.ema.parameters(), resumed.ema.parameters(), strict=True):
        assert torch.equal(a, b)
    assert straight.history == resumed.history


def test_label_gan_says_what_the_models_need():
    data = CaptionedShapes(16, seed=5)
    config = GANConfig(latent_dim=16)
    d = DCGANDiscriminator(width=8, cond_dim=22, heads=HEADS)
    with pytest.raises(ValueError, match=r"latent_dim \+ cond_dim = 16 \+ 22 = 38 inputs, got 16"):
        LabelConditionalGANTrainer(DCGANGenerator(latent_dim=16, width=8), d, data, config)
    g = DCGANGenerator(latent_dim=38, width=8)
    with pytest.raises(ValueError, match=r"needs cond_dim=22 .*shape, colour, size, position"):
        LabelConditionalGANTrainer(g, DCGANDiscriminator(width=8), data, config)
    with pytest.raises(ValueError, match="aux_weight > 0 needs discriminator heads"):
        LabelConditionalGANTrainer(g, DCGANDiscriminator(width=8, cond_dim=22), data, config)
    # without the auxiliary terms, heads are not needed
    LabelConditionalGANTrainer(g, DCGANDiscriminator(width=8, cond_dim=22), data, config,
                               aux_weight=0.0, device="cpu")  # fmt: skip
