"""GRACE's InfoNCE with intra- and inter-view negatives (ALGORITHMS.md §0.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gcl.errors import GCLConfigError, GCLDataError
from gcl.kernels.auto import MODES, choose_mode, contrastive_loss

__all__ = ['InfoNCE', 'info_nce', 'info_nce_rows']


def _check_pair(h1: Tensor, h2: Tensor) -> None:
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise GCLDataError(f'the two views must have the same [N, D] shape, got '
                           f'{list(h1.shape)} and {list(h2.shape)}')


def info_nce_rows(anchor: Tensor, other: Tensor, same: Tensor, rows: slice, tau: float,
                  intra_view: bool = True) -> Tensor:
    r"""Per-anchor loss :math:`\ell(u_i, v_i)` for the anchors ``anchor[rows]``.

    ``anchor``, ``other`` and ``same`` are L2-normalised ``[N, D]``; ``same`` is the anchor's own
    view (the intra-view negatives). Computed as ``-s_ii + logsumexp`` over the ``N`` inter-view
    similarities and the ``N - 1`` intra-view ones (diagonal masked), which is GRACE's
    ``-log(e^{pos} / (row_sum(refl) + row_sum(between) - refl_diag))`` without overflow.

    Shapes:
        - **output:** ``[B]`` with ``B = len(rows)``
    """
    block = anchor[rows]                                   # [B, D]
    index = torch.arange(rows.start, rows.stop, device=anchor.device)
    between = block @ other.T / tau                        # [B, N]
    positive = between[torch.arange(block.size(0), device=anchor.device), index]
    if intra_view:
        refl = block @ same.T / tau                        # [B, N]
        refl[torch.arange(block.size(0), device=anchor.device), index] = float('-inf')
        denominator = torch.logsumexp(torch.cat([between, refl], dim=1), dim=1)
    else:
        denominator = torch.logsumexp(between, dim=1)
    return denominator - positive


def info_nce(h1: Tensor, h2: Tensor, tau: float = 0.5, *, intra_view: bool = True,
             symmetric: bool = True, batch_size: int | None = None, mode: str = 'auto',
             num_negatives: int | None = None, generator: torch.Generator | None = None
             ) -> Tensor:
    r"""InfoNCE of GRACE (Zhu et al., 2020), eq. (1)-(2); ALGORITHMS.md §0.2.

    .. math::
        J = \frac{1}{2N}\sum_i \ell(u_i, v_i) + \ell(v_i, u_i)

    where the denominator of :math:`\ell(u_i, v_i)` holds the positive, the ``N - 1`` inter-view
    and (``intra_view=True``) the ``N - 1`` intra-view negatives. Similarities are cosine
    (rows L2-normalised) divided by ``tau``. ``symmetric=False`` keeps only :math:`\ell(u, v)`
    (gCooL's node loss).

    ``mode`` picks the kernel (:mod:`gcl.kernels`):

    - ``'dense'``: ``[N, N]`` blocks with plain autograd (``batch_size`` row chunks, as GRACE's
      batched loss; autograd still keeps every chunk, so memory stays :math:`O(N^2)`);
    - ``'blockwise'``: exact, same value, a custom autograd function over row blocks of
      ``B = batch_size`` anchors: it keeps the ``exp`` blocks for backward while they fit in a
      quarter of the free memory (:mod:`gcl.kernels.exp_cache`, about :math:`2N^2` floats) and
      recomputes them otherwise (:math:`O(N \cdot B)` memory);
    - ``'sampled'``: ``num_negatives`` shared uniform negatives per anchor (an approximation;
      :mod:`gcl.kernels.sampled` says what is unbiased);
    - ``'auto'`` (default): ``'dense'`` for small graphs whose matrices fit in memory and when no
      ``batch_size`` is given, ``'blockwise'`` otherwise (:func:`gcl.kernels.choose_mode`). Both
      are exact, so the value does not depend on the choice.

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``; **output:** scalar
    """
    _check_pair(h1, h2)
    if tau <= 0:
        raise GCLDataError(f'the temperature tau must be > 0, got {tau}')
    if mode == 'auto' and batch_size is None:
        mode = choose_mode(h1.size(0), device=h1.device, dtype=h1.dtype, intra_view=intra_view,
                           symmetric=symmetric)
    if mode != 'dense':
        return contrastive_loss(h1, h2, tau, mode=mode, intra_view=intra_view,
                                symmetric=symmetric, block_size=batch_size,
                                num_negatives=num_negatives, generator=generator)
    u, v = F.normalize(h1, dim=-1), F.normalize(h2, dim=-1)
    n = u.size(0)
    step = batch_size or n
    blocks = [slice(start, min(start + step, n)) for start in range(0, n, step)]
    loss = torch.cat([info_nce_rows(u, v, u, rows, tau, intra_view) for rows in blocks]).mean()
    if symmetric:
        loss2 = torch.cat([info_nce_rows(v, u, v, rows, tau, intra_view) for rows in blocks])
        loss = 0.5 * (loss + loss2.mean())
    return loss


class InfoNCE(nn.Module):
    """GRACE's InfoNCE as a module; see :func:`info_nce`.

    Args:
        tau: temperature.
        intra_view: include the intra-view negatives (GRACE: yes; gCooL: no).
        symmetric: average both directions (GRACE: yes; gCooL: no).
        batch_size: anchors per row block (``None``: all at once, or the kernel's default
            block in ``'blockwise'`` mode).
        mode: ``'auto'``, ``'dense'``, ``'blockwise'`` (exact) or ``'sampled'`` (approximate).
        num_negatives: negatives per anchor in ``'sampled'`` mode (``gcl train --negatives K``).
    """

    name = 'info_nce'
    aliases = ('grace', 'nt-xent')

    def __init__(self, tau: float = 0.5, intra_view: bool = True, symmetric: bool = True,
                 batch_size: int | None = None, mode: str = 'auto',
                 num_negatives: int | None = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise GCLConfigError(f'unknown loss mode {mode!r}; choose one of {", ".join(MODES)}')
        if mode == 'sampled' and not num_negatives:
            raise GCLConfigError("mode='sampled' needs num_negatives (e.g. --negatives 256)")
        self.tau = tau
        self.intra_view = intra_view
        self.symmetric = symmetric
        self.batch_size = batch_size
        self.mode = mode
        self.num_negatives = num_negatives

    def forward(self, h1: Tensor, h2: Tensor, **context: object) -> Tensor:
        return info_nce(h1, h2, self.tau, intra_view=self.intra_view, symmetric=self.symmetric,
                        batch_size=self.batch_size, mode=self.mode,
                        num_negatives=self.num_negatives)

    def extra_repr(self) -> str:
        extra = f', num_negatives={self.num_negatives}' if self.mode == 'sampled' else ''
        return (f'tau={self.tau}, intra_view={self.intra_view}, symmetric={self.symmetric}, '
                f'batch_size={self.batch_size}, mode={self.mode!r}{extra}')
