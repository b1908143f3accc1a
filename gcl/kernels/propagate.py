r"""GCN propagation through a normalised sparse adjacency in CSR form (one SpMM per layer).

:class:`~torch_geometric.nn.GCNConv` normalises the graph in every layer (unless ``cached``) and
propagates by gathering one ``[E, C]`` message tensor and scattering it back: 10 GB of messages
for 10M edges and 256 channels. Here the normalised adjacency
:math:`\hat A = D^{-1/2}(A + I)D^{-1/2}` (PyG's :func:`gcn_norm`, so the same numbers) is built
once per graph as a ``torch.sparse_csr_tensor`` (:func:`torch_geometric.utils.to_torch_csr_tensor`)
and every layer is one :func:`torch.sparse.mm`, with no per-edge buffer; the transposed matrix
for the backward pass is built alongside (:func:`gcn_adjacency`). The un-augmented graph's
adjacency is cached (:class:`CachedAdjacency`); each augmented view builds its own.
Measured against ``GCNConv`` in ``benchmarks/bench_kernels.py``.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import Tensor

from gcl.utils.cache import TensorCache

__all__ = ['gcn_csr_adjacency', 'gcn_adjacency', 'GCNAdjacency', 'csr_propagate',
           'CachedAdjacency', 'column_tile', 'sparse_mm', 'TILE_BYTES']


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


class GCNAdjacency(NamedTuple):
    r"""The normalised adjacency in the two CSR orientations one GCN layer needs.

    ``forward`` is ``M`` (row ``i``: the edges ``j -> i``), ``backward`` is ``M^T`` (row ``j``:
    the edges ``j -> i``), so neither pass converts a transposed sparse matrix (which costs a
    sort of all edges in torch's own backward of ``sparse.mm``). ``self_weight`` ``[N]`` is the
    self-loop diagonal :math:`1/\hat d_i` kept out of the matrices, or ``None`` when the
    matrices include it.
    """

    forward: Tensor
    backward: Tensor
    self_weight: Tensor | None


def sparse_mm(matrix: Tensor, dense: Tensor) -> Tensor:
    """``matrix @ dense`` (CSR ``[A, B]`` times ``[B, C]``) into a new ``[A, C]`` tensor.

    On CPU :func:`torch.sparse.mm` zeroes a result, computes the product into a temporary and
    copies it over: for Coauthor-CS's ``[18333, 7105]`` propagation, 0.34 s of product and
    0.04-0.79 s of copying on a 2-core AMD EPYC, depending on whether the memory was fresh.
    ``torch.addmm`` with ``out=`` and ``beta=0`` writes the product in place and ignores the
    uninitialised ``out`` (no NaN from it propagates), with the same bits: 1.22-1.60x per
    propagation there, and half the transient memory (498 against 995 MB at that size;
    ``benchmarks/SPMM_OUT.md``). ``out=`` records no autograd graph, so with
    grad mode on and a ``dense`` that requires grad (double backward through
    :class:`_SpMM`), and off CPU, this is :func:`torch.sparse.mm` itself.
    """
    if (dense.device.type != 'cpu' or matrix.layout != torch.sparse_csr
            or (torch.is_grad_enabled() and dense.requires_grad)):   # out= is not differentiable
        return torch.sparse.mm(matrix, dense)
    out = dense.new_empty(matrix.size(0), dense.size(1))
    return torch.addmm(out, matrix, dense, beta=0, out=out)


def _spmm(matrix: Tensor, dense: Tensor, tile: int = 0) -> Tensor:
    """``matrix @ dense`` (CSR ``[A, B]`` times ``[B, C]``); with ``tile > 0``, ``tile`` columns
    of ``dense`` at a time (so each SpMM's dense operand fits in cache)."""
    if tile <= 0 or dense.size(1) <= tile:
        return sparse_mm(matrix, dense if tile <= 0 else dense.contiguous())
    return torch.cat([sparse_mm(matrix, dense[:, j:j + tile].contiguous())
                      for j in range(0, dense.size(1), tile)], dim=1)


#: a column tile of the dense SpMM operand is kept within this many bytes (see column_tile)
TILE_BYTES = 8 << 20
TILE_MIN, TILE_MAX = 16, 256


def column_tile(rows: int, itemsize: int = 4) -> int:
    """Columns per SpMM for a dense operand of ``rows`` rows: the largest power of two between
    16 and 256 whose ``[rows, tile]`` tile fits in :data:`TILE_BYTES` (8 MiB).

    Why: each non-zero of the CSR matrix reads one row of the current tile, in no particular
    order, so the whole ``[rows, tile]`` tile is the working set. Coauthor-CS's first layer
    reads a ``[6805, tile]`` weight tile forward but an ``[18333, tile]`` gradient tile backward;
    one fixed 256 made the backward tile 18.8 MB and its SpMM slower than at 64 columns (4.7 MB)
    on a 2-core AMD EPYC (``benchmarks/SPARSE_FEATURES.md``, part ``tiles``), while the
    forward's 7.0 MB tile of 256 columns stays as measured before. Graphs the size of Cora
    and CiteSeer keep 256 both ways. The result does not depend on the tile: each output
    column is computed alone, so every tiling gives the same bits
    (``tests/kernels/test_sparse_features.py``).
    """
    fit = TILE_BYTES // max(1, rows * itemsize)
    tile = TILE_MAX
    while tile > TILE_MIN and tile > fit:
        tile //= 2
    return tile


class _SpMM(torch.autograd.Function):
    """``M @ x`` with ``M^T @ grad`` in backward, both precomputed CSR matrices; ``tile`` and
    ``backward_tile`` as in :func:`_spmm` for each pass (0: one product)."""

    @staticmethod
    def forward(ctx, x: Tensor, matrix: Tensor, transposed: Tensor,  # noqa: ANN001
                tile: int = 0, backward_tile: int = 0) -> Tensor:
        ctx.transposed, ctx.tile = transposed, backward_tile
        return _spmm(matrix, x, tile)

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: ANN001, ANN205
        return _spmm(ctx.transposed, grad, ctx.tile), None, None, None, None


def _csr(crow_of: Tensor, col: Tensor, value: Tensor, num_nodes: int) -> Tensor:
    from torch_geometric.index import index2ptr

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        return torch.sparse_csr_tensor(index2ptr(crow_of, num_nodes), col, value,
                                       size=(num_nodes, num_nodes))


def gcn_adjacency(edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None, *,
                  dtype: torch.dtype = torch.float32) -> GCNAdjacency:
    r"""Both CSR orientations of ``GCNConv``'s normalised adjacency (self-loops, symmetric
    normalisation, ``flow='source_to_target'``).

    Fast path (no self-loops in ``edge_index`` and rows sorted, as in PyG's coalesced graphs and
    every ``dropout_edge`` view of them): :math:`M^T` is read off ``edge_index`` without a sort,
    :math:`M` takes one stable sort by target, and the added self-loops become the diagonal
    ``self_weight``. Otherwise PyG's :func:`gcn_norm` builds matrices that include them.
    """
    row, col = edge_index
    sorted_rows = row.numel() < 2 or bool((row[1:] >= row[:-1]).all())
    if sorted_rows and not bool((row == col).any()):
        weight = (edge_weight.to(dtype) if edge_weight is not None
                  else torch.ones(row.numel(), dtype=dtype, device=row.device))
        degree = torch.ones(num_nodes, dtype=dtype, device=row.device)     # the self-loop
        degree.index_add_(0, col, weight)
        inv_sqrt = degree.rsqrt()
        value = inv_sqrt[row] * weight * inv_sqrt[col]                      # [E]
        backward = _csr(row, col, value, num_nodes)                         # rows: sources
        order = torch.sort(col, stable=True).indices
        forward = _csr(col[order], row[order], value[order], num_nodes)     # rows: targets
        return GCNAdjacency(forward, backward, inv_sqrt * inv_sqrt)
    forward = gcn_csr_adjacency(edge_index, num_nodes, edge_weight, dtype=dtype)
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor

    index, value = gcn_norm(edge_index, edge_weight.to(dtype) if edge_weight is not None
                            else None, num_nodes, add_self_loops=True, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        backward = to_torch_csr_tensor(index, value, size=(num_nodes, num_nodes))
    return GCNAdjacency(forward, backward, None)


def csr_propagate(adjacency: Tensor | GCNAdjacency, x: Tensor) -> Tensor:
    """``adjacency @ x`` by :func:`torch.sparse.mm` (differentiable in ``x``).

    ``adjacency`` is a CSR matrix (torch's own backward) or a :class:`GCNAdjacency` (the
    precomputed transpose in backward, plus the self-loop diagonal).

    Shapes:
        - **input:** CSR ``[N, N]``, ``x [N, C]``; **output:** ``[N, C]``
    """
    if isinstance(adjacency, GCNAdjacency):
        out = _SpMM.apply(x, adjacency.forward.to(x.dtype), adjacency.backward.to(x.dtype))
        if adjacency.self_weight is not None:
            out = out + adjacency.self_weight.to(x.dtype).unsqueeze(1) * x
        return out
    if adjacency.dtype != x.dtype:
        adjacency = adjacency.to(x.dtype)
    return torch.sparse.mm(adjacency, x)


class CachedAdjacency:
    """Remembers the :class:`GCNAdjacency` of the last graph it saw.

    The key is the ``edge_index`` and edge-weight tensor objects themselves with their in-place
    version counters (:class:`gcl.utils.cache.TensorCache`: weak references, so a freed tensor
    whose memory is reused never matches), the node count, dtype and device. Augmented views (a
    new ``edge_index`` every call) simply rebuild. Copies and pickles keep the settings and start
    with an empty cache.
    """

    def __init__(self, add_self_loops: bool = True, improved: bool = False) -> None:
        self.add_self_loops = add_self_loops
        self.improved = improved
        self._cache: TensorCache[GCNAdjacency] = TensorCache()

    def __call__(self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None,
                 dtype: torch.dtype = torch.float32) -> GCNAdjacency:
        def compute() -> GCNAdjacency:
            if self.add_self_loops and not self.improved:
                return gcn_adjacency(edge_index, num_nodes, edge_weight, dtype=dtype)
            matrix = gcn_csr_adjacency(edge_index, num_nodes, edge_weight,
                                       add_self_loops=self.add_self_loops,
                                       improved=self.improved, dtype=dtype)
            return GCNAdjacency(matrix, matrix.t().to_sparse_csr(), None)

        return self._cache.get((edge_index, edge_weight), (num_nodes, dtype, edge_index.device),
                               compute)

    def clear(self) -> None:
        """Forget the cached adjacency."""
        self._cache.clear()
