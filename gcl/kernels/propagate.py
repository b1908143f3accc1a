r"""GCN propagation through a normalised sparse adjacency in CSR form (one SpMM per layer).

:class:`~torch_geometric.nn.GCNConv` normalises the graph in every layer (unless ``cached``) and
propagates by gathering one ``[E, C]`` message tensor and scattering it back: 10 GB of messages
for 10M edges and 256 channels. Here the normalised adjacency
:math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` (PyG's :func:`gcn_norm`, so the same numbers) is built
once per graph as a ``torch.sparse_csr_tensor`` (:func:`torch_geometric.utils.to_torch_csr_tensor`)
and every layer is one :func:`torch.sparse.mm`, with no per-edge buffer. The un-augmented graph's
adjacency is cached (:class:`CachedAdjacency`); each augmented view builds its own.
Measured against ``GCNConv`` in ``benchmarks/bench_kernels.py``.
"""

from __future__ import annotations

import warnings
import weakref

import torch
from torch import Tensor

__all__ = ['gcn_csr_adjacency', 'csr_propagate', 'CachedAdjacency']


def gcn_csr_adjacency(edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None, *,
                      add_self_loops: bool = True, improved: bool = False,
                      dtype: torch.dtype = torch.float32) -> Tensor:
    r"""The GCN-normalised adjacency as a CSR matrix ``M`` with ``GCNConv``'s propagation
    ``out = M @ x``: row ``i`` holds the normalised weights of the edges ``j -> i``.

    Shapes:
        - **input:** ``edge_index [2, E]``, ``edge_weight [E]``
        - **output:** sparse CSR ``[N, N]``
    """
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor

    if edge_weight is not None:
        edge_weight = edge_weight.to(dtype)
    index, weight = gcn_norm(edge_index, edge_weight, num_nodes, improved=improved,
                             add_self_loops=add_self_loops, flow='source_to_target', dtype=dtype)
    with warnings.catch_warnings():   # "sparse CSR support is in beta" / invariant checks
        warnings.simplefilter('ignore', UserWarning)
        return to_torch_csr_tensor(index.flip(0), weight, size=(num_nodes, num_nodes))


def csr_propagate(adjacency: Tensor, x: Tensor) -> Tensor:
    """``adjacency @ x`` by :func:`torch.sparse.mm` (differentiable in ``x``).

    Shapes:
        - **input:** CSR ``[N, N]``, ``x [N, C]``; **output:** ``[N, C]``
    """
    if adjacency.dtype != x.dtype:
        adjacency = adjacency.to(x.dtype)
    return torch.sparse.mm(adjacency, x)


class CachedAdjacency:
    """Remembers the CSR adjacency of the last graph it saw.

    The key is the ``edge_index`` tensor object itself (held by weak reference, so a freed tensor
    whose memory is reused never matches), its in-place version counter, the node count and the
    edge weights. Augmented views (a new ``edge_index`` every call) simply rebuild.
    """

    def __init__(self, add_self_loops: bool = True, improved: bool = False) -> None:
        self.add_self_loops = add_self_loops
        self.improved = improved
        self._key: tuple | None = None
        self._ref: weakref.ref | None = None
        self._weight_ref: weakref.ref | None = None
        self._value: Tensor | None = None

    def __call__(self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None,
                 dtype: torch.dtype = torch.float32) -> Tensor:
        key = (edge_index._version, num_nodes, dtype, edge_index.device,
               None if edge_weight is None else edge_weight._version)
        hit = (self._value is not None and self._key == key and self._ref is not None
               and self._ref() is edge_index
               and (edge_weight is None) == (self._weight_ref is None)
               and (edge_weight is None or self._weight_ref() is edge_weight))
        if hit:
            return self._value
        value = gcn_csr_adjacency(edge_index, num_nodes, edge_weight,
                                  add_self_loops=self.add_self_loops, improved=self.improved,
                                  dtype=dtype)
        self._key = key
        self._ref = weakref.ref(edge_index)
        self._weight_ref = weakref.ref(edge_weight) if edge_weight is not None else None
        self._value = value
        return value

    def __getstate__(self) -> dict:
        """Copies and pickles keep the settings, not the cached matrix (weak references
        cannot be copied)."""
        return {'add_self_loops': self.add_self_loops, 'improved': self.improved}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def clear(self) -> None:
        """Forget the cached adjacency."""
        self._key = self._ref = self._weight_ref = self._value = None
