r"""Sampled-negative InfoNCE denominators: an **approximation**, :math:`O(NK)` time.

Instead of all ``N - 1`` inter-view (and intra-view) negatives, every anchor is contrasted with
``K`` candidates drawn **uniformly without replacement** from all ``N`` nodes, shared by all
anchors of the call (one draw per loss evaluation, as in-batch negatives). The positive is kept
exactly. A sampled candidate equal to the anchor is dropped, and the sum over the sample is scaled
by ``N / K``:

.. math::
    \hat{Z}_i = e^{s_{ii}/\tau} + \frac{N}{K}\sum_{k:\, j_k \neq i} \omega_{j_k}
        \left(e^{u_i^\top v_{j_k}/\tau} + e^{u_i^\top u_{j_k}/\tau}\right)

What is unbiased and what is not:

- :math:`\hat{Z}_i` is an **unbiased** estimator of the exact denominator :math:`Z_i` (each node
  is in the sample with probability ``K / N``), for every anchor, with or without weights.
- The loss uses :math:`\log \hat{Z}_i`, which is biased **downwards** (Jensen:
  :math:`E[\log \hat{Z}_i] \le \log Z_i`); the bias shrinks as ``K`` grows and vanishes at
  ``K = N``, where the sample is every node and the value is exact. Its gradient is likewise
  a biased estimate of the exact gradient.

Memory is :math:`O(BK + ND)`: anchors go in row blocks, each block under
:func:`torch.utils.checkpoint.checkpoint`, so its ``[B, K]`` logits are recomputed in backward.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from gcl.errors import GCLDataError
from gcl.kernels.dense import pair_log_weights

__all__ = ['sample_negatives', 'sampled_log_denominators']


def sample_negatives(num_nodes: int, num_negatives: int, *, device: torch.device | None = None,
                     generator: torch.Generator | None = None) -> Tensor:
    """``K`` distinct node ids drawn uniformly (``torch.randperm``), ``K = min(K, N)``.

    Shapes:
        - **output:** ``[K]`` (long)
    """
    k = min(int(num_negatives), num_nodes)
    return torch.randperm(num_nodes, generator=generator, device=device)[:k]


def _block_lse(anchor: Tensor, pos: Tensor, cand_other: Tensor, cand_same: Tensor,
               cand_lw: Tensor | None, anchor_ids: Tensor, cand_ids: Tensor,
               anchor_groups: Tensor | None, cand_groups: Tensor | None, inv_tau: float,
               log_scale: float, intra_view: bool, include_positive: bool) -> Tensor:
    """Log of the sampled denominator for one block of anchors, ``[B]``."""
    logits = anchor @ cand_other.T * inv_tau + log_scale               # [B, K]
    if cand_lw is not None:
        logits = logits + cand_lw
    pair = None
    if anchor_groups is not None:
        pair = pair_log_weights(anchor_groups, cand_groups, anchor.dtype)   # [B, K]
        logits = logits + pair
    is_self = anchor_ids.unsqueeze(1) == cand_ids.unsqueeze(0)            # [B, K]
    logits = logits.masked_fill(is_self, float('-inf'))
    parts = [logits]
    if intra_view:
        refl = anchor @ cand_same.T * inv_tau + log_scale                 # [B, K]
        if cand_lw is not None:
            refl = refl + cand_lw
        if pair is not None:
            refl = refl + pair
        parts.append(refl.masked_fill(is_self, float('-inf')))
    if include_positive:
        parts.append(pos.unsqueeze(1))
    return torch.logsumexp(torch.cat(parts, dim=1), dim=1)


def _block_lse_shifted(anchor: Tensor, pos: Tensor, cand_other: Tensor, cand_same: Tensor,
                       cand_omega: Tensor | None, anchor_slot: Tensor,
                       anchor_groups: Tensor | None, cand_groups: Tensor | None,
                       inv_tau: float, scale: float, shift: float, intra_view: bool,
                       include_positive: bool) -> Tensor:
    """:func:`_block_lse` with a fixed shift (no ``cat`` / ``logsumexp``): ``exp(logit - c)``
    is at most 1 when ``c`` bounds the logits, so sums cannot overflow; ``[B]``.

    ``anchor_slot[b]`` is the position of anchor ``b`` in the sample (``-1``: not sampled); the
    few anchors that drew themselves get their own term subtracted instead of masking ``[B, K]``.
    """
    pair = (pair_log_weights(anchor_groups, cand_groups, anchor.dtype).exp_()
            if anchor_groups is not None else None)                        # [B, K] counts
    hit = (anchor_slot >= 0).nonzero().squeeze(1)                          # [H], H <= K
    slot = anchor_slot[hit]

    def summed(cand: Tensor) -> Tensor:
        e = torch.mm(anchor, cand.T).mul_(inv_tau).sub_(shift).exp_()     # [B, K]
        if pair is not None:
            e = e * pair
        total = e @ cand_omega if cand_omega is not None else e.sum(dim=1)
        if hit.numel():
            own = e[hit, slot]
            if cand_omega is not None:
                own = own * cand_omega[slot]
            total = total.index_add(0, hit, -own)
        return total

    total = summed(cand_other)
    if intra_view:
        total = total + summed(cand_same)
    total = total * scale
    if include_positive:
        total = total + torch.exp(pos - shift)
    return torch.log(total) + shift


def sampled_log_denominators(u: Tensor, v: Tensor, tau: float, num_negatives: int, *,
                             intra_view: bool = True, symmetric: bool = True,
                             positive_in_denominator: bool = True,
                             log_weights: Tensor | None = None, groups: Tensor | None = None,
                             block_size: int = 65536, generator: torch.Generator | None = None,
                             negatives: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
    r"""Log of :math:`\hat Z_i` (module docstring) for every anchor, one or both directions.

    Same switches and meaning as :func:`gcl.kernels.dense.dense_log_denominators`; the
    positive's logit (with its candidate weight, and MEOW's :math:`w_{ii} = 0` when ``groups`` is
    given) is exact. ``negatives`` fixes the sample (``[K]`` distinct ids) instead of drawing one
    with ``generator``.

    Shapes:
        - **input:** ``u, v [N, D]``; **output:** ``lse1 [N]``, ``lse2 [N]`` or ``None``
    """
    n = u.size(0)
    if n < 2:
        raise GCLDataError(f'a contrastive loss needs at least 2 nodes, got {n}')
    if negatives is None:
        if num_negatives is None or int(num_negatives) < 1:
            raise GCLDataError(f'num_negatives must be a positive integer, got {num_negatives!r}')
        negatives = sample_negatives(n, int(num_negatives), device=u.device, generator=generator)
    k = negatives.numel()
    inv_tau = 1.0 / tau
    log_scale = math.log(n / k)
    lw = log_weights.to(u.dtype) if log_weights is not None else None
    cand_lw = lw[negatives] if lw is not None else None
    cand_groups = groups[:, negatives] if groups is not None else None
    pos = (u * v).sum(dim=1) * inv_tau                                    # [N]
    if lw is not None:
        pos = pos + lw
    if groups is not None:
        pos = torch.full_like(pos, float('-inf'))     # w_ii = 0: MEOW drops the positive
    ids = torch.arange(n, device=u.device)
    recompute = torch.is_grad_enabled() and (u.requires_grad or v.requires_grad)

    shift = _shift(u, v, lw, groups, tau)
    if shift is not None:
        lw_max = float(lw.detach().max()) if lw is not None else 0.0
        cand_omega = torch.exp(cand_lw - lw_max) if cand_lw is not None else None
        shift_pos = pos - lw_max if lw is not None else pos
        slots = torch.full((n,), -1, dtype=torch.long, device=u.device)
        slots[negatives] = torch.arange(k, device=u.device)

    def direction(anchor: Tensor, other: Tensor) -> Tensor:
        cand_other, cand_same = other[negatives], anchor[negatives]      # [K, D]
        out = []
        for start in range(0, n, block_size):
            rows = slice(start, min(start + block_size, n))
            block_groups = groups[:, rows] if groups is not None else None
            if shift is not None:
                fn = _block_lse_shifted
                args = (anchor[rows], shift_pos[rows], cand_other, cand_same, cand_omega,
                        slots[rows], block_groups, cand_groups, inv_tau, n / k, shift,
                        intra_view, positive_in_denominator)
            else:
                fn = _block_lse
                args = (anchor[rows], pos[rows], cand_other, cand_same, cand_lw, ids[rows],
                        negatives, block_groups, cand_groups, inv_tau, log_scale, intra_view,
                        positive_in_denominator)
            out.append(checkpoint(fn, *args, use_reentrant=False) if recompute else fn(*args))
        lse = torch.cat(out)
        return lse + lw_max if shift is not None and lw is not None else lse

    lse1 = direction(u, v)
    lse2 = direction(v, u) if symmetric else None
    return lse1, lse2


def _shift(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None, tau: float
           ) -> float | None:
    """A bound on every logit when the spread is small enough for one ``exp`` (else ``None``);
    the same rule as the blockwise kernel's fixed shift."""
    from gcl.kernels.blockwise import _fixed_shift

    return _fixed_shift(u, v, lw, groups, tau)
