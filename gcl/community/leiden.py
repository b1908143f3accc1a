"""Leiden community detection (Traag et al., 2019) via leidenalg + igraph (optional extra)."""

from __future__ import annotations

import numpy as np
from torch import Tensor
from torch_geometric.utils import to_undirected

from gcl.community.base import CommunityDetector
from gcl.errors import GCLConfigError

__all__ = ['Leiden']


class Leiden(CommunityDetector):
    r"""Leiden modularity maximisation with ``leidenalg.find_partition``, CSGCL's default
    detector (``--cd leiden``, which calls it through cdlib; ALGORITHMS.md §4.1).

    With ``resolution=1`` the partition type is ``ModularityVertexPartition``, as cdlib's
    ``leiden`` uses; otherwise ``RBConfigurationVertexPartition(resolution_parameter=...)``
    (the same objective scaled, with the resolution :math:`\gamma`). Unlike CSGCL, which passes
    no seed, ``random_state`` is handed to leidenalg, so a seed gives one partition.

    Needs the optional extra: ``pip install gcl-toolkit[leiden]`` (leidenalg and igraph).

    Args:
        resolution: modularity resolution :math:`\gamma`.
        random_state: leidenalg's seed (``None``: not seeded).
        n_iterations: Leiden iterations (leidenalg's default 2; negative: until stable).
    """

    name = 'leiden'

    def __init__(self, resolution: float = 1.0, random_state: int | None = 0,
                 n_iterations: int = 2) -> None:
        self.resolution = resolution
        self.random_state = random_state
        self.n_iterations = n_iterations

    def _detect(self, edge_index: Tensor, num_nodes: int) -> np.ndarray:
        try:
            import igraph
            import leidenalg
        except ImportError as exc:
            raise GCLConfigError('the Leiden detector needs leidenalg and igraph: '
                                 'pip install gcl-toolkit[leiden] (or choose louvain or '
                                 f'label-propagation); import failed: {exc}') from exc
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
        row, col = edge_index
        keep = row <= col                                  # one entry per undirected edge
        edges = edge_index[:, keep].t().tolist()
        graph = igraph.Graph(n=num_nodes, edges=edges, directed=False)
        kwargs = {'n_iterations': int(self.n_iterations)}
        if self.random_state is not None:
            kwargs['seed'] = int(self.random_state)
        if float(self.resolution) == 1.0:
            partition = leidenalg.find_partition(graph, leidenalg.ModularityVertexPartition,
                                                 **kwargs)
        else:
            partition = leidenalg.find_partition(graph, leidenalg.RBConfigurationVertexPartition,
                                                 resolution_parameter=float(self.resolution),
                                                 **kwargs)
        return np.asarray(partition.membership, dtype=np.int64)
