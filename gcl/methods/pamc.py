"""PamC: block contrastive clustering with parameter-free meta-nodes (ALGORITHMS.md §5).

Kulatilleke, Portmann, Chandra, arXiv 2209.14067 (official code ``gayanku/PAMC``, model
``SCGC_TRIM``, training ``train_scgc_trimPOS_CCSP``). A deep clustering model, not a two-view
encoder:

- encoder: an MLP ``n_input -> 500 -> 500 -> 2000 -> 10`` (ReLU on the hidden layers, linear z),
  no GNN layer; initialised from a pre-trained autoencoder;
- cluster layer :math:`\\mu \\in R^{K x 10}`, initialised by ``KMeans(K, n_init=20)`` on z;
- DEC soft assignment :math:`q_{ik} \\propto (1 + \\|z_i - \\mu_k\\|^2/v)^{-(v+1)/2}`, target
  distribution :math:`p_{ik} = (q_{ik}^2/f_k) / \\sum_{k'} q_{ik'}^2/f_{k'}` recomputed from the
  current model every epoch, before the step, and detached;
- loss :math:`\\beta\\,KL(P\\|Q) + \\alpha\\,L_{PamC}` with the meta-node block loss
  (:func:`gcl.losses.pamc_block_loss`) on the influence positives
  :math:`\\hat A_r = \\sum_{k=1}^r \\hat A^k`, :math:`\\hat A = D^{-1}(A + I)` (row-normalised).

**Pre-training substitute.** The paper initialises the MLP from SDCN's pre-trained autoencoder
(``data/<name>.pkl``), which is not available offline. gcl pre-trains the same autoencoder itself
(decoder ``10 -> 2000 -> 500 -> 500 -> n_input``, MSE, Adam lr 1e-3, batch 256,
``pretrain.ae_epochs`` epochs, 30 by default as in SDCN's ``pretrain_ae.py``) and keeps the
encoder. Expect different numbers from the paper's (ALGORITHMS.md §8, item 5).

**Evaluation.** Predictions are :math:`\\arg\\max_k q_{ik}`. ``clustering_metrics_`` holds two
protocols, labelled: ``'final'`` (the trained model; labels are used only to score) and
``'best-epoch'`` (PamC's: each metric's maximum over the epochs, predictions taken before each
step; selected with the labels, so optimistic). The per-epoch numbers are in ``history_``.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from gcl.errors import GCLConfigError, GCLDataError
from gcl.losses.pamc import pamc_block_loss
from gcl.methods.base import COMMON_DEFAULTS, Method

logger = logging.getLogger(__name__)

__all__ = ['PamC', 'MLPEncoder', 'influence_positives', 'soft_assignment',
           'target_distribution']


class MLPEncoder(nn.Module):
    """PamC / SDCN's autoencoder encoder ``n_input -> 500 -> 500 -> 2000 -> n_z``.

    ``edge_index`` is accepted and ignored (the model has no GNN layer), so the base class's
    ``encode`` works unchanged.

    Shapes:
        - **input:** ``x [N, n_input]``; **output:** ``z [N, n_z]``
    """

    def __init__(self, in_channels: int, hidden: list[int] | tuple[int, ...] = (500, 500, 2000),
                 out_channels: int = 10) -> None:
        super().__init__()
        widths = [in_channels, *hidden, out_channels]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.out_channels = out_channels

    def reset_parameters(self) -> None:
        for layer in self.layers:
            layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


def soft_assignment(z: Tensor, centres: Tensor, v: float = 1.0) -> Tensor:
    r"""DEC's Student-t soft assignment :math:`q_{ik}`, rows summing to 1.

    Shapes:
        - **input:** ``z [N, d]``, ``centres [K, d]``; **output:** ``[N, K]``
    """
    dist = torch.cdist(z, centres).pow(2)                                  # [N, K]
    q = (1.0 + dist / v).pow(-(v + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    r"""DEC's target :math:`p_{ik} = (q_{ik}^2/f_k) / \sum_{k'} q_{ik'}^2/f_{k'}`, detached.

    Shapes:
        - **input:** ``[N, K]``; **output:** ``[N, K]``
    """
    q = q.detach()
    weight = q.pow(2) / q.sum(dim=0)
    return weight / weight.sum(dim=1, keepdim=True)


def influence_positives(edge_index: Tensor, num_nodes: int, order: int = 1
                        ) -> tuple[Tensor, Tensor]:
    r"""The influence matrix :math:`\hat A_r = \sum_{k=1}^r \hat A^k`, :math:`\hat A =
    D^{-1}(A + I)` (symmetrised, self-loops added, row-normalised), as PamC's
    ``utils.load_graph`` with ``--influence`` builds it, in sparse form.

    Shapes:
        - **output:** ``index [2, nnz]`` (long), ``value [nnz]`` (float)
    """
    import scipy.sparse as sp

    if order < 1:
        raise GCLConfigError(f'the influence order r must be >= 1, got {order}')
    row, col = edge_index.cpu().numpy()
    ones = np.ones(row.size, dtype=np.float64)
    adj = sp.coo_matrix((ones, (row, col)), shape=(num_nodes, num_nodes)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    adj.setdiag(1.0)
    degree = np.asarray(adj.sum(axis=1)).ravel()
    norm = sp.diags(1.0 / degree) @ adj                                    # D^-1 (A + I)
    total, power = norm.copy(), norm
    for _ in range(order - 1):
        power = power @ norm
        total = total + power
    total = total.tocoo()
    index = torch.as_tensor(np.vstack([total.row, total.col]), dtype=torch.long)
    value = torch.as_tensor(total.data, dtype=torch.float32)
    return index, value


def _scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score

    from gcl.eval.clustering import ClusteringEvaluator, _hungarian_mapping

    out = ClusteringEvaluator().eval({'y_true': y, 'y_pred': pred})
    mapped = _hungarian_mapping(y, pred)
    out['f1'] = float(f1_score(y, mapped, labels=np.unique(y), average='macro', zero_division=0))
    return out


class PamC(Method):
    """PamC (module docstring): DEC clustering with the meta-node block contrastive loss.

    Example:
        >>> model = PamC(random_state=0).fit(data)       # data = gcl.load_dataset('citeseer')
        >>> model.clustering_metrics_['final']           # {'acc', 'nmi', 'ari', 'f1'}
        >>> model.predict(data)                          # [N] cluster ids
    """

    name = 'pamc'
    description = 'PamC (Kulatilleke et al., 2022): DEC + meta-node block contrastive loss'

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = copy.deepcopy(COMMON_DEFAULTS)
        config.update({
            'encoder': {'hidden': [500, 500, 2000], 'n_z': 10},
            'cluster': {'num_clusters': None, 'v': 1.0, 'kmeans_n_init': 20},
            'pretrain': {'ae_epochs': 30, 'ae_lr': 1e-3, 'ae_batch_size': 256},
            'loss': {'name': 'pamc', 'alpha': 2.0, 'beta': 2.5, 'tau': 0.5, 'order': 3},
            'track_metrics': True,
        })
        config['optim'] = {'lr': 1e-3, 'weight_decay': 0.0, 'epochs': 200}
        config['data']['normalize_features'] = False
        config['eval'] = dict(config['eval'], tasks=['cluster'])
        return config

    # ----------------------------------------------------------------- graph
    def prepare(self, data: Data) -> None:
        if data.x is None:
            raise GCLDataError('PamC clusters node features; this graph has no data.x')
        order = int(self.config['loss']['order'])
        index, value = influence_positives(data.edge_index, data.num_nodes, order)
        self.positive_index_ = index.to(data.x.device)
        self.positive_weight_ = value.to(data.x.device)

    def contrastive_loss(self, z: Tensor, assignment: Tensor) -> Tensor:
        """The contrastive term; PamC: the meta-node block loss."""
        return pamc_block_loss(z, self.positive_index_, self.positive_weight_, assignment,
                               float(self.config['loss']['tau']))

    # ----------------------------------------------------------------- model
    def num_clusters(self, data: Data) -> int:
        k = self.config['cluster']['num_clusters']
        if k is None:
            if getattr(data, 'y', None) is None:
                raise GCLConfigError('set cluster.num_clusters: this graph has no labels to '
                                     'count classes from')
            k = int(torch.unique(data.y).numel())
        if int(k) < 2:
            raise GCLConfigError(f'cluster.num_clusters must be >= 2, got {k}')
        return int(k)

    def build(self, data: Data) -> nn.Module:
        enc = self.config['encoder']
        model = nn.Module()
        model.encoder = MLPEncoder(data.num_features, list(enc['hidden']), int(enc['n_z']))
        model.encoder.to(data.x.device)
        self._pretrain(model.encoder, data)
        with torch.no_grad():
            z = model.encoder(data.x).cpu().double().numpy()
        from sklearn.cluster import KMeans

        k = self.num_clusters(data)
        kmeans = KMeans(n_clusters=k, n_init=int(self.config['cluster']['kmeans_n_init']),
                        random_state=self.seed).fit(z)
        model.cluster = nn.Parameter(torch.as_tensor(kmeans.cluster_centers_,
                                                     dtype=data.x.dtype))    # [K, n_z]
        return model

    def _pretrain(self, encoder: MLPEncoder, data: Data) -> None:
        """Pre-train ``encoder`` inside an autoencoder (the SDCN weights' offline substitute)."""
        cfg = self.config['pretrain']
        epochs = int(cfg['ae_epochs'])
        if epochs <= 0:
            return
        widths = [encoder.out_channels, *reversed(list(self.config['encoder']['hidden'])),
                  data.num_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
        decoder = nn.Sequential(*layers).to(data.x.device)
        params = list(encoder.parameters()) + list(decoder.parameters())
        optimizer = torch.optim.Adam(params, lr=float(cfg['ae_lr']))
        x = data.x
        batch = int(cfg['ae_batch_size'])
        for epoch in range(epochs):
            order = torch.randperm(x.size(0), device=x.device)
            total = 0.0
            for start in range(0, x.size(0), batch):
                rows = order[start:start + batch]
                optimizer.zero_grad()
                loss = F.mse_loss(decoder(encoder(x[rows])), x[rows])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * rows.numel()
            logger.debug('pretrain epoch %d: reconstruction MSE %.5f', epoch + 1,
                         total / x.size(0))

    # ----------------------------------------------------------------- step
    def step(self, model: nn.Module, data: Data, epoch: int) -> Tensor:
        cfg = self.config['loss']
        z = model.encoder(data.x)                                          # [N, n_z]
        q = soft_assignment(z, model.cluster, float(self.config['cluster']['v']))   # [N, K]
        p = target_distribution(q)                       # every epoch, before the step
        assignment = q.detach().argmax(dim=1)                              # [N]
        self._last_prediction = assignment
        kl = F.kl_div(q.log(), p, reduction='batchmean')
        contrast = self.contrastive_loss(z, assignment)
        return float(cfg['beta']) * kl + float(cfg['alpha']) * contrast

    # ----------------------------------------------------------------- fit / predict
    def fit(self, data: Data, **kwargs: Any) -> PamC:
        """Train (see :meth:`Method.fit`); then fill ``clustering_metrics_`` when ``data.y``
        exists (labels are used only to score, never to train or to pick the final model)."""
        track = bool(self.config.get('track_metrics', True)) and getattr(data, 'y', None) \
            is not None
        callbacks = list(kwargs.pop('callbacks', ()) or ())
        if track:
            labels = data.y.cpu().numpy()

            def per_epoch(epoch: int, method: Method, model: nn.Module, graph: Data,
                          loss: float) -> dict[str, float]:
                pred = self._last_prediction.cpu().numpy()
                return {f'q_{key}': value for key, value in _scores(labels, pred).items()}

            callbacks.append(per_epoch)
        super().fit(data, callbacks=callbacks, **kwargs)
        if track:
            final = _scores(labels, self.predict(data).numpy())
            best = {key: max(h[f'q_{key}'] for h in self.history_ if f'q_{key}' in h)
                    for key in ('acc', 'nmi', 'ari', 'f1')}
            self.clustering_metrics_ = {
                'final': {**final, 'protocol': 'argmax q of the final model (labels only '
                                               'score)'},
                'best-epoch': {**best, 'protocol': "PamC's: each metric's max over epochs "
                                                   '(label-selected, optimistic)'},
            }
        return self

    @torch.no_grad()
    def predict(self, data: Data) -> Tensor:
        """Cluster ids :math:`\\arg\\max_k q_{ik}` of the trained model, ``[N]`` (CPU long)."""
        model = self._fitted()
        model.eval()
        data = self._input(data)
        q = soft_assignment(model.encoder(data.x), model.cluster,
                            float(self.config['cluster']['v']))
        return q.argmax(dim=1).cpu()
