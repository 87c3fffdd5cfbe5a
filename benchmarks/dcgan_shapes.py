"""Quality benchmark: DCGAN on captioned shapes, graded by the oracle.

    python benchmarks/dcgan_shapes.py [--steps 5000] [--plain] [--out runs/dcgan]
    python benchmarks/dcgan_shapes.py --d-width 48 --budget 300   # a stronger D, 5 minutes
    python benchmarks/dcgan_shapes.py --conditional --budget 300  # told what to draw
    python benchmarks/dcgan_shapes.py --conditional --d-width 32 --batch-size 32 --budget 300

Trains the course's 32x32 DCGAN (unconditional) with the course's trainer (by
default as notebook 08 does: spectral norm in D, hinge loss, lr 5e-4, EMA 0.99,
width 16; ``--plain`` for the original DCGAN recipe) and
reports, every ``--eval-every`` steps, the fraction of 2,000 samples the
oracle classifies with confidence above 0.9 on every attribute, and their
Fréchet distance to real images beside the real-vs-real floor at the same N.
``--conditional`` trains the label-conditional DCGAN instead (the same G and D
with the one-hot attributes appended to z, a projection discriminator and
auxiliary attribute heads: :class:`course_lib.train.LabelConditionalGANTrainer`),
whose fake labels are drawn from the training set's label rows.
Targets (issue): >= 80% confident and Fréchet <= 3x the floor, in under 5
minutes of training on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import torch

from course_lib.data import CaptionedShapes
from course_lib.metrics import confident_fraction, frechet_distance, frechet_floor, oracle_features
from course_lib.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from course_lib.oracle import load_oracle
from course_lib.train import GANConfig, GANTrainer, LabelConditionalGANTrainer, tensor_sampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--d-width", type=int, default=None, help="D's width (default: --width)")
    parser.add_argument(
        "--plain", action="store_true", help="BN discriminator, non-saturating, 2e-4"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    # recipe overrides (defaults: notebook 08's recipe, or the plain one with --plain)
    parser.add_argument("--objective", choices=("minimax", "non_saturating", "hinge"))
    parser.add_argument("--lr-g", type=float)
    parser.add_argument("--lr-d", type=float)
    parser.add_argument("--beta1", type=float)
    parser.add_argument("--beta2", type=float)
    parser.add_argument("--ema", type=float)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--budget", type=float, default=None, help="stop after this many s")
    parser.add_argument(
        "--conditional", action="store_true", help="label-conditional DCGAN (projection + AC)"
    )
    args = parser.parse_args()

    train = CaptionedShapes(30_000, split="train", seed=0)
    real_a = CaptionedShapes(2000, split="test", seed=1).images_float()
    real_b = CaptionedShapes(2000, split="test", seed=2).images_float()
    oracle = load_oracle("shapes")
    floor = frechet_floor(oracle, real_a, real_b)
    real_features = oracle_features(oracle, real_b)
    if args.plain:
        recipe = {"objective": "non_saturating", "lr_g": 2e-4, "lr_d": 2e-4}
    else:
        recipe = {"objective": "hinge", "lr_g": 5e-4, "lr_d": 5e-4, "ema_decay": 0.99}
    recipe["betas"] = (0.5, 0.999)
    overrides = {"objective": args.objective, "lr_g": args.lr_g, "lr_d": args.lr_d,
                 "ema_decay": args.ema}  # fmt: skip
    recipe.update({k: v for k, v in overrides.items() if v is not None})
    if args.beta1 is not None or args.beta2 is not None:
        b1, b2 = recipe["betas"]
        recipe["betas"] = (b1 if args.beta1 is None else args.beta1,
                           b2 if args.beta2 is None else args.beta2)  # fmt: skip
    d_width = args.d_width or args.width
    print(f"recipe: {recipe}, width G {args.width} D {d_width}, batch {args.batch_size}")
    config = GANConfig(steps=args.steps, batch_size=args.batch_size, seed=args.seed, **recipe)
    torch.manual_seed(args.seed)
    if args.conditional:
        heads = {name: len(values) for name, values in train.ATTRIBUTES.items()}
        cond_dim = sum(heads.values())
        trainer = LabelConditionalGANTrainer(
            DCGANGenerator(latent_dim=config.latent_dim + cond_dim, width=args.width),
            DCGANDiscriminator(
                width=d_width, spectral_norm=not args.plain, cond_dim=cond_dim, heads=heads
            ),
            train,
            config,
            out_dir=args.out,
        )
    else:
        trainer = GANTrainer(
            DCGANGenerator(width=args.width),
            DCGANDiscriminator(width=d_width, spectral_norm=not args.plain),
            tensor_sampler(train.images),
            config,
            out_dir=args.out,
        )
    print(f"real-vs-real Fréchet floor (N=2000): {floor:.2f}")
    seconds = 0.0
    while trainer.step < args.steps:
        start = time.perf_counter()
        trainer.fit(until=min(trainer.step + args.eval_every, args.steps), progress=False)
        seconds += time.perf_counter() - start
        samples = torch.cat([trainer.sample(500) for _ in range(4)])
        confident = confident_fraction(oracle, samples)
        distance = frechet_distance(oracle_features(oracle, samples), real_features)
        print(
            f"step {trainer.step:5d}  train time {seconds:6.1f} s  confident {confident:6.1%}  "
            f"Fréchet {distance:8.2f} ({distance / floor:5.2f}x floor)",
            flush=True,
        )
        if args.budget is not None and seconds >= args.budget:
            break
    if args.out:
        trainer.save(f"{args.out}/checkpoint.pt")


if __name__ == "__main__":
    main()
