"""A joint image-text embedding (in the spirit of Reed et al. 2016) that
trains the course's text encoder.

Matching image and caption vectors are pulled together and mismatched ones
pushed apart with a symmetric contrastive loss (image -> caption and
caption -> image cross-entropy over the batch). Pairs whose labels agree in
every attribute count as matches too, so an equivalent caption of another
image in the batch is not treated as a negative.

Command line::

    python -m course_lib.embedding train --data shapes --out runs/text_encoder.pt
    python -m course_lib.embedding evaluate --checkpoint runs/text_encoder.pt

The saved file holds the text encoder's weights, its configuration and its
vocabulary as plain data, and loads with ``weights_only=True``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib.checkpoint import load_checkpoint, save_checkpoint
from course_lib.cli import add_config_arguments, config_values
from course_lib.data import DATASETS, Vocabulary
from course_lib.data.scenes import CaptionedScenes
from course_lib.device import pick_device
from course_lib.metrics import r_precision
from course_lib.nn.text import ConditioningAugmentation, ImageEncoder, TextEncoder
from course_lib.seeding import seed_everything


@dataclass
class EmbeddingConfig:
    """Everything that defines a joint-embedding training run."""

    data: str = "shapes"
    kind: str = "bow"
    image_size: int = 32
    n_train: int = 20_000
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-3
    dim: int = 128
    temperature: float = 0.1
    seed: int = 0


def encode_captions(dataset: CaptionedScenes) -> tuple[torch.Tensor, torch.Tensor]:
    """Word ids ``[N, K, L]`` and lengths ``[N, K]`` of every caption of every image."""
    n, k = len(dataset.captions), len(dataset.captions[0])
    flat = [caption for captions in dataset.captions for caption in captions]
    tokens, lengths = dataset.vocab.encode_batch(flat)
    return tokens.view(n, k, -1), lengths.view(n, k)


def contrastive_loss(
    image_vectors: torch.Tensor,
    text_vectors: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Symmetric contrastive loss over a batch of matching rows.

    Cosine similarities divided by ``temperature`` are the logits; the targets
    are spread evenly over every row with the same labels (so duplicates of an
    image's description in the batch are not negatives).
    """
    if image_vectors.shape != text_vectors.shape:
        raise ValueError(
            f"image and text vectors must have the same shape, got "
            f"{tuple(image_vectors.shape)} and {tuple(text_vectors.shape)}."
        )
    img = F.normalize(image_vectors, dim=1)
    txt = F.normalize(text_vectors, dim=1)
    logits = img @ txt.T / temperature  # [B, B]
    same = (labels[:, None, :] == labels[None, :, :]).all(-1).to(logits.dtype)
    targets = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))


def train_joint_embedding(
    config: EmbeddingConfig,
    device: str | torch.device | None = None,
    progress: bool = True,
    dataset: CaptionedScenes | None = None,
) -> tuple[TextEncoder, ImageEncoder, Vocabulary, dict[str, list[float]]]:
    """Train a text encoder and an image encoder together; return both (eval
    mode), the vocabulary and a history (``loss`` per step, ``seconds``).

    ``dataset`` (e.g. a :class:`course_lib.data.CaptionFolder`) replaces the generated
    data set that ``config.data`` names; rows with the same labels count as matches.
    """
    if dataset is None and config.data not in DATASETS:
        raise ValueError(f"data must be one of {sorted(DATASETS)}, got {config.data!r}.")
    device = pick_device(device)
    generator = seed_everything(config.seed)
    data = dataset
    if data is None:
        data = DATASETS[config.data](config.n_train, "train", config.image_size, seed=config.seed)
    tokens, lengths = encode_captions(data)
    text = TextEncoder(len(data.vocab), config.kind, out_dim=config.dim).to(device)
    image = ImageEncoder(data.channels, config.image_size, config.dim).to(device)
    optimizer = torch.optim.Adam([*text.parameters(), *image.parameters()], lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=config.steps)
    history: dict[str, list[float]] = {"loss": []}
    start = time.perf_counter()
    bar = tqdm(range(config.steps), desc=f"joint embedding ({config.kind})", disable=not progress)
    for _ in bar:
        index = torch.randint(len(data), (config.batch_size,), generator=generator)
        which = torch.randint(tokens.shape[1], (config.batch_size,), generator=generator)
        text_vectors = text(tokens[index, which].to(device), lengths[index, which].to(device))
        image_vectors = image(data.images_float(index).to(device))
        loss = contrastive_loss(
            image_vectors, text_vectors, data.labels[index].to(device), config.temperature
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        history["loss"].append(loss.item())
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    history["seconds"] = [time.perf_counter() - start]
    return text.eval(), image.eval(), data.vocab, history


@torch.no_grad()
def text_vectors(
    text: TextEncoder, tokens: torch.Tensor, lengths: torch.Tensor, batch_size: int = 1000
) -> torch.Tensor:
    """Sentence vectors ``[..., D]`` (on the CPU) of word ids ``[..., L]`` with
    ``lengths`` ``[...]`` (any leading shape), encoded in batches."""
    flat_tokens, flat_lengths = tokens.reshape(-1, tokens.shape[-1]), lengths.reshape(-1)
    device = text.embedding.weight.device
    out = [
        text(
            flat_tokens[i : i + batch_size].to(device), flat_lengths[i : i + batch_size].to(device)
        ).cpu()
        for i in range(0, len(flat_tokens), batch_size)
    ]
    return torch.cat(out).cpu().view(*tokens.shape[:-1], -1)


def embed_captions(text: TextEncoder, dataset: CaptionedScenes, caption: int = 0) -> torch.Tensor:
    """Text vectors ``[N, D]`` of caption number ``caption`` of every image."""
    tokens, lengths = encode_captions(dataset)
    return text_vectors(text, tokens[:, caption], lengths[:, caption])


@torch.no_grad()
def embed_images(
    image: ImageEncoder, dataset: CaptionedScenes, batch_size: int = 1000
) -> torch.Tensor:
    """Image vectors ``[N, D]`` of every image of ``dataset``."""
    device = next(image.parameters()).device
    out = [
        image(dataset.images_float(torch.arange(i, min(i + batch_size, len(dataset)))).to(device))
        for i in range(0, len(dataset), batch_size)
    ]
    return torch.cat(out).cpu()


def retrieval(
    text: TextEncoder, image: ImageEncoder, dataset: CaptionedScenes, seed: int = 0
) -> dict[str, float]:
    """Recall@1 among 100 candidates in both directions, on ``dataset``.

    The 99 distractors of each query differ from it in at least one attribute
    (an equivalent description of another image is not a distractor).
    """
    text_vectors, image_vectors = embed_captions(text, dataset), embed_images(image, dataset)
    return {
        "caption_to_image": r_precision(
            text_vectors, image_vectors, dataset.labels, generator=seed_everything(seed)
        ),
        "image_to_caption": r_precision(
            image_vectors, text_vectors, dataset.labels, generator=seed_everything(seed)
        ),
    }


def linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    names: list[str],
    steps: int = 300,
    seed: int = 0,
) -> dict[str, float]:
    """Fit one linear classifier per attribute on ``train_features`` (full-batch
    Adam on standardised features) and return each one's accuracy on
    ``test_features``: how much of each attribute the features say, linearly."""
    torch.manual_seed(seed)
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    x_train, x_test = (train_features - mean) / std, (test_features - mean) / std
    result = {}
    for a, name in enumerate(names):
        classes = int(max(train_labels[:, a].max(), test_labels[:, a].max())) + 1
        probe = torch.nn.Linear(x_train.shape[1], classes)
        optimizer = torch.optim.Adam(probe.parameters(), lr=0.05)
        for _ in range(steps):
            loss = F.cross_entropy(probe(x_train), train_labels[:, a])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            result[name] = (probe(x_test).argmax(1) == test_labels[:, a]).double().mean().item()
    return result


def save_text_encoder(
    path: str | Path, text: TextEncoder, vocab: Vocabulary, report: dict | None = None
) -> Path:
    """Write the encoder's weights, configuration and vocabulary (atomically)."""
    state = {
        "kind": "text_encoder",
        "config": dict(text.config),
        "vocab": vocab.state_dict(),
        "weights": {k: v.detach().cpu() for k, v in text.state_dict().items()},
        "report": report or {},
    }
    return save_checkpoint(state, path)


def load_text_encoder(
    path: str | Path,
    expected_vocab: Vocabulary | None = None,
    device: str | torch.device | None = None,
) -> tuple[TextEncoder, Vocabulary]:
    """Load an encoder saved by :func:`save_text_encoder` (``weights_only=True``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a text-encoder file, or its vocabulary differs from
            ``expected_vocab`` (the words that differ are named).
    """
    state = load_checkpoint(path)
    if not isinstance(state, dict) or state.get("kind") != "text_encoder":
        raise ValueError(f"{path} is not a text encoder saved by course_lib.embedding.")
    vocab = Vocabulary.from_state_dict(state["vocab"])
    if expected_vocab is not None and vocab != expected_vocab:
        extra = sorted(set(vocab.words) - set(expected_vocab.words))[:5]
        missing = sorted(set(expected_vocab.words) - set(vocab.words))[:5]
        raise ValueError(
            f"the text encoder in {path} was trained with a different vocabulary "
            f"({len(vocab)} words vs the {len(expected_vocab)} expected; words only in the "
            f"file: {extra or 'none'}; words it lacks: {missing or 'none'})."
        )
    text = TextEncoder(**state["config"])
    text.load_state_dict(state["weights"])
    return text.to(pick_device(device)).eval(), vocab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.embedding", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a text encoder with the joint embedding")
    add_config_arguments(train, EmbeddingConfig)
    train.add_argument("--out", type=Path, required=True, help="where to write the encoder (.pt)")
    train.add_argument("--device", default=None)
    evaluate = sub.add_parser("evaluate", help="probe a saved encoder on held-out combinations")
    evaluate.add_argument("--checkpoint", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            config = EmbeddingConfig(**config_values(args, EmbeddingConfig))
            text, image, vocab, history = train_joint_embedding(config, args.device)
            test = DATASETS[config.data](2000, "test", config.image_size, seed=config.seed + 1)
            report = {"config": asdict(config), "seconds": round(history["seconds"][0], 1),
                      **retrieval(text, image, test)}  # fmt: skip
            save_text_encoder(args.out, text, vocab, report)
            print(f"wrote {args.out}: {report}")
        else:
            text, vocab = load_text_encoder(args.checkpoint)
            print(load_checkpoint(args.checkpoint)["report"])
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def train_conditioning(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    kl_weight: float,
    reduction: str = "mean",
    c_dim: int = 64,
    steps: int = 300,
    seed: int = 0,
    classes: list[int] | None = None,
) -> tuple[ConditioningAugmentation, torch.nn.ModuleList]:
    """Train a :class:`~course_lib.nn.text.ConditioningAugmentation` with linear
    attribute heads reading a *sampled* ``c`` (a stand-in for a generator that
    needs the caption): loss = cross-entropy + ``kl_weight`` * KL
    (``reduction`` as in :meth:`ConditioningAugmentation.kl`), full batch, Adam.

    Returns the module and the heads (one per column of ``labels``, with
    ``classes[a]`` outputs; default: the largest label + 1).
    """
    generator = seed_everything(seed)
    torch.manual_seed(seed)
    ca = ConditioningAugmentation(embeddings.shape[1], c_dim)
    sizes = classes or [int(labels[:, a].max()) + 1 for a in range(labels.shape[1])]
    heads = torch.nn.ModuleList(torch.nn.Linear(c_dim, k) for k in sizes)
    optimizer = torch.optim.Adam([*ca.parameters(), *heads.parameters()], lr=0.01)
    for _ in range(steps):
        c, mu, logvar = ca(embeddings, generator=generator)
        task = sum(F.cross_entropy(h(c), labels[:, a]) for a, h in enumerate(heads))
        loss = task + kl_weight * ca.kl(mu, logvar, reduction)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return ca.eval(), heads.eval()


def conditioning_sweep_point(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    test_embeddings: torch.Tensor,
    test_labels: torch.Tensor,
    kl_weight: float,
    reduction: str = "mean",
    c_dim: int = 64,
    steps: int = 300,
    seed: int = 0,
) -> dict[str, float]:
    """How much does the conditioning vector ``c`` still say about the caption
    under a given KL weight? Trains with :func:`train_conditioning` and returns
    the heads' mean attribute accuracy from sampled ``c`` on the test
    embeddings, the mean ``sigma`` and the KL per dimension there.
    """
    classes = [
        int(max(labels[:, a].max(), test_labels[:, a].max())) + 1 for a in range(labels.shape[1])
    ]
    ca, heads = train_conditioning(
        embeddings, labels, kl_weight, reduction, c_dim, steps, seed, classes
    )
    with torch.no_grad():
        c, mu, logvar = ca(test_embeddings, generator=seed_everything(seed + 1))
        correct = [
            (h(c).argmax(1) == test_labels[:, a]).double().mean() for a, h in enumerate(heads)
        ]
        return {
            "accuracy": float(torch.stack(correct).mean()),
            "sigma": float(torch.exp(0.5 * logvar).mean()),
            "kl_per_dim": float(ca.kl(mu, logvar, "mean")),
        }


if __name__ == "__main__":
    sys.exit(main())
