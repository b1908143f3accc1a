r"""Cluster-weighted negatives, MEOW-style (Yu & Li, SDM 2023, arXiv 2212.13847), for GRACE.

ALGORITHMS.md §6.2. k-means runs ``M`` times with different ``K`` on the detached, L2-normalised
view-2 projections; candidate :math:`j` of anchor :math:`i` is weighted by the number of
clusterings that separate them,

.. math::
    w_{ij} = \sum_{m=1}^{M} \mathbb{1}[c_m(i) \neq c_m(j)] \in \{0, \dots, M\},\qquad
    \ell_i = -\log \frac{e^{s_{ii}/\tau}}{\sum_j w_{ij} e^{s_{ij}/\tau}
        \;[+ \textstyle\sum_{j \neq i} w_{ij} e^{u_i^\top u_j/\tau}]}

so :math:`w_{ii} = 0` removes the positive (as DCL does), nodes clustered with the anchor every
time are dropped as likely false negatives, and "harder" negatives (separated less often) weigh
less than clearly different ones. The adaptation to GRACE follows §6.2: the inter-view
similarities :math:`s_{ij} = \theta(u_i, v_j)`, plus (``intra_view=True``) the intra-view
negatives with the same weights, symmetrised. The weights are built block by block from the
``[M, N]`` cluster ids (:func:`gcl.kernels.pair_log_weights`), so the blockwise kernel keeps
:math:`O(NB)` memory.

Differences from the MEOW code, on purpose: sklearn ``KMeans`` (Lloyd, ``max_iter=20``) on the
normalised embeddings instead of faiss' inner-product k-means with ``nredo=5`` (``n_init`` is an
option, default 1 for speed); no prototype (ProtoNCE) term, which is MEOW's separate loss, not the
negative weighting.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.errors import GCLConfigError
from gcl.kernels.auto import contrastive_loss
from gcl.losses.info_nce import InfoNCE

logger = logging.getLogger(__name__)

__all__ = ['ClusterWeightedInfoNCE', 'cluster_assignments']


def cluster_assignments(h: Tensor, num_clusters: Sequence[int], *, random_state: int = 0,
                        max_iter: int = 20, n_init: int = 1) -> Tensor:
    """Cluster ids of the L2-normalised rows of ``h`` for each ``K`` in ``num_clusters``.

    Run ``m`` uses ``KMeans(n_clusters=K_m, random_state=random_state + m)``, as MEOW seeds its
    runs by index. ``K`` is clamped to ``[2, N - 1]``.

    Shapes:
        - **input:** ``h [N, D]``; **output:** ``[M, N]`` (long, on ``h.device``)
    """
    from sklearn.cluster import KMeans

    n = h.size(0)
    x = F.normalize(h.detach().float(), dim=-1).cpu().numpy().astype(np.float64)
    out = []
    for m, k in enumerate(num_clusters):
        k = int(min(max(2, int(k)), max(2, n - 1)))
        labels = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter,
                        random_state=random_state + m).fit_predict(x)
        out.append(torch.as_tensor(labels, dtype=torch.long))
    return torch.stack(out).to(h.device)


class ClusterWeightedInfoNCE(InfoNCE):
    """GRACE's InfoNCE with MEOW's cluster-separation weights on the negatives (§6.2).

    Args:
        tau: temperature.
        num_clusters: the ``K`` of each k-means run (MEOW's ACM config: ``[100, 300]``).
        recluster_every: re-run k-means every this many calls (MEOW: every epoch, ``1``).
        intra_view: add the intra-view negatives with the same weights (GRACE-style).
        symmetric: average both directions.
        batch_size: anchors per block (blockwise mode).
        mode: ``'auto'``, ``'dense'`` or ``'blockwise'`` (all exact); ``'sampled'`` with
            ``num_negatives``.
        num_negatives: negatives per anchor in ``'sampled'`` mode.
        kmeans_iters: Lloyd iterations per run (MEOW: 20).
        kmeans_n_init: k-means restarts (MEOW's faiss ``nredo``: 5).
        random_state: seed of the k-means runs.
    """

    name = 'cluster_weighted'
    aliases = ('meow', 'cluster-weighted-info-nce')

    def __init__(self, tau: float = 0.5, num_clusters: Sequence[int] = (100, 300),
                 recluster_every: int = 1, intra_view: bool = True, symmetric: bool = True,
                 batch_size: int | None = None, mode: str = 'auto',
                 num_negatives: int | None = None, kmeans_iters: int = 20,
                 kmeans_n_init: int = 1, random_state: int = 0) -> None:
        super().__init__(tau, intra_view, symmetric, batch_size, mode, num_negatives)
        if isinstance(num_clusters, int):
            num_clusters = [num_clusters]
        if not num_clusters or any(int(k) < 2 for k in num_clusters):
            raise GCLConfigError(f'num_clusters must be a non-empty list of K >= 2, got '
                                 f'{num_clusters!r}')
        if int(recluster_every) < 1:
            raise GCLConfigError(f'recluster_every must be >= 1, got {recluster_every}')
        self.num_clusters = [int(k) for k in num_clusters]
        self.recluster_every = int(recluster_every)
        self.kmeans_iters = kmeans_iters
        self.kmeans_n_init = kmeans_n_init
        self.random_state = random_state
        self._calls = 0
        self.groups_: Tensor | None = None

    def forward(self, h1: Tensor, h2: Tensor, **context: object) -> Tensor:
        stale = self.groups_ is None or self.groups_.size(1) != h1.size(0)
        if stale or self._calls % self.recluster_every == 0:
            self.groups_ = cluster_assignments(h2, self.num_clusters,
                                               random_state=self.random_state + self._calls,
                                               max_iter=self.kmeans_iters,
                                               n_init=self.kmeans_n_init)
        self._calls += 1
        return contrastive_loss(h1, h2, self.tau, mode=self.mode, intra_view=self.intra_view,
                                symmetric=self.symmetric, groups=self.groups_,
                                block_size=self.batch_size, num_negatives=self.num_negatives)

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, num_clusters={self.num_clusters}, '
                f'intra_view={self.intra_view}, symmetric={self.symmetric}, mode={self.mode!r}')
