"""Train, sample and evaluate the text-conditioned GAN (notebook 11).

Command line::

    python -m course_lib.text2img train --data shapes --out runs/NAME [--steps N] [--seed S]
        [--resume] [--device cpu|cuda|mps] [--amp] [--image-size 32|64]
    python -m course_lib.text2img train --data digits --out runs/NAME
    python -m course_lib.text2img train --data folder PATH --out runs/NAME   # your own images
    python -m course_lib.text2img sample --checkpoint PATH --caption "a small red circle in the
        top left" --n 16 --out grid.png [--seed S]
    python -m course_lib.text2img evaluate --checkpoint PATH

Training first learns the text encoder with the joint embedding of notebook 10
(:mod:`course_lib.embedding`), then freezes it and trains the GAN with the
course's one training loop (:class:`course_lib.train.GANTrainer`), with:

- a matching-aware hinge discriminator (Reed et al.'s GAN-CLS: real image +
  right caption is real; fake + right caption and real + wrong caption are
  fake; wrong captions differ from the right one in at least one attribute);
- auxiliary attribute heads on image-only discriminator features (AC-GAN);
- conditioning augmentation's KL (averaged over dimensions);
- a placement loss: the "where" path's window against the data set's box
  (the layout supervision of layout-first text-to-image models), so that the
  window's scale carries the size word;
- an exponential moving average of the generator (decay 0.99).

With ``--data folder PATH`` (the CUB-200 / Oxford-102 layout of
:class:`course_lib.data.CaptionFolder`), the auxiliary heads read the image's class
(its sub-folder), wrong captions come from another class where there is one, and
the placement loss is off (such data has no boxes: the "where" path then places
the object wherever the adversarial loss leads it). ``evaluate`` needs the oracle
of a generated data set, so it accepts shapes and digits models only.

The run folder gets ``text_encoder.pt`` (the frozen text encoder, which ``--resume``
reloads instead of retraining), ``checkpoint.pt`` (everything else, to resume exactly) and
``model.pt`` (the EMA generator, the text encoder and its vocabulary, the
configuration: what ``sample`` and ``evaluate`` read).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F

from course_lib.checkpoint import load_checkpoint, save_checkpoint
from course_lib.cli import add_config_arguments, config_values
from course_lib.data import DATASETS, CaptionFolder, Vocabulary
from course_lib.data.scenes import CaptionedScenes
from course_lib.device import pick_device
from course_lib.embedding import (
    EmbeddingConfig,
    encode_captions,
    load_text_encoder,
    save_text_encoder,
    text_vectors,
    train_joint_embedding,
)
from course_lib.losses import (
    attribute_cross_entropy,
    discriminator_hinge_loss,
    discriminator_matching_hinge_loss,
)
from course_lib.nn.text import TextEncoder
from course_lib.nn.text2img import TextToImageDiscriminator, TextToImageGenerator
from course_lib.seeding import seed_everything
from course_lib.train import GANConfig, GANTrainer, world

MODEL_KIND = "course_lib.text2img.model"


@dataclass
class Text2ImgConfig:
    """Everything that defines a text-to-image run (saved in its checkpoints)."""

    data: str = "shapes"
    folder: str = ""  # the data folder when data == "folder"
    image_size: int = 32
    n_train: int = 30_000
    steps: int = 3500
    batch_size: int = 64
    seed: int = 0
    latent_dim: int = 64
    c_dim: int = 64
    width: int = 24
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    ema_decay: float = 0.99
    kl_weight: float = 1.0
    aux_weight: float = 1.0
    placement_weight: float = 100.0  # the image losses also pull on the window (through
    # the paste); with weight 10 they drowned the layout signal (MSE 0.146 vs 0.022 after
    # 300 steps at weight 100, measured)
    use_stn: bool = True
    use_ca: bool = True
    use_matching: bool = True
    text_steps: int = 600
    sample_every: int = 500
    checkpoint_every: int = 250


class CaptionBank:
    """Images with a precomputed text vector for every caption, and batches
    with right and wrong captions.

    A wrong caption is a random paraphrase of another image whose labels differ in at
    least one attribute; candidates that describe the same thing are redrawn up to 10
    times (a data set with a single class, e.g. a one-folder ``CaptionFolder``, has no
    differing image, and keeps the last draw)."""

    def __init__(self, dataset: CaptionedScenes, text: TextEncoder) -> None:
        self.dataset = dataset
        self.phi = text_vectors(text, *encode_captions(dataset))  # [N, K, D], on the CPU
        self.labels = dataset.labels
        self.placement = dataset.placement.float()

    def __call__(self, batch_size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        n, k = self.phi.shape[:2]
        index = torch.randint(n, (batch_size,), generator=generator)
        which = torch.randint(k, (batch_size,), generator=generator)
        wrong = torch.randint(n, (batch_size,), generator=generator)
        for _ in range(10):  # resample wrong captions that describe the same thing
            same = (self.labels[wrong] == self.labels[index]).all(1)
            if not same.any():
                break
            wrong[same] = torch.randint(n, (int(same.sum()),), generator=generator)
        wrong_which = torch.randint(k, (batch_size,), generator=generator)
        return {
            "image": self.dataset.images_float(index),
            "phi": self.phi[index, which],
            "wrong_phi": self.phi[wrong, wrong_which],
            "labels": self.labels[index],
            "placement": self.placement[index],
        }


class TextToImageTrainer(GANTrainer):
    """The course's training loop with the text-conditioned steps."""

    kind = "course_lib.text2img"

    def __init__(
        self, config: Text2ImgConfig, bank: CaptionBank, device=None, out_dir=None, amp=False
    ):
        self.t2i = config
        self.bank = bank
        dataset = bank.dataset
        heads = {name: len(values) for name, values in dataset.ATTRIBUTES.items()}
        text_dim = bank.phi.shape[-1]
        torch.manual_seed(config.seed)
        generator = TextToImageGenerator(
            text_dim, config.latent_dim, config.c_dim, dataset.channels, config.image_size,
            config.width, use_stn=config.use_stn, use_ca=config.use_ca,
        )  # fmt: skip
        discriminator = TextToImageDiscriminator(
            text_dim, heads if config.aux_weight > 0 else {}, dataset.channels,
            config.image_size, config.width,
        )  # fmt: skip
        gan = GANConfig(
            steps=config.steps, batch_size=config.batch_size, latent_dim=config.latent_dim,
            objective="hinge", lr_g=config.lr_g, lr_d=config.lr_d, betas=(0.0, 0.9),
            ema_decay=config.ema_decay, seed=config.seed, sample_every=config.sample_every,
            num_samples=32, checkpoint_every=config.checkpoint_every, amp=amp, extra=asdict(config),
        )  # fmt: skip
        self.text_dim = text_dim
        super().__init__(generator, discriminator, bank, gan, device, out_dir)

    # the "latent" of a sample is [z, phi]: noise and the caption's vector
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        generator = generator or self.rng
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        phi = self.bank(n, generator)["phi"]
        return torch.cat([z, phi], 1).to(self.device)

    def generate(self, latent: torch.Tensor, model=None) -> torch.Tensor:
        z, phi = latent.split([self.config.latent_dim, self.text_dim], 1)
        return (model or self.generator)(z, phi)

    def make_fake(self, real: dict[str, torch.Tensor]) -> dict[str, Any]:
        n = len(real["phi"])
        z = torch.randn(n, self.config.latent_dim, generator=self.rng).to(self.device)
        noise = torch.randn(n, self.t2i.c_dim, generator=self.rng).to(self.device)
        return self.generator(z, real["phi"], noise=noise, return_all=True)

    def discriminator_loss(self, real, fake):
        d = self.discriminator
        h_real = d.features(real["image"])
        h_fake = d.features(fake["images"].detach())
        s_real, s_fake = d.match(h_real, real["phi"]), d.match(h_fake, real["phi"])
        logs = {"D(x)": torch.sigmoid(s_real).mean().item()}
        if self.t2i.use_matching:
            s_wrong = d.match(h_real, real["wrong_phi"])
            loss = discriminator_matching_hinge_loss(s_real, s_fake, s_wrong)
            logs["D(x, wrong)"] = torch.sigmoid(s_wrong).mean().item()
        else:
            loss = discriminator_hinge_loss(s_real, s_fake)
        aux = attribute_cross_entropy(
            {k: head(h_real) for k, head in d.heads.items()}, real["labels"]
        )
        logs["aux_D"] = aux.item()
        return loss + self.t2i.aux_weight * aux, logs

    def generator_loss(self, real, fake):
        d = self.discriminator
        h = d.features(fake["images"])
        adversarial = -d.match(h, real["phi"]).mean()
        aux = attribute_cross_entropy({k: head(h) for k, head in d.heads.items()}, real["labels"])
        kl = self.generator.ca.kl(fake["mu"], fake["logvar"], "mean")
        loss = adversarial + self.t2i.aux_weight * aux + self.t2i.kl_weight * kl
        logs = {"aux_G": aux.item(), "KL": kl.item()}
        known = torch.isfinite(real["placement"]).all(1)  # folder data sets have no boxes
        if fake["placement"] is not None and known.any():
            place = F.mse_loss(fake["placement"][known], real["placement"][known])
            loss = loss + self.t2i.placement_weight * place
            logs["placement"] = place.item()
        return loss, logs

    def export(
        self, path: str | Path, text: TextEncoder, vocab: Vocabulary, report: dict | None = None
    ) -> Path:
        """Write what sampling needs: the EMA generator, the text encoder, the vocabulary."""
        model = self.ema if self.ema is not None else self.generator
        return save_checkpoint(
            {
                "kind": MODEL_KIND,
                "config": asdict(self.t2i),
                "step": self.step,
                "generator": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "text_encoder": {k: v.detach().cpu() for k, v in text.state_dict().items()},
                "text_config": dict(text.config),
                "vocab": vocab.state_dict(),
                "attributes": {k: list(v) for k, v in self.bank.dataset.ATTRIBUTES.items()},
                "report": report or {},
            },
            path,
        )


DATA_CHOICES = (*sorted(DATASETS), "folder PATH")


def _dataset(config: Text2ImgConfig, n: int, split: str, seed: int) -> CaptionedScenes:
    if config.data == "folder":
        if not config.folder:
            raise ValueError("--data folder needs the data set's folder: --data folder PATH.")
        return CaptionFolder(config.folder, config.image_size)
    if config.data not in DATASETS:
        raise ValueError(f"--data must be one of {', '.join(DATA_CHOICES)}; got {config.data!r}.")
    return DATASETS[config.data](n, split, config.image_size, seed=seed)


def _check_resume(saved: dict, config: Text2ImgConfig, path: Path) -> None:
    differences = {
        k: (saved.get(k), v)
        for k, v in asdict(config).items()
        if k not in ("steps", "sample_every", "checkpoint_every")
        and saved.get(k, getattr(Text2ImgConfig, k)) != v
    }
    if differences:
        listed = ", ".join(
            f"{k}: checkpoint {a!r} vs now {b!r}" for k, (a, b) in differences.items()
        )
        raise ValueError(f"--resume: {path} was trained with a different configuration ({listed}).")


def train(
    config: Text2ImgConfig,
    out_dir: str | Path,
    resume: bool = False,
    device: str | torch.device | None = None,
    amp: bool = False,
    progress: bool = True,
) -> TextToImageTrainer:
    """Train (or resume) a run in ``out_dir``; writes ``checkpoint.pt`` and ``model.pt``."""
    out_dir = Path(out_dir)
    checkpoint = out_dir / "checkpoint.pt"
    if resume:
        if not checkpoint.exists():
            raise FileNotFoundError(f"--resume: no checkpoint at {checkpoint}.")
        state = load_checkpoint(checkpoint, kind="text-to-image checkpoint")
        _check_resume(json.loads(state["config"])["extra"], config, checkpoint)
    elif checkpoint.exists():
        raise ValueError(
            f"{checkpoint} exists: pass --resume to continue it, or choose another --out."
        )
    dataset = _dataset(config, config.n_train, "train", config.seed)  # bad --data fails early
    device = _init_distributed(pick_device(device))
    seed_everything(config.seed)
    start = time.perf_counter()
    text_path = out_dir / "text_encoder.pt"
    if resume and text_path.exists():  # the frozen encoder of the interrupted run
        text, vocab = load_text_encoder(text_path, expected_vocab=dataset.vocab, device=device)
    else:
        text_config = EmbeddingConfig(
            data=config.data, image_size=config.image_size, n_train=min(config.n_train, 20_000),
            steps=config.text_steps, seed=config.seed,
        )  # fmt: skip
        text, _, vocab, _ = train_joint_embedding(
            text_config, device, progress, dataset if config.data == "folder" else None
        )
        if world()[0] == 0:
            save_text_encoder(text_path, text, vocab)
    text.requires_grad_(False)
    bank = CaptionBank(dataset, text)
    trainer = TextToImageTrainer(config, bank, device, out_dir, amp=amp)
    if resume:
        trainer.load(checkpoint)
    trainer.fit(progress=progress)
    trainer.save(checkpoint)
    report = {
        "train_seconds": round(time.perf_counter() - start, 1),
        "device": str(device),
        "processes": trainer.world_size,
    }
    if trainer.rank == 0:
        trainer.export(out_dir / "model.pt", text, vocab, report)
    if trainer.world_size > 1:
        dist.barrier()
    return trainer


def _init_distributed(device: torch.device) -> torch.device:
    """Join the process group when started by ``torchrun`` (gloo on the CPU, nccl
    on CUDA, one GPU per process); return this process's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return device
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl")
        return torch.device("cuda", local)
    dist.init_process_group("gloo")
    return device


class TextToImageModel:
    """A trained model loaded for sampling: caption strings -> images."""

    def __init__(self, path: str | Path, device: str | torch.device | None = None) -> None:
        state = load_checkpoint(path, kind="text-to-image model")
        if not isinstance(state, dict) or state.get("kind") != MODEL_KIND:
            raise ValueError(
                f"{path} is not a text-to-image model (expected the model.pt that "
                "`python -m course_lib.text2img train` writes)."
            )
        self.path = Path(path)
        self.device = pick_device(device)
        self.config = Text2ImgConfig(**state["config"])
        self.report = state.get("report", {})
        self.vocab = Vocabulary.from_state_dict(state["vocab"])
        self.text = TextEncoder(**state["text_config"])
        cfg = self.config
        channels = 1 if cfg.data == "digits" else 3
        self.generator = TextToImageGenerator(
            self.text.out_dim, cfg.latent_dim, cfg.c_dim, channels, cfg.image_size, cfg.width,
            use_stn=cfg.use_stn, use_ca=cfg.use_ca,
        )  # fmt: skip
        try:
            self.text.load_state_dict(state["text_encoder"])
            self.generator.load_state_dict(state["generator"])
        except RuntimeError as error:
            raise ValueError(
                f"{path} does not match its recorded configuration: {str(error).splitlines()[0]}"
            ) from error
        self.text.to(self.device).eval()
        self.generator.to(self.device).eval()
        attributes = state.get("attributes") or DATASETS[cfg.data].ATTRIBUTES
        self.attributes = {k: tuple(v) for k, v in attributes.items()}

    @torch.no_grad()
    def phi(self, captions: list[str]) -> torch.Tensor:
        """Caption vectors (unknown words raise the vocabulary's ValueError)."""
        return self.text.encode(list(captions), self.vocab)

    @torch.no_grad()
    def generate(self, captions: list[str] | torch.Tensor, seed: int = 0, return_all: bool = False):
        """One image per caption (strings, or caption vectors ``[N, D]``), on the CPU."""
        phi = captions if isinstance(captions, torch.Tensor) else self.phi(captions)
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(len(phi), self.config.latent_dim, generator=g)
        noise = torch.randn(len(phi), self.config.c_dim, generator=g)
        out = self.generator(
            z.to(self.device), phi.to(self.device), noise=noise.to(self.device), return_all=True
        )
        out = {k: (v.float().cpu() if isinstance(v, torch.Tensor) else v) for k, v in out.items()}
        return out if return_all else out["images"]


SHIPPED_MODEL = Path(__file__).resolve().parent / "assets" / "text2img_shapes32.pt"
"""The model trained on captioned shapes that ships with the course (notebook 11)."""
ABLATIONS = SHIPPED_MODEL.parent / "text2img_ablations.json"
"""What ``benchmarks/text2img_ablations.py`` measured: the shipped recipe without CA,
without the STN "where" path, without the matching-aware term (notebook 11)."""


def shipped_record() -> dict[str, Any]:
    """What ``tools/ship_text2img.py`` recorded beside :data:`SHIPPED_MODEL`: the
    configuration, the training time and every metric of ``evaluate``."""
    return json.loads(SHIPPED_MODEL.with_suffix(".json").read_text(encoding="utf-8"))


def caption_explorer(
    model: TextToImageModel,
    caption: str = "a small red circle in the top left",
    n: int = 16,
    seed: int = 0,
):
    """A text box over a grid: type a caption, press Enter, see ``n`` samples with the
    windows the "where" path chose. Words the vocabulary does not know show its message
    (with the closest known words) under the box instead of a traceback."""
    import html

    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    from course_lib.viz import draw_windows, show_images

    box = widgets.Text(
        value=caption, description="caption", continuous_update=False,
        layout=widgets.Layout(width="70%"),
    )  # fmt: skip
    message = widgets.HTML()
    output = widgets.Output()

    def draw(*_) -> None:
        output.clear_output(wait=True)
        try:
            out = model.generate([box.value] * n, seed=seed, return_all=True)
        except ValueError as error:
            message.value = f"<span style='color:#b00020'>{html.escape(str(error))}</span>"
            return
        message.value = ""
        with output:
            ax = show_images(out["images"], nrow=8, title=box.value, scale=0.8)
            if out["placement"] is not None:
                draw_windows(ax, out["placement"], model.config.image_size)
            plt.show()

    box.observe(draw, names="value")
    draw()
    return widgets.VBox([box, message, output])


def _data_argument(words: list[str]) -> tuple[str, str]:
    """``--data shapes`` -> ("shapes", ""); ``--data folder PATH`` -> ("folder", PATH)."""
    if words[0] == "folder":
        if len(words) != 2:
            raise ValueError("--data folder takes one folder: --data folder PATH.")
        return "folder", str(Path(words[1]).resolve())
    if len(words) != 1 or words[0] not in DATASETS:
        raise ValueError(
            f"--data must be one of {', '.join(DATA_CHOICES)}; got {' '.join(words)!r}."
        )
    return words[0], ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.text2img", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train (or --resume) a run")
    p_train.add_argument(
        "--data", nargs="+", default=[Text2ImgConfig.data], metavar="NAME",
        help=f"the training data: {', '.join(DATA_CHOICES)}",
    )  # fmt: skip
    add_config_arguments(p_train, Text2ImgConfig, skip=("data", "folder"))
    p_train.add_argument("--out", type=Path, required=True)
    p_train.add_argument("--resume", action="store_true")
    p_train.add_argument("--device", default=None)
    p_train.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    p_sample = sub.add_parser("sample", help="draw a grid of images for one caption")
    p_sample.add_argument("--checkpoint", type=Path, required=True)
    p_sample.add_argument("--caption", required=True)
    p_sample.add_argument("--n", type=int, default=16)
    p_sample.add_argument("--out", type=Path, required=True)
    p_sample.add_argument("--seed", type=int, default=0)
    p_eval = sub.add_parser("evaluate", help="print the quality metrics of a model")
    p_eval.add_argument("--checkpoint", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            values = config_values(args, Text2ImgConfig, skip=("data", "folder"))
            values["data"], values["folder"] = _data_argument(args.data)
            config = Text2ImgConfig(**values)
            train(config, args.out, args.resume, args.device, args.amp)
            print(f"wrote {args.out / 'model.pt'} and {args.out / 'checkpoint.pt'}")
        elif args.command == "sample":
            from course_lib.viz import save_image_grid

            if args.n < 1:
                raise ValueError(f"--n must be at least 1, got {args.n}.")
            model = TextToImageModel(args.checkpoint)
            images = model.generate([args.caption] * args.n, seed=args.seed)
            save_image_grid(images, args.out, nrow=min(args.n, 8), upscale=2)
            print(f"wrote {args.out}")
        else:
            from course_lib.text2img_eval import evaluate

            print(json.dumps(evaluate(TextToImageModel(args.checkpoint)), indent=1))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
