"""Contrastive kernels that never build ``N x N`` (ALGORITHMS.md §0.2, §5, §6, §8.1).

- :func:`contrastive_loss`: the InfoNCE family (GRACE, Team-up, DCL/DCLW, MEOW) with one switch,
  ``mode='auto' | 'dense' | 'blockwise' | 'sampled'``;
- :func:`blockwise_log_denominators`: exact, row blocks, custom autograd that keeps the ``exp``
  blocks for backward in a reusable buffer while they fit (:mod:`gcl.kernels.exp_cache`) and
  recomputes them otherwise;
- :func:`dense_log_denominators`: the ``[N, N]`` reference;
- :func:`sampled_log_denominators`: ``K`` shared uniform negatives (an approximation);
- :func:`segment_sum` / :func:`prototypes`: scatter kernels for meta-nodes and communities;
- :func:`gcn_csr_adjacency` / :func:`csr_propagate`: GCN propagation by CSR SpMM;
- :class:`SparseFeatures`: sparse node features with the view's column mask on the weights.
- :mod:`gcl.kernels.gemm`: the CPU products (kernels, encoder layers) through numpy's OpenBLAS where
  torch's MKL is slow (single-threaded, AMD CPUs; ``GCL_CPU_GEMM``).
"""

from gcl.kernels.auto import (
    DENSE_MAX_NODES,
    MODES,
    available_memory,
    choose_mode,
    contrastive_loss,
    dense_peak_bytes,
)
from gcl.kernels.blockwise import (
    BlockwiseLogDenominators,
    blockwise_log_denominators,
    default_block_size,
)
from gcl.kernels.dense import dense_log_denominators, pair_log_weights
from gcl.kernels.propagate import (
    CachedAdjacency,
    GCNAdjacency,
    csr_propagate,
    gcn_adjacency,
    gcn_csr_adjacency,
)
from gcl.kernels.sampled import sample_negatives, sampled_log_denominators
from gcl.kernels.segment import (
    has_torch_scatter,
    prototype_similarity,
    prototypes,
    segment_count,
    segment_mean,
    segment_reduce,
    segment_sum,
)
from gcl.kernels.sparse_features import SparseFeatures

__all__ = [
    'MODES',
    'DENSE_MAX_NODES',
    'contrastive_loss',
    'choose_mode',
    'available_memory',
    'dense_peak_bytes',
    'dense_log_denominators',
    'pair_log_weights',
    'BlockwiseLogDenominators',
    'blockwise_log_denominators',
    'default_block_size',
    'sample_negatives',
    'sampled_log_denominators',
    'segment_reduce',
    'segment_sum',
    'segment_mean',
    'segment_count',
    'prototypes',
    'prototype_similarity',
    'has_torch_scatter',
    'gcn_csr_adjacency',
    'gcn_adjacency',
    'GCNAdjacency',
    'csr_propagate',
    'CachedAdjacency',
    'SparseFeatures',
]
