r"""ReSC: gCooL's Reweighted Self-supervised Cross-contrastive loss (ALGORITHMS.md §3.2d).

Each node of one view is contrasted with the community prototypes of the other view: its
positive is the prototype of its own community there, the negatives are the other prototypes,
optionally down-weighted when they are close to the positive one. Prototypes are community means
of the projected embeddings (``scatter`` mean, zero for an empty community) and are detached, so
gradients reach the anchors only. Everything is ``[N, K]`` or ``[K, K]``: memory
:math:`O(NK + KD)`, never :math:`N \times N` or the official code's :math:`N \times K \times D`.
Written by hand because no library has it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from gcl.errors import GCLConfigError, GCLDataError

__all__ = ['ReSC', 'resc_loss', 'community_prototypes']


def community_prototypes(h: Tensor, communities: Tensor, num_communities: int) -> Tensor:
    r"""Mean of ``h`` over each community, :math:`C_k = \operatorname{mean}\{h_i : \pi_i = k\}`;
    the zero vector for an empty community (as gCooL's code). Not re-normalised.

    Shapes:
        - **input:** ``h`` :math:`(N, D)`, ``communities`` :math:`(N)`; **output:** :math:`(K, D)`
    """
    return scatter(h, communities, dim=0, dim_size=num_communities, reduce='mean')


def _logits(h: Tensor, prototypes: Tensor, tau: float, similarity: str) -> Tensor:
    """``log sigma(h_i, C_k)``: ``<h, C>/tau`` (cos) or ``-|h - C|^2 / tau^2`` (rbf), ``[N, K]``."""
    if similarity == 'cos':
        return h @ prototypes.T / tau
    dist = (h * h).sum(-1, keepdim=True) - 2 * h @ prototypes.T + (prototypes ** 2).sum(-1)
    return -dist.clamp_min(0) / (tau * tau)


def _one_direction(anchor: Tensor, prototypes: Tensor, communities: Tensor, tau: float,
                   similarity: str, gamma: float, reweight: bool) -> Tensor:
    """Per-anchor :math:`\\ell_{12}(i)`, ``[N]``: anchors of one view, prototypes of the other."""
    logits = _logits(anchor, prototypes, tau, similarity)                       # [N, K]
    if reweight:
        # log w_kl = -gamma |C_k - C_l|^2, taken at row k = the anchor's community; w_kk = 1
        sq = (prototypes ** 2).sum(-1)
        dist = (sq[:, None] - 2 * prototypes @ prototypes.T + sq[None, :]).clamp_min(0)  # [K, K]
        dist.fill_diagonal_(0.0)
        logits = logits - gamma * dist[communities]                              # [N, K]
    positive = logits.gather(1, communities[:, None]).squeeze(1)                 # [N]
    return torch.logsumexp(logits, dim=1) - positive


def resc_loss(h1: Tensor, h2: Tensor, communities1: Tensor, communities2: Tensor,
              num_communities: int, tau: float = 0.5, *, similarity: str = 'cos',
              gamma: float = 8e-5, reweight: bool | None = None,
              detach_prototypes: bool = True) -> Tensor:
    r"""ReSC of gCooL (ALGORITHMS.md §3.2d), both directions averaged.

    .. math::
        \ell_{12}(i) = -\log \frac{\sigma(h^1_i, C^2_{\pi^2_i})}
            {\sigma(h^1_i, C^2_{\pi^2_i}) + \sum_{l \ne \pi^2_i} w^2_{\pi^2_i l}\,
             \sigma(h^1_i, C^2_l)}, \qquad
        \mathcal L = \frac{1}{N}\sum_i \frac{\ell_{12}(i) + \ell_{21}(i)}{2}

    with :math:`\sigma(h, C) = e^{\langle h, C\rangle/\tau}` (``'cos'``) or
    :math:`e^{-\lVert h - C\rVert^2/\tau^2}` (``'rbf'``), and
    :math:`w^a_{kl} = e^{-\gamma \lVert C^a_k - C^a_l\rVert^2}` when reweighting, else 1. All
    ``K`` prototypes are in the denominator, empty communities (zero prototypes) included, as in
    the code. Computed as ``logsumexp`` over ``[N, K]`` logits (no overflow).

    Args:
        h1, h2: projected (L2-normalised in gCooL) embeddings of the two views, ``[N, D]``.
        communities1, communities2: hard assignments :math:`\pi^1, \pi^2` ``[N]`` in ``0..K-1``.
        num_communities: ``K``.
        tau: temperature.
        similarity: ``'cos'`` or ``'rbf'``.
        gamma: :math:`\gamma` of the reweighting.
        reweight: ``None`` = as coded (on for ``'rbf'``, off for ``'cos'``); ``True`` / ``False``
            force it (the paper describes reweighting for both).
        detach_prototypes: stop gradients through the prototypes (the code: yes).

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``, ``[N]``, ``[N]``; **output:** scalar
    """
    similarity = similarity.lower()
    if similarity not in ('cos', 'rbf'):
        raise GCLConfigError(f'unknown similarity {similarity!r}; choose cos or rbf')
    if tau <= 0:
        raise GCLConfigError(f'the temperature tau must be > 0, got {tau}')
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise GCLDataError(f'the two views must have the same [N, D] shape, got '
                           f'{list(h1.shape)} and {list(h2.shape)}')
    n = h1.size(0)
    pair = []
    for name, comm in (('communities1', communities1), ('communities2', communities2)):
        if comm.dim() != 1 or comm.numel() != n or comm.is_floating_point():
            raise GCLDataError(f'{name} must be a LongTensor [{n}] of community ids, got '
                               f'{comm.dtype} {list(comm.shape)}')
        if n and (int(comm.min()) < 0 or int(comm.max()) >= num_communities):
            raise GCLDataError(f'{name} holds ids outside 0..{num_communities - 1}')
        pair.append(comm.long())
    communities1, communities2 = pair
    if reweight is None:
        reweight = similarity == 'rbf'
    c1 = community_prototypes(h1, communities1, num_communities)               # [K, D]
    c2 = community_prototypes(h2, communities2, num_communities)               # [K, D]
    if detach_prototypes:
        c1, c2 = c1.detach(), c2.detach()
    loss12 = _one_direction(h1, c2, communities2, tau, similarity, gamma, reweight)
    loss21 = _one_direction(h2, c1, communities1, tau, similarity, gamma, reweight)
    return ((loss12 + loss21) / 2).mean()


class ReSC(nn.Module):
    """ReSC as a registered loss (``loss: {name: resc}``); see :func:`resc_loss`.

    Called as ``loss(h1, h2, communities=...)`` where ``communities`` is a pair of hard
    assignments ``([N], [N])`` (one per view, as gCooL), a single ``[N]`` assignment shared by
    both views (e.g. from :func:`gcl.community.detect`), or a pair of soft assignments
    ``[N, K]`` (their argmax is taken). ``num_communities`` defaults to the largest id + 1, or
    ``K`` of soft assignments.

    Args:
        tau: temperature.
        similarity: ``'cos'`` (gCooL_c) or ``'rbf'`` (gCooL_e).
        gamma: reweighting strength.
        reweight: ``None`` as coded (rbf only), or force on / off.
        detach_prototypes: stop gradients through the prototypes (as coded).
    """

    name = 'resc'

    def __init__(self, tau: float = 0.5, similarity: str = 'cos', gamma: float = 8e-5,
                 reweight: bool | None = None, detach_prototypes: bool = True) -> None:
        super().__init__()
        self.tau = tau
        self.similarity = similarity
        self.gamma = gamma
        self.reweight = reweight
        self.detach_prototypes = detach_prototypes

    def forward(self, h1: Tensor, h2: Tensor, *, communities: Tensor | tuple[Tensor, Tensor],
                num_communities: int | None = None, **context: object) -> Tensor:
        if isinstance(communities, Tensor):
            communities = (communities, communities)
        pi1, pi2 = communities
        if pi1.is_floating_point():                      # soft assignments [N, K]
            num_communities = num_communities or pi1.size(1)
            pi1, pi2 = pi1.detach().argmax(dim=1), pi2.detach().argmax(dim=1)
        if num_communities is None:
            num_communities = int(torch.maximum(pi1.max(), pi2.max())) + 1
        return resc_loss(h1, h2, pi1, pi2, int(num_communities), self.tau,
                         similarity=self.similarity, gamma=self.gamma, reweight=self.reweight,
                         detach_prototypes=self.detach_prototypes)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, similarity={self.similarity!r}, gamma={self.gamma}, '
                f'reweight={self.reweight}')
