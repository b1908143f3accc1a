"""Compose augmentations into one view (PyGCL's vocabulary: an *augmentor*)."""

from __future__ import annotations

from collections.abc import Sequence

from torch_geometric.transforms import BaseTransform, Compose

__all__ = ['Compose', 'make_view']


def make_view(transforms: Sequence[BaseTransform]) -> BaseTransform:
    """One view's augmentor: the transforms applied in order (PyG's ``Compose``)."""
    return Compose(list(transforms))
