"""The oracle: an attribute classifier trained on real images, used to grade
generated ones.

Because the course's data sets are drawn by code, every real image comes with
exact labels. A classifier trained on them (one head per attribute) then
tells, for any image a generator draws, which shape, colour, size and position
(or which digit) it shows. The course ships one trained oracle per data set,
made by this module's command with a recorded seed::

    python -m course_lib.oracle train --data shapes --out course_lib/assets/oracle_shapes32.pt
    python -m course_lib.oracle train --data digits --out course_lib/assets/oracle_digits32.pt
    python -m course_lib.oracle evaluate --data shapes

The oracle is trained on every attribute combination, held-out ones
included: it is the examiner, not the student, and must grade the held-out
combinations a generator draws as reliably as the others.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib.checkpoint import load_checkpoint, save_checkpoint
from course_lib.data import DATASETS, CaptionedScenes
from course_lib.device import pick_device
from course_lib.nn.classifier import AttributeClassifier
from course_lib.seeding import seed_everything

ASSETS = Path(__file__).resolve().parent / "assets"


@dataclass
class OracleConfig:
    """How an oracle is trained (saved inside its checkpoint)."""

    data: str = "shapes"
    image_size: int = 32
    train_images: int = 24000
    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    width: int = 16
    seed: int = 0
    noise: float = 0.25
    blur_probability: float = 0.25


def augment(images: torch.Tensor, config: OracleConfig, generator: torch.Generator) -> torch.Tensor:
    """Robustness for an examiner: random pixel noise (std up to ``config.noise``)
    and, sometimes, a 3x3 blur, so that the oracle reads the content of
    imperfect generated images rather than failing on their texture."""
    n = len(images)
    sigma = torch.rand(n, 1, 1, 1, generator=generator) * config.noise
    noisy = images + sigma * torch.randn(images.shape, generator=generator)
    blur = torch.rand(n, generator=generator) < config.blur_probability
    if blur.any():
        noisy[blur] = F.avg_pool2d(noisy[blur], 3, stride=1, padding=1, count_include_pad=False)
    return noisy.clamp(-1, 1)


def default_oracle_path(data: str, image_size: int = 32) -> Path:
    """Where the shipped oracle for a data set lives."""
    return ASSETS / f"oracle_{data}{image_size}.pt"


def _dataset(name: str) -> type[CaptionedScenes]:
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; accepted: {', '.join(DATASETS)}.")
    return DATASETS[name]


def oracle_training_set(config: OracleConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of every combination, held-out ones in their natural share."""
    cls = _dataset(config.data)
    first, second = cls.HELDOUT_ATTRIBUTES
    combos = len(cls.ATTRIBUTES[first]) * len(cls.ATTRIBUTES[second])
    n_held = max(1, round(config.train_images * len(cls.HELDOUT) / combos))
    parts = [
        cls(
            config.train_images - n_held,
            split="train",
            image_size=config.image_size,
            seed=config.seed,
        ),
        cls(n_held, split="heldout", image_size=config.image_size, seed=config.seed + 1000),
    ]
    if config.data == "digits":  # the held-out split draws test scans; train on train scans only
        parts[1] = _train_scan_heldout(cls, n_held, config)
    images = torch.cat([p.images for p in parts])
    labels = torch.cat([p.labels for p in parts])
    return images, labels


def _train_scan_heldout(
    cls: type[CaptionedScenes], n: int, config: OracleConfig
) -> CaptionedScenes:
    """Held-out digit-position combinations drawn from the *training* scans."""
    data = cls(n, split="heldout", image_size=config.image_size, seed=config.seed + 1000)
    from course_lib.data.digits import TRAIN_SCANS, digit_sprites
    from course_lib.geometry import paste

    sprites, scan_digits = digit_sprites(config.image_size)
    generator = torch.Generator().manual_seed(config.seed + 2000)
    pools = [torch.nonzero(scan_digits[:TRAIN_SCANS] == d).squeeze(1) for d in range(10)]
    scans = torch.stack(
        [
            pools[int(d)][torch.randint(len(pools[int(d)]), (), generator=generator)]
            for d in data.labels[:, 0]
        ]
    )
    canvas = paste(sprites[scans], data.placement, config.image_size)
    data.images = (canvas.clamp(0, 1) * 255).round().to(torch.uint8)
    data.scan_index = scans
    return data


def build_oracle(data: str, image_size: int, width: int = 32) -> AttributeClassifier:
    cls = _dataset(data)
    channels = 1 if data == "digits" else 3
    return AttributeClassifier(
        channels, image_size, {k: len(v) for k, v in cls.ATTRIBUTES.items()}, width=width
    )


def train_oracle(
    config: OracleConfig, device: str | torch.device | None = None, progress: bool = True
) -> tuple[AttributeClassifier, dict]:
    """Train an oracle; return it (in eval mode) and a report of its accuracy."""
    device = pick_device(device)
    generator = seed_everything(config.seed)
    start = time.perf_counter()
    images, labels = oracle_training_set(config)
    model = build_oracle(config.data, config.image_size, config.width).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.steps)
    names = list(model.head_sizes)
    model.train()
    bar = tqdm(range(config.steps), desc=f"oracle ({config.data})", disable=not progress)
    for _ in bar:
        index = torch.randint(len(images), (config.batch_size,), generator=generator)
        x = augment(images[index].float() / 127.5 - 1, config, generator).to(device)
        y = labels[index].to(device)
        logits = model(x)
        loss = sum(F.cross_entropy(logits[n], y[:, a]) for a, n in enumerate(names))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.eval()
    train_seconds = time.perf_counter() - start
    report = {
        "config": asdict(config),
        "train_seconds": round(train_seconds, 1),
        "device": str(device),
        **evaluate_oracle(
            model, config.data, config.image_size, seed=config.seed + 7, device=device
        ),
    }
    return model, report


@torch.no_grad()
def predict(
    model: AttributeClassifier, images: torch.Tensor, batch_size: int = 512
) -> dict[str, torch.Tensor]:
    """Predicted class and confidence per attribute for images in [-1, 1].

    Returns:
        name -> ``[N]`` long predictions, and ``name + "_confidence"`` -> ``[N]``
        softmax probabilities of the predicted class.
    """
    device = next(model.parameters()).device
    model.eval()
    out: dict[str, list[torch.Tensor]] = {}
    for start in range(0, len(images), batch_size):
        logits = model(images[start : start + batch_size].to(device, torch.float32))
        for name, value in logits.items():
            prob, cls = value.softmax(dim=1).max(dim=1)
            out.setdefault(name, []).append(cls.cpu())
            out.setdefault(f"{name}_confidence", []).append(prob.cpu())
    return {k: torch.cat(v) for k, v in out.items()}


def evaluate_oracle(
    model: AttributeClassifier,
    data: str,
    image_size: int = 32,
    n: int = 2000,
    seed: int = 7,
    device: str | torch.device | None = None,
) -> dict:
    """Accuracy per attribute on fresh ``test`` and ``heldout`` real images."""
    cls = _dataset(data)
    result = {}
    for split in ("test", "heldout"):
        dataset = cls(n, split=split, image_size=image_size, seed=seed)
        predictions = predict(model.to(pick_device(device)), dataset.images_float())
        accuracy = {
            name: round(float((predictions[name] == dataset.labels[:, a]).float().mean()), 4)
            for a, name in enumerate(cls.ATTRIBUTES)
        }
        result[f"{split}_accuracy"] = accuracy
    return result


def save_oracle(model: AttributeClassifier, report: dict, path: str | Path) -> Path:
    """Write the oracle (weights, config, report) and a JSON report beside it."""
    path = Path(path)
    state = {
        "kind": "course_lib.oracle",
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "report": json.dumps(report),
    }
    save_checkpoint(state, path)
    path.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return path


def load_oracle(
    data: str = "shapes",
    image_size: int = 32,
    path: str | Path | None = None,
    device: str | torch.device | None = None,
) -> AttributeClassifier:
    """Load a trained oracle (the shipped one by default), in eval mode.

    Raises:
        FileNotFoundError: naming the path and the command that trains it.
    """
    path = Path(path) if path is not None else default_oracle_path(data, image_size)
    if not path.is_file():
        raise FileNotFoundError(
            f"no oracle at {path}. Train one with: python -m course_lib.oracle train "
            f"--data {data} --image-size {image_size} --out {path}"
        )
    state = load_checkpoint(path, kind="oracle checkpoint")
    if state.get("kind") != "course_lib.oracle":
        raise ValueError(f"{path} is not an oracle checkpoint (kind={state.get('kind')!r}).")
    report = json.loads(state["report"])
    config = OracleConfig(**report["config"])
    if (config.data, config.image_size) != (data, image_size):
        raise ValueError(
            f"{path} is an oracle for {config.data} at {config.image_size}x{config.image_size}, "
            f"not {data} at {image_size}x{image_size}."
        )
    model = build_oracle(config.data, config.image_size, config.width)
    model.load_state_dict(state["state_dict"])
    model.report = report  # type: ignore[attr-defined]
    return model.to(pick_device(device)).eval()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.oracle", description=__doc__.splitlines()[0]
    )
    parser.add_argument("command", choices=("train", "evaluate"))
    parser.add_argument("--data", default="shapes", choices=sorted(DATASETS))
    parser.add_argument("--image-size", type=int, default=32, choices=(32, 64))
    parser.add_argument("--steps", type=int, default=OracleConfig.steps)
    parser.add_argument("--seed", type=int, default=OracleConfig.seed)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", type=Path, default=None, help="checkpoint path (train)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="oracle to evaluate")
    args = parser.parse_args(argv)
    if args.command == "train":
        config = OracleConfig(
            data=args.data, image_size=args.image_size, steps=args.steps, seed=args.seed
        )
        model, report = train_oracle(config, device=args.device)
        out = save_oracle(
            model, report, args.out or default_oracle_path(args.data, args.image_size)
        )
        print(json.dumps(report, indent=1))
        print(f"saved {out}")
        return 0
    model = load_oracle(args.data, args.image_size, path=args.checkpoint, device=args.device)
    print(
        json.dumps(evaluate_oracle(model, args.data, args.image_size, device=args.device), indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
