"""Functional augmentations in ``torch_geometric.utils`` style: each returns ``(result, mask)``.

Uniform edge dropping is PyG's :func:`~torch_geometric.utils.dropout_edge` and is not repeated
here. What PyG lacks is written here: column (feature-dimension) masking with a per-column
probability, and edge dropping with a per-edge probability -- the primitives that GCA's adaptive
views and CSGCL's communal views are built from.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gcl.errors import GCLDataError

__all__ = ['drop_feature', 'drop_feature_weighted', 'drop_edge_weighted', 'feature_keep_mask',
           'feature_keep_mask_weighted']


def _check_p(p: float, name: str = 'p') -> None:
    if not 0.0 <= p <= 1.0:
        raise GCLDataError(f'{name} must be a probability in [0, 1], got {p}')


def feature_keep_mask(num_features: int, p: float, device: torch.device | str | None = None,
                      generator: torch.Generator | None = None) -> Tensor:
    """The keep-mask of GRACE's column masking: column ``j`` is kept with probability ``1 - p``.

    The mask alone, for encoders that apply it to the first weight matrix instead of the
    features (:class:`gcl.kernels.sparse_features.SparseFeatures`); it draws exactly what
    :func:`drop_feature` draws, so both paths see the same views under one seed.

    Shapes:
        -> keep ``[F]`` bool
    """
    _check_p(p)
    return torch.rand(num_features, device=device, generator=generator) >= p


def feature_keep_mask_weighted(p_feat: Tensor, generator: torch.Generator | None = None
                               ) -> Tensor:
    """The keep-mask of :func:`drop_feature_weighted`: column ``j`` kept with probability
    ``1 - p_feat[j]``.

    Shapes:
        p_feat: ``[F]`` -> keep ``[F]`` bool
    """
    if p_feat.dim() != 1:
        raise GCLDataError(f'p_feat must be a vector [F], got shape {list(p_feat.shape)}')
    return torch.rand(p_feat.numel(), device=p_feat.device, generator=generator) >= p_feat


def drop_feature(x: Tensor, p: float, generator: torch.Generator | None = None
                 ) -> tuple[Tensor, Tensor]:
    """Zero whole feature columns, each independently with probability ``p``.

    GRACE's feature masking (ALGORITHMS.md §0.3): one Bernoulli draw per column, shared by all
    nodes. Equivalent to ``mask_feature(x, p, mode='col')`` in PyG, with the keep-mask returned
    and an optional generator.

    Shapes:
        x: ``[N, F]`` -> ``([N, F], keep [F] bool)``
    """
    keep = feature_keep_mask(x.size(1), p, x.device, generator)
    return x * keep.to(x.dtype), keep


def drop_feature_weighted(x: Tensor, p_feat: Tensor, generator: torch.Generator | None = None
                          ) -> tuple[Tensor, Tensor]:
    """Zero column ``j`` for all nodes with probability ``p_feat[j]`` (GCA §0.4, CSGCL CAV §4.3).

    Shapes:
        x: ``[N, F]``, p_feat: ``[F]`` -> ``([N, F], keep [F] bool)``
    """
    if p_feat.shape != (x.size(1),):
        raise GCLDataError(f'p_feat must have shape [{x.size(1)}], got {list(p_feat.shape)}')
    keep = feature_keep_mask_weighted(p_feat.to(x.device), generator)
    return x * keep.to(x.dtype), keep


def drop_edge_weighted(edge_index: Tensor, p_edge: Tensor,
                       generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Drop each directed entry ``e`` of ``edge_index`` with its own probability ``p_edge[e]``.

    Used by GCA (§0.4) and CSGCL's CED (§4.2), which draw independently per directed entry, as
    the official code does (a view may keep ``u->v`` and drop ``v->u``).

    Shapes:
        edge_index: ``[2, E]``, p_edge: ``[E]`` -> ``([2, E'], keep [E] bool)``
    """
    if p_edge.shape != (edge_index.size(1),):
        raise GCLDataError(f'p_edge must have shape [{edge_index.size(1)}], '
                           f'got {list(p_edge.shape)}')
    keep = torch.rand(edge_index.size(1), device=edge_index.device,
                      generator=generator) >= p_edge.to(edge_index.device)
    return edge_index[:, keep], keep
