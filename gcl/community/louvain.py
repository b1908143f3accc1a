"""Louvain community detection (Blondel et al., 2008) via python-louvain."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from gcl.community.base import CommunityDetector, to_networkx_graph

__all__ = ['Louvain']


class Louvain(CommunityDetector):
    r"""Louvain modularity maximisation: python-louvain's ``best_partition`` on
    ``to_networkx(data, to_undirected=True)``, one of the detectors CSGCL wires in
    (ALGORITHMS.md §4.1).

    Args:
        resolution: the modularity resolution :math:`\gamma` (larger: more, smaller communities).
        random_state: seed of the node visiting order; the same seed gives the same partition.

    Caveat: python-louvain 0.16 moves nodes with the usual resolution-weighted gain but stops
    each level with a modularity that puts :math:`\gamma` on the intra-community term instead
    (taynaud/python-louvain issue #98), so for ``resolution < 1`` it can stop early with many
    small communities. ``resolution=1`` (CSGCL's setting) is unaffected; for other values prefer
    :class:`~gcl.community.Leiden`.

    Example:
        >>> labels = Louvain(resolution=1.0, random_state=0).fit_predict(data)   # [N]
    """

    name = 'louvain'

    def __init__(self, resolution: float = 1.0, random_state: int | None = 0) -> None:
        self.resolution = resolution
        self.random_state = random_state

    def _detect(self, edge_index: Tensor, num_nodes: int) -> np.ndarray:
        import community as community_louvain  # python-louvain

        graph = to_networkx_graph((edge_index, num_nodes))
        partition = community_louvain.best_partition(graph, resolution=float(self.resolution),
                                                     random_state=self.random_state)
        return np.fromiter((partition[v] for v in range(num_nodes)), dtype=np.int64,
                           count=num_nodes)
