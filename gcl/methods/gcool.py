r"""gCooL: Graph Communal Contrastive Learning (Li, Jing, Tong, WWW 2022); ALGORITHMS.md §3.

What one training step computes, as the official code (``lblaoke/gCooL``) does by default:

1. two GCA-adaptive views (§0.4: ``degree`` or ``pr`` centralities, thresholds 0.7);
2. a GCN encoder :math:`F \to H \to D` with an explicit ``H`` and the activation after both
   layers; a projection :math:`D \to P \to D` with an L2-normalised output,
   ``h = normalize(g(z))``;
3. the node loss: InfoNCE **one-directional**, **without intra-view negatives** (the code's
   ``s21 = s12``; trap 3 of §3.6);
4. soft assignments :math:`R^a = \operatorname{softmax}(\langle sg(h^a), \hat c\rangle/\tau)` to
   ``K`` learnable centres (``torch.randn`` init, same Adam and weight decay), DeCA in sparse form
   (:func:`gcl.community.deca_loss`) averaged over the views, and ReSC
   (:class:`gcl.losses.ReSC`) between each view's nodes and the other view's prototypes;
5. :math:`L(t) = L_{node} + \alpha(t)[\beta(t) L_{DeCA} + (1-\beta(t)) L_{ReSC}]` with
   :math:`\alpha(t) = \max(0, 1 - t/(\rho\eta))`, :math:`\beta(t) = e^{-t/\eta}`, ``t = epoch - 1``
   (the code counts epochs from 0 and runs ``num_epochs + 1`` steps, so the shipped configs set
   ``optim.epochs = num_epochs + 1``).

Spec traps (§3.6) are reproduced on purpose, each with a named option for the paper's intent:

=============================  ===========================  ===================================
trap                           as coded (default)           option
=============================  ===========================  ===================================
community terms switch off     :math:`\alpha(t)=0` for      ``community.keep_community_terms:
after :math:`0.2\eta` epochs   :math:`t \ge \rho\eta`       true`` keeps :math:`\alpha = 1`
cosine ReSC has no reweight    ``reweight: null`` (on for   ``community.reweight: true``
                               ``rbf`` only)
one-directional node loss      ``loss.symmetric: false``    ``loss.symmetric: true``
no intra-view negatives        ``loss.intra_view: false``   ``loss.intra_view: true``
DeCA trains the centres only   ``detach_assignment: true``  ``community.detach_assignment:
                                                            false``
prototypes detached in ReSC    ``detach_prototypes: true``  ``community.detach_prototypes:
                                                            false``
cosine vs Euclidean variant    ``similarity: cos``          ``community.similarity: rbf``
``rrelu`` is ``nn.RReLU``      ``activation: rrelu-random``  ``activation: rrelu`` (GCA's)
=============================  ===========================  ===================================

Once :math:`\alpha(t) = 0` the community terms are not computed at all (they are multiplied by
zero in the code): the encoder's gradients are identical; only the now unused centres no longer
drift under weight decay.

On a multiplex graph (``data.relations``, see :mod:`gcl.data.multiplex`) the same objective runs
between relations: see :mod:`gcl.methods.gcool_multiplex`.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gcl.augment.adaptive import adaptive_probabilities, edge_drop_weights, feature_drop_weights
from gcl.augment.centrality import node_centrality
from gcl.augment.functional import drop_edge_weighted, feature_keep_mask_weighted
from gcl.community.deca import SIMILARITIES, deca_loss, soft_assignment
from gcl.encoders import GCNEncoder, ProjectionHead
from gcl.errors import GCLConfigError
from gcl.kernels.sparse_features import SparseFeatures
from gcl.losses.resc import ReSC
from gcl.methods.base import COMMON_DEFAULTS, Method

logger = logging.getLogger(__name__)

__all__ = ['GCooL', 'gcool_schedule', 'Branch']

DROP_SCHEMES = ('degree', 'pr', 'evc')


def gcool_schedule(t: int, stride: float, alpha_rate: float = 0.2) -> tuple[float, float]:
    r"""gCooL's weights at step ``t`` (0-based): :math:`\alpha(t) = \max(0, 1 - t/(\rho\eta))`
    (community terms on/off) and :math:`\beta(t) = e^{-t/\eta}` (DeCA to ReSC hand-over);
    :math:`\eta` = ``stride``, :math:`\rho` = ``alpha_rate`` (ALGORITHMS.md §3.2e)."""
    if stride <= 0 or alpha_rate <= 0:
        raise GCLConfigError(f'community.stride and alpha_rate must be > 0, got {stride}, '
                             f'{alpha_rate}')
    alpha = max(0.0, 1.0 - t / alpha_rate / stride)
    beta = math.exp(-t / stride)
    return alpha, beta


@dataclass
class Branch:
    """One encoded view per step: the edges it is drawn from, its drop probabilities and the
    encoder that embeds it (index into ``model.encoders``)."""

    name: str
    edge_index: Tensor      # [2, E] of the source graph (or relation)
    p_edge: Tensor          # [E] drop probability per edge
    p_feat: Tensor          # [F] drop probability per feature column
    encoder: int = 0


class GCooL(Method):
    """gCooL (WWW 2022): GCA views + one-directional InfoNCE + DeCA + ReSC, with learnable
    community centres; the official code's behaviour by default (see the module docstring).

    Example:
        >>> model = GCooL(num_communities=8, epochs=200, random_state=0).fit(data)
        >>> z = model.embed(data)                     # [N, D]
        >>> model.assign(data)                        # hard communities [N] from the centres
    """

    name = 'gcool'
    description = ('gCooL (Li et al., 2022): adaptive views + node InfoNCE + DeCA + ReSC with '
                   'learnable communities; single and multiplex graphs')

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = copy.deepcopy(COMMON_DEFAULTS)
        config['optim'] = {'lr': 0.01, 'weight_decay': 1e-5, 'epochs': 1001}
        config['eval']['node_protocol'] = 'gca'
        config.update({
            'encoder': {'hidden': 128, 'first_hidden': 256, 'layers': 2, 'activation': 'relu',
                        'proj_hidden': 128, 'sparse_input': 'auto'},
            'augment': {'drop_scheme': 'degree', 'p_edge': [0.2, 0.2], 'p_feat': [0.3, 0.3],
                        'threshold': 0.7, 'dense_features': False},
            'loss': {'name': 'info_nce', 'tau': 0.4, 'intra_view': False, 'symmetric': False,
                     'batch_size': None},
            'community': {'num_communities': 10, 'lamda': 1.0, 'gamma': 8e-5, 'stride': 500,
                          'alpha_rate': 0.2, 'similarity': 'cos', 'reweight': None,
                          'keep_community_terms': False, 'detach_assignment': True,
                          'detach_prototypes': True},
            'multiplex': {'mode': 'auto', 'relations': None, 'shared_encoder': False,
                          'combine': 'mean'},
        })
        return config

    # ----------------------------------------------------------------- config helpers
    def _community(self) -> dict[str, Any]:
        cfg = self.config['community']
        similarity = str(cfg['similarity']).lower()
        if similarity not in SIMILARITIES:
            raise GCLConfigError(f'community.similarity must be cos or rbf, got {similarity!r}')
        if int(cfg['num_communities']) < 2:
            raise GCLConfigError('community.num_communities must be >= 2, got '
                                 f'{cfg["num_communities"]}')
        return {**cfg, 'similarity': similarity}

    def _rates(self, key: str, count: int) -> list[float]:
        """``augment.<key>`` as ``count`` rates: a scalar applies to all, a list is per branch."""
        value = self.config['augment'][key]
        values = [value] if isinstance(value, (int, float)) else list(value)
        if not values or not all(isinstance(p, (int, float)) and 0.0 <= p <= 1.0
                                 for p in values):
            raise GCLConfigError(f'augment.{key} must be a probability or a list of them, '
                                 f'got {value!r}')
        if len(values) not in (1, count):
            raise GCLConfigError(f'augment.{key} has {len(values)} rates, but there are {count} '
                                 'views; give one rate or one per view')
        return [float(values[i if len(values) > 1 else 0]) for i in range(count)]

    def _scheme(self) -> str:
        scheme = str(self.config['augment']['drop_scheme']).lower()
        if scheme not in DROP_SCHEMES:
            raise GCLConfigError(f'augment.drop_scheme must be one of {", ".join(DROP_SCHEMES)}, '
                                 f'got {scheme!r}')
        return scheme

    def is_multiplex_run(self, data: Data) -> bool:
        """Whether this fit uses the multiplex variant (``multiplex.mode``: auto / on / off)."""
        from gcl.methods.gcool_multiplex import use_multiplex

        return use_multiplex(self, data)

    # ----------------------------------------------------------------- preparation
    def _adaptive(self, edge_index: Tensor, x: Tensor, num_nodes: int, p_edge: float,
                  p_feat: float, cache: dict) -> tuple[Tensor, Tensor]:
        """Drop probabilities ``([E], [F])`` for one edge set, weights cached per edge set."""
        scheme = self._scheme()
        threshold = float(self.config['augment']['threshold'])
        key = (edge_index.data_ptr(), edge_index.size(1))
        if key not in cache:
            weights_e = edge_drop_weights(edge_index, num_nodes, scheme)               # [E]
            centrality = node_centrality(edge_index, num_nodes, scheme, pr_iters=10)   # [N]
            weights_f = feature_drop_weights(
                x, centrality, dense=bool(self.config['augment']['dense_features']))  # [F]
            cache[key] = (weights_e, weights_f)
        weights_e, weights_f = cache[key]
        return (adaptive_probabilities(weights_e, p_edge, threshold),
                adaptive_probabilities(weights_f, p_feat, threshold))

    def prepare(self, data: Data) -> None:
        """The branches of a step: two adaptive views of ``data`` (or one per relation)."""
        self._community()
        if self.is_multiplex_run(data):
            from gcl.methods.gcool_multiplex import multiplex_branches

            self.branches_ = multiplex_branches(self, data)
        else:
            p_edge, p_feat = self._rates('p_edge', 2), self._rates('p_feat', 2)
            cache: dict = {}
            self.branches_ = []
            for k in range(2):
                pe, pf = self._adaptive(data.edge_index, data.x, data.num_nodes, p_edge[k],
                                        p_feat[k], cache)
                self.branches_.append(Branch(f'view{k + 1}', data.edge_index, pe, pf, 0))
        self.pairs_ = list(itertools.combinations(range(len(self.branches_)), 2))
        logger.info('gCooL: %d branches (%s), %d contrasted pairs', len(self.branches_),
                    ', '.join(b.name for b in self.branches_), len(self.pairs_))

    # ----------------------------------------------------------------- model
    def build(self, data: Data) -> nn.Module:
        enc = self.config['encoder']
        hidden = int(enc['hidden'])

        def make_encoder() -> GCNEncoder:
            return GCNEncoder(data.num_features, hidden, int(enc['first_hidden'] or 2 * hidden),
                              int(enc['layers']), enc['activation'])

        model = nn.Module()
        if self.is_multiplex_run(data):
            from gcl.methods.gcool_multiplex import MultiplexEncoder

            num_encoders = max(b.encoder for b in self.branches_) + 1
            model.encoder = MultiplexEncoder([make_encoder() for _ in range(num_encoders)],
                                             [b.encoder for b in self.branches_],
                                             str(self.config['multiplex']['combine']))
        else:
            model.encoder = make_encoder()
        model.head = ProjectionHead(hidden, int(enc['proj_hidden'] or hidden), normalize=True)
        cfg = self._community()
        model.centers = nn.Parameter(torch.randn(int(cfg['num_communities']), hidden))
        model.loss = self.make_loss()
        model.resc = ReSC(tau=float(self.config['loss']['tau']), similarity=cfg['similarity'],
                          gamma=float(cfg['gamma']), reweight=cfg['reweight'],
                          detach_prototypes=bool(cfg['detach_prototypes']))
        return model

    # ----------------------------------------------------------------- step
    def view(self, data: Data, branch: Branch) -> tuple[Tensor | SparseFeatures, Tensor]:
        """One adaptive view: ``(x [N, F], edge_index [2, E'])``."""
        edge_index, _ = drop_edge_weighted(branch.edge_index, branch.p_edge)
        return self.masked_features(data, feature_keep_mask_weighted(branch.p_feat)), edge_index

    @staticmethod
    def branch_encoder(model: nn.Module, branch: Branch) -> nn.Module:
        """The encoder of ``branch`` (one per relation in the multiplex variant)."""
        encoders = getattr(model.encoder, 'encoders', None)
        return encoders[branch.encoder] if encoders is not None else model.encoder

    def weights(self, epoch: int) -> tuple[float, float]:
        """``(alpha, beta)`` at ``epoch`` (1-based; ``t = epoch - 1``)."""
        cfg = self._community()
        alpha, beta = gcool_schedule(epoch - 1, float(cfg['stride']), float(cfg['alpha_rate']))
        if cfg['keep_community_terms']:
            alpha = 1.0
        return alpha, beta

    def step(self, model: nn.Module, data: Data, epoch: int) -> Tensor:
        if not hasattr(self, 'branches_'):
            self.prepare(data)
        cfg = self._community()
        tau = float(self.config['loss']['tau'])
        hs, edges = [], []
        for branch in self.branches_:
            x, edge_index = self.view(data, branch)
            z = self.branch_encoder(model, branch)(x, edge_index)      # [N, D]
            hs.append(model.head(z))                                   # [N, D], unit rows
            edges.append(edge_index)
        node = torch.stack([model.loss(hs[a], hs[b], epoch=epoch) for a, b in self.pairs_])
        loss = node.mean()
        self._terms = {'node': loss.detach()}
        alpha, beta = self.weights(epoch)
        if alpha > 0:
            assignments = [soft_assignment(h, model.centers, tau, cfg['similarity'],
                                           detach=bool(cfg['detach_assignment'])) for h in hs]
            deca = torch.stack([deca_loss(r, e, float(cfg['lamda']))
                                for r, e in zip(assignments, edges)]).mean()
            hard = [r.detach().argmax(dim=1) for r in assignments]       # [N] each
            k = int(cfg['num_communities'])
            resc = torch.stack([model.resc(hs[a], hs[b], communities=(hard[a], hard[b]),
                                           num_communities=k) for a, b in self.pairs_]).mean()
            loss = loss + alpha * (beta * deca + (1.0 - beta) * resc)
            self._terms.update(deca=deca.detach(), resc=resc.detach())
        return loss

    def loss_terms(self) -> dict[str, float]:
        """The node loss, and DeCA and ReSC while alpha(t) > 0, of the last step (unweighted):
        the total alone hides a node loss stuck at log N under a negative DeCA term."""
        return {k: float(v) for k, v in getattr(self, '_terms', {}).items()}

    # ----------------------------------------------------------------- outputs
    def encode(self, model: nn.Module, data: Data) -> Tensor:
        if self.is_multiplex_run(data):
            from gcl.methods.gcool_multiplex import multiplex_edge_indices

            return model.encoder(self.input_features(data), multiplex_edge_indices(self, data))
        return model.encoder(self.input_features(data), data.edge_index)

    @torch.no_grad()
    def assign(self, data: Data) -> Tensor:
        """Hard communities ``[N]`` of the un-augmented graph: argmax of the soft assignment of
        ``normalize(g(z))`` to the learnt centres."""
        model = self._fitted()
        model.eval()
        data = self._input(data)
        z = self.encode(model, data)
        cfg = self._community()
        r = soft_assignment(model.head(z), model.centers, float(self.config['loss']['tau']),
                            cfg['similarity'])
        return r.argmax(dim=1).cpu()
