"""CSGCL: Community-Strength-Enhanced Graph Contrastive Learning (Chen et al., IJCAI 2023);
ALGORITHMS.md §4."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gcl.augment.communal import (
    cav_attribute_weights,
    cav_drop_probabilities,
    ced,
    ced_edge_weights,
)
from gcl.augment.functional import feature_keep_mask_weighted
from gcl.errors import GCLConfigError
from gcl.kernels.sparse_features import SparseFeatures
from gcl.methods.grace import GRACE

logger = logging.getLogger(__name__)

__all__ = ['CSGCL']


def _leiden_available() -> bool:
    try:
        import igraph  # noqa: F401
        import leidenalg  # noqa: F401
    except ImportError:
        return False
    return True


class CSGCL(GRACE):
    r"""CSGCL: communities found once before training give every node a strength
    :math:`s_v = S_{c(v)}` (its community's modularity contribution, §4.1); the two views use
    Communal Edge Dropping (CED, §4.2) and Communal Attribute Voting (CAV, §4.3); the loss is
    Team-up (§4.4), GRACE's InfoNCE with candidates weighted by :math:`e^{\gamma(t) s_j/\tau}`,
    :math:`\gamma(t)` ramping up after epoch :math:`t_0`. Encoder ``F -> 2D -> D`` and projection
    head as GRACE.

    Community detection (``community.algorithm``): ``leiden`` as the paper (leidenalg, modularity
    partition), seeded with ``community.seed`` (``null``: the run's seed) -- the official code
    is unseeded; when leidenalg / igraph are not installed, ``louvain`` (python-louvain) is used
    instead, with a warning. Results are cached on disk by :func:`gcl.community.detect`
    (``community.cache_dir``; ``null``: the default cache folder). ``community.strength``:
    ``modularity`` (the paper's :math:`S_c`, default) or ``getmod-e497d32``, the official code's
    first version, which counted intra-community edges twice
    (:func:`gcl.community.community_strength`).

    Attributes (after :meth:`prepare` / :meth:`fit`):
        communities_: ``[N]`` community ids; strength_: ``[C]`` :math:`S_c`;
        node_strength_: ``[N]`` :math:`s_v`; edge_weight_: CED weights ``[E]``;
        attr_weight_: CAV weights ``[F]``; prepare_seconds_: timings of the one-off steps.

    Example:
        >>> z = CSGCL(epochs=200, t0=100, random_state=0).fit(data).embed(data)
    """

    name = 'csgcl'
    description = ('CSGCL (Chen et al., 2023): community-strength views (CED, CAV) + Team-up '
                   'InfoNCE')

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = super().default_config()
        config['encoder'] = {'hidden': 256, 'first_hidden': None, 'layers': 2,
                             'activation': 'prelu', 'proj_hidden': None, 'sparse_input': 'auto'}
        config['augment'] = {'p_ced': [0.2, 0.7], 'p_cav': [0.1, 0.2], 'ced_threshold': 1.0,
                             'cav_threshold': 1.0, 'dense_features': False,
                             'force_undirected': False}
        config['community'] = {'algorithm': 'leiden', 'seed': None, 'cache_dir': None,
                               'use_cache': True, 'strength': 'modularity'}
        config['loss'] = {'name': 'team_up', 'tau': 0.4, 't0': 500, 'gamma_max': 1.0,
                          'batch_size': None, 'mode': 'auto'}
        config['eval'] = copy.deepcopy(config['eval'])
        config['eval']['node_protocol'] = 'gca'
        return config

    # ------------------------------------------------------------------ preprocessing
    def community_algorithm(self) -> str:
        """``community.algorithm``, with the documented Louvain fallback for Leiden."""
        algorithm = str(self.config['community']['algorithm']).lower()
        if algorithm == 'leiden' and not _leiden_available():
            logger.warning('CSGCL: leidenalg / igraph are not installed; detecting communities '
                           'with Louvain (python-louvain) instead of Leiden')
            return 'louvain'
        return algorithm

    def prepare(self, data: Data) -> None:
        """Detect communities once, then strengths, CED edge weights and CAV attribute weights
        (ALGORITHMS.md §4.1-4.3)."""
        from gcl.community import community_strength, detect

        section = self.config['community']
        seed = self.seed if section['seed'] is None else int(section['seed'])
        timings: dict[str, float] = {}
        start = time.perf_counter()
        communities = detect(data, algorithm=self.community_algorithm(), random_state=seed,
                             cache_dir=section['cache_dir'], use_cache=bool(section['use_cache']))
        timings['community_detection'] = time.perf_counter() - start
        start = time.perf_counter()
        device = data.edge_index.device
        self.communities_ = communities.to(device).long()                          # [N]
        self.strength_ = community_strength(data, self.communities_, dtype=torch.float64,
                                            formula=str(section['strength'])).to(device)  # [C]
        self.node_strength_ = self.strength_[self.communities_].float()               # [N]
        timings['community_strength'] = time.perf_counter() - start
        start = time.perf_counter()
        self.edge_weight_ = ced_edge_weights(data.edge_index, self.communities_,
                                             self.strength_)                          # [E]
        timings['ced_edge_weights'] = time.perf_counter() - start
        start = time.perf_counter()
        self.attr_weight_ = cav_attribute_weights(
            data.x, self.node_strength_, dense=bool(self.config['augment']['dense_features']))
        timings['cav_attribute_weights'] = time.perf_counter() - start
        self.prepare_seconds_ = timings
        formula = str(section['strength'])
        logger.info('CSGCL: %d communities (%s, seed %d), %s %.4f',
                    int(self.strength_.numel()), self.community_algorithm(), seed,
                    'modularity' if formula == 'modularity' else f'sum of {formula} strengths',
                    float(self.strength_.sum()))

    # ------------------------------------------------------------------ views and loss
    rate_keys = ('p_ced', 'p_cav')

    def rates(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((p_ced_1, p_ced_2), (p_cav_1, p_cav_2))``, validated, thresholds too."""
        aug = self.config['augment']
        for key in ('ced_threshold', 'cav_threshold'):
            if not 0.0 <= float(aug[key]) <= 1.0:
                raise GCLConfigError(f'augment.{key} must lie in [0, 1], got {aug[key]!r}')
        return super().rates()

    def view(self, data: Data, k: int, epoch: int) -> tuple[Tensor | SparseFeatures, Tensor]:
        """View ``k`` in {0, 1}: CED edges and CAV features, ``(x [N, F], edge_index [2, E'])``."""
        if getattr(self, 'edge_weight_', None) is None:
            self.prepare(data)
        aug = self.config['augment']
        p_ced, p_cav = self.rates()
        edge_index, _ = ced(data.edge_index, self.edge_weight_, p_ced[k],
                            float(aug['ced_threshold']),
                            force_undirected=bool(aug['force_undirected']))
        p_attr = cav_drop_probabilities(self.attr_weight_, p_cav[k], float(aug['cav_threshold']))
        return self.masked_features(data, feature_keep_mask_weighted(p_attr)), edge_index

    def step(self, model: nn.Module, data: Data, epoch: int) -> Tensor:
        h1, h2 = self.project(model, data, epoch)
        return model.loss(h1, h2, epoch=epoch, node_strength=self.node_strength_,
                          communities=self.communities_, strength=self.strength_)

    def extra_state(self) -> dict[str, Any]:
        """The community assignment, so a checkpoint records what training used."""
        communities = getattr(self, 'communities_', None)
        return {} if communities is None else {'communities': communities.cpu().tolist()}
