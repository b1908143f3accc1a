"""GRACE: Deep Graph Contrastive Representation Learning (Zhu et al., 2020); ALGORITHMS.md §1."""

from __future__ import annotations

import copy
from typing import Any

from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import dropout_edge

from gcl.augment.functional import feature_keep_mask
from gcl.encoders import GCNEncoder, ProjectionHead
from gcl.errors import GCLConfigError
from gcl.kernels.sparse_features import SparseFeatures
from gcl.methods.base import COMMON_DEFAULTS, Method

__all__ = ['GRACE']


class GRACE(Method):
    """GRACE: two uniformly corrupted views per epoch (edge removal, feature-column masking),
    a GCN encoder ``F -> 2D -> D``, a projection head, and the symmetric InfoNCE with intra- and
    inter-view negatives.

    Example:
        >>> model = GRACE(hidden=128, epochs=200, random_state=0).fit(data)
        >>> z = model.embed(data)   # [N, 128]
    """

    name = 'grace'
    description = 'GRACE (Zhu et al., 2020): uniform views + InfoNCE, intra & inter negatives'

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = copy.deepcopy(COMMON_DEFAULTS)
        config.update({
            # sparse_input: 'auto' reads bag-of-words features as CSR (GCNEncoder), same numbers
            'encoder': {'hidden': 128, 'first_hidden': None, 'layers': 2, 'activation': 'relu',
                        'proj_hidden': None, 'sparse_input': 'auto'},
            'augment': {'p_edge': [0.2, 0.4], 'p_feat': [0.3, 0.4]},
            'loss': {'name': 'info_nce', 'tau': 0.4, 'intra_view': True, 'symmetric': True,
                     'batch_size': None},
        })
        return config

    # ----------------------------------------------------------------- model
    def build(self, data: Data) -> nn.Module:
        enc = self.config['encoder']
        hidden = int(enc['hidden'])
        model = nn.Module()
        model.encoder = GCNEncoder(data.num_features, hidden, enc['first_hidden'],
                                   int(enc['layers']), enc['activation'])
        model.head = ProjectionHead(hidden, int(enc['proj_hidden'] or hidden))
        model.loss = self.make_loss()
        return model

    # ----------------------------------------------------------------- views
    #: the two ``augment`` keys that hold the views' (edge, feature) rates
    rate_keys: tuple[str, str] = ('p_edge', 'p_feat')

    def rates(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((p_edge_1, p_edge_2), (p_feat_1, p_feat_2))`` (the :attr:`rate_keys` of
        ``augment``), validated: each a probability or a pair of probabilities."""
        aug = self.config['augment']
        pairs = []
        for key in self.rate_keys:
            value = aug[key]
            pair = (value, value) if isinstance(value, (int, float)) else tuple(value)
            if len(pair) != 2 or not all(0.0 <= float(p) <= 1.0 for p in pair):
                raise GCLConfigError(f'augment.{key} must be a probability or a pair of '
                                     f'probabilities in [0, 1], got {value!r}')
            pairs.append((float(pair[0]), float(pair[1])))
        return pairs[0], pairs[1]

    def view(self, data: Data, k: int, epoch: int) -> tuple[Tensor | SparseFeatures, Tensor]:
        """View ``k`` in {0, 1}: ``(x [N, F], edge_index [2, E'])`` -- GRACE's uniform views
        (``x`` masked as :meth:`masked_features` returns it)."""
        p_edge, p_feat = self.rates()
        edge_index, _ = dropout_edge(data.edge_index, p=p_edge[k], force_undirected=False,
                                     training=p_edge[k] > 0)
        keep = feature_keep_mask(data.x.size(1), p_feat[k], data.x.device)
        return self.masked_features(data, keep), edge_index

    # ----------------------------------------------------------------- step
    def project(self, model: nn.Module, data: Data, epoch: int) -> tuple[Tensor, Tensor]:
        """Projected embeddings of the two views, ``h1, h2 [N, D]``."""
        x1, e1 = self.view(data, 0, epoch)
        x2, e2 = self.view(data, 1, epoch)
        z1 = model.encoder(x1, e1)                       # [N, D]
        z2 = model.encoder(x2, e2)                       # [N, D]
        return model.head(z1), model.head(z2)

    def step(self, model: nn.Module, data: Data, epoch: int) -> Tensor:
        h1, h2 = self.project(model, data, epoch)
        return model.loss(h1, h2, epoch=epoch)
