"""GCA: Graph Contrastive Learning with Adaptive Augmentation (Zhu et al., WWW 2021);
ALGORITHMS.md §2 and §0.4."""

from __future__ import annotations

import copy
import logging
from typing import Any

from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.adaptive import (
    adaptive_probabilities,
    edge_drop_weights,
    feature_drop_weights,
)
from gcl.augment.centrality import node_centrality
from gcl.augment.functional import drop_edge_weighted, feature_keep_mask_weighted
from gcl.errors import GCLConfigError
from gcl.kernels.sparse_features import SparseFeatures
from gcl.methods.grace import GRACE

logger = logging.getLogger(__name__)

__all__ = ['GCA']

DROP_SCHEMES = ('degree', 'pr', 'evc', 'uniform')


class GCA(GRACE):
    """GCA: GRACE (same encoder, projection head and InfoNCE) with centrality-adaptive views.

    ``augment.drop_scheme`` picks the node centrality: ``degree`` (GCA-DE, the official
    default), ``pr`` (GCA-PR, GCA's PageRank: 200 steps for edges, 10 for features) or ``evc``
    (GCA-EV, eigenvector centrality); ``uniform`` gives GRACE's views. Edge ``u -> v`` is dropped
    with probability ``min(w_e * p_edge, threshold)`` from the centrality of its target ``v``;
    feature column ``j`` with ``min(w_j * p_feat, threshold)`` from the centrality-weighted
    feature mass (``|x|`` when ``augment.dense_features`` is true, as for WikiCS). The weights
    are computed once in :meth:`prepare`.

    Example:
        >>> z = GCA(drop_scheme='pr', epochs=200, random_state=0).fit(data).embed(data)
    """

    name = 'gca'
    description = 'GCA (Zhu et al., 2021): centrality-adaptive views (degree / pr / evc) + InfoNCE'

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = super().default_config()
        config['augment'] = {'p_edge': [0.2, 0.4], 'p_feat': [0.3, 0.4], 'drop_scheme': 'degree',
                             'threshold': 0.7, 'dense_features': False}
        config['eval'] = copy.deepcopy(config['eval'])
        config['eval']['node_protocol'] = 'gca'
        return config

    def scheme(self) -> str:
        """The validated ``augment.drop_scheme``."""
        scheme = str(self.config['augment']['drop_scheme']).lower()
        if scheme not in DROP_SCHEMES:
            raise GCLConfigError(f'augment.drop_scheme must be one of {", ".join(DROP_SCHEMES)}, '
                                 f'got {scheme!r}')
        return scheme

    def prepare(self, data: Data) -> None:
        """Edge weights ``[E]`` and feature weights ``[F]`` of ``data`` (ALGORITHMS.md §0.4)."""
        scheme = self.scheme()
        threshold = float(self.config['augment']['threshold'])
        if not 0.0 <= threshold <= 1.0:
            raise GCLConfigError(f'augment.threshold must lie in [0, 1], got {threshold}')
        self.edge_weights_: Tensor | None = None
        self.feature_weights_: Tensor | None = None
        if scheme == 'uniform':
            return
        self.edge_weights_ = edge_drop_weights(data.edge_index, data.num_nodes, scheme)  # [E]
        centrality = node_centrality(data.edge_index, data.num_nodes, scheme, pr_iters=10)
        self.feature_weights_ = feature_drop_weights(
            data.x, centrality, dense=bool(self.config['augment']['dense_features']))   # [F]
        logger.info('GCA-%s: edge and feature drop weights computed', scheme)

    def view(self, data: Data, k: int, epoch: int) -> tuple[Tensor | SparseFeatures, Tensor]:
        """View ``k`` in {0, 1}: ``(x [N, F], edge_index [2, E'])``, adaptive unless
        ``drop_scheme='uniform'``."""
        if getattr(self, 'edge_weights_', None) is None:
            if self.scheme() == 'uniform':
                return super().view(data, k, epoch)
            self.prepare(data)
        p_edge, p_feat = self.rates()
        threshold = float(self.config['augment']['threshold'])
        edge_index, _ = drop_edge_weighted(
            data.edge_index, adaptive_probabilities(self.edge_weights_, p_edge[k], threshold))
        keep = feature_keep_mask_weighted(
            adaptive_probabilities(self.feature_weights_, p_feat[k], threshold))     # [F]
        return self.masked_features(data, keep), edge_index
