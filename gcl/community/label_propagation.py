"""Label propagation via networkx: the fast variant (Traag & Šubelj, 2023) by default, Raghavan et
al.'s (2007) asynchronous one on request."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from gcl.community.base import CommunityDetector, to_networkx_graph
from gcl.errors import GCLConfigError

__all__ = ['LabelPropagation']

VARIANTS = ('fast', 'async')


class LabelPropagation(CommunityDetector):
    """Label propagation on ``to_networkx(data, to_undirected=True)``, seeded with
    ``random_state``.

    ``variant='fast'`` (default): ``networkx``'s ``fast_label_propagation_communities`` (FLPA,
    Traag & Šubelj 2023), which revisits only the nodes whose neighbourhood changed and breaks
    ties at random until no node would move. ``'async'``: ``asyn_lpa_communities`` (Raghavan et
    al. 2007). networkx's asynchronous form keeps a node's label whenever it ties for the most
    frequent, so on graphs without strong local structure it stops early: on four planted
    random blocks of 6,000 nodes (mean degree 16) it returns about 7,000 communities where FLPA
    returns the four blocks. On Cora (seed 0) FLPA also gives fewer communities with higher
    modularity (370 against 547; 0.689 against 0.626).

    It optimises no objective (no resolution parameter); ``modularity_`` is reported for
    comparison with Louvain and Leiden.

    Args:
        random_state: seed of the visiting order and tie breaks.
        variant: ``'fast'`` or ``'async'``.
    """

    name = 'label-propagation'
    aliases = ('lpa', 'label_propagation')

    def __init__(self, random_state: int | None = 0, variant: str = 'fast') -> None:
        if variant not in VARIANTS:
            raise GCLConfigError(f'label propagation variant must be one of {VARIANTS}, '
                                 f'got {variant!r}')
        self.random_state = random_state
        self.variant = variant

    def _detect(self, edge_index: Tensor, num_nodes: int) -> np.ndarray:
        from networkx.algorithms import community

        graph = to_networkx_graph((edge_index, num_nodes))
        run = (community.fast_label_propagation_communities if self.variant == 'fast'
               else community.asyn_lpa_communities)
        labels = np.empty(num_nodes, dtype=np.int64)
        for cid, members in enumerate(run(graph, seed=self.random_state)):
            labels[list(members)] = cid
        return labels
