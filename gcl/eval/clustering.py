"""Node clustering of frozen embeddings: k-means, then NMI / ARI / ACC / F1 against the labels.

CSGCL evaluates clustering with k-means on the embeddings and NMI / ARI (ALGORITHMS.md §4.6);
PamC adds ACC (best one-to-one cluster-to-class mapping, Hungarian algorithm) and macro-F1
after that mapping (§5.4). gcl reports all four, averaged over k-means seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval.node_classification import (
    _check_embeddings,
    _check_input_dict,
    _check_labels,
    _l2_normalize,
    _quiet_sklearn,
    _summarise,
    _to_numpy,
)

__all__ = ['ClusteringEvaluator', 'clustering_accuracy', 'evaluate_clustering']

logger = logging.getLogger(__name__)


def _as_label_array(labels: Any, name: str) -> np.ndarray:
    """A 1-D integer numpy array of labels from a Tensor / array / list."""
    if isinstance(labels, Tensor):
        labels = _to_numpy(labels)
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:  # OGB [N, 1]
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise GCLDataError(f'{name} must be 1-D [N], got shape {arr.shape}.')
    if arr.size == 0:
        raise GCLDataError(f'{name} is empty; nothing to evaluate.')
    if not np.issubdtype(arr.dtype, np.integer):
        raise GCLDataError(f'{name} must hold integer labels, got dtype {arr.dtype}.')
    return arr


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true = _as_label_array(y_true, 'y_true')
    y_pred = _as_label_array(y_pred, 'y_pred')
    if y_true.shape != y_pred.shape:
        raise GCLDataError(
            f'y_true has {y_true.size} labels but y_pred has {y_pred.size}; they must be '
            f'aligned, one entry per node.'
        )
    return y_true, y_pred


def _hungarian_mapping(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Relabel clusters with their best one-to-one class (Hungarian algorithm).

    The contingency table ``[K_pred, K_true]`` is matched with
    :func:`scipy.optimize.linear_sum_assignment` maximising agreement. With more clusters than
    classes the unmatched clusters map to ``min(y_true) - 1`` (a label no node has, so they
    count as errors); with fewer, some classes get no cluster.
    """
    from scipy.optimize import linear_sum_assignment

    classes, true_idx = np.unique(y_true, return_inverse=True)
    clusters, pred_idx = np.unique(y_pred, return_inverse=True)
    counts = np.zeros((clusters.size, classes.size), dtype=np.int64)  # [K_pred, K_true]
    np.add.at(counts, (pred_idx, true_idx), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    unmatched = classes.min() - 1  # a label no node has
    cluster_to_class = np.full(clusters.size, unmatched, dtype=np.int64)
    cluster_to_class[rows] = classes[cols]
    return cluster_to_class[pred_idx]


def clustering_accuracy(y_true: Tensor | np.ndarray, y_pred: Tensor | np.ndarray) -> float:
    r"""Clustering accuracy: the best one-to-one map of clusters to classes, then accuracy.

    .. math::
        \mathrm{ACC} = \max_{m} \frac{1}{N} \sum_{i} \mathbb{1}[y_i = m(c_i)]

    over injective maps :math:`m` from clusters to classes, found with the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``), as PamC (ALGORITHMS.md §5.4) and most deep
    clustering papers. Works when the number of clusters differs from the number of classes:
    unmatched clusters count as errors. Label values are arbitrary integers.

    Shapes:
        - **input:** :math:`(N)`, :math:`(N)`; **output:** float in [0, 1]
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float((_hungarian_mapping(y_true, y_pred) == y_true).mean())


class ClusteringEvaluator:
    """OGB-style evaluator of a clustering against ground-truth classes.

    ``eval`` returns NMI (arithmetic normalisation, sklearn's default), ARI and clustering
    accuracy (:func:`clustering_accuracy`)::

        ev = ClusteringEvaluator()
        ev.expected_input_format   # "{'y_true': LongTensor [N], 'y_pred': LongTensor [N]}"
        ev.eval({'y_true': y, 'y_pred': labels})   # {'nmi': .., 'ari': .., 'acc': ..}
    """

    @property
    def expected_input_format(self) -> str:
        """Describe the dict :meth:`eval` takes."""
        return "{'y_true': LongTensor [N], 'y_pred': LongTensor [N]}"

    @property
    def expected_output_format(self) -> str:
        """Describe the dict :meth:`eval` returns."""
        return "{'nmi': float, 'ari': float, 'acc': float}"

    def eval(self, input_dict: Mapping[str, Any]) -> dict[str, float]:
        """Score ``input_dict['y_pred']`` (cluster ids) against ``input_dict['y_true']``."""
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        _check_input_dict(input_dict, ('y_true', 'y_pred'), self.expected_input_format)
        y_true, y_pred = _check_pair(input_dict['y_true'], input_dict['y_pred'])
        return {
            'nmi': float(normalized_mutual_info_score(y_true, y_pred, average_method='arithmetic')),
            'ari': float(adjusted_rand_score(y_true, y_pred)),
            'acc': float((_hungarian_mapping(y_true, y_pred) == y_true).mean()),
        }

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


def evaluate_clustering(
    z: Tensor,
    y: Tensor,
    *,
    num_clusters: int | None = None,
    repeats: int = 5,
    random_state: int = 0,
) -> dict[str, Any]:
    r"""k-means node clustering of frozen embeddings (CSGCL, ALGORITHMS.md §4.6; PamC §5.4).

    The rows of ``z`` are L2-normalised, then sklearn ``KMeans(n_clusters=k, n_init=10,
    random_state=random_state + r)`` runs for each repeat r; NMI (arithmetic), ARI, ACC
    (Hungarian matching) and macro-F1 after that matching (``f1``, over the true classes) are
    averaged over the k-means seeds. The labels are used only for scoring.

    Args:
        z (Tensor): node embeddings, detached inside.
        y (LongTensor): ground-truth classes.
        num_clusters (int, optional): k; default the number of distinct classes in ``y``.
        repeats (int, optional): k-means seeds to average over. (default: :obj:`5`)
        random_state (int, optional): repeat r uses seed ``random_state + r``. (default: ``0``)

    Returns:
        dict: ``nmi``, ``ari``, ``acc``, ``f1``, each with ``_std`` (unbiased over repeats,
        0.0 for one), ``protocol`` (e.g. ``'kmeans-k=7, n_init=10'``) and ``repeats``.

    Shapes:
        - **input:** ``z`` :math:`(N, D)`, ``y`` :math:`(N)`
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import f1_score

    z = _check_embeddings(z)
    y = _check_labels(y, z.size(0))
    if int(repeats) != repeats or repeats < 1:
        raise GCLConfigError(f'repeats must be a positive integer, got {repeats!r}.')
    k = int(torch.unique(y).numel()) if num_clusters is None else num_clusters
    if int(k) != k or k < 2:
        raise GCLConfigError(f'num_clusters must be an integer >= 2, got {num_clusters!r}.')
    k = int(k)
    if k > z.size(0):
        raise GCLDataError(f'num_clusters={k} exceeds the number of nodes ({z.size(0)}).')

    x = _to_numpy(_l2_normalize(z.double()))
    y_np = _to_numpy(y)
    classes = np.unique(y_np)
    evaluator = ClusteringEvaluator()
    runs: dict[str, list[float]] = {'nmi': [], 'ari': [], 'acc': [], 'f1': []}
    for r in range(int(repeats)):
        with _quiet_sklearn():
            labels = KMeans(n_clusters=k, n_init=10, random_state=random_state + r).fit_predict(x)
        scores = evaluator.eval({'y_true': y_np, 'y_pred': labels})
        mapped = _hungarian_mapping(y_np, labels)
        f1 = f1_score(y_np, mapped, labels=classes, average='macro', zero_division=0)
        for key in ('nmi', 'ari', 'acc'):
            runs[key].append(scores[key])
        runs['f1'].append(float(f1))
    result = _summarise(runs, f'kmeans-k={k}, n_init=10')
    logger.info(
        'clustering (k=%d): NMI %.4f, ARI %.4f, ACC %.4f',
        k,
        result['nmi'],
        result['ari'],
        result['acc'],
    )
    return result
