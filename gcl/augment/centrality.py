"""Node centralities for GCA's adaptive views (ALGORITHMS.md §0.4), with torch operations.

``pagerank`` follows the GCA code, not textbook PageRank: start from ones and repeat
``x <- 0.15 x + 0.85 sum_{u->v} x_u / outdeg(u)`` for ``k`` steps (no teleport normalisation).
``eigenvector_centrality`` is a power iteration on ``A + I`` (same eigenvectors as ``A``; the
shift makes bipartite graphs converge), normalised like networkx's ``eigenvector_centrality_numpy``.
networkx is used only as the test reference.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import degree, scatter, to_undirected

__all__ = ['degree_centrality', 'pagerank', 'eigenvector_centrality', 'node_centrality']


def degree_centrality(edge_index: Tensor, num_nodes: int, undirected: bool = True) -> Tensor:
    """Degree of each node, ``[N]`` float; in the undirected graph by default."""
    if undirected:
        edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    return degree(edge_index[1], num_nodes=num_nodes)


def pagerank(edge_index: Tensor, num_nodes: int, damping: float = 0.85, k: int = 10) -> Tensor:
    """GCA's PageRank: ``k`` power steps from ``x = 1`` (``compute_pr``), ``[N]``.

    GCA uses ``k=200`` for edge weights and ``k=10`` for feature weights.
    """
    row, col = edge_index
    out_degree = degree(row, num_nodes=num_nodes).clamp_min(1.0)
    x = torch.ones(num_nodes, device=edge_index.device)
    for _ in range(k):
        message = x[row] / out_degree[row]                                  # [E]
        x = (1.0 - damping) * x + damping * scatter(message, col, 0, num_nodes, reduce='sum')
    return x


def eigenvector_centrality(edge_index: Tensor, num_nodes: int, max_iter: int = 1000,
                           tol: float = 1e-10) -> Tensor:
    """Principal eigenvector of the adjacency, non-negative, unit L2 norm, ``[N]``.

    Matches ``networkx.eigenvector_centrality_numpy`` on connected graphs (power iteration on
    ``A + I``, float64).
    """
    row, col = edge_index
    x = torch.full((num_nodes,), 1.0 / num_nodes ** 0.5, dtype=torch.float64,
                   device=edge_index.device)
    for _ in range(max_iter):
        nxt = x + scatter(x[row], col, 0, num_nodes, reduce='sum')         # (A + I) x
        nxt = nxt / nxt.norm()
        if (nxt - x).abs().max() < tol:
            x = nxt
            break
        x = nxt
    return x.float()


def node_centrality(edge_index: Tensor, num_nodes: int, kind: str, *, pr_iters: int = 10
                    ) -> Tensor:
    """Centrality ``[N]`` by name: ``'degree'`` (degree in the undirected graph, as GCA's
    ``train.py`` computes it for feature weights: ``degree(to_undirected(edge_index)[1])``),
    ``'pr'`` (GCA PageRank with ``pr_iters`` steps) or ``'evc'`` (eigenvector, clipped at 0)."""
    if kind == 'degree':
        return degree_centrality(edge_index, num_nodes, undirected=True)
    if kind == 'pr':
        return pagerank(edge_index, num_nodes, k=pr_iters)
    if kind == 'evc':
        return eigenvector_centrality(edge_index, num_nodes).clamp_min(0.0)
    from gcl.errors import GCLConfigError

    raise GCLConfigError(f"unknown centrality {kind!r}; choose degree, pr or evc")
