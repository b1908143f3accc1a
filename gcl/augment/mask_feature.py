"""Column feature masking as a PyG transform."""

from __future__ import annotations

import copy

from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from gcl.augment.functional import _check_p, drop_feature


class MaskFeature(BaseTransform):
    """Zero each feature column for all nodes with probability ``p`` (GRACE, ALGORITHMS.md §0.3).

    The input ``Data`` is not modified.
    """

    def __init__(self, p: float = 0.3) -> None:
        _check_p(p)
        self.p = p

    def forward(self, data: Data) -> Data:
        data = copy.copy(data)
        if self.p > 0:
            data.x, _ = drop_feature(data.x, self.p)
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p})'
