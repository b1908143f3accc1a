"""CSGCL's Team-up contrastive objective (Chen et al., IJCAI 2023; ALGORITHMS.md §4.4).

The official code (``src/model.py`` ``_team_up``) shifts every cosine similarity by the
strengths of both ends, :math:`\\theta'(i, j) = \\theta(i, j) + \\gamma(t)(s_i + s_j)`, inside
GRACE's loss. The anchor's own term :math:`e^{\\gamma s_i / \\tau}` multiplies the numerator and
every denominator term, so it cancels, and the loss is exactly a **candidate-weighted InfoNCE**
with :math:`\\omega_j = e^{\\gamma(t) s_j / \\tau}`: here a column bias
:math:`\\log \\omega_j = \\gamma s_j / \\tau` added to the logits, which is cheaper and cannot
overflow (the official form exponentiates :math:`\\theta'/\\tau` directly). The log-denominators
come from :mod:`gcl.kernels`, so large graphs never build an ``[N, N]`` matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gcl.errors import GCLConfigError, GCLDataError
from gcl.kernels import MODES, contrastive_loss

__all__ = ['TeamUp', 'team_up', 'team_up_gamma']


def team_up_gamma(epoch: int, t0: int, gamma_max: float) -> float:
    r""":math:`\gamma(t) = \min(\max(0, (t - t_0) / 100), \gamma_{max})` (ALGORITHMS.md §4.4).

    Plain InfoNCE for :math:`t \le t_0`, then +0.01 per epoch up to :math:`\gamma_{max}`.
    ``epoch`` is 1-based, as in the official training loop.
    """
    return float(min(max(0.0, (epoch - t0) / 100.0), gamma_max))


def team_up(h1: Tensor, h2: Tensor, node_strength: Tensor, gamma: float, tau: float = 0.5, *,
            mode: str = 'auto', batch_size: int | None = None) -> Tensor:
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

    Computed by :func:`gcl.kernels.contrastive_loss` with ``log_weights`` :math:`= \gamma s/\tau`:
    ``mode='auto'`` uses ``[N, N]`` matrices on small graphs and exact row blocks (custom
    autograd, never an ``[N, N]`` matrix; the ``exp`` blocks are kept for backward while they
    fit) on large ones or whenever ``batch_size`` is given; ``'dense'`` / ``'blockwise'`` force one;
    ``'sampled'`` is the kernels' approximation.

    Args:
        h1, h2: projected embeddings of the two views, ``[N, D]``.
        node_strength: :math:`s_i` ``[N]``, the strength of node ``i``'s community (any
            community assignment: ``strength[communities]``); not differentiated.
        gamma: :math:`\gamma(t)` (see :func:`team_up_gamma`).
        tau: temperature.
        mode: the kernel, one of :data:`gcl.kernels.MODES`.
        batch_size: anchors per row block (``None``: the kernel's default).

    Shapes:
        - **input:** ``[N, D]``, ``[N, D]``, ``[N]``; **output:** scalar
    """
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise GCLDataError(f'the two views must have the same [N, D] shape, got '
                           f'{list(h1.shape)} and {list(h2.shape)}')
    if node_strength.shape != (h1.size(0),):
        raise GCLDataError(f'node_strength must have shape [{h1.size(0)}] (one community '
                           f'strength per node), got {list(node_strength.shape)}')
    if batch_size is not None and batch_size < 1:
        raise GCLConfigError(f'batch_size must be a positive integer or null, got {batch_size}')
    if tau <= 0:
        raise GCLDataError(f'the temperature tau must be > 0, got {tau}')
    log_weights = (float(gamma) / tau) * node_strength.detach().to(h1.device, h1.dtype)  # [N]
    return contrastive_loss(h1, h2, tau, mode=mode, log_weights=log_weights,
                            block_size=batch_size)


class TeamUp(nn.Module):
    r"""CSGCL's Team-up loss with the :math:`\gamma(t)` ramp, for any encoder and any
    community assignment (ALGORITHMS.md §4.4); see :func:`team_up`.

    Called as ``loss(h1, h2, epoch=t, node_strength=s)`` with ``s`` ``[N]``, or with
    ``communities=`` ``[N]`` and ``strength=`` ``[C]`` (then ``s = strength[communities]``).

    Args:
        tau: temperature.
        t0: the epoch after which :math:`\gamma` starts to grow (CSGCL ``start_ep``).
        gamma_max: the ramp's ceiling :math:`\gamma_{max}`.
        batch_size: anchors per row block (CSGCL uses 1024 on Coauthor-CS); ``None``: the
            kernel decides.
        mode: ``'auto'``, ``'dense'``, ``'blockwise'`` or ``'sampled'`` (:mod:`gcl.kernels`).

    Example:
        >>> loss = TeamUp(tau=0.2, t0=2000, gamma_max=5)
        >>> loss(h1, h2, epoch=2100, communities=labels, strength=S)
    """

    name = 'team_up'
    aliases = ('teamup', 'team-up-infonce')

    def __init__(self, tau: float = 0.5, t0: int = 0, gamma_max: float = 1.0,
                 batch_size: int | None = None, mode: str = 'auto') -> None:
        super().__init__()
        if tau <= 0:
            raise GCLConfigError(f'tau must be > 0, got {tau}')
        if gamma_max < 0:
            raise GCLConfigError(f'gamma_max must be >= 0, got {gamma_max}')
        if mode not in MODES:
            raise GCLConfigError(f'unknown loss mode {mode!r}; choose one of {", ".join(MODES)}')
        self.tau, self.t0, self.gamma_max = float(tau), int(t0), float(gamma_max)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.mode = mode

    def gamma(self, epoch: int) -> float:
        r""":math:`\gamma(t)` at ``epoch``."""
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
        return team_up(h1, h2, node_strength, self.gamma(epoch), self.tau, mode=self.mode,
                       batch_size=self.batch_size)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, t0={self.t0}, gamma_max={self.gamma_max}, '
                f'batch_size={self.batch_size}, mode={self.mode!r}')
