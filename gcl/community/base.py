"""``CommunityDetector``: the sklearn-shaped base class of gcl's community detectors.

A detector stores its hyper-parameters in ``__init__`` and does nothing else; ``fit(data)``
validates the graph, runs the algorithm and sets the fitted attributes (names ending in ``_``):
``labels_`` (LongTensor ``[N]``), ``modularity_`` (float), ``num_communities_`` (int) and
``fit_seconds_`` (float). Reading a fitted attribute before ``fit`` raises
:class:`~gcl.errors.NotFittedError`.

Graph input everywhere in :mod:`gcl.community`: a PyG ``Data`` (its ``edge_index`` and
``num_nodes`` are used; features are ignored) or a tuple ``(edge_index, num_nodes)``. Edges are
treated as undirected and unweighted, duplicates collapse, self-loops are kept -- the graph that
``torch_geometric.utils.to_networkx(data, to_undirected=True)`` builds, which is what CSGCL
runs its detectors on (ALGORITHMS.md §4.1).
"""

from __future__ import annotations

import inspect
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.errors import GCLConfigError, GCLDataError, NotFittedError

logger = logging.getLogger(__name__)

__all__ = ['CommunityDetector', 'as_graph', 'check_communities', 'relabel_communities',
           'to_networkx_graph']

GraphLike = Data | tuple[Tensor, int]


def as_graph(data: GraphLike) -> tuple[Tensor, int]:
    """``(edge_index [2, E] long CPU, num_nodes)`` from a ``Data`` or an ``(edge_index, N)`` pair.

    Raises:
        GCLDataError: wrong type, shape or dtype, or ids outside ``0..N-1``.
    """
    if isinstance(data, Data):
        edge_index, num_nodes = data.edge_index, data.num_nodes
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        edge_index, num_nodes = data
    else:
        raise GCLDataError(f'expected a torch_geometric Data or a tuple (edge_index, num_nodes), '
                           f'got {type(data).__name__}')
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = list(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index)
        raise GCLDataError(f'edge_index must be a LongTensor of shape [2, E], got {shape}')
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise GCLDataError(f'edge_index must hold integer node ids, got dtype {edge_index.dtype}')
    if num_nodes is None or int(num_nodes) < 1:
        raise GCLDataError(f'the graph needs num_nodes >= 1, got {num_nodes!r}')
    num_nodes = int(num_nodes)
    edge_index = edge_index.detach().to('cpu', torch.long)
    if edge_index.numel():
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            raise GCLDataError(f'edge_index refers to node {high if high >= num_nodes else low}, '
                               f'but the graph has {num_nodes} nodes (ids 0..{num_nodes - 1})')
    return edge_index, num_nodes


def check_communities(labels: Any, num_nodes: int, name: str = 'communities') -> Tensor:
    """Validate a community assignment and return it as a CPU LongTensor ``[N]``.

    Raises:
        GCLDataError: not 1-D, not integer, wrong length, or negative ids.
    """
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(labels)
    if not isinstance(labels, Tensor):
        raise GCLDataError(f'{name} must be a LongTensor [N] of community ids, '
                           f'got {type(labels).__name__}')
    if labels.dim() != 1:
        raise GCLDataError(f'{name} must be 1-D [N] (one community id per node), got shape '
                           f'{list(labels.shape)}')
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise GCLDataError(f'{name} must hold integer community ids, got dtype {labels.dtype}')
    if labels.numel() != num_nodes:
        raise GCLDataError(f'{name} has {labels.numel()} entries but the graph has {num_nodes} '
                           'nodes; pass one community id per node, in node order')
    labels = labels.detach().to('cpu', torch.long)
    if labels.numel() and int(labels.min()) < 0:
        bad = int((labels < 0).sum())
        raise GCLDataError(f'{name} has {bad} negative ids (first at node '
                           f'{int((labels < 0).nonzero()[0, 0])}); ids must be 0..C-1. Give '
                           'unassigned nodes a community of their own')
    return labels


def relabel_communities(labels: Tensor) -> Tensor:
    """Relabel ids to ``0..C-1`` by decreasing size, ties by the smallest node id in them.

    Makes the output of every detector canonical: the same partition always gets the same ids.

    Shapes:
        - **input:** ``[N]`` integer ids (any values); **output:** ``[N]`` LongTensor
    """
    labels = torch.as_tensor(labels, dtype=torch.long).view(-1)
    if labels.numel() == 0:
        return labels
    uniq, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    first = torch.full((uniq.numel(),), labels.numel(), dtype=torch.long)
    first = first.scatter_reduce(0, inverse, torch.arange(labels.numel()), reduce='amin')
    # sort by (-count, first appearance); both are integers, so a composite key is exact
    key = -counts * (labels.numel() + 1) + first
    order = torch.argsort(key)
    new_id = torch.empty_like(order)
    new_id[order] = torch.arange(order.numel())
    return new_id[inverse]


def to_networkx_graph(data: GraphLike) -> Any:
    """The undirected ``networkx.Graph`` of ``data`` via ``torch_geometric.utils.to_networkx``."""
    from torch_geometric.utils import to_networkx

    edge_index, num_nodes = as_graph(data)
    return to_networkx(Data(edge_index=edge_index, num_nodes=num_nodes), to_undirected=True)


class CommunityDetector(ABC):
    """Base class: sklearn-style ``fit`` / ``fit_predict`` / ``get_params``.

    Subclasses set ``name`` and implement :meth:`_detect`, returning one integer per node (any
    ids); the base relabels them with :func:`relabel_communities`, computes the modularity and
    times the run.

    Example:
        >>> det = Louvain(resolution=1.0, random_state=0).fit(data)
        >>> det.labels_, det.modularity_, det.num_communities_
    """

    name: str = ''
    _fitted_attributes = ('labels_', 'modularity_', 'num_communities_', 'fit_seconds_')

    @abstractmethod
    def _detect(self, edge_index: Tensor, num_nodes: int) -> Tensor | np.ndarray | list[int]:
        """Community ids ``[N]`` of the undirected graph ``(edge_index, num_nodes)``."""

    def fit(self, data: GraphLike) -> CommunityDetector:
        """Detect communities in a ``Data`` or ``(edge_index, num_nodes)``; returns ``self``."""
        from gcl.community.modularity import modularity

        if hasattr(self, 'resolution'):        # checked here, as sklearn checks at fit
            self._check_resolution()
        edge_index, num_nodes = as_graph(data)
        start = time.perf_counter()
        raw = self._detect(edge_index, num_nodes)
        labels = relabel_communities(torch.as_tensor(np.asarray(raw), dtype=torch.long))
        labels = check_communities(labels, num_nodes, f'{type(self).__name__} output')
        self.fit_seconds_ = time.perf_counter() - start
        self.labels_ = labels
        self.num_communities_ = int(labels.max()) + 1 if labels.numel() else 0
        resolution = float(getattr(self, 'resolution', 1.0))
        self.modularity_ = modularity((edge_index, num_nodes), labels, resolution=resolution)
        logger.info('%s: %d communities, modularity %.4f, %.2fs', self.name,
                    self.num_communities_, self.modularity_, self.fit_seconds_)
        return self

    def _check_resolution(self) -> None:
        """The resolution :math:`\\gamma` is a number > 0 (``resolution='abc'`` died in a float
        conversion deep in python-louvain; ``-1`` quietly returned one community)."""
        from gcl.config import as_number

        gamma = as_number(self.resolution)
        if gamma is None or not 0 < gamma < float('inf'):
            raise GCLConfigError(f'{type(self).__name__}: resolution must be a number > 0, got '
                                 f'{self.resolution!r}')

    def fit_predict(self, data: GraphLike) -> Tensor:
        """``fit(data).labels_``: community ids, LongTensor ``[N]``."""
        return self.fit(data).labels_

    @classmethod
    def _param_names(cls) -> list[str]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name != 'self' and p.kind not in
                (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as sklearn's ``get_params`` (for configs and records)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> CommunityDetector:
        """Set constructor arguments by name; unknown names raise ``GCLConfigError``."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise GCLConfigError(f'{type(self).__name__} has no parameter {key!r}; valid: '
                                     f'{", ".join(valid)}')
            setattr(self, key, value)
        return self

    def __getattr__(self, item: str) -> Any:
        # only called when normal lookup fails: a fitted attribute before fit
        if item in type(self)._fitted_attributes:
            raise NotFittedError(f'this {type(self).__name__} is not fitted yet; call '
                                 f'.fit(data) before reading {item}')
        raise AttributeError(f'{type(self).__name__!r} object has no attribute {item!r}')

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.get_params().items())
        return f'{type(self).__name__}({args})'
