r"""Sparse node features for the encoder's first layer, with feature masking on the weights.

Bag-of-words features are about 1% non-zero (Cora 1.3%, CiteSeer 0.85%, Coauthor-CS 0.88%), yet
a dense first layer multiplies every zero: on Coauthor-CS with gCooL's 7,105-wide first layer
that is an ``18,333 x 6,805 x 7,105`` product per view, forward and again backward. Column
feature masking (GRACE, GCA, CSGCL's CAV, gCooL: one keep-mask ``m [F]`` shared by all nodes)
commutes with the first linear map,

.. math:: (X \operatorname{diag}(m)) W^\top = X (\operatorname{diag}(m) W^\top),

so a view never needs its masked copy of ``X``: the mask zeroes rows of ``W^T`` and the sparse
``X`` is multiplied once (CSR SpMM, ``nnz x C`` work). The backward pass needs only
``dW^T = X^T dY`` (features take no gradient), read from a CSR copy of ``X^T`` built once, so no
sparse transpose is sorted per step.

The SpMMs run over column tiles of the dense operand: a whole ``[F, C]`` weight matrix (193 MB
on CS) does not fit in cache and every non-zero would fetch a row of it from memory; a tile of
256 columns does (CS at C = 7,105, one thread here: forward 6.8 s untiled, 2.5-2.7 s tiled).
The tile width follows the operand's row count (:func:`~gcl.kernels.propagate.column_tile`,
at most 8 MiB per tile): the backward's gradient operand has ``N`` rows, not ``F``, so on CS
it is tiled 64 columns wide while the forward keeps 256.

PyG and torch have the pieces (``to_sparse_csr``, ``torch.sparse.mm``) but not the masked first
layer, which is why this module exists. ``benchmarks/bench_sparse_features.py`` measures it.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from gcl.errors import GCLConfigError
from gcl.kernels.propagate import _SpMM, column_tile

__all__ = ['SparseFeatures', 'sparse_features_pay_off', 'AUTO_MAX_DENSITY']

# 'auto' keeps features sparse at or below this density. Measured on one CPU thread (first
# layer forward + weight gradient): 7.6x faster at Cora's 1.3%, 12.4x at CiteSeer's 0.85%, but
# 3.6x slower at Amazon-Photo's 35% (benchmarks/SPARSE_FEATURES.md).
AUTO_MAX_DENSITY = 0.05


def _to_csr(x: Tensor) -> Tensor:
    with warnings.catch_warnings():   # "sparse CSR tensor support is in beta state"
        warnings.simplefilter('ignore', UserWarning)
        return x.to_sparse_csr()


class SparseFeatures:
    """Node features ``X [N, F]`` held as CSR (and its transpose), with an optional column
    keep-mask ``[F]``; :class:`~gcl.encoders.GCNEncoder` reads it in its first layer as
    ``X @ (diag(keep) W^T)``.

    Build it once per graph with :meth:`from_dense`; each view calls :meth:`masked`, which shares
    the matrices and only records the mask. :meth:`to_dense` gives the masked dense features
    (what the dense path computes), for checks.

    Shapes:
        - ``matrix``: CSR ``[N, F]``; ``transposed``: CSR ``[F, N]``; ``keep``: bool ``[F]``
    """

    def __init__(self, matrix: Tensor, transposed: Tensor, keep: Tensor | None = None) -> None:
        if matrix.layout != torch.sparse_csr or transposed.layout != torch.sparse_csr:
            raise GCLConfigError('SparseFeatures needs CSR matrices; use SparseFeatures.from_dense')
        if tuple(transposed.shape) != tuple(matrix.shape)[::-1]:
            raise GCLConfigError(f'transposed has shape {list(transposed.shape)}, expected '
                                 f'{list(matrix.shape)[::-1]}')
        if keep is not None and tuple(keep.shape) != (matrix.size(1),):
            raise GCLConfigError(f'keep must have shape [{matrix.size(1)}], got {list(keep.shape)}')
        self.matrix, self.transposed, self.keep = matrix, transposed, keep

    @classmethod
    def from_dense(cls, x: Tensor) -> SparseFeatures:
        """CSR copies of ``x [N, F]`` and ``x^T``."""
        if x.dim() != 2:
            raise GCLConfigError(f'node features must be [N, F], got shape {list(x.shape)}')
        x = x.detach()
        return cls(_to_csr(x), _to_csr(x.t().contiguous()))

    def masked(self, keep: Tensor) -> SparseFeatures:
        """The same features with columns where ``keep [F]`` is false zeroed (lazily)."""
        return SparseFeatures(self.matrix, self.transposed, keep.to(self.device))

    # ------------------------------------------------------------------ tensor-like facts
    @property
    def shape(self) -> torch.Size:
        return self.matrix.shape

    def size(self, dim: int | None = None) -> Any:
        return self.matrix.shape if dim is None else self.matrix.shape[dim]

    @property
    def device(self) -> torch.device:
        return self.matrix.device

    @property
    def dtype(self) -> torch.dtype:
        return self.matrix.dtype

    @property
    def density(self) -> float:
        """Share of non-zero entries."""
        n, f = self.shape
        return self.matrix.values().numel() / max(1, n * f)

    # ------------------------------------------------------------------ products
    def linear(self, weight: Tensor) -> Tensor:
        """``X diag(keep) W^T`` for an ``nn.Linear`` weight ``[C, F]``: ``[N, C]``,
        differentiable in ``weight``."""
        w = weight.t()                                                # [F, C]
        if self.keep is not None:
            w = w * self.keep.to(w.dtype).unsqueeze(1)
        matrix, transposed = self.matrix, self.transposed
        if matrix.dtype != w.dtype:
            matrix, transposed = matrix.to(w.dtype), transposed.to(w.dtype)
        size = w.element_size()                     # tiles: X [N, F] reads W^T [F, C] forward,
        return _SpMM.apply(w, matrix, transposed,   # X^T [F, N] reads dY [N, C] backward
                           column_tile(matrix.size(1), size), column_tile(transposed.size(1), size))

    def to_dense(self) -> Tensor:
        """The masked features as a dense ``[N, F]`` tensor."""
        x = self.matrix.to_dense()
        return x if self.keep is None else x * self.keep.to(x.dtype)

    def __repr__(self) -> str:
        kept = 'all' if self.keep is None else int(self.keep.sum())
        return (f'SparseFeatures(shape={list(self.shape)}, density={self.density:.4f}, '
                f'kept_columns={kept})')


def sparse_features_pay_off(x: Tensor, setting: bool | str) -> bool:
    """Whether the first layer should read ``x`` sparse, for ``data.sparse_input`` =
    ``'auto'`` (density at most :data:`AUTO_MAX_DENSITY`), ``true`` or ``false``."""
    if isinstance(setting, str):
        key = setting.lower()
        if key == 'auto':
            if x.dim() != 2 or x.numel() == 0:
                return False
            return float((x != 0).sum()) / x.numel() <= AUTO_MAX_DENSITY
        if key in ('true', 'false'):
            return key == 'true'
        raise GCLConfigError(f"data.sparse_input must be 'auto', true or false, got {setting!r}")
    return bool(setting)
