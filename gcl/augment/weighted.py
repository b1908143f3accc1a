"""The base of the feature masks whose per-column probabilities depend only on the graph.

GCA's adaptive feature masking and CSGCL's Communal Attribute Voting both derive one drop
probability per feature column from the graph (features, edges and, for CSGCL, communities),
then draw a fresh column mask from them on every call. This base owns what they share: the
per-graph cache of the ``[F]`` probabilities and the draw. A subclass says only how the
probabilities follow from the graph.
"""

from __future__ import annotations

import copy
from abc import abstractmethod

from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

from gcl.augment.functional import drop_feature_weighted
from gcl.utils.cache import TensorCache

__all__ = ['WeightedFeatureMask']


class WeightedFeatureMask(BaseTransform):
    """Zero feature column ``j`` of every node with probability ``p_j`` (a PyG transform).

    An abstract base: subclasses implement :meth:`compute_probabilities` (GCA's
    :class:`~gcl.augment.AdaptiveMaskFeature`, CSGCL's
    :class:`~gcl.augment.CommunalAttributeVoting`); :meth:`probabilities` caches its result
    per graph (keyed on ``data.x`` and ``data.edge_index`` themselves and their in-place
    versions, :class:`gcl.utils.cache.TensorCache`), so only the draw is repeated per view.

    Shapes:
        ``data.x`` ``[N, F]`` -> a shallow copy of ``data`` with ``x`` ``[N, F]`` masked.
    """

    def __init__(self) -> None:
        self._cache: TensorCache[Tensor] = TensorCache()

    @abstractmethod
    def compute_probabilities(self, data: Data) -> Tensor:
        """Per-feature drop probabilities ``[F]`` of ``data``, uncached (each in ``[0, 1]``)."""

    def probabilities(self, data: Data) -> Tensor:
        """Per-feature drop probabilities ``[F]`` of ``data`` (cached per graph)."""
        return self._cache.get((data.x, data.edge_index), data.num_nodes,
                               lambda: self.compute_probabilities(data))

    def forward(self, data: Data) -> Data:
        out = copy.copy(data)
        out.x, _ = drop_feature_weighted(data.x, self.probabilities(data))
        return out
