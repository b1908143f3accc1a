r"""DCL and DCLW: Decoupled Contrastive Learning (Yeh et al., ECCV 2022, arXiv 2110.06848).

ALGORITHMS.md §6.1. GRACE's loss (§0.2: same projections, same :math:`\tau`, intra- and
inter-view negatives, symmetrised) with the positive pair removed from the denominator:

.. math::
    \ell_{DCL}(u_i) = -\theta(u_i, v_i)/\tau
        + \log\Big(\sum_{k \neq i} e^{\theta(u_i, v_k)/\tau}
                   + \sum_{k \neq i} e^{\theta(u_i, u_k)/\tau}\Big)

DCLW multiplies the positive term of anchor :math:`i` by
:math:`w_i = 2 - N\,\mathrm{softmax}_i(\cos(u_i, v_i)/\sigma)`, computed over all nodes on the
normalised, detached outputs, as lightly's ``negative_mises_fisher_weights`` does (σ = 0.5).

Any kernel of :func:`gcl.kernels.contrastive_loss` can compute it (``mode``), so DCL scales to
graphs whose ``[N, N]`` matrices do not fit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.errors import GCLConfigError
from gcl.kernels.auto import contrastive_loss
from gcl.losses.info_nce import InfoNCE

__all__ = ['DCL', 'DCLW', 'dcl_loss', 'dclw_weights']


def dclw_weights(h1: Tensor, h2: Tensor, sigma: float = 0.5) -> Tensor:
    r"""DCLW's positive weights :math:`w_i = 2 - N\,\mathrm{softmax}_i(\cos(h^1_i, h^2_i)/\sigma)`,
    detached; they average to 1.

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``; **output:** ``[N]``
    """
    if sigma <= 0:
        raise GCLConfigError(f'DCLW needs sigma > 0, got {sigma}')
    with torch.no_grad():
        cos = (F.normalize(h1.detach(), dim=-1) * F.normalize(h2.detach(), dim=-1)).sum(-1)
        return 2.0 - h1.size(0) * torch.softmax(cos / sigma, dim=0)


def dcl_loss(h1: Tensor, h2: Tensor, tau: float = 0.5, *, weighted: bool = False,
             sigma: float = 0.5, intra_view: bool = True, symmetric: bool = True,
             batch_size: int | None = None, mode: str = 'auto',
             num_negatives: int | None = None) -> Tensor:
    r"""DCL (``weighted=False``) or DCLW (``weighted=True``) of two views' projections.

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``; **output:** scalar
    """
    weights = dclw_weights(h1, h2, sigma) if weighted else None
    return contrastive_loss(h1, h2, tau, mode=mode, intra_view=intra_view, symmetric=symmetric,
                            positive_in_denominator=False, positive_weight=weights,
                            block_size=batch_size, num_negatives=num_negatives)


class DCL(InfoNCE):
    """Decoupled contrastive loss (§6.1); GRACE's loss without the positive in the denominator.

    Args:
        tau: temperature.
        intra_view: intra-view negatives (GRACE: yes).
        symmetric: average both directions (GRACE: yes).
        batch_size: anchors per block in ``'blockwise'`` / ``'sampled'`` mode.
        mode: kernel, see :func:`gcl.kernels.contrastive_loss`.
        num_negatives: negatives per anchor in ``'sampled'`` mode.
    """

    name = 'dcl'
    aliases = ('decoupled',)
    weighted = False

    def __init__(self, tau: float = 0.5, intra_view: bool = True, symmetric: bool = True,
                 batch_size: int | None = None, mode: str = 'auto',
                 num_negatives: int | None = None) -> None:
        super().__init__(tau, intra_view, symmetric, batch_size, mode, num_negatives)
        self.sigma = 0.5

    def forward(self, h1: Tensor, h2: Tensor, **context: object) -> Tensor:
        return dcl_loss(h1, h2, self.tau, weighted=self.weighted, sigma=self.sigma,
                        intra_view=self.intra_view, symmetric=self.symmetric,
                        batch_size=self.batch_size, mode=self.mode,
                        num_negatives=self.num_negatives)

class DCLW(DCL):
    """DCL with the von Mises-Fisher positive weights (§6.1), ``sigma = 0.5`` by default."""

    name = 'dclw'
    aliases = ('dcl-w', 'decoupled-weighted')
    weighted = True

    def __init__(self, tau: float = 0.5, sigma: float = 0.5, intra_view: bool = True,
                 symmetric: bool = True, batch_size: int | None = None, mode: str = 'auto',
                 num_negatives: int | None = None) -> None:
        super().__init__(tau, intra_view, symmetric, batch_size, mode, num_negatives)
        if sigma <= 0:
            raise GCLConfigError(f'DCLW needs sigma > 0, got {sigma}')
        self.sigma = sigma

    def extra_repr(self) -> str:
        return super().extra_repr() + f', sigma={self.sigma}'
