r"""One switch for the InfoNCE family: ``mode='auto' | 'dense' | 'blockwise' | 'sampled'``.

:func:`contrastive_loss` assembles the loss of ALGORITHMS.md §0.2 (GRACE), §4.4 (Team-up),
§6.1 (DCL / DCLW) and §6.2 (MEOW) from the exact positive term and a log-denominator kernel:

- ``'dense'``: :func:`~gcl.kernels.dense.dense_log_denominators`, ``[N, N]`` matrices; the
  reference, and the fastest for small graphs;
- ``'blockwise'``: :func:`~gcl.kernels.blockwise.blockwise_log_denominators`, exact (same value
  and gradients as dense up to float rounding), :math:`O(NB + ND)` memory;
- ``'sampled'``: :func:`~gcl.kernels.sampled.sampled_log_denominators`, ``K`` shared uniform
  negatives, an approximation (see that module for what is unbiased);
- ``'auto'``: dense while the graph is small (``N <= DENSE_MAX_NODES[device]``: 256 on CPU,
  where blockwise is faster from there on, 8,192 on CUDA) and its ``[N, N]`` matrices fit in half
  the free memory, blockwise otherwise (:func:`choose_mode`).
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.errors import GCLConfigError, GCLDataError
from gcl.kernels.blockwise import blockwise_log_denominators
from gcl.kernels.dense import dense_log_denominators
from gcl.kernels.memory import available_memory
from gcl.kernels.sampled import sampled_log_denominators

logger = logging.getLogger(__name__)

__all__ = ['MODES', 'DENSE_MAX_NODES', 'available_memory', 'dense_peak_bytes', 'choose_mode',
           'contrastive_loss']

MODES = ('auto', 'dense', 'blockwise', 'sampled')

# Above this many nodes 'auto' never picks the dense kernel. CPU: measured on the 2-core machine
# of benchmarks/KERNELS.md, blockwise was already faster at N = 512 (2x), 1,024 (3x), 2,048 (3.5x)
# and level at 256. CUDA: not measured (no GPU was lent); large dense matrix products are what GPUs
# do best, so dense stays the small-graph path there while its matrices fit.
DENSE_MAX_NODES = {'cpu': 256, 'cuda': 8192}

# [N, N] matrices alive at the dense kernel's peak, per direction: the logits with the intra-view
# block concatenated (2), their exp in backward (2), one product and one masked copy (2).
_DENSE_MATRICES_PER_DIRECTION = 6


def dense_peak_bytes(num_nodes: int, dtype: torch.dtype = torch.float32, *,
                     intra_view: bool = True, symmetric: bool = True) -> int:
    """A conservative estimate of the dense kernel's extra peak memory (forward + backward)."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    per_direction = _DENSE_MATRICES_PER_DIRECTION if intra_view else 3
    return per_direction * (2 if symmetric else 1) * num_nodes * num_nodes * itemsize


def choose_mode(num_nodes: int, *, device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32, intra_view: bool = True,
                symmetric: bool = True, max_dense_nodes: int | None = None,
                memory_fraction: float = 0.5) -> str:
    """``'dense'`` for small graphs (``N <= max_dense_nodes``, default
    ``DENSE_MAX_NODES[device type]``) whose dense matrices fit in ``memory_fraction`` of the free
    memory on ``device``, ``'blockwise'`` otherwise. Both are exact."""
    kind = torch.device(device).type if device is not None else 'cpu'
    if max_dense_nodes is None:
        max_dense_nodes = DENSE_MAX_NODES.get(kind, DENSE_MAX_NODES['cpu'])
    if num_nodes > max_dense_nodes:
        return 'blockwise'
    need = dense_peak_bytes(num_nodes, dtype, intra_view=intra_view, symmetric=symmetric)
    return 'dense' if need <= memory_fraction * available_memory(device) else 'blockwise'


def contrastive_loss(h1: Tensor, h2: Tensor, tau: float = 0.5, *, mode: str = 'auto',
                     intra_view: bool = True, symmetric: bool = True,
                     positive_in_denominator: bool = True, log_weights: Tensor | None = None,
                     groups: Tensor | None = None, positive_weight: Tensor | None = None,
                     block_size: int | None = None, num_negatives: int | None = None,
                     generator: torch.Generator | None = None, normalize: bool = True) -> Tensor:
    r"""The InfoNCE family with the switches of ALGORITHMS.md §8.1, in any kernel ``mode``.

    .. math::
        \ell(u_i, v_i) = -\,p_i\,(s_{ii}/\tau + \log\omega_i) + \log Z_i,\qquad
        J = \tfrac{1}{2N}\textstyle\sum_i \ell(u_i, v_i) + \ell(v_i, u_i)

    with :math:`s_{ij} = \cos(h^1_i, h^2_j)` (``normalize=True``), :math:`Z_i` the denominator of
    :func:`~gcl.kernels.dense.dense_log_denominators`, :math:`p_i` the positive weight (``1``;
    DCLW's :math:`2 - N\,\mathrm{softmax}`), :math:`\omega` the candidate weights. Only
    :math:`\ell(u_i, v_i)` when ``symmetric=False``.

    Args:
        h1, h2: projections of the two views; row ``i`` of each is node ``i``.
        tau: temperature.
        mode: ``'auto'``, ``'dense'``, ``'blockwise'`` (exact) or ``'sampled'`` (approximate).
        intra_view: intra-view negatives (GRACE) or not (gCooL).
        symmetric: average both directions.
        positive_in_denominator: ``False`` gives DCL (§6.1).
        log_weights: :math:`\log\omega_j`, ``[N]`` (Team-up, §4.4).
        groups: ``[M, N]`` cluster ids for MEOW's pairwise weights (§6.2).
        positive_weight: :math:`p_i`, ``[N]``, used as given (detach it yourself).
        block_size: anchors per block (blockwise / sampled).
        num_negatives: ``K`` for ``mode='sampled'``.
        generator: RNG of the negative sample.
        normalize: L2-normalise ``h1, h2`` first (cosine similarities).

    Shapes:
        - **input:** ``h1, h2 [N, D]``; **output:** scalar
    """
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise GCLDataError(f'the two views must have the same [N, D] shape, got '
                           f'{list(h1.shape)} and {list(h2.shape)}')
    if tau <= 0:
        raise GCLDataError(f'the temperature tau must be > 0, got {tau}')
    if mode not in MODES:
        raise GCLConfigError(f'unknown loss mode {mode!r}; choose one of {", ".join(MODES)}')
    n = h1.size(0)
    if log_weights is not None and log_weights.shape != (n,):
        raise GCLDataError(f'log_weights must be [N] = [{n}], got {list(log_weights.shape)}')
    if groups is not None and (groups.dim() != 2 or groups.size(1) != n):
        raise GCLDataError(f'groups must be [M, N] = [M, {n}], got {list(groups.shape)}')
    u, v = (F.normalize(h1, dim=-1), F.normalize(h2, dim=-1)) if normalize else (h1, h2)
    if mode == 'auto':
        mode = 'blockwise' if block_size else choose_mode(
            n, device=u.device, dtype=u.dtype, intra_view=intra_view, symmetric=symmetric)
        logger.debug('contrastive_loss: N=%d, mode=%s', n, mode)
    options = dict(intra_view=intra_view, symmetric=symmetric,
                   positive_in_denominator=positive_in_denominator, log_weights=log_weights,
                   groups=groups)
    if mode == 'dense':
        lse1, lse2 = dense_log_denominators(u, v, tau, **options)
    elif mode == 'blockwise':
        lse1, lse2 = blockwise_log_denominators(u, v, tau, block_size=block_size, **options)
    else:
        if num_negatives is None:
            raise GCLConfigError("mode='sampled' needs num_negatives (K negatives per anchor), "
                                 'e.g. --negatives 256')
        lse1, lse2 = sampled_log_denominators(u, v, tau, int(num_negatives),
                                              block_size=block_size or 65536,
                                              generator=generator, **options)
    pos = (u * v).sum(dim=1) / tau                                      # [N]
    if log_weights is not None:
        pos = pos + log_weights.to(pos.dtype)
    if positive_weight is not None:
        pos = pos * positive_weight
    loss = (lse1 - pos).mean()
    if symmetric:
        loss = 0.5 * (loss + (lse2 - pos).mean())
    return loss
