"""A plain supervised training loop for the course's small classifiers.

Notebook 09 trains a CNN with and without a spatial transformer in front of
it with exactly this loop, so the comparison is fair: same data order, same
steps, same optimiser.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from course_lib.device import pick_device
from course_lib.seeding import seed_everything


@torch.no_grad()
def accuracy(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
) -> float:
    """Fraction of ``images`` whose arg-max logit equals ``labels`` (model in eval mode)."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(images[start : start + batch_size].to(device))
        correct += (logits.argmax(1).cpu() == labels[start : start + batch_size]).sum().item()
    model.train(was_training)
    return correct / len(images)


def train_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    steps: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    eval_every: int = 250,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` with cross-entropy and Adam on random batches of ``(images, labels)``.

    Batches are drawn from a generator seeded with ``seed``, so two models
    trained with the same seed see the same batches in the same order.

    Returns:
        A history: ``step`` and ``loss`` every step; ``eval_step`` and
        ``test_accuracy`` every ``eval_every`` steps when ``test`` is given;
        ``seconds`` (training time, evaluation excluded).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels.")
    device = pick_device(device)
    model.to(device).train()
    generator = seed_everything(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"step": [], "loss": [], "eval_step": [], "test_accuracy": []}
    seconds = 0.0
    bar = tqdm(range(1, steps + 1), desc=type(model).__name__, disable=not progress)
    for step in bar:
        start = time.perf_counter()
        index = torch.randint(len(images), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(images[index].to(device)), labels[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seconds += time.perf_counter() - start
        history["step"].append(step)
        history["loss"].append(loss.item())
        if test is not None and (step % eval_every == 0 or step == steps):
            history["eval_step"].append(step)
            history["test_accuracy"].append(accuracy(model, *test))
            bar.set_postfix(loss=f"{loss.item():.3f}", test=f"{history['test_accuracy'][-1]:.3f}")
    model.eval()
    history["seconds"] = [seconds]
    return history
