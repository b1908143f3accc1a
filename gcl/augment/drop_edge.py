"""Uniform edge dropping as a PyG transform."""

from __future__ import annotations

import copy

from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import dropout_edge

from gcl.augment.functional import _check_p


class DropEdge(BaseTransform):
    """Remove each edge with probability ``p`` (GRACE's edge removal, ALGORITHMS.md §0.3).

    Wraps :func:`torch_geometric.utils.dropout_edge`. With ``force_undirected=False`` (GRACE's
    behaviour) every directed entry is dropped independently; ``True`` drops both directions
    together and keeps an undirected graph undirected. The input ``Data`` is not modified.
    """

    def __init__(self, p: float = 0.2, force_undirected: bool = False) -> None:
        _check_p(p)
        self.p = p
        self.force_undirected = force_undirected

    def forward(self, data: Data) -> Data:
        data = copy.copy(data)
        data.edge_index, _ = dropout_edge(data.edge_index, p=self.p,
                                          force_undirected=self.force_undirected,
                                          training=self.p > 0)
        return data

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p}, force_undirected={self.force_undirected})'
