"""Dense reference kernels: the whole ``[N, N]`` similarity matrices, plain autograd.

These are the readable definitions the fast kernels are tested against (ALGORITHMS.md §0.2,
§4.4, §6.1, §6.2), and the fastest path for small graphs. Memory is :math:`O(N^2)`: one float32
``[N, N]`` matrix is 1.34 GB for Coauthor-CS (N = 18,333).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gcl.kernels.gemm import loss_matmul

__all__ = ['dense_log_denominators', 'pair_log_weights']


def pair_log_weights(groups_rows: Tensor, groups_cols: Tensor,
                     dtype: torch.dtype = torch.float32) -> Tensor:
    r"""MEOW's pairwise weights in log space, :math:`\log w_{ij}` (ALGORITHMS.md §6.2).

    .. math::
        w_{ij} = \sum_{m=1}^{M} \mathbb{1}[c_m(i) \neq c_m(j)]

    counts the clusterings that separate ``i`` from ``j``; :math:`w_{ij} = 0` gives
    :math:`-\infty` (the candidate is dropped, e.g. a likely false negative).

    Shapes:
        - **input:** ``groups_rows [M, B]``, ``groups_cols [M, N]`` (cluster ids per clustering)
        - **output:** ``[B, N]``
    """
    counts = (groups_rows.unsqueeze(2) != groups_cols.unsqueeze(1)).sum(0)   # [B, N]
    return counts.to(dtype).log()


def dense_log_denominators(u: Tensor, v: Tensor, tau: float, *, intra_view: bool = True,
                           symmetric: bool = True, positive_in_denominator: bool = True,
                           log_weights: Tensor | None = None, groups: Tensor | None = None
                           ) -> tuple[Tensor, Tensor | None]:
    r"""Log-denominators of the (weighted) InfoNCE family, from dense ``[N, N]`` matrices.

    For anchor :math:`u_i` (``lse1``) the denominator is

    .. math::
        \sum_{j} \omega_j\, w_{ij}\, e^{u_i^\top v_j/\tau}
        + \sum_{j \neq i} \omega_j\, w_{ij}\, e^{u_i^\top u_j/\tau}

    with the :math:`j = i` inter-view term (the positive) dropped when
    ``positive_in_denominator=False`` (DCL, §6.1), the intra-view sum present only when
    ``intra_view`` (GRACE: yes, gCooL: no), :math:`\omega_j = e^{\text{log\_weights}_j}` the
    per-candidate weights (Team-up, §4.4) and :math:`w_{ij}` the pairwise cluster weights of
    :func:`pair_log_weights` when ``groups`` is given (MEOW, §6.2). ``lse2`` is the same with the
    views swapped (anchor :math:`v_i`), or ``None`` when ``symmetric=False``.

    ``u`` and ``v`` are used as given (normalise them first for cosine similarities).

    Shapes:
        - **input:** ``u, v [N, D]``, ``log_weights [N]``, ``groups [M, N]``
        - **output:** ``lse1 [N]``, ``lse2 [N]`` or ``None``
    """
    n = u.size(0)
    eye = torch.eye(n, dtype=torch.bool, device=u.device)
    pair = pair_log_weights(groups, groups, u.dtype) if groups is not None else None

    def one_direction(anchor: Tensor, other: Tensor) -> Tensor:
        between = loss_matmul(anchor, other.T) / tau       # [N, N]
        refl = loss_matmul(anchor, anchor.T) / tau         # [N, N]
        if log_weights is not None:
            between = between + log_weights
            refl = refl + log_weights
        if pair is not None:
            between = between + pair
            refl = refl + pair
        if not positive_in_denominator:
            between = between.masked_fill(eye, float('-inf'))
        parts = [between]
        if intra_view:
            parts.append(refl.masked_fill(eye, float('-inf')))
        return torch.logsumexp(torch.cat(parts, dim=1), dim=1)

    lse1 = one_direction(u, v)
    lse2 = one_direction(v, u) if symmetric else None
    return lse1, lse2
