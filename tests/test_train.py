"""GAN objectives, DCGAN models and the one training loop (resume, NaN, errors)."""

import math

import pytest
import torch
from torch import nn

from course_lib.data import CaptionedShapes
from course_lib.losses import (
    discriminator_hinge_loss,
    discriminator_minimax_loss,
    generator_hinge_loss,
    generator_non_saturating_loss,
    generator_saturating_loss,
    objective,
)
from course_lib.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from course_lib.nn.mlp import mlp
from course_lib.train import GANConfig, GANTrainer, tensor_sampler


def test_objectives_match_their_formulas():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_d = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    torch.testing.assert_close(discriminator_minimax_loss(real, fake), expected_d)
    torch.testing.assert_close(generator_saturating_loss(fake), torch.log(1 - d_fake).mean())
    torch.testing.assert_close(generator_non_saturating_loss(fake), -torch.log(d_fake).mean())
    torch.testing.assert_close(
        discriminator_hinge_loss(real, fake), torch.tensor((0 + 2) / 2 + (1.5 + 0) / 2)
    )
    torch.testing.assert_close(generator_hinge_loss(fake), torch.tensor(1.25))
    smoothed = discriminator_minimax_loss(real, fake, real_label=0.9)
    assert smoothed > expected_d
    with pytest.raises(ValueError, match="unknown GAN objective 'wgan'; accepted: minimax"):
        objective("wgan")


def test_dcgan_shapes_and_errors():
    for size in (32, 64):
        g, d = (
            DCGANGenerator(latent_dim=16, image_size=size, width=8),
            DCGANDiscriminator(image_size=size, width=8),
        )
        x = g(torch.randn(3, 16))
        assert x.shape == (3, 3, size, size) and x.abs().max() <= 1
        assert d(x).shape == (3,)
    assert DCGANDiscriminator(channels=1, width=8, spectral_norm=True)(
        torch.zeros(2, 1, 32, 32)
    ).shape == (2,)
    with pytest.raises(ValueError, match="image_size must be 32 or 64, got 48"):
        DCGANGenerator(image_size=48)
    with pytest.raises(ValueError, match=r"z must be \[N, 16\], got \(3, 15\)"):
        g(torch.randn(3, 15))
    with pytest.raises(
        ValueError,
        match=r"DCGANDiscriminator expects images \[N, 3, 64, 64\], got \(2, 3, 32, 32\)",
    ):
        d(torch.zeros(2, 3, 32, 32))


def _ring(batch_size, generator):
    angle = torch.randint(0, 8, (batch_size,), generator=generator) * (2 * math.pi / 8)
    centres = torch.stack([angle.cos(), angle.sin()], 1) * 2
    return centres + 0.05 * torch.randn(batch_size, 2, generator=generator)


def test_mlp_gan_trains_and_records():
    config = GANConfig(
        steps=30, batch_size=32, latent_dim=2, lr_g=1e-3, lr_d=1e-3, sample_every=10, num_samples=50
    )
    trainer = GANTrainer(
        mlp(2, 32, 2), mlp(2, 32, 1, activation=nn.LeakyReLU), _ring, config, device="cpu"
    )
    history = trainer.fit(progress=False)
    assert set(history) >= {"loss_D", "loss_G", "D(x)", "D(G(z))"}
    assert all(len(v) == 30 for v in history.values())
    assert [s for s, _ in trainer.samples] == [10, 20, 30]
    assert trainer.sample().shape == (50, 2)


def _dcgan_trainer(tmp_path, ema=0.0):
    data = CaptionedShapes(64, seed=5).images
    config = GANConfig(steps=6, batch_size=8, latent_dim=16, ema_decay=ema, seed=3)
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=16, width=8)
    discriminator = DCGANDiscriminator(width=8)
    return GANTrainer(
        generator, discriminator, tensor_sampler(data), config, device="cpu", out_dir=tmp_path
    )


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_resume_is_exact(tmp_path, ema):
    straight = _dcgan_trainer(tmp_path / "a", ema)
    straight.fit(progress=False)

    first = _dcgan_trainer(tmp_path / "b", ema)
    first.fit(until=3, progress=False)
    path = first.save(tmp_path / "b" / "checkpoint.pt")
    del first
    resumed = _dcgan_trainer(tmp_path / "c", ema).load(path)
    assert resumed.step == 3
    resumed.fit(progress=False)

    for a, b in zip(
        straight.state_dict()["generator"].values(),
        resumed.state_dict()["generator"].values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    for a, b in zip(
        straight.discriminator.parameters(), resumed.discriminator.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    if ema:
        for a, b in zip(straight.ema.parameters(), resumed.ema.parameters(), strict=True):
            assert torch.equal(a, b)
    assert straight.history == resumed.history
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temporary left


def test_checkpoint_every_and_load_errors(tmp_path):
    trainer = _dcgan_trainer(tmp_path)
    trainer.config.checkpoint_every = 2
    trainer.config.sample_every = 3
    trainer.fit(progress=False)
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "samples_000006.png").exists()
    with pytest.raises(FileNotFoundError, match="no GAN checkpoint at"):
        trainer.load(tmp_path / "missing.pt")
    other = GANTrainer(DCGANGenerator(latent_dim=16, width=16), DCGANDiscriminator(width=8),
                       trainer.sample_real, trainer.config, device="cpu")  # fmt: skip
    with pytest.raises(ValueError, match="differently shaped models"):
        other.load(tmp_path / "checkpoint.pt")
    torch.save({"kind": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is a 'something else' checkpoint"):
        trainer.load(tmp_path / "other.pt")


class _NaNDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        return x.sum(dim=1) * self.scale * float("nan")


def test_nan_loss_stops_with_step():
    config = GANConfig(steps=5, batch_size=4, latent_dim=2)
    trainer = GANTrainer(mlp(2, 8, 2), _NaNDiscriminator(), _ring, config, device="cpu")
    with pytest.raises(FloatingPointError, match="discriminator's loss became nan at step 1"):
        trainer.fit(progress=False)


def test_amp_on_cpu_warns():
    with pytest.warns(UserWarning, match="amp=True is ignored on cpu"):
        GANTrainer(
            mlp(2, 8, 2), mlp(2, 8, 1), _ring, GANConfig(latent_dim=2, amp=True), device="cpu"
        )


def test_vae_shapes_loss_and_reparameterisation():
    from course_lib.nn.vae import ConvVAE, vae_loss
    from course_lib.probability import gaussian_kl_to_standard_normal

    vae = ConvVAE(channels=3, image_size=32, latent_dim=4, width=8)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    reconstruction, mu, logvar = vae(x)
    assert reconstruction.shape == x.shape and mu.shape == logvar.shape == (5, 4)
    loss, recon, kl = vae_loss(x, reconstruction, mu, logvar)
    torch.testing.assert_close(loss, recon + kl)
    torch.testing.assert_close(kl, gaussian_kl_to_standard_normal(mu, logvar).mean())
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert torch.equal(vae.reparameterise(mu, logvar, g1), vae.reparameterise(mu, logvar, g2))
    loss.backward()
    assert vae.to_stats.weight.grad is not None
    with pytest.raises(ValueError, match=r"ConvVAE expects images \[N, 3, 32, 32\]"):
        vae.encode(torch.zeros(2, 1, 32, 32))
