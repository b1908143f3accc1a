"""One call that seeds every random number generator gcl uses."""

from __future__ import annotations

import logging

import torch
from torch_geometric import seed_everything as _pyg_seed_everything

logger = logging.getLogger(__name__)


def seed_everything(seed: int, deterministic: bool = False) -> int:
    """Seed ``random``, NumPy and torch (all devices) with ``seed`` and return it.

    Wraps :func:`torch_geometric.seed_everything`. With ``deterministic=True`` torch is asked for
    deterministic kernels too (CUDA scatter-add is otherwise not bitwise stable).
    """
    seed = int(seed)
    _pyg_seed_everything(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    logger.debug('seeded everything with %d', seed)
    return seed
