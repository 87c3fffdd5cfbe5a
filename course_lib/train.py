"""One training loop for every GAN in the course.

:class:`GANTrainer` alternates discriminator and generator updates and takes
care of everything around them:

- any device (``pick_device``), optional mixed precision on CUDA (``amp``);
- seeded: real batches and latent codes are drawn from the trainer's own
  ``torch.Generator``, so a run is reproducible on the CPU;
- a ``tqdm.auto`` progress bar with live losses, and a metrics ``history``;
- sample grids from fixed latent codes every ``sample_every`` steps;
- a loss that becomes NaN or infinite stops training with a message naming
  the step;
- checkpoints written atomically that resume *exactly*: models, optimisers,
  EMA, the random generator's state and the history are all saved, so an
  interrupted and resumed run ends with the same weights as an uninterrupted
  one (on the CPU). They load with ``weights_only=True``.

The default steps train an unconditional GAN: ``G(z)`` against real batches
with one of the objectives of :mod:`course_lib.losses`. Conditional GANs
subclass it and override :meth:`GANTrainer.make_fake`,
:meth:`GANTrainer.discriminator_loss`, :meth:`GANTrainer.generator_loss` and
:meth:`GANTrainer.generate`.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from course_lib.checkpoint import load_checkpoint, save_checkpoint
from course_lib.device import pick_device
from course_lib.losses import attribute_cross_entropy, objective
from course_lib.metrics import labels_one_hot
from course_lib.seeding import seed_everything
from course_lib.viz import save_image_grid


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of a data-parallel run (``torchrun``), ``(0, 1)`` otherwise."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


RealSampler = Callable[[int, torch.Generator], Any]
"""``sample_real(batch_size, generator)`` returns a batch of real data (on the CPU)."""


@dataclass
class GANConfig:
    """Hyper-parameters of a GAN run (saved in every checkpoint)."""

    steps: int = 1000
    batch_size: int = 64
    latent_dim: int = 100
    objective: str = "non_saturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1
    real_label: float = 1.0
    ema_decay: float = 0.0
    seed: int = 0
    amp: bool = False
    sample_every: int = 0
    num_samples: int = 64
    checkpoint_every: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def tensor_sampler(data: torch.Tensor) -> RealSampler:
    """Sample rows of a tensor (with replacement); uint8 images become [-1, 1] floats."""

    def sample(batch_size: int, generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(len(data), (batch_size,), generator=generator)
        batch = data[index]
        return batch.float() / 127.5 - 1 if batch.dtype == torch.uint8 else batch

    return sample


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, list | tuple):
        return type(batch)(_to(v, device) for v in batch)
    return batch


class GANTrainer:
    """Train ``generator`` against ``discriminator`` on batches from ``sample_real``.

    Args:
        generator: maps latent codes ``[N, latent_dim]`` to samples.
        discriminator: maps samples to logits ``[N]``.
        sample_real: ``(batch_size, torch.Generator) -> batch`` (see :func:`tensor_sampler`).
        config: a :class:`GANConfig`.
        device: ``None`` picks CUDA, then MPS, then the CPU.
        out_dir: where checkpoints and sample grids go (optional).
    """

    kind = "course_lib.gan"

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        sample_real: RealSampler,
        config: GANConfig,
        device: str | torch.device | None = None,
        out_dir: str | Path | None = None,
    ) -> None:
        self.config = config
        self.device = pick_device(device)
        self.d_loss_fn, self.g_loss_fn = objective(config.objective)
        seed_everything(config.seed)
        # data parallel (torchrun): every process starts from the same weights (same
        # seed) and draws its own batches; gradients are averaged before each update
        self.rank, self.world_size = world()
        self.rng = torch.Generator().manual_seed(config.seed + self.rank)
        self.generator = generator.to(self.device)
        self.discriminator = discriminator.to(self.device)
        self.sample_real = sample_real
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=config.lr_g, betas=config.betas
        )
        self.opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=config.lr_d, betas=config.betas
        )
        self.ema = copy.deepcopy(self.generator).eval() if config.ema_decay > 0 else None
        if self.ema is not None:
            self.ema.requires_grad_(False)
        self.amp = config.amp and self.device.type == "cuda"
        if config.amp and not self.amp:
            warnings.warn(
                f"amp=True is ignored on {self.device.type}: mixed precision is used on CUDA only.",
                stacklevel=2,
            )
        bf16 = self.amp and torch.cuda.is_bf16_supported()
        self.amp_dtype = torch.bfloat16 if bf16 else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and not bf16)
        self.step = 0
        self.history: dict[str, list[float]] = {}
        self.samples: list[tuple[int, torch.Tensor]] = []
        fixed = torch.Generator().manual_seed(config.seed + 1)
        self.fixed_latent = self.sample_latent(config.num_samples, fixed)

    # -- what one step computes (override for conditional GANs) ---------------
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent codes ``[n, latent_dim]`` ~ N(0, I), drawn on the CPU then moved."""
        z = torch.randn(n, self.config.latent_dim, generator=generator or self.rng)
        return z.to(self.device)

    def generate(self, latent: torch.Tensor, model: nn.Module | None = None) -> torch.Tensor:
        """Samples from latent codes (with the EMA generator when there is one)."""
        return (model or self.generator)(latent)

    def make_fake(self, real: Any) -> Any:
        """A fake batch as large as ``real``, with its graph (G's step reuses it)."""
        return self.generate(self.sample_latent(len(real)))

    def discriminator_objective(
        self, real_logits: torch.Tensor, fake_logits: torch.Tensor
    ) -> torch.Tensor:
        """The configured objective's D loss (with one-sided label smoothing where it applies)."""
        if self.config.objective == "hinge":
            return self.d_loss_fn(real_logits, fake_logits)
        return self.d_loss_fn(real_logits, fake_logits, real_label=self.config.real_label)

    def discriminator_loss(self, real: Any, fake: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of D on a real and a fake batch (detached here), and numbers to log."""
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(fake.detach())
        loss = self.discriminator_objective(real_logits, fake_logits)
        logs = {
            "D(x)": torch.sigmoid(real_logits).mean().item(),
            "D(G(z)) before G step": torch.sigmoid(fake_logits).mean().item(),
        }
        return loss, logs

    def generator_loss(self, real: Any, fake: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of G on the fake batch of the last D step (D's weights are updated by then)."""
        fake_logits = self.discriminator(fake)
        return self.g_loss_fn(fake_logits), {"D(G(z))": torch.sigmoid(fake_logits).mean().item()}

    # -- the loop -----------------------------------------------------------------
    def _check_finite(self, loss: torch.Tensor, name: str) -> None:
        if not math.isfinite(loss.item()):
            raise FloatingPointError(
                f"{name} became {loss.item()} at step {self.step + 1}: training stopped. "
                "Try a lower learning rate, a different objective, or resume from the last "
                "checkpoint."
            )

    def _update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.world_size > 1:
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        dist.all_reduce(p.grad)
                        p.grad /= self.world_size
        self.scaler.step(optimizer)
        self.scaler.update()

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.amp)

    def train_step(self) -> dict[str, float]:
        """One round: ``d_steps`` discriminator updates, then one generator update."""
        self.generator.train()
        self.discriminator.train()
        logs: dict[str, float] = {}
        for _ in range(self.config.d_steps):
            real = _to(self.sample_real(self.config.batch_size, self.rng), self.device)
            with self._autocast():
                fake = self.make_fake(real)  # one G forward serves D's step and G's step
                loss_d, logs_d = self.discriminator_loss(real, fake)
            self._check_finite(loss_d, "the discriminator's loss")
            self._update(loss_d, self.opt_d)
        self.discriminator.requires_grad_(False)  # G's step computes no D gradients
        try:
            with self._autocast():
                loss_g, logs_g = self.generator_loss(real, fake)
            self._check_finite(loss_g, "the generator's loss")
            self._update(loss_g, self.opt_g)
        finally:
            self.discriminator.requires_grad_(True)
        if self.ema is not None:
            self._update_ema()
        logs.update({"loss_D": loss_d.item(), "loss_G": loss_g.item(), **logs_d, **logs_g})
        return logs

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.config.ema_decay
        for ema_p, p in zip(self.ema.parameters(), self.generator.parameters(), strict=True):
            ema_p.lerp_(p, 1 - decay)
        for ema_b, b in zip(self.ema.buffers(), self.generator.buffers(), strict=True):
            ema_b.copy_(b)

    def fit(self, until: int | None = None, progress: bool = True) -> dict[str, list[float]]:
        """Train up to step ``until`` (default: ``config.steps``); return the history."""
        until = self.config.steps if until is None else until
        bar = tqdm(
            total=until,
            initial=self.step,
            desc=type(self.generator).__name__,
            disable=not progress or self.rank != 0,
        )
        while self.step < until:
            logs = self.train_step()
            self.step += 1
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            bar.update(1)
            if self.step % 10 == 0 or self.step == until:
                bar.set_postfix(
                    {k: f"{logs[k]:.3f}" for k in ("loss_D", "loss_G", "D(x)") if k in logs},
                    refresh=False,
                )
            every = self.config.sample_every
            if every and self.step % every == 0:
                self.record_samples()
            every = self.config.checkpoint_every
            if every and self.step % every == 0 and self.out_dir is not None:
                self.save(self.out_dir / "checkpoint.pt")
        bar.close()
        return self.history

    @torch.no_grad()
    def sample(self, n: int | None = None, latent: torch.Tensor | None = None) -> torch.Tensor:
        """Samples on the CPU (EMA generator if enabled), models in eval mode."""
        model = self.ema if self.ema is not None else self.generator
        was_training = model.training
        model.eval()
        try:
            if latent is None:
                latent = (
                    self.fixed_latent if n is None else self.sample_latent(n, torch.Generator())
                )
            return self.generate(latent.to(self.device), model).float().cpu()
        finally:
            model.train(was_training)

    def record_samples(self) -> torch.Tensor:
        """Draw the fixed-latent grid, keep it in ``samples`` and save a PNG in ``out_dir``."""
        images = self.sample()
        self.samples.append((self.step, images))
        if self.out_dir is not None and images.ndim == 4 and self.rank == 0:
            save_image_grid(images, self.out_dir / f"samples_{self.step:06d}.png", upscale=2)
        return images

    # -- checkpoints ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (tensors and plain data only)."""
        return {
            "kind": self.kind,
            "step": self.step,
            "config": json.dumps(asdict(self.config)),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": self.rng.get_state(),
            "history": self.history,
        }

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically (temporary file, then rename); in a
        data-parallel run only process 0 writes."""
        path = Path(path)
        if self.rank == 0:
            save_checkpoint(self.state_dict(), path)
        return path

    def load(self, path: str | Path) -> GANTrainer:
        """Resume from a checkpoint written by :meth:`save` (``weights_only=True``).

        Raises:
            FileNotFoundError: when there is no checkpoint at ``path``.
            ValueError: when it was written by another kind of trainer or for
                models of other shapes.
        """
        state = load_checkpoint(path, map_location=self.device, kind="GAN checkpoint")
        if state.get("kind") != self.kind:
            raise ValueError(f"{path} is a {state.get('kind')!r} checkpoint, not {self.kind!r}.")
        try:
            self.generator.load_state_dict(state["generator"])
            self.discriminator.load_state_dict(state["discriminator"])
            if self.ema is not None and state["ema"] is not None:
                self.ema.load_state_dict(state["ema"])
        except RuntimeError as error:
            raise ValueError(
                f"{path} holds weights for differently shaped models: {str(error).splitlines()[0]}"
            ) from error
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        self.rng.set_state(state["rng"].cpu())
        self.step = int(state["step"])
        self.history = {k: list(v) for k, v in state["history"].items()}
        return self


class LabelConditionalGANTrainer(GANTrainer):
    """A GAN told what to draw: ``G([z, y])`` and ``D(x, y)`` for attribute labels ``y``.

    ``y`` is the concatenated one-hot code of a labelled data set's attributes
    (shape, colour, size and position for captioned shapes; see
    :func:`course_lib.metrics.labels_one_hot`). The labels of each fake batch are
    drawn from the training set's label rows, so sampling without asking for
    anything follows the data's own mix of attributes. Two ways to use them:

    - **projection discriminator** (Miyato & Koyama 2018): D's logit gains
      ``<embed(y), features(x)>``, so D judges "real *and* showing y";
    - **auxiliary classifier** (AC-GAN, Odena et al. 2017): heads on D's
      image-only features learn the attributes from real images (D's loss gets
      their cross-entropy), and G is asked to make its samples read as the
      labels it was given (G's loss gets the same term on the fakes), weighted
      by ``aux_weight``.

    The generator must take ``config.latent_dim + cond_dim`` inputs and the
    discriminator needs ``cond_dim`` and, when ``aux_weight > 0``, the heads, e.g.
    ``DCGANGenerator(latent_dim=100 + 22)`` and
    ``DCGANDiscriminator(cond_dim=22, heads=dataset head sizes, spectral_norm=True)``.

    Args:
        generator, discriminator: as above.
        dataset: a labelled data set with uint8 ``images`` ``[N, C, S, S]`` and
            ``labels`` ``[N, A]`` (a :class:`course_lib.data.CaptionedScenes`).
        config, device, out_dir: as for :class:`GANTrainer`.
        aux_weight: weight of the auxiliary-classifier terms (0 to leave them out).
    """

    kind = "course_lib.label_gan"

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        dataset: Any,
        config: GANConfig,
        aux_weight: float = 1.0,
        device: str | torch.device | None = None,
        out_dir: str | Path | None = None,
    ) -> None:
        self.head_sizes = {name: len(values) for name, values in dataset.ATTRIBUTES.items()}
        self.cond_dim = sum(self.head_sizes.values())
        want = config.latent_dim + self.cond_dim
        if getattr(generator, "latent_dim", want) != want:
            raise ValueError(
                f"the generator must take latent_dim + cond_dim = {config.latent_dim} + "
                f"{self.cond_dim} = {want} inputs, got {generator.latent_dim}."
            )
        if getattr(discriminator, "cond_dim", None) != self.cond_dim:
            raise ValueError(
                f"the discriminator needs cond_dim={self.cond_dim} (the one-hot code of "
                f"{', '.join(self.head_sizes)}), got {getattr(discriminator, 'cond_dim', None)}."
            )
        heads = {k: h.out_features for k, h in getattr(discriminator, "heads", {}).items()}
        if aux_weight > 0 and heads != self.head_sizes:
            raise ValueError(
                f"aux_weight > 0 needs discriminator heads {self.head_sizes}, got {heads}."
            )
        self.images, self.labels = dataset.images, dataset.labels.long()
        self.aux_weight = aux_weight
        config.extra = {**config.extra, "aux_weight": aux_weight}
        super().__init__(generator, discriminator, self._sample_real, config, device, out_dir)

    def _sample_real(self, n: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        index = torch.randint(len(self.labels), (n,), generator=generator)
        return {"image": self.images[index].float() / 127.5 - 1, "labels": self.labels[index]}

    def encode(self, labels: torch.Tensor) -> torch.Tensor:
        """Label rows ``[N, A]`` -> their one-hot code ``[N, cond_dim]`` on the device."""
        return labels_one_hot(labels, self.head_sizes).to(self.device)

    def _draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise ``[n, latent_dim]`` and the label rows of ``n`` random training images."""
        z = torch.randn(n, self.config.latent_dim, generator=generator)
        return z, self.labels[torch.randint(len(self.labels), (n,), generator=generator)]

    def _latent(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat([z.to(self.device), self.encode(labels)], 1)

    def latent_for(self, labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """``[z, y]`` for the given label rows, with z drawn from ``seed``."""
        generator = torch.Generator().manual_seed(seed)
        return self._latent(
            torch.randn(len(labels), self.config.latent_dim, generator=generator), labels
        )

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[z, y]``: noise, and the one-hot labels of ``n`` random training rows."""
        return self._latent(*self._draw(n, generator or self.rng))

    def make_fake(self, real: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        z, labels = self._draw(len(real["labels"]), self.rng)
        latent = self._latent(z, labels)
        cond = latent[:, self.config.latent_dim :]
        return {"images": self.generate(latent), "cond": cond, "labels": labels.to(self.device)}

    def discriminator_loss(self, real, fake):
        d = self.discriminator
        h_real = d.features(real["image"])
        h_fake = d.features(fake["images"].detach())
        real_logits = d.score(h_real, self.encode(real["labels"]))
        fake_logits = d.score(h_fake, fake["cond"])
        loss = self.discriminator_objective(real_logits, fake_logits)
        logs = {
            "D(x)": torch.sigmoid(real_logits).mean().item(),
            "D(G(z)) before G step": torch.sigmoid(fake_logits).mean().item(),
        }
        if self.aux_weight > 0:
            aux = attribute_cross_entropy(d.aux(h_real), real["labels"])
            logs["aux_D"] = aux.item()
            loss = loss + self.aux_weight * aux
        return loss, logs

    def generator_loss(self, real, fake):
        d = self.discriminator
        h = d.features(fake["images"])
        fake_logits = d.score(h, fake["cond"])
        loss = self.g_loss_fn(fake_logits)
        logs = {"D(G(z))": torch.sigmoid(fake_logits).mean().item()}
        if self.aux_weight > 0:
            aux = attribute_cross_entropy(d.aux(h), fake["labels"])
            logs["aux_G"] = aux.item()
            loss = loss + self.aux_weight * aux
        return loss, logs
