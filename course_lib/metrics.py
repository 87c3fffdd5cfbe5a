"""Metrics for generated images: what each one measures, in one place.

- :func:`attribute_accuracy`: does the oracle see in each image what its
  caption says? (per attribute, and all attributes at once)
- :func:`confident_fraction`: how many images the oracle classifies with
  high confidence on every attribute (a blurry blob is not confidently
  anything).
- :func:`frechet_distance`: distance between Gaussians fitted to features of
  real and generated images (FID, with the oracle's penultimate features in
  place of Inception's). Report it beside the real-vs-real floor
  (:func:`frechet_floor`): at small sample sizes even two real sets differ.
- :func:`r_precision`: given matching image and text embeddings, how often
  the true caption ranks first among 100 candidates that differ from it.
- :func:`diversity`: mean pairwise feature distance among images made from
  the same caption; it falls towards 0 when a generator collapses.
- :func:`locate_objects`: an analytic measurement, without any network, of
  where the object is and how big it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import torch

from course_lib.data.scenes import nearest_position
from course_lib.nn.classifier import AttributeClassifier
from course_lib.oracle import predict


def _check_images(images: torch.Tensor, where: str) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if hasattr(images, "shape") else type(images).__name__
        raise ValueError(f"{where} expects images [N, C, H, W] in [-1, 1], got {shape}.")


def attribute_accuracy(
    oracle: AttributeClassifier, images: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """Fraction of images whose oracle prediction matches the label, per
    attribute (in the oracle's head order) and for all attributes together.

    Args:
        images: ``[N, C, H, W]`` in [-1, 1].
        labels: ``[N, A]`` long, the labels the images were *asked* to show.

    Returns:
        ``{"shape": ..., "colour": ..., ..., "all": ...}``.
    """
    _check_images(images, "attribute_accuracy")
    names = list(oracle.head_sizes)
    if labels.ndim != 2 or labels.shape != (len(images), len(names)):
        raise ValueError(
            f"labels must be [N={len(images)}, A={len(names)}] (attributes {names}), "
            f"got {tuple(labels.shape)}."
        )
    predictions = predict(oracle, images)
    correct = torch.stack([predictions[n] == labels[:, a].cpu() for a, n in enumerate(names)], 1)
    result = {n: float(correct[:, a].float().mean()) for a, n in enumerate(names)}
    result["all"] = float(correct.all(dim=1).float().mean())
    return result


def confident_fraction(
    oracle: AttributeClassifier, images: torch.Tensor, threshold: float = 0.9
) -> float:
    """Fraction of images whose every attribute is predicted with probability > threshold."""
    _check_images(images, "confident_fraction")
    predictions = predict(oracle, images)
    confident = torch.stack(
        [predictions[f"{n}_confidence"] > threshold for n in oracle.head_sizes], 1
    )
    return float(confident.all(dim=1).float().mean())


@torch.no_grad()
def oracle_features(
    oracle: AttributeClassifier, images: torch.Tensor, batch_size: int = 512
) -> torch.Tensor:
    """Penultimate oracle features ``[N, D]`` (CPU, float64) of images in [-1, 1]."""
    _check_images(images, "oracle_features")
    device = next(oracle.parameters()).device
    oracle.eval()
    chunks = [
        oracle.features(images[i : i + batch_size].to(device, torch.float32)).cpu()
        for i in range(0, len(images), batch_size)
    ]
    return torch.cat(chunks).double()


def gaussian_frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2):

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``.

    The matrix square root can come out complex or non-finite for
    near-singular covariances; then ``eps * I`` is added to both.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            f"Gaussian shapes differ: means {mu1.shape} vs {mu2.shape}, covariances "
            f"{sigma1.shape} vs {sigma2.shape}."
        )
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if caught or not np.isfinite(covmean).all():  # singular: e.g. features that never fire
        offset = np.eye(len(sigma1)) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance(
    features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray
) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``[N, D]``.

    Biased upwards at small N: keep N well above D and compare against
    :func:`frechet_floor` computed with the same N.
    """
    a = np.asarray(
        features_a.cpu() if isinstance(features_a, torch.Tensor) else features_a, np.float64
    )
    b = np.asarray(
        features_b.cpu() if isinstance(features_b, torch.Tensor) else features_b, np.float64
    )
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] with the same D, got {a.shape} and {b.shape}.")
    if min(len(a), len(b)) < 2:
        raise ValueError("each feature set needs at least 2 rows to estimate a covariance.")
    return gaussian_frechet_distance(
        a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    )


def frechet_floor(oracle: AttributeClassifier, real_a: torch.Tensor, real_b: torch.Tensor) -> float:
    """Fréchet distance between two disjoint sets of real images: the floor a
    perfect generator would reach with the same sample sizes."""
    return frechet_distance(oracle_features(oracle, real_a), oracle_features(oracle, real_b))


def _differing_candidates(
    labels: torch.Tensor | None, n: int, k: int, generator: torch.Generator | None
) -> torch.Tensor:
    """``[n, k]`` indices j != i (with labels differing in at least one attribute)."""
    out = torch.randint(n, (n, k), generator=generator)
    for _ in range(100):
        if labels is None:
            bad = out == torch.arange(n)[:, None]
        else:
            bad = (labels[out] == labels[:, None, :]).all(dim=2)
        if not bad.any():
            return out
        out[bad] = torch.randint(n, (int(bad.sum()),), generator=generator)
    raise ValueError(
        "could not find enough candidates that differ from each item: too few distinct labels."
    )


def r_precision(
    image_embeddings: torch.Tensor,
    text_embeddings: torch.Tensor,
    labels: torch.Tensor | None = None,
    candidates: int = 100,
    generator: torch.Generator | None = None,
) -> float:
    """R-precision (AttnGAN): for each image, rank its own caption against
    ``candidates - 1`` captions of other items by cosine similarity; the score
    is the fraction ranked first.

    Args:
        image_embeddings: ``[N, D]``, row i embeds image i.
        text_embeddings: ``[N, D]``, row i embeds the caption image i was made from.
        labels: optional ``[N, A]``; distractors then differ in at least one attribute
            (so an equivalent caption is never counted as a miss).
        candidates: true caption included (100 in the literature).
    """
    if image_embeddings.shape != text_embeddings.shape or image_embeddings.ndim != 2:
        raise ValueError(
            f"embeddings must both be [N, D], got {tuple(image_embeddings.shape)} and "
            f"{tuple(text_embeddings.shape)}."
        )
    n = len(image_embeddings)
    if n < 2 or candidates < 2:
        raise ValueError(
            f"need at least 2 items and 2 candidates, got N={n}, candidates={candidates}."
        )
    others = _differing_candidates(
        None if labels is None else labels.cpu(), n, candidates - 1, generator
    )
    return r_precision_from_candidates(image_embeddings, text_embeddings, others)


def r_precision_from_candidates(
    image_embeddings: torch.Tensor, text_embeddings: torch.Tensor, others: torch.Tensor
) -> float:
    """R-precision with given distractors: ``others[i]`` holds the indices of
    the captions that compete with caption i for image i (``[N, K-1]``).

    Image i scores a hit when its cosine similarity to caption i is higher than
    to every caption in ``others[i]``.
    """
    img = torch.nn.functional.normalize(image_embeddings.double().cpu(), dim=1)
    txt = torch.nn.functional.normalize(text_embeddings.double().cpu(), dim=1)
    true_score = (img * txt).sum(dim=1)  # [N]
    other_score = torch.einsum("nd,nkd->nk", img, txt[others.cpu()])  # [N, K-1]
    return float((true_score[:, None] > other_score).all(dim=1).double().mean())


def diversity(features: torch.Tensor, groups: Sequence[int] | torch.Tensor | None = None) -> float:
    """Mean pairwise Euclidean distance between features.

    With ``groups`` (e.g. one id per caption, several images per id), the mean
    is taken within each group of 2 or more and then over groups: how varied
    are the images of *one* caption? A collapsed generator scores near 0;
    compare with the same number computed on real images.
    """
    if features.ndim != 2:
        raise ValueError(f"features must be [N, D], got {tuple(features.shape)}.")
    f = features.double().cpu()
    if groups is None:
        if len(f) < 2:
            raise ValueError("diversity needs at least 2 feature rows.")
        return float(torch.pdist(f).mean())
    groups = torch.as_tensor(groups).cpu()
    if len(groups) != len(f):
        raise ValueError(f"groups has {len(groups)} entries for {len(f)} feature rows.")
    values = [
        torch.pdist(f[groups == g]).mean() for g in groups.unique() if (groups == g).sum() >= 2
    ]
    if not values:
        raise ValueError("no group has 2 or more members.")
    return float(torch.stack(values).mean())


def foreground_mask(images: torch.Tensor, threshold: float = 0.3) -> torch.Tensor:
    """Where the object is: ``[N, H, W]`` bool.

    Colour images (the shapes): saturation ``max(rgb) - min(rgb)`` above
    ``threshold`` (the background is grey, every object colour is saturated).
    Grey images (the digits): brightness above the middle grey.
    """
    _check_images(images, "foreground_mask")
    x = (images.detach().float().cpu() + 1) / 2  # [0, 1]
    if x.shape[1] == 3:
        return (x.max(dim=1).values - x.min(dim=1).values) > threshold
    return x[:, 0] > 0.5


def locate_objects(images: torch.Tensor, threshold: float = 0.3) -> dict[str, torch.Tensor]:
    """Measure each object's bounding box, without any network.

    Returns:
        ``found`` ``[N]`` bool (any foreground pixel); ``cx``, ``cy`` the box
        centre and ``extent`` its larger side, in ``F.affine_grid`` units
        (extent as a fraction of the canvas side); ``position`` the 3x3 grid
        cell of the centre. Rows with nothing found hold NaN (position -1).
    """
    mask = foreground_mask(images, threshold)
    _, h, w = mask.shape
    rows, cols = mask.any(dim=2), mask.any(dim=1)  # [N, H], [N, W]
    found = rows.any(dim=1)

    def span(any_along: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.arange(size, dtype=torch.float32)
        first = torch.where(any_along, idx, torch.inf).min(dim=1).values
        last = torch.where(any_along, idx, -torch.inf).max(dim=1).values
        low, high = first * 2 / size - 1, (last + 1) * 2 / size - 1  # pixel edges
        return (low + high) / 2, (high - low) / 2

    cy, half_h = span(rows, h)
    cx, half_w = span(cols, w)
    extent = torch.maximum(half_h, half_w)
    nan = torch.full_like(cx, float("nan"))
    cx, cy, extent = (torch.where(found, v, nan) for v in (cx, cy, extent))
    position = torch.where(found, nearest_position(cx.nan_to_num(), cy.nan_to_num(), extent), -1)
    return {"found": found, "cx": cx, "cy": cy, "extent": extent, "position": position}


def label_groups(labels: torch.Tensor) -> torch.Tensor:
    """One group id per distinct label row (``[N]`` long): images that share a caption's meaning."""
    return torch.unique(labels.cpu(), dim=0, return_inverse=True)[1]


@torch.no_grad()
def oracle_probabilities(oracle: AttributeClassifier, images: torch.Tensor) -> torch.Tensor:
    """The oracle's class probabilities of every head, concatenated: ``[N, sum(classes)]``.

    With :func:`labels_one_hot` as the matching "text encoder", this gives an
    R-precision that needs no learned text encoder (the captions of the
    course's data sets are parsed exactly into their labels).
    """
    _check_images(images, "oracle_probabilities")
    device = next(oracle.parameters()).device
    chunks = []
    for i in range(0, len(images), 512):
        logits = oracle(images[i : i + 512].to(device, torch.float32))
        chunks.append(torch.cat([logits[n].softmax(dim=1) for n in oracle.head_sizes], 1).cpu())
    return torch.cat(chunks)


def labels_one_hot(labels: torch.Tensor, head_sizes: dict[str, int]) -> torch.Tensor:
    """Concatenated one-hot codes of label rows ``[N, A]`` -> ``[N, sum(classes)]``."""
    sizes = list(head_sizes.values())
    if labels.ndim != 2 or labels.shape[1] != len(sizes):
        raise ValueError(f"labels must be [N, {len(sizes)}], got {tuple(labels.shape)}.")
    parts = [torch.nn.functional.one_hot(labels[:, a].cpu(), k) for a, k in enumerate(sizes)]
    return torch.cat(parts, 1).float()


def evaluate_against_real(
    oracle: AttributeClassifier,
    images: torch.Tensor,
    labels: torch.Tensor,
    real_images: torch.Tensor,
    real_labels: torch.Tensor,
    floor: float | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Every metric of this module for images made from captions with ``labels``.

    ``real_images``/``real_labels`` (a real sample of the same size, other
    draws) give the Fréchet reference and the real data's diversity.

    Returns:
        per-attribute and ``all`` accuracy, ``confident``, ``frechet`` (and
        ``frechet_floor`` when given), ``r_precision``, ``diversity`` and
        ``diversity_ratio`` (generated / real, within images of one caption).
    """
    result = {f"acc_{k}": v for k, v in attribute_accuracy(oracle, images, labels).items()}
    result["confident"] = confident_fraction(oracle, images)
    features = oracle_features(oracle, images)
    real_features = oracle_features(oracle, real_images)
    result["frechet"] = frechet_distance(features, real_features)
    if floor is not None:
        result["frechet_floor"] = floor
    result["r_precision"] = r_precision(
        oracle_probabilities(oracle, images),
        labels_one_hot(labels, oracle.head_sizes),
        labels=labels,
        generator=generator,
    )
    result["diversity"] = diversity(features, label_groups(labels))
    real = diversity(real_features, label_groups(real_labels))
    result["diversity_ratio"] = result["diversity"] / real
    return result


def mode_coverage(
    samples: torch.Tensor, centres: torch.Tensor, radius: float, min_share: float = 0.01
) -> dict[str, float]:
    """How many modes of a mixture a generator covers (2-D toy data).

    A sample belongs to the nearest centre if it lies within ``radius`` of it;
    a mode is *covered* when it receives at least ``min_share`` of all samples.

    Returns:
        ``{"covered": number of modes covered, "quality": fraction of samples
        within radius of some centre}``.
    """
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples [N, D] and centres [K, D] must share D, got {tuple(samples.shape)} and "
            f"{tuple(centres.shape)}."
        )
    distance, nearest = torch.cdist(samples.float().cpu(), centres.float().cpu()).min(dim=1)
    inside = distance <= radius
    counts = torch.bincount(nearest[inside], minlength=len(centres))
    return {
        "covered": float((counts >= min_share * len(samples)).sum()),
        "quality": float(inside.float().mean()),
    }
