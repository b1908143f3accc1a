r"""Is a trained encoder's output degenerate? A cheap check recorded with every run.

A contrastive encoder can collapse: all nodes' embeddings fall onto one direction (or die to
zero behind a ReLU), every projected view is the same unit vector, every InfoNCE logit is equal,
the loss sits at :math:`\log N`, and a probe sees one point. Seen here: gCooL on Amazon-Photo at
the paper's ``lr = 0.1``, where seeds 3 and 4 jumped to :math:`\log 7650 = 8.9425` at epoch 101
(when the community terms switch off) and sat there for 1,785 and 129 epochs before training
resumed (seed 3's epoch-600 checkpoint has effective rank 1.07); seeds 0-2 never did. This check
looks at the final embeddings only, so it names a seed still collapsed at the end; both of those
recovered, and the history's loss shows the episode. A seed that ends collapsed is a real result
of the settings, so it stays in the records; this check names it there (``embedding`` in each
record) and in the log, so that a low mean is traced to the seed that collapsed.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

logger = logging.getLogger(__name__)

__all__ = ['MAX_RANKME_ROWS', 'embedding_health']

#: RankMe's SVD uses at most this many rows (a seeded sample beyond it), so the check stays cheap
#: on graphs of millions of nodes.
MAX_RANKME_ROWS = 20_000


def embedding_health(z: Tensor, *, name: str = 'embeddings') -> dict[str, Any]:
    """Zero rows and effective rank of ``z`` ``[N, D]``; logs a warning when it has collapsed.

    Collapsed means at least half the rows are all zeros, or RankMe (the effective rank,
    :func:`gcl.bench.rankme.rankme`) is below 2: the nodes lie on at most about one direction.

    Returns:
        ``{'zero_rows': int, 'rankme': float, 'rankme_rows': int, 'collapsed': bool}``;
        ``rankme_rows`` is the number of rows RankMe was computed on (all, or a sample of
        :data:`MAX_RANKME_ROWS`).
    """
    from gcl.bench.rankme import rankme  # here: gcl.bench imports the training loop

    z = z.detach()
    n = z.size(0)
    zero_rows = int((z == 0).all(dim=1).sum())
    sample = z
    if n > MAX_RANKME_ROWS:
        generator = torch.Generator().manual_seed(0)
        sample = z[torch.randperm(n, generator=generator)[:MAX_RANKME_ROWS].to(z.device)]
    rank = round(rankme(sample), 3)
    collapsed = zero_rows * 2 >= n or rank < 2.0
    if collapsed:
        logger.warning('%s have collapsed: %d of %d rows are all zeros, effective rank (RankMe) '
                       '%.2f; every probe on them sees (nearly) one point', name, zero_rows, n,
                       rank)
    return {'zero_rows': zero_rows, 'rankme': rank, 'rankme_rows': int(sample.size(0)),
            'collapsed': collapsed}
