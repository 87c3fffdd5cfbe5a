"""Benchmark: the course's GANTrainer vs the same DCGAN step written plainly.

    python benchmarks/dcgan_throughput.py [--steps 60] [--width 32]

Both train the 32x32 DCGAN of course_lib.nn.dcgan (batch 64, non-saturating
loss, Adam 2e-4, betas 0.5/0.999) on captioned shapes for the same number of
steps, after a warm-up; the script prints steps per second and the ratio
(target: the trainer is at least as fast as the plain loop, ratio >= 1.0
within noise).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from course_lib.data import CaptionedShapes
from course_lib.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from course_lib.train import GANConfig, GANTrainer, tensor_sampler


def plain_loop(images: torch.Tensor, steps: int, width: int) -> float:
    torch.manual_seed(0)
    g, d = DCGANGenerator(width=width), DCGANDiscriminator(width=width)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(0)

    def step() -> None:
        real = images[torch.randint(len(images), (64,), generator=rng)].float() / 127.5 - 1
        fake = g(torch.randn(64, 100, generator=rng))
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-d(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def course_loop(images: torch.Tensor, steps: int, width: int) -> float:
    torch.manual_seed(0)
    config = GANConfig(steps=5 + steps, batch_size=64)
    generator, discriminator = DCGANGenerator(width=width), DCGANDiscriminator(width=width)
    trainer = GANTrainer(generator, discriminator, tensor_sampler(images), config, device="cpu")
    trainer.fit(until=5, progress=False)
    start = time.perf_counter()
    trainer.fit(progress=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = CaptionedShapes(5000).images
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads, DCGAN 32x32 width {args.width}, batch 64")
    plain, course = [], []
    for _ in range(args.rounds):  # interleaved rounds, best of each, to damp machine noise
        plain.append(plain_loop(images, args.steps, args.width))
        course.append(course_loop(images, args.steps, args.width))
    print(f"plain PyTorch loop: {max(plain):6.2f} steps/s ({1000 / max(plain):.0f} ms/step)")
    print(f"course GANTrainer:  {max(course):6.2f} steps/s ({1000 / max(course):.0f} ms/step)")
    print(f"ratio (course / plain): {max(course) / max(plain):.2f}")


if __name__ == "__main__":
    main()
