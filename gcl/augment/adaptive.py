"""GCA's adaptive augmentations (Zhu et al., WWW 2021; ALGORITHMS.md §0.4), as in the official
code: edge drop probabilities from the centrality of each edge's **target** node, feature drop
probabilities from centrality-weighted feature mass, both capped at ``threshold`` (0.7).

Written by hand because PyG has no centrality-weighted dropping; the centralities are torch
operations on the sparse graph (see :mod:`gcl.augment.centrality`).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from gcl.augment.centrality import eigenvector_centrality, node_centrality, pagerank
from gcl.augment.functional import _check_p, drop_edge_weighted
from gcl.augment.weighted import WeightedFeatureMask
from gcl.errors import GCLConfigError
from gcl.utils.cache import TensorCache

__all__ = [
    'edge_drop_weights',
    'feature_drop_weights',
    'adaptive_probabilities',
    'AdaptiveDropEdge',
    'AdaptiveMaskFeature',
]

_SCHEMES = ('degree', 'pr', 'evc')


def _normalised_log_weights(score: Tensor) -> Tensor:
    """``(s_max - s) / (s_max - mean(s))`` with ``s = log(score)`` -- mean 1 by construction.

    Zero scores (never-present features) would give ``log 0``; GCA has no guard, so we replace them
    by the smallest positive score (they get the highest drop probability, then the cap).
    """
    score = score.float()
    positive = score[score > 0]
    floor = positive.min() if positive.numel() else torch.tensor(1.0, device=score.device)
    s = torch.where(score > 0, score, floor).log()
    spread = s.max() - s.mean()
    if spread <= 0:  # every score equal: uniform weights
        return torch.ones_like(s)
    return (s.max() - s) / spread


def edge_drop_weights(edge_index: Tensor, num_nodes: int, scheme: str = 'degree') -> Tensor:
    """Per-edge weights ``w_e [E]`` (mean 1) from the target node's centrality.

    ``degree``: degree in the undirected graph; ``pr``: GCA PageRank with 200 steps; ``evc``:
    eigenvector centrality clipped at 0 plus 1e-8.
    """
    if scheme not in _SCHEMES:
        raise GCLConfigError(f'unknown drop scheme {scheme!r}; choose one of {_SCHEMES} or uniform')
    if scheme == 'degree':
        from gcl.augment.centrality import degree_centrality

        centrality = degree_centrality(edge_index, num_nodes, undirected=True)
    elif scheme == 'pr':
        centrality = pagerank(edge_index, num_nodes, k=200)
    else:
        centrality = eigenvector_centrality(edge_index, num_nodes).clamp_min(0.0) + 1e-8
    return _normalised_log_weights(centrality[edge_index[1]])


def feature_drop_weights(x: Tensor, node_weight: Tensor, dense: bool = False) -> Tensor:
    """Per-feature weights ``w_j [F]`` (mean 1) from ``c_j = sum_u xhat_uj phi(u)``.

    ``xhat = 1[x != 0]`` for bag-of-words features, ``|x|`` with ``dense=True`` (WikiCS).
    """
    xhat = x.abs() if dense else (x != 0).to(torch.float32)
    return _normalised_log_weights(xhat.t() @ node_weight.float())


def adaptive_probabilities(weights: Tensor, p: float, threshold: float = 0.7) -> Tensor:
    """``min(w / mean(w) * p, threshold)``: drop probabilities from weights."""
    _check_p(p)
    return (weights / weights.mean() * p).clamp(max=threshold)


class AdaptiveDropEdge(BaseTransform):
    """Drop edge ``e`` with probability ``min(w_e * p, threshold)`` (GCA-DE / PR / EV).

    Weights depend only on the input graph, so they are computed once per graph and cached.
    """

    def __init__(self, p: float = 0.3, scheme: str = 'degree', threshold: float = 0.7) -> None:
        _check_p(p)
        if scheme not in _SCHEMES:
            raise GCLConfigError(f'unknown drop scheme {scheme!r}; choose one of {_SCHEMES}')
        self.p, self.scheme, self.threshold = p, scheme, threshold
        self._cache: TensorCache[Tensor] = TensorCache()

    def probabilities(self, data: Data) -> Tensor:
        """Per-edge drop probabilities ``[E]`` of ``data`` (cached per graph)."""
        def compute() -> Tensor:
            weights = edge_drop_weights(data.edge_index, data.num_nodes, self.scheme)
            return adaptive_probabilities(weights, self.p, self.threshold)

        return self._cache.get((data.edge_index,), data.num_nodes, compute)

    def forward(self, data: Data) -> Data:
        out = copy.copy(data)
        out.edge_index, _ = drop_edge_weighted(data.edge_index, self.probabilities(data))
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, scheme={self.scheme!r}, '
                f'threshold={self.threshold})')


class AdaptiveMaskFeature(WeightedFeatureMask):
    """Zero feature column ``j`` with probability ``min(w_j * p, threshold)`` (GCA).

    Node centrality: degree in the undirected graph (``degree``), 10-step GCA PageRank
    (``pr``) or eigenvector centrality (``evc``), as GCA's ``train.py`` computes them;
    ``dense=True`` for dense features.
    """

    def __init__(self, p: float = 0.3, scheme: str = 'degree', threshold: float = 0.7,
                 dense: bool = False) -> None:
        _check_p(p)
        if scheme not in _SCHEMES:
            raise GCLConfigError(f'unknown drop scheme {scheme!r}; choose one of {_SCHEMES}')
        super().__init__()
        self.p, self.scheme, self.threshold, self.dense = p, scheme, threshold, dense

    def compute_probabilities(self, data: Data) -> Tensor:
        """Per-feature drop probabilities ``[F]`` of ``data``, uncached."""
        centrality = node_centrality(data.edge_index, data.num_nodes, self.scheme)
        weights = feature_drop_weights(data.x, centrality, self.dense)
        return adaptive_probabilities(weights, self.p, self.threshold)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(p={self.p}, scheme={self.scheme!r}, '
                f'threshold={self.threshold}, dense={self.dense})')
