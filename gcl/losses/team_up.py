"""CSGCL's Team-up contrastive objective (Chen et al., IJCAI 2023; ALGORITHMS.md §4.4).

The official code (``src/model.py`` ``_team_up``) shifts every cosine similarity by the
strengths of both ends, :math:`\\theta'(i, j) = \\theta(i, j) + \\gamma(t)(s_i + s_j)`, inside
GRACE's loss. The anchor's own term :math:`e^{\\gamma s_i / \\tau}` multiplies the numerator and
every denominator term, so it cancels, and the loss is exactly a **candidate-weighted InfoNCE**
with :math:`\\omega_j = e^{\\gamma(t) s_j / \\tau}`: here a column bias
:math:`\\log \\omega_j = \\gamma s_j / \\tau` added to the logits, which is cheaper and cannot
overflow (the official form exponentiates :math:`\\theta'/\\tau` directly).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from gcl.errors import GCLConfigError, GCLDataError

__all__ = ['TeamUp', 'team_up', 'team_up_gamma']

#: Largest N for the one-block (dense) form: it holds several ``[N, N]`` matrices for autograd.
MAX_DENSE_NODES = 20_000


def team_up_gamma(epoch: int, t0: int, gamma_max: float) -> float:
    r""":math:`\gamma(t) = \min(\max(0, (t - t_0) / 100), \gamma_{max})` (ALGORITHMS.md §4.4).

    Plain InfoNCE for :math:`t \le t_0`, then +0.01 per epoch up to :math:`\gamma_{max}`.
    ``epoch`` is 1-based, as in the official training loop.
    """
    return float(min(max(0.0, (epoch - t0) / 100.0), gamma_max))


def _team_up_rows(anchor: Tensor, other: Tensor, bias: Tensor, start: int, stop: int,
                  tau: float) -> Tensor:
    """Per-anchor Team-up loss of anchors ``start:stop``; ``anchor`` is also the intra view.

    ``bias`` is :math:`\\log \\omega = \\gamma s / \\tau` ``[N]``. Returns ``[B]``.
    """
    block = anchor[start:stop]                                   # [B, D]
    rows = torch.arange(stop - start, device=anchor.device)
    index = rows + start
    between = block @ other.T / tau + bias                       # [B, N]
    refl = block @ anchor.T / tau + bias                         # [B, N]
    refl[rows, index] = float('-inf')                            # no self-negative
    positive = between[rows, index]                              # [B]
    return torch.logsumexp(torch.cat([between, refl], dim=1), dim=1) - positive


def _one_direction(anchor: Tensor, other: Tensor, bias: Tensor, tau: float,
                   batch_size: int | None) -> Tensor:
    n = anchor.size(0)
    if batch_size is None or batch_size >= n:
        return _team_up_rows(anchor, other, bias, 0, n, tau)
    parts = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if torch.is_grad_enabled() and (anchor.requires_grad or other.requires_grad):
            # recompute the block in backward: autograd keeps [B, N], never [N, N]
            parts.append(checkpoint(_team_up_rows, anchor, other, bias, start, stop, tau,
                                    use_reentrant=False))
        else:
            parts.append(_team_up_rows(anchor, other, bias, start, stop, tau))
    return torch.cat(parts)


def team_up(h1: Tensor, h2: Tensor, node_strength: Tensor, gamma: float, tau: float = 0.5, *,
            batch_size: int | None = None, max_dense_nodes: int | None = MAX_DENSE_NODES
            ) -> Tensor:
    r"""Team-up InfoNCE of CSGCL (ALGORITHMS.md §4.4), symmetric, mean over nodes.

    .. math::
        \ell(i) = -\log \frac{\omega_i e^{\theta(u_i, v_i)/\tau}}
            {\sum_j \omega_j e^{\theta(u_i, v_j)/\tau} + \sum_{j \ne i} \omega_j
             e^{\theta(u_i, u_j)/\tau}}, \qquad \omega_j = e^{\gamma s_j / \tau},
        \qquad J = \frac{1}{2N} \sum_i \ell(u_i, v_i) + \ell(v_i, u_i)

    which equals the official shifted-similarity form
    :math:`e^{(\theta(i,j) + \gamma (s_i + s_j))/\tau}` (the anchor's factor cancels). With
    ``gamma = 0`` it is GRACE's InfoNCE (:func:`gcl.losses.info_nce`). :math:`\theta` is the
    cosine similarity (rows are L2-normalised here).

    Memory: ``batch_size=None`` is one dense block (several ``[N, N]`` matrices kept for
    autograd), refused above ``max_dense_nodes``; with ``batch_size=B`` anchors go in row blocks
    that are recomputed in backward (activation checkpointing), so no ``[N, N]`` matrix is ever
    held: :math:`O(BN)` memory, same value, about 1.5x the compute.

    Args:
        h1, h2: projected embeddings of the two views, ``[N, D]``.
        node_strength: :math:`s_i` ``[N]``, the strength of node ``i``'s community (any
            community assignment: ``strength[communities]``).
        gamma: :math:`\gamma(t)` (see :func:`team_up_gamma`).
        tau: temperature.
        batch_size: anchors per row block (``None``: dense).
        max_dense_nodes: the dense form's size limit (``None``: no limit).

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``, ``[N]``; **output:** scalar
    """
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise GCLDataError(f'the two views must have the same [N, D] shape, got '
                           f'{list(h1.shape)} and {list(h2.shape)}')
    if node_strength.shape != (h1.size(0),):
        raise GCLDataError(f'node_strength must have shape [{h1.size(0)}] (one community '
                           f'strength per node), got {list(node_strength.shape)}')
    if tau <= 0:
        raise GCLDataError(f'the temperature tau must be > 0, got {tau}')
    if batch_size is not None and batch_size < 1:
        raise GCLConfigError(f'batch_size must be a positive integer or null, got {batch_size}')
    n = h1.size(0)
    dense = batch_size is None or batch_size >= n
    if dense and max_dense_nodes is not None and n > max_dense_nodes:
        gib = 6 * n * n * h1.element_size() / 2**30
        raise GCLConfigError(
            f'Team-up in dense form on {n} nodes would hold about {gib:.1f} GiB of [N, N] '
            f'matrices (limit: {max_dense_nodes} nodes); set loss.batch_size (e.g. 1024) for '
            f'the row-block form, or raise loss.max_dense_nodes')
    u, v = F.normalize(h1, dim=-1), F.normalize(h2, dim=-1)
    bias = (float(gamma) / tau) * node_strength.detach().to(u.device, u.dtype)   # [N]
    loss1 = _one_direction(u, v, bias, tau, batch_size)
    loss2 = _one_direction(v, u, bias, tau, batch_size)
    return 0.5 * (loss1.mean() + loss2.mean())


class TeamUp(nn.Module):
    r"""CSGCL's Team-up loss with the :math:`\gamma(t)` ramp, for any encoder and any
    community assignment (ALGORITHMS.md §4.4); see :func:`team_up`.

    Called as ``loss(h1, h2, epoch=t, node_strength=s)`` with ``s`` ``[N]``, or with
    ``communities=`` ``[N]`` and ``strength=`` ``[C]`` (then ``s = strength[communities]``).

    Args:
        tau: temperature.
        t0: the epoch after which :math:`\gamma` starts to grow (CSGCL ``start_ep``).
        gamma_max: the ramp's ceiling :math:`\gamma_{max}`.
        batch_size: anchors per row block (``None``: dense, up to ``max_dense_nodes``).
        max_dense_nodes: size limit of the dense form.

    Example:
        >>> loss = TeamUp(tau=0.2, t0=2000, gamma_max=5)
        >>> loss(h1, h2, epoch=2100, communities=labels, strength=S)
    """

    name = 'team_up'
    aliases = ('teamup', 'team-up-infonce')

    def __init__(self, tau: float = 0.5, t0: int = 0, gamma_max: float = 1.0,
                 batch_size: int | None = None,
                 max_dense_nodes: int | None = MAX_DENSE_NODES) -> None:
        super().__init__()
        if tau <= 0:
            raise GCLConfigError(f'tau must be > 0, got {tau}')
        if gamma_max < 0:
            raise GCLConfigError(f'gamma_max must be >= 0, got {gamma_max}')
        self.tau, self.t0, self.gamma_max = float(tau), int(t0), float(gamma_max)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.max_dense_nodes = max_dense_nodes

    def gamma(self, epoch: int) -> float:
        """:math:`\\gamma(t)` at ``epoch``."""
        return team_up_gamma(epoch, self.t0, self.gamma_max)

    def forward(self, h1: Tensor, h2: Tensor, *, epoch: int | None = None,
                node_strength: Tensor | None = None, communities: Tensor | None = None,
                strength: Tensor | None = None, **context: object) -> Tensor:
        if epoch is None:
            raise GCLDataError('TeamUp needs the current epoch for its gamma(t) ramp: call '
                               'loss(h1, h2, epoch=t, node_strength=s)')
        if node_strength is None:
            if communities is None or strength is None:
                raise GCLDataError('TeamUp needs community strengths: pass node_strength=[N], '
                                   'or communities=[N] with strength=[C] '
                                   '(gcl.community.community_strength)')
            node_strength = torch.as_tensor(strength, device=h1.device)[
                torch.as_tensor(communities, device=h1.device).long()]
        return team_up(h1, h2, node_strength, self.gamma(epoch), self.tau,
                       batch_size=self.batch_size, max_dense_nodes=self.max_dense_nodes)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, t0={self.t0}, gamma_max={self.gamma_max}, '
                f'batch_size={self.batch_size}')
