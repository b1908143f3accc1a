"""``check_graph``: the one place where a graph is validated at the library's boundary."""

from __future__ import annotations

import logging

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.errors import GCLDataError

logger = logging.getLogger(__name__)

__all__ = ['check_graph', 'check_edge_index', 'count_isolated', 'warn_unusual_form']


def check_edge_index(edge_index: Tensor, num_nodes: int) -> None:
    """Raise :class:`GCLDataError` unless ``edge_index`` is a ``[2, E]`` integer tensor of ids
    in ``0..num_nodes-1``."""
    if not isinstance(edge_index, Tensor):
        raise GCLDataError(f'edge_index must be a torch.Tensor, got {type(edge_index).__name__}')
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise GCLDataError(f'edge_index must have shape [2, E], got {list(edge_index.shape)}; '
                           'transpose an [E, 2] edge list with .t()')
    if edge_index.dtype not in (torch.long, torch.int, torch.int16, torch.uint8, torch.int8):
        raise GCLDataError(f'edge_index must hold integer node ids, got dtype {edge_index.dtype}')
    if edge_index.numel() == 0:
        return
    low, high = int(edge_index.min()), int(edge_index.max())
    if low < 0:
        raise GCLDataError(f'edge_index holds the negative node id {low}; ids must be '
                           f'0..{num_nodes - 1}')
    if high >= num_nodes:
        raise GCLDataError(f'edge_index refers to node {high}, but the graph has {num_nodes} nodes '
                           f'(ids 0..{num_nodes - 1}). 1-based ids? Pass num_nodes= to override.')


def count_isolated(edge_index: Tensor, num_nodes: int) -> int:
    """Number of nodes that appear in no edge."""
    seen = torch.zeros(num_nodes, dtype=torch.bool, device=edge_index.device)
    seen[edge_index.reshape(-1)] = True
    return int((~seen).sum())


def check_graph(data: Data, *, require_features: bool = True, require_labels: bool = False,
                allow_self_loops: bool = True, allow_duplicates: bool = True,
                warn_isolated: bool = True) -> Data:
    """Validate ``data`` and return it unchanged.

    Checks: a non-empty graph; ``edge_index`` of shape ``[2, E]`` with ids in range; ``x`` a finite
    ``[N, F]`` float matrix; ``y`` of length ``N`` with non-negative classes (when present or
    required); optionally no self-loops or duplicate edges. Isolated nodes only log a warning:
    a GCN still embeds them through its self-loop.

    Raises:
        GCLDataError: naming the first problem found.
    """
    if not isinstance(data, Data):
        raise GCLDataError(f'expected a torch_geometric.data.Data, got {type(data).__name__}')
    num_nodes = data.num_nodes
    if not num_nodes:
        raise GCLDataError('the graph is empty (0 nodes)')
    if getattr(data, 'edge_index', None) is None:
        raise GCLDataError('the graph has no edge_index')
    check_edge_index(data.edge_index, num_nodes)
    if data.edge_index.size(1) == 0:
        raise GCLDataError(f'the graph has {num_nodes} nodes but no edges; graph contrastive '
                           'learning needs edges')
    x = getattr(data, 'x', None)
    if x is None:
        if require_features:
            raise GCLDataError('the graph has no node features (data.x); pass x= or use '
                               'structural features, e.g. torch.eye(num_nodes)')
    else:
        if x.dim() != 2:
            raise GCLDataError(f'node features must be a 2-D [N, F] matrix, got shape '
                               f'{list(x.shape)}')
        if x.size(0) != num_nodes:
            raise GCLDataError(f'node features have {x.size(0)} rows but the graph has '
                               f'{num_nodes} nodes')
        if not torch.is_floating_point(x):
            raise GCLDataError(f'node features must be floating point, got dtype {x.dtype}')
        bad = ~torch.isfinite(x)
        if bad.any():
            rows = int(bad.any(dim=1).sum())
            raise GCLDataError(f'node features hold {int(bad.sum())} NaN/inf values in {rows} '
                               'rows; clean or impute them first')
    y = getattr(data, 'y', None)
    if y is None:
        if require_labels:
            raise GCLDataError('this needs node labels (data.y), and the graph has none')
    else:
        if y.dim() != 1 or y.size(0) != num_nodes:
            raise GCLDataError(f'labels must have shape [{num_nodes}], got {list(y.shape)}')
        if y.numel() and int(y.min()) < 0 and not bool((y == -1).any()):
            raise GCLDataError(f'labels must be class ids >= 0, found {int(y.min())}')
    row, col = data.edge_index
    if not allow_self_loops:
        loops = int((row == col).sum())
        if loops:
            raise GCLDataError(f'the graph has {loops} self-loops; remove them '
                               '(torch_geometric.utils.remove_self_loops)')
    if not allow_duplicates:
        key = row.long() * num_nodes + col.long()
        duplicates = key.numel() - int(torch.unique(key).numel())
        if duplicates:
            raise GCLDataError(f'the graph has {duplicates} duplicate edges; merge them '
                               '(torch_geometric.utils.coalesce)')
    isolated = count_isolated(data.edge_index, num_nodes) if warn_isolated else 0
    if isolated:
        logger.warning('%d of %d nodes are isolated (no edges)%s', isolated, num_nodes,
                       '; they are embedded from their features alone'
                       if getattr(data, 'x', None) is not None else '')
    return data


#: above this many edges :func:`warn_unusual_form` does not check directedness
_DIRECTED_CHECK_MAX_EDGES = 20_000_000


def warn_unusual_form(data: Data, method: str) -> None:
    """Log a warning where ``data`` differs from the graphs the papers trained on, without
    refusing it: a directed ``edge_index`` (the GCN then passes messages one way only, and
    GCA's centralities, CSGCL's communal edge dropping and the community detectors assume
    both directions) and edge weights or attributes (no method reads them).

    ``gcl.data.from_edge_index`` and every dataset loader return undirected graphs; a ``Data``
    built by hand may not be.
    """
    from torch_geometric.utils import is_undirected

    edge_index = data.edge_index
    # is_undirected sorts the edges twice: seconds and a few GB at ogbn-products' 124M edges,
    # whose loader (like every loader) returns an undirected graph anyway
    small = edge_index.size(1) <= _DIRECTED_CHECK_MAX_EDGES
    if small and not is_undirected(edge_index, num_nodes=data.num_nodes):
        logger.warning('%s: edge_index is directed (not every edge has its reverse); the methods '
                       'assume an undirected graph, as in their papers. Build it with '
                       'gcl.data.from_edge_index (or torch_geometric.utils.to_undirected) '
                       'unless one-way messages are what you want', method)
    unused = [key for key in ('edge_weight', 'edge_attr') if getattr(data, key, None) is not None]
    if unused:
        logger.warning('%s does not use %s: it trains on the unweighted graph, as its paper',
                       method, ' or '.join(f'data.{key}' for key in unused))
