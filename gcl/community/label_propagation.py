"""Asynchronous label propagation (Raghavan et al., 2007) via networkx."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from gcl.community.base import CommunityDetector, to_networkx_graph

__all__ = ['LabelPropagation']


class LabelPropagation(CommunityDetector):
    """Label propagation: ``networkx.algorithms.community.asyn_lpa_communities`` on
    ``to_networkx(data, to_undirected=True)``, seeded with ``random_state``.

    It optimises no objective (no resolution parameter); ``modularity_`` is reported for
    comparison with Louvain and Leiden. Fast, but it tends to give many small communities.

    Args:
        random_state: seed of the update order and tie breaks.
    """

    name = 'label-propagation'
    aliases = ('lpa', 'label_propagation')

    def __init__(self, random_state: int | None = 0) -> None:
        self.random_state = random_state

    def _detect(self, edge_index: Tensor, num_nodes: int) -> np.ndarray:
        from networkx.algorithms.community import asyn_lpa_communities

        graph = to_networkx_graph((edge_index, num_nodes))
        labels = np.empty(num_nodes, dtype=np.int64)
        for cid, members in enumerate(asyn_lpa_communities(graph, seed=self.random_state)):
            labels[list(members)] = cid
        return labels
