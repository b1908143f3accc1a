r"""Exact InfoNCE denominators in row blocks, :math:`O(NB + ND)` memory (ALGORITHMS.md §0.2, §8.1).

GRACE's and PyGCL's losses build the ``[N, N]`` similarity matrices (four of them for the
symmetric loss with intra-view negatives) and let autograd keep them for the backward pass:
:math:`O(N^2)` memory, which runs out on PubMed / WikiCS-sized graphs. Here a custom
:class:`torch.autograd.Function` walks the anchors in blocks of ``B`` rows. The forward keeps only
the ``[N]`` log-denominators; the backward recomputes each ``[B, N]`` similarity block and turns it
into gradients at once. Peak memory is a few ``[B, N]`` blocks plus the ``[N, D]`` inputs and
gradients, whatever ``N`` is.

One similarity block serves both directions. The block :math:`S_R = u_R v^\top` gives the
inter-view logits of the anchors :math:`u_i, i \in R` (its rows) *and* the inter-view logits of
every anchor :math:`v_i` against the candidates :math:`u_j, j \in R` (its columns, i.e. the
transposed matrix the dense form computes separately); the column log-sum-exp is accumulated
online across blocks with a running maximum, as in flash attention. The intra-view matrices
:math:`u u^\top` and :math:`v v^\top` are symmetric: on the usual fixed-shift path each anchor
block meets only the columns from its own first row on (a triangular ``[B, N - start]`` block),
whose row sums serve the anchors ``R`` and whose column sums serve the later anchors, and the
symmetric gradient :math:`(Q + Q^\top)\,u` is formed from that block too. Counted in
``[N, N]``-sized products: forward 1 + 2 x 1/2, backward 3 + 2 x 3/2, so 8 against the 12 of the
dense autograd version (and 10 with full intra-view rows, the max-subtracting path).

While the ``exp`` blocks fit in a quarter of the free memory (up to Coauthor-CS's 18k nodes on a
24 GB machine), the fixed-shift forward writes them into a reusable buffer
(:mod:`gcl.kernels.exp_cache`) and the backward reads them instead of recomputing them: 6
products instead of 8, and half the ``exp`` passes. ``cache=False`` (or a larger graph) gives the
recomputing kernel; both give the same numbers.

On CPU the matrix products go through :mod:`gcl.kernels.gemm`, which hands them to numpy's
OpenBLAS where torch's MKL is slow (single-threaded on AMD CPUs: the ``[B, D] @ [D, N]``
similarity block ran twice as fast) and to :func:`torch.mm` otherwise.

Switches (§8.1): intra-view negatives on/off, symmetric or one-way, the positive in the
denominator or not (DCL), per-candidate weights :math:`\omega_j` (Team-up, as ``log_weights``),
pairwise cluster weights :math:`w_{ij}` (MEOW, as ``groups``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from gcl.errors import GCLDataError
from gcl.kernels.dense import pair_log_weights
from gcl.kernels.exp_cache import ExpLayout, claim_exp_cache, owned_exp_cache
from gcl.kernels.gemm import gemm_addmm_, gemm_mm

__all__ = ['BlockwiseLogDenominators', 'blockwise_log_denominators', 'default_block_size']

# The loss products, which may run in bfloat16 inside gcl.kernels.gemm.loss_precision('bfloat16')
_mm = functools.partial(gemm_mm, allow_bf16=True)
_addmm_ = functools.partial(gemm_addmm_, allow_bf16=True)

_BLOCK_ROWS = 256   # measured best on this 2-core CPU (benchmarks/KERNELS.md): blocks stay in cache


def default_block_size(num_nodes: int, dtype: torch.dtype = torch.float32) -> int:
    """Rows per block: 256 (at most ``N``).

    Small blocks keep each ``[B, N]`` block near the cache for the element-wise passes, and
    256 rows still multiply at full ``torch.mm`` speed, with fewer Python-level steps than 128
    at small N. On the quiet 2-core CPU (2026-12-01, 1 thread, full-row intra-view blocks) 128,
    256, 512 and 1024 rows were timed at N = 2,708 and 13,752: 256 was fastest at both (49.8
    and 48.4 GFLOP/s against 38.8 and 44.5 for 128); with 2 threads 512 was level with 256.
    Memory: a few ``[256, N]`` blocks (1 GB each at N = 1M in float32).
    """
    return int(max(1, min(num_nodes, _BLOCK_ROWS)))


def _logits(sim: Tensor, inv_tau: float, col_add: Tensor | None, row_add: Tensor | None,
            pair: Tensor | None, diag: tuple[Tensor, Tensor], mask_diag: bool) -> Tensor:
    """``sim / tau + col_add[None, :] + row_add[:, None] + pair``, diagonal set to -inf."""
    out = sim * inv_tau                                     # [B, N], a new tensor
    if col_add is not None:
        out += col_add
    if row_add is not None:
        out += row_add.unsqueeze(1)
    if pair is not None:
        out += pair
    if mask_diag:
        out[diag] = float('-inf')
    return out


class BlockwiseLogDenominators(torch.autograd.Function):
    r"""Exact log-denominators of the InfoNCE family, block by block, with the exp cache or
    recomputation.

    ``forward(u, v, log_weights, groups, tau, block_size, intra_view, symmetric,
    include_positive, cache) -> (lse1 [N], lse2 [N] or [0])``; the definition is
    :func:`gcl.kernels.dense.dense_log_denominators`. ``cache``: ``True`` keeps the ``exp``
    blocks for the backward (fixed-shift path), ``None`` does so when they fit
    (:func:`~gcl.kernels.exp_cache.claim_exp_cache`), ``False`` recomputes them. Not twice
    differentiable.
    """

    @staticmethod
    def forward(ctx, u: Tensor, v: Tensor, log_weights: Tensor | None,  # noqa: ANN001
                groups: Tensor | None, tau: float, block_size: int, intra_view: bool,
                symmetric: bool, include_positive: bool,
                cache: bool | None = None) -> tuple[Tensor, Tensor]:
        options = (tau, block_size, intra_view, symmetric, include_positive)
        shift = _fixed_shift(u, v, log_weights, groups, tau)
        ctx.cache = None
        if shift is None:
            lse1, lse2 = _forward_stable(u, v, log_weights, groups, *options)
        else:
            store = None
            if cache is not False:
                n = u.size(0)
                layout = ExpLayout(n, _block_starts(n, block_size, None), block_size,
                                   intra_view, symmetric)
                claimed = claim_exp_cache(layout.numel, u.device, u.dtype, force=bool(cache))
                if claimed is not None:
                    store = (claimed[0], layout)
                    ctx.cache = (claimed[1], layout)
            lse1, lse2 = _forward_shifted(u, v, log_weights, groups, shift, *options,
                                          store=store)
        ctx.save_for_backward(u, v, log_weights, groups, lse1, lse2)
        ctx.options = options
        ctx.shift = shift
        return lse1, lse2

    @staticmethod
    @once_differentiable
    def backward(ctx, grad1: Tensor | None, grad2: Tensor | None):  # noqa: ANN001, ANN205
        u, v, lw, groups, lse1, lse2 = ctx.saved_tensors
        need_lw = lw is not None and ctx.needs_input_grad[2]
        if ctx.shift is None:
            grads = _backward_stable(u, v, lw, groups, lse1, lse2, grad1, grad2, need_lw,
                                     *ctx.options)
        else:
            store = None
            if ctx.cache is not None:   # still ours unless a later forward took the buffer
                handle, layout = ctx.cache
                buffer = owned_exp_cache(handle)
                store = (buffer, layout) if buffer is not None else None
            grads = _backward_shifted(u, v, lw, groups, lse1, lse2, grad1, grad2, need_lw,
                                      ctx.shift, *ctx.options, store=store)
        return (*grads, None, None, None, None, None, None, None)


def _forward_stable(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None, tau: float,
                block_size: int, intra_view: bool, symmetric: bool,
                include_positive: bool) -> tuple[Tensor, Tensor]:
    """Log-denominators with exact per-row / running per-column maxima (any input scale)."""
    n = u.size(0)
    inv_tau = 1.0 / tau
    lse1 = u.new_empty(n)
    if symmetric:
        col_max = u.new_full((n,), torch.finfo(u.dtype).min)
        col_sum = u.new_zeros(n)
        intra2 = u.new_full((n,), float('-inf'))
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        rows = slice(start, stop)
        diag = (torch.arange(stop - start, device=u.device),
                torch.arange(start, stop, device=u.device))
        pair = (pair_log_weights(groups[:, rows], groups, u.dtype)
                if groups is not None else None)                     # [B, N]
        sim = _mm(u[rows], v.T)                                         # [B, N]
        x1 = _logits(sim, inv_tau, lw, None, pair, diag, not include_positive)
        l1 = torch.logsumexp(x1, dim=1)                              # [B]
        del x1
        if symmetric:   # the columns of the same block: anchors v_i, candidates u_j (j in R)
            x2 = _logits(sim, inv_tau, None, lw[rows] if lw is not None else None, pair,
                         diag, not include_positive)
            new_max = torch.maximum(col_max, x2.max(dim=0).values)
            col_sum.mul_(torch.exp(col_max - new_max))
            col_sum.add_(torch.exp(x2.sub_(new_max)).sum(dim=0))
            col_max = new_max
            del x2
        del sim
        if intra_view:
            refl = _mm(u[rows], u.T)                                    # [B, N]
            y1 = _logits(refl, inv_tau, lw, None, pair, diag, True)
            l1 = torch.logaddexp(l1, torch.logsumexp(y1, dim=1))
            del refl, y1
            if symmetric:
                refl2 = _mm(v[rows], v.T)                               # [B, N]
                y2 = _logits(refl2, inv_tau, lw, None, pair, diag, True)
                intra2[rows] = torch.logsumexp(y2, dim=1)
                del refl2, y2
        lse1[rows] = l1
    if symmetric:
        lse2 = torch.logaddexp(col_max + torch.log(col_sum), intra2)
    else:
        lse2 = u.new_empty(0)
    return lse1, lse2


def _backward_stable(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None,
                 lse1: Tensor, lse2: Tensor, grad1: Tensor | None, grad2: Tensor | None,
                 need_lw: bool, tau: float, block_size: int, intra_view: bool,
                 symmetric: bool, include_positive: bool
                 ) -> tuple[Tensor, Tensor, Tensor | None]:
    """Gradients for :func:`_forward_stable`: probabilities ``exp(logit - lse)``."""
    n = u.size(0)
    inv_tau = 1.0 / tau
    g1 = grad1 if grad1 is not None else u.new_zeros(n)
    use2 = symmetric and grad2 is not None and grad2.numel() == n
    g2 = grad2 if use2 else None
    grad_u = torch.zeros_like(u)
    grad_v = torch.zeros_like(v)
    grad_lw = torch.zeros_like(lw) if need_lw else None
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        rows = slice(start, stop)
        diag = (torch.arange(stop - start, device=u.device),
                torch.arange(start, stop, device=u.device))
        pair = (pair_log_weights(groups[:, rows], groups, u.dtype)
                if groups is not None else None)
        lw_rows = lw[rows] if lw is not None else None
        # inter-view: P (anchors u_R, rows) and M (anchors v_i, candidates u_R, columns)
        sim = _mm(u[rows], v.T)                                         # [B, N]
        weight = _logits(sim, inv_tau, lw, None, pair, diag, not include_positive)
        weight.sub_(lse1[rows].unsqueeze(1)).exp_().mul_(g1[rows].unsqueeze(1))   # P
        if need_lw:
            grad_lw += weight.sum(dim=0)
        if g2 is not None:
            m = _logits(sim, inv_tau, None, lw_rows, pair, diag, not include_positive)
            m.sub_(lse2).exp_().mul_(g2)                                          # M
            if need_lw:
                grad_lw[rows] += m.sum(dim=1)
            weight += m
            del m
        del sim
        _addmm_(grad_u[rows], weight, v, inv_tau)
        _addmm_(grad_v, weight.T, u[rows], inv_tau)
        del weight
        if intra_view:
            refl = _mm(u[rows], u.T)                                    # [B, N]
            q = _logits(refl, inv_tau, lw, None, pair, diag, True)
            q.sub_(lse1[rows].unsqueeze(1)).exp_().mul_(g1[rows].unsqueeze(1))   # Q_R
            if need_lw:
                grad_lw += q.sum(dim=0)
            qt = _logits(refl, inv_tau, None, lw_rows, pair, diag, True)
            q += qt.sub_(lse1).exp_().mul_(g1)                                   # + (Q^T)_R
            del refl, qt
            _addmm_(grad_u[rows], q, u, inv_tau)
            del q
            if g2 is not None:
                refl2 = _mm(v[rows], v.T)                               # [B, N]
                q2 = _logits(refl2, inv_tau, lw, None, pair, diag, True)
                q2.sub_(lse2[rows].unsqueeze(1)).exp_().mul_(g2[rows].unsqueeze(1))
                if need_lw:
                    grad_lw += q2.sum(dim=0)
                q2t = _logits(refl2, inv_tau, None, lw_rows, pair, diag, True)
                q2 += q2t.sub_(lse2).exp_().mul_(g2)
                del refl2, q2t
                _addmm_(grad_v[rows], q2, v, inv_tau)
                del q2
    return grad_u, grad_v, grad_lw


def _fixed_shift(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None,
                 tau: float) -> float | None:
    r"""An upper bound ``c`` of every logit (Cauchy-Schwarz), or ``None`` when the logits may
    spread over more than ``exp`` can represent (then the max-subtracting path is used).

    With the bound, ``exp(logit - c) <= 1`` never overflows and one ``exp`` pass per block
    serves both directions; for L2-normalised inputs the spread is ``2 / tau`` (+ the weights').
    """
    norm = max(float(u.detach().norm(dim=1).max()), float(v.detach().norm(dim=1).max()))
    upper = norm * norm / tau
    spread = 2.0 * upper
    if lw is not None:
        spread += float(lw.detach().max() - lw.detach().min())
    if groups is not None:
        spread += math.log(max(1, groups.size(0)))
    limit = 60.0 if u.dtype in (torch.float32, torch.float16, torch.bfloat16) else 600.0
    return upper if spread <= limit else None


def _exp_block(a: Tensor, b: Tensor, inv_tau: float, shift: float, pair: Tensor | None,
               diag: tuple[Tensor, Tensor], mask_diag: bool, out: Tensor | None = None) -> Tensor:
    """``exp(a @ b.T / tau - shift) * w``, diagonal zeroed when masked, ``[B, N]`` (written into
    ``out`` when given)."""
    out = _mm(a, b.T, out=out)
    out.mul_(inv_tau).sub_(shift).exp_()
    if pair is not None:
        out.mul_(pair)
    if mask_diag:
        out[diag] = 0.0
    return out


def _block_starts(n: int, block_size: int, starts: Sequence[int] | None) -> Sequence[int]:
    """All anchor-block starts, or the given subset (benchmarks time a sample of the blocks)."""
    return range(0, n, block_size) if starts is None else starts


Store = tuple[Tensor, ExpLayout]   # the exp-block buffer and where each block sits in it


def _stored_exp(store: Store | None, kind: str, start: int, a: Tensor, b: Tensor,
                inv_tau: float, shift: float, pair: Tensor | None, diag: tuple[Tensor, Tensor],
                mask_diag: bool, *, fill: bool) -> Tensor:
    """The ``exp`` block ``kind`` of anchor block ``start``: computed (into the buffer when
    ``fill``) or, in backward (``fill=False``), read back from ``store``."""
    if store is None:
        return _exp_block(a, b, inv_tau, shift, pair, diag, mask_diag)
    block = store[1].view(store[0], kind, start)
    if fill:
        _exp_block(a, b, inv_tau, shift, pair, diag, mask_diag, out=block)
    return block


def _forward_shifted(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None,
                     shift: float, tau: float, block_size: int, intra_view: bool,
                     symmetric: bool, include_positive: bool,
                     starts: Sequence[int] | None = None,
                     store: Store | None = None) -> tuple[Tensor, Tensor]:
    r"""Log-denominators with a fixed shift: row sums and column sums of one ``exp`` block.

    Intra-view blocks use the symmetry :math:`e_{ij} = e_{ji}`: block ``R`` meets only the
    columns from its own first row on (``[B, N - start]``, half the products on average); its
    row sums serve the anchors ``R``, its column sums beyond ``R`` serve the later anchors.

    ``starts`` (benchmarks only) processes just the anchor blocks that begin at those rows.
    ``store`` receives every ``exp`` block for :func:`_backward_shifted` (its layout must list
    the same starts).
    """
    n = u.size(0)
    inv_tau = 1.0 / tau
    offset = shift + (float(lw.max()) if lw is not None else 0.0)
    omega = torch.exp(lw - float(lw.max())) if lw is not None else None        # [N], <= 1
    z1 = u.new_zeros(n)
    z2 = u.new_zeros(n) if symmetric else None

    def add_triangle_sums(z: Tensor, e: Tensor, rows: slice) -> None:
        """Sums of a triangular intra-view block ``e`` = ``[B, N - start]``: its rows serve the
        anchors ``R``; its columns beyond the diagonal block serve the later anchors."""
        start, stop = rows.start, rows.stop
        z[rows] += e @ omega[start:] if omega is not None else e.sum(dim=1)
        if stop < n:
            tail = e[:, stop - start:]
            z[stop:] += omega[rows] @ tail if omega is not None else tail.sum(dim=0)

    for start in _block_starts(n, block_size, starts):
        stop = min(start + block_size, n)
        rows = slice(start, stop)
        diag = (torch.arange(stop - start, device=u.device),
                torch.arange(start, stop, device=u.device))
        local = (diag[0], diag[0])                         # the diagonal of a triangular block
        pair = (pair_log_weights(groups[:, rows], groups, u.dtype).exp_()
                if groups is not None else None)                             # [B, N] counts
        e = _stored_exp(store, 'inter', start, u[rows], v, inv_tau, shift, pair, diag,
                        not include_positive, fill=True)
        z1[rows] += e @ omega if omega is not None else e.sum(dim=1)
        if symmetric:
            z2 += omega[rows] @ e if omega is not None else e.sum(dim=0)
        del e
        if intra_view:
            pair_tri = pair[:, start:] if pair is not None else None
            e = _stored_exp(store, 'u', start, u[rows], u[start:], inv_tau, shift, pair_tri,
                            local, True, fill=True)
            add_triangle_sums(z1, e, rows)
            del e
            if symmetric:
                e = _stored_exp(store, 'v', start, v[rows], v[start:], inv_tau, shift,
                                pair_tri, local, True, fill=True)
                add_triangle_sums(z2, e, rows)
                del e
    lse1 = z1.log_().add_(offset)
    lse2 = z2.log_().add_(offset) if symmetric else u.new_empty(0)
    return lse1, lse2


def _backward_shifted(u: Tensor, v: Tensor, lw: Tensor | None, groups: Tensor | None,
                      lse1: Tensor, lse2: Tensor, grad1: Tensor | None, grad2: Tensor | None,
                      need_lw: bool, shift: float, tau: float, block_size: int,
                      intra_view: bool, symmetric: bool, include_positive: bool,
                      starts: Sequence[int] | None = None, store: Store | None = None
                      ) -> tuple[Tensor, Tensor, Tensor | None]:
    r"""Gradients for :func:`_forward_shifted`.

    With :math:`E = e^{S/\tau - c}`, :math:`a = g / Z` per anchor and candidate weights
    :math:`\omega`, the inter-view block's gradient matrix is
    :math:`G = E \circ (a_R\,\omega^\top + \omega_R\,a'^\top)` (rows: anchors :math:`u_R`;
    columns: anchors :math:`v_i` against candidates :math:`u_R`), and the intra-view one
    :math:`M = E \circ (a\,\omega^\top + \omega\,a^\top) = Q + Q^\top`, symmetric, so its
    triangular block :math:`M_{R,C}` (``C`` = the columns from ``start`` on) gives both
    :math:`M_{R,C}\,u_C` to the rows ``R`` and :math:`M_{R,C'}^\top u_R` to the later rows
    ``C'`` (beyond the diagonal block).

    ``store``: the forward's ``exp`` blocks, read instead of recomputed (never written to, so a
    second backward with ``retain_graph=True`` reads the same blocks).
    """
    n = u.size(0)
    inv_tau = 1.0 / tau
    offset = shift + (float(lw.max()) if lw is not None else 0.0)
    omega = torch.exp(lw - float(lw.max())) if lw is not None else None
    a1 = (grad1 * torch.exp(offset - lse1)) if grad1 is not None else u.new_zeros(n)   # g / Z
    use2 = symmetric and grad2 is not None and grad2.numel() == n
    a2 = grad2 * torch.exp(offset - lse2) if use2 else None
    grad_u = torch.zeros_like(u)
    grad_v = torch.zeros_like(v)
    grad_omega = torch.zeros_like(lw) if need_lw else None

    def coefficient(a_rows: Tensor, a_cols: Tensor | None, rows: slice,
                    first_col: int = 0) -> Tensor:
        """``a_R w_C^T + w_R a'_C^T`` ([B, N - first_col], C = the columns from
        ``first_col`` on); ``w = 1`` without candidate weights."""
        if omega is None:
            coef = a_rows.unsqueeze(1).expand(-1, n - first_col).clone()
            if a_cols is not None:
                coef += a_cols[first_col:]
            return coef
        coef = torch.outer(a_rows, omega[first_col:])
        if a_cols is not None:
            coef.addr_(omega[rows], a_cols[first_col:])
        return coef

    def intra(kind: str, x: Tensor, a: Tensor, grad_x: Tensor, rows: slice,
              pair_tri: Tensor | None, local: tuple[Tensor, Tensor]) -> None:
        """One triangular intra-view block of view ``x`` into ``grad_x`` (and ``grad_omega``)."""
        start, stop = rows.start, rows.stop
        e = _stored_exp(store, kind, start, x[rows], x[start:], inv_tau, shift, pair_tri,
                        local, True, fill=False)                          # [B, N - start]
        if need_lw:
            grad_omega[start:] += a[rows] @ e                  # anchors R, candidates C
            if stop < n:                                       # anchors C', candidates R
                grad_omega[rows] += e[:, stop - start:] @ a[stop:]
        m = coefficient(a[rows], a, rows, start).mul_(e)                # M_{R, C}
        del e
        _addmm_(grad_x[rows], m, x[start:], inv_tau)
        if stop < n:
            _addmm_(grad_x[stop:], m[:, stop - start:].T, x[rows], inv_tau)

    for start in _block_starts(n, block_size, starts):
        stop = min(start + block_size, n)
        rows = slice(start, stop)
        diag = (torch.arange(stop - start, device=u.device),
                torch.arange(start, stop, device=u.device))
        local = (diag[0], diag[0])
        pair = (pair_log_weights(groups[:, rows], groups, u.dtype).exp_()
                if groups is not None else None)
        e = _stored_exp(store, 'inter', start, u[rows], v, inv_tau, shift, pair, diag,
                        not include_positive, fill=False)
        if need_lw:
            grad_omega += a1[rows] @ e
            if a2 is not None:
                grad_omega[rows] += e @ a2
        g = coefficient(a1[rows], a2, rows).mul_(e)                              # G
        del e
        _addmm_(grad_u[rows], g, v, inv_tau)
        _addmm_(grad_v, g.T, u[rows], inv_tau)
        del g
        if intra_view:
            pair_tri = pair[:, start:] if pair is not None else None
            intra('u', u, a1, grad_u, rows, pair_tri, local)
            if a2 is not None:
                intra('v', v, a2, grad_v, rows, pair_tri, local)
    grad_lw = grad_omega * omega if need_lw else None        # d/d lw_j = omega_j * d/d omega_j
    return grad_u, grad_v, grad_lw


def blockwise_log_denominators(u: Tensor, v: Tensor, tau: float, *, intra_view: bool = True,
                               symmetric: bool = True, positive_in_denominator: bool = True,
                               log_weights: Tensor | None = None, groups: Tensor | None = None,
                               block_size: int | None = None,
                               cache: bool | None = None) -> tuple[Tensor, Tensor | None]:
    r"""Exact log-denominators in row blocks; same value as
    :func:`~gcl.kernels.dense.dense_log_denominators`, memory :math:`O(NB + ND)`.

    Args:
        u, v: the two views' (normalised) projections; row ``i`` of each is node ``i``.
        tau: temperature (similarities are divided by it).
        intra_view: add the intra-view negatives.
        symmetric: also return the denominators of the anchors ``v_i``.
        positive_in_denominator: keep the positive pair in the denominator (``False``: DCL).
        log_weights: :math:`\log\omega_j` per candidate (Team-up); differentiable.
        groups: ``[M, N]`` cluster ids of ``M`` clusterings for MEOW's pairwise weights.
        block_size: anchors per block (default :func:`default_block_size`).
        cache: keep the ``exp`` blocks from forward to backward in a reusable buffer
            (:mod:`gcl.kernels.exp_cache`): ``None`` (default) when they fit in a quarter of the
            free memory, ``True`` always, ``False`` never (recompute them, :math:`O(NB)` memory).

    Shapes:
        - **output:** ``lse1 [N]``, ``lse2 [N]`` (``None`` unless ``symmetric``)
    """
    n = u.size(0)
    if n < 2:
        raise GCLDataError(f'a contrastive loss needs at least 2 nodes, got {n}')
    block = int(block_size) if block_size else default_block_size(n, u.dtype)
    if block < 1:
        raise GCLDataError(f'block_size must be >= 1, got {block_size}')
    if log_weights is not None:
        log_weights = log_weights.to(u.dtype)
    lse1, lse2 = BlockwiseLogDenominators.apply(
        u.contiguous(), v.contiguous(), log_weights, groups, float(tau), min(block, n),
        bool(intra_view), bool(symmetric), bool(positive_in_denominator), cache)
    return lse1, (lse2 if symmetric else None)
