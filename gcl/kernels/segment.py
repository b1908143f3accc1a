r"""Scatter / segment sums for community- and meta-node-shaped quantities, :math:`O(ND + K^2D)`.

Meta-node sums (PamC, ALGORITHMS.md §5.2), community prototypes (gCooL's ReSC, §3.2d) and the
``K x K`` similarities between them never need an ``[N, N]`` or dense ``[N, K]`` one-hot matrix:
one scatter over the ``[N, D]`` rows gives the ``[K, D]`` sums. The default backend is
:func:`torch_geometric.utils.scatter`; ``torch_scatter`` is used when it is importable (same
numbers: both sum the same rows; tested in ``tests/kernels/test_segment.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.errors import GCLConfigError, GCLDataError

__all__ = ['segment_reduce', 'segment_sum', 'segment_mean', 'segment_count', 'prototypes',
           'prototype_similarity', 'has_torch_scatter']

_BACKENDS = ('auto', 'pyg', 'torch_scatter')


def has_torch_scatter() -> bool:
    """Whether the optional ``torch_scatter`` package can be imported."""
    try:
        import torch_scatter  # noqa: F401
    except ImportError:
        return False
    return True


def segment_reduce(src: Tensor, index: Tensor, num_segments: int, reduce: str = 'sum',
                   backend: str = 'auto') -> Tensor:
    """Reduce the rows of ``src`` that share a segment id: ``out[k] = reduce(src[index == k])``.

    Empty segments give zeros. ``backend``: ``'auto'`` (torch_scatter when importable, else PyG),
    ``'pyg'`` (:func:`torch_geometric.utils.scatter`) or ``'torch_scatter'``.

    Shapes:
        - **input:** ``src [N, ...]``, ``index [N]`` (long, values in ``[0, K)``)
        - **output:** ``[K, ...]``
    """
    if backend not in _BACKENDS:
        raise GCLConfigError(f'unknown scatter backend {backend!r}; choose one of '
                             f'{", ".join(_BACKENDS)}')
    if index.dim() != 1 or index.numel() != src.size(0):
        raise GCLDataError(f'index must be [N] = [{src.size(0)}] segment ids, got '
                           f'{list(index.shape)}')
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_segments):
        raise GCLDataError(f'segment ids must lie in 0..{num_segments - 1}, got '
                           f'{int(index.min())}..{int(index.max())}')
    use_ts = backend == 'torch_scatter' or (backend == 'auto' and has_torch_scatter())
    if use_ts:
        try:
            import torch_scatter
        except ImportError as exc:
            raise GCLConfigError("backend='torch_scatter' needs the torch-scatter package "
                                 "(pip install gcl-toolkit[scatter]); or use backend='pyg'"
                                 ) from exc
        return torch_scatter.scatter(src, index, dim=0, dim_size=num_segments, reduce=reduce)
    from torch_geometric.utils import scatter

    return scatter(src, index, dim=0, dim_size=num_segments, reduce=reduce)


def segment_sum(src: Tensor, index: Tensor, num_segments: int, backend: str = 'auto') -> Tensor:
    """``out[k] = sum(src[index == k])`` (PamC's meta-nodes); ``[K, D]``."""
    return segment_reduce(src, index, num_segments, 'sum', backend)


def segment_mean(src: Tensor, index: Tensor, num_segments: int, backend: str = 'auto') -> Tensor:
    """``out[k] = mean(src[index == k])``, zeros for an empty segment (gCooL's prototypes)."""
    return segment_reduce(src, index, num_segments, 'mean', backend)


def segment_count(index: Tensor, num_segments: int) -> Tensor:
    """Members per segment, ``[K]`` (long)."""
    return torch.bincount(index, minlength=num_segments)


def prototypes(h: Tensor, communities: Tensor, num_communities: int | None = None,
               reduce: str = 'mean', backend: str = 'auto') -> Tensor:
    """Community prototypes: the ``reduce`` (``'mean'`` or ``'sum'``) of the members' rows.

    Shapes:
        - **input:** ``h [N, D]``, ``communities [N]``; **output:** ``[K, D]``
    """
    k = int(num_communities) if num_communities is not None else int(communities.max()) + 1
    return segment_reduce(h, communities, k, reduce, backend)


def prototype_similarity(centres: Tensor, eps: float = 1e-12) -> Tensor:
    r"""Cosine similarities between prototypes, ``[K, K]``; a zero prototype (empty community)
    gets similarity 0 to everything instead of 0/0 = NaN (ALGORITHMS.md §5.6, trap 2).

    Shapes:
        - **input:** ``[K, D]``; **output:** ``[K, K]``
    """
    unit = F.normalize(centres, dim=-1, eps=eps)
    return unit @ unit.T
