"""A small CNN with one classification head per attribute.

The course uses it as the *oracle* that grades generated images (does this
picture show a small red circle in the top left?) and, through its
penultimate features, as the feature space of the Fréchet distance.
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.nn.validation import check_images


class AttributeClassifier(nn.Module):
    """Shared convolutional trunk, one linear head per attribute.

    Args:
        in_channels: 1 (digits) or 3 (shapes).
        image_size: input side, a multiple of 8 (32 or 64).
        heads: attribute name -> number of classes, e.g.
            ``{"shape": 5, "colour": 6, "size": 2, "position": 9}``.
        width: channels of the first layer.
        feature_dim: size of the penultimate feature vector.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        heads: dict[str, int],
        width: int = 32,
        feature_dim: int = 128,
    ) -> None:
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8, got {image_size}.")
        if not heads:
            raise ValueError("AttributeClassifier needs at least one head.")
        self.in_channels, self.image_size = in_channels, image_size
        self.head_sizes = dict(heads)
        w = width
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1),  # [w, S, S]
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1),  # [2w, S/2, S/2]
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1),  # [2w, S/4, S/4]
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 4, stride=2, padding=1),  # [2w, S/8, S/8]
            nn.BatchNorm2d(2 * w),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(4),  # [2w, 4, 4]: keeps where things are
            nn.Flatten(),  # [2w * 16]
            nn.Linear(2 * w * 16, feature_dim),  # [feature_dim]
            nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleDict({name: nn.Linear(feature_dim, k) for name, k in heads.items()})

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``[N, feature_dim]`` of images ``[N, C, S, S]`` in [-1, 1]."""
        check_images(images, self.in_channels, self.image_size, "AttributeClassifier")
        return self.trunk(images)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per attribute: name -> ``[N, classes]``."""
        h = self.features(images)
        return {name: head(h) for name, head in self.heads.items()}


class SmallCNN(nn.Module):
    """Two 5x5 convolutions with max-pooling and two linear layers: the
    classifier of PyTorch's spatial transformer tutorial.

    Args:
        in_channels, image_size: the input images (``image_size`` a multiple of 4).
        classes: number of classes.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 32, classes: int = 10) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {image_size}.")
        self.in_channels, self.image_size = in_channels, image_size
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 16, 5, padding=2),  # [16, S, S]
            nn.MaxPool2d(2),  # [16, S/2, S/2]
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 5, padding=2),  # [32, S/2, S/2]
            nn.MaxPool2d(2),  # [32, S/4, S/4]
            nn.ReLU(inplace=True),
            nn.Flatten(),
            nn.Linear(32 * (image_size // 4) ** 2, 64),
            nn.ReLU(inplace=True),
            nn.Linear(64, classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, classes]`` of images ``[N, C, S, S]``."""
        check_images(images, self.in_channels, self.image_size, "SmallCNN")
        return self.net(images)
