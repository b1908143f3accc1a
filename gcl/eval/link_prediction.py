"""Link prediction with frozen node embeddings.

Two protocols, kept apart on purpose:

- **held-out** (gcl default): :func:`split_edges` removes validation and test edges *before*
  the encoder is trained; :func:`evaluate_link_prediction` then scores those unseen edges
  against sampled non-edges (ROC-AUC, AP), OGB link style.
- **transductive** (CSGCL's early code, ALGORITHMS.md §4.6):
  :func:`evaluate_link_prediction_transductive` scores the very edges the encoder trained on.
  It is optimistic by construction and labelled so in its ``protocol`` string.
"""

from __future__ import annotations

import copy
import logging
import random
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval.node_classification import (
    DEFAULT_C_GRID,
    _check_embeddings,
    _l2_normalize,
    _quiet_sklearn,
    _to_numpy,
)

__all__ = [
    'split_edges',
    'evaluate_link_prediction',
    'evaluate_link_prediction_transductive',
]

#: the protocol name of :func:`evaluate_link_prediction_transductive`'s records
TRANSDUCTIVE_PROTOCOL = 'transductive (CSGCL): edges seen in training'

logger = logging.getLogger(__name__)

SCORERS: tuple[str, ...] = ('cosine', 'hadamard')
EdgeSplit = Mapping[str, Mapping[str, Tensor]]

_BLOCK = 65536  # edges scored per block: memory O(block * D), not O(E * D)


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch and Python's ``random`` (PyG's ``negative_sampling`` uses it) for a block,
    restoring both global states afterwards."""
    devices = [device.index or 0] if device.type == 'cuda' else []
    state = random.getstate()
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            random.seed(int(seed))
            yield
    finally:
        random.setstate(state)


def _check_edge_index(edge_index: Any, num_nodes: int, name: str = 'edge_index') -> Tensor:
    """A ``[2, E]`` LongTensor of node ids < ``num_nodes``; OGB's ``[E, 2]`` is transposed."""
    if isinstance(edge_index, np.ndarray):
        edge_index = torch.from_numpy(edge_index)
    if not isinstance(edge_index, Tensor):
        raise GCLDataError(f'{name} must be a LongTensor [2, E], got {type(edge_index).__name__}.')
    if edge_index.dim() == 2 and edge_index.size(0) != 2 and edge_index.size(1) == 2:
        edge_index = edge_index.t()  # OGB stores link splits as [E, 2]
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise GCLDataError(f'{name} must have shape [2, E], got {tuple(edge_index.shape)}.')
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise GCLDataError(f'{name} must hold integer node ids, got dtype {edge_index.dtype}.')
    edge_index = edge_index.long()
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        bad = int(edge_index.max()) if int(edge_index.max()) >= num_nodes else int(edge_index.min())
        raise GCLDataError(
            f'{name} refers to node {bad}, but there are {num_nodes} nodes (ids 0..'
            f'{num_nodes - 1}). Are the embeddings from the same graph?'
        )
    return edge_index


def _edge_part(edge_split: EdgeSplit, part: str, key: str, num_nodes: int) -> Tensor:
    if part not in edge_split or key not in edge_split[part]:
        raise GCLDataError(
            f"edge_split lacks [{part!r}][{key!r}]; expected {{'train': {{'edge'}}, 'valid': "
            f"{{'edge', 'edge_neg'}}, 'test': {{'edge', 'edge_neg'}}}} as split_edges returns."
        )
    edges = _check_edge_index(edge_split[part][key], num_nodes, f'edge_split[{part!r}][{key!r}]')
    if edges.size(1) == 0:
        raise GCLDataError(f'edge_split[{part!r}][{key!r}] holds no edges; nothing to score.')
    return edges


def _edge_scores(z: Tensor, edges: Tensor, fn: Callable[[Tensor, Tensor], Tensor]) -> np.ndarray:
    """``fn(z[u], z[v])`` for every edge ``(u, v)`` of ``edges`` ``[2, E]``, in row blocks."""
    edges = edges.to(z.device)
    out = [
        fn(z[edges[0, i : i + _BLOCK]], z[edges[1, i : i + _BLOCK]])
        for i in range(0, edges.size(1), _BLOCK)
    ]
    return _to_numpy(torch.cat(out)).astype(np.float64)


def _auc_ap(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.concatenate([np.ones(pos.shape[0]), np.zeros(neg.shape[0])])
    scores = np.concatenate([pos, neg])
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def split_edges(
    data: Data,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    random_state: int = 0,
) -> tuple[Data, dict[str, dict[str, Tensor]]]:
    r"""Hold out validation and test edges before training, for :func:`evaluate_link_prediction`.

    Wraps ``torch_geometric.transforms.RandomLinkSplit(is_undirected=True, num_val=val_ratio,
    num_test=test_ratio, add_negative_train_samples=False, split_labels=True)``. Each
    undirected edge is held out with both directions. Validation and test negatives (as many
    as positives) are non-edges of the full graph. The split depends only on
    ``random_state``: torch's and Python's global RNGs are seeded inside a fork and restored.

    The input is treated as an undirected graph: self-loops are dropped, duplicate edges
    merged, and a directed ``edge_index`` is symmetrised with ``to_undirected`` (with a logged
    warning) rather than rejected, since edge lists of undirected graphs often store one
    direction. Edge-level attributes follow their edges (duplicates reduced with ``max``).

    Args:
        data (Data): the graph; ``data`` itself is not modified.
        val_ratio (float, optional): fraction of undirected edges for validation.
            (default: :obj:`0.05`)
        test_ratio (float, optional): fraction for test. (default: :obj:`0.10`)
        random_state (int, optional): seed of the split. (default: :obj:`0`)

    Returns:
        (Data, dict): ``train_data``, a shallow copy of ``data`` whose ``edge_index`` holds only
        the training edges (both directions): **train the encoder on it**, so it never sees a
        validation or test edge. ``edge_split`` (OGB link style), one direction per edge::

            {'train': {'edge': [2, E_train]},
             'valid': {'edge': [2, E_val], 'edge_neg': [2, E_val]},
             'test': {'edge': [2, E_test], 'edge_neg': [2, E_test]}}
    """
    import torch_geometric.transforms as T
    from torch_geometric.utils import is_undirected, to_undirected

    if not isinstance(data, Data):
        raise GCLDataError(f'split_edges needs a torch_geometric Data, got {type(data).__name__}.')
    if getattr(data, 'edge_index', None) is None:
        raise GCLDataError('data has no edge_index; there are no edges to split.')
    for name, ratio in (('val_ratio', val_ratio), ('test_ratio', test_ratio)):
        if not 0.0 < ratio < 1.0:
            raise GCLConfigError(f'{name} must be in (0, 1), got {ratio!r}.')
    if val_ratio + test_ratio >= 1.0:
        raise GCLConfigError(
            f'val_ratio + test_ratio = {val_ratio + test_ratio:g} leaves no training edges.'
        )
    num_nodes = int(data.num_nodes)
    edge_index = _check_edge_index(data.edge_index, num_nodes, 'data.edge_index')

    data = copy.copy(data)
    edge_keys = [k for k in data.keys() if k != 'edge_index' and data.is_edge_attr(k)]
    edge_attrs = [data[k] for k in edge_keys]
    loops = edge_index[0] == edge_index[1]
    if bool(loops.any()):
        logger.info('split_edges: dropping %d self-loops', int(loops.sum()))
        edge_index = edge_index[:, ~loops]
        edge_attrs = [a[~loops] for a in edge_attrs]
    if not is_undirected(edge_index, num_nodes=num_nodes):
        logger.warning(
            'split_edges: edge_index is directed; symmetrising it with to_undirected (link '
            'prediction is evaluated on the undirected graph)'
        )
    edge_index, edge_attrs = to_undirected(
        edge_index, edge_attrs, num_nodes=num_nodes, reduce='max'
    )  # also merges duplicates, so no edge can sit in two splits
    data.edge_index = edge_index
    for key, attr in zip(edge_keys, edge_attrs, strict=True):
        data[key] = attr
    if data.x is None:
        data.num_nodes = num_nodes  # isolated nodes must not vanish from train_data

    num_edges = edge_index.size(1) // 2  # undirected edges
    if int(val_ratio * num_edges) == 0 or int(test_ratio * num_edges) == 0:
        raise GCLDataError(
            f'the graph has {num_edges} undirected edges: too few for val_ratio={val_ratio}, '
            f'test_ratio={test_ratio} to hold out at least one edge each. Raise the ratios or '
            f'use a larger graph.'
        )

    transform = T.RandomLinkSplit(
        num_val=float(val_ratio),
        num_test=float(test_ratio),
        is_undirected=True,
        add_negative_train_samples=False,
        split_labels=True,
    )
    with _seeded(random_state, edge_index.device), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            train_data, val_data, test_data = transform(data)
        except ValueError as err:  # PyG: 'Insufficient number of edges for training'
            raise GCLDataError(
                f'cannot split {num_edges} undirected edges with val_ratio='
                f'{val_ratio}, test_ratio={test_ratio}: {err}'
            ) from err
    for w in caught:
        logger.warning('split_edges: %s', w.message)

    def labelled(store: Data, key: str, part: str) -> Tensor:
        edges = getattr(store, key, None)
        if edges is None or edges.size(1) == 0:
            raise GCLDataError(
                f'the {part} split got no {key.split("_")[0]} edges; the graph is too small or '
                f'too dense to sample as many non-edges as held-out edges.'
            )
        return edges

    edge_split = {
        'train': {'edge': labelled(train_data, 'pos_edge_label_index', 'train')},
        'valid': {
            'edge': labelled(val_data, 'pos_edge_label_index', 'valid'),
            'edge_neg': labelled(val_data, 'neg_edge_label_index', 'valid'),
        },
        'test': {
            'edge': labelled(test_data, 'pos_edge_label_index', 'test'),
            'edge_neg': labelled(test_data, 'neg_edge_label_index', 'test'),
        },
    }
    for key in (
        'pos_edge_label',
        'pos_edge_label_index',
        'neg_edge_label',
        'neg_edge_label_index',
        'edge_label',
        'edge_label_index',
    ):
        if key in train_data:
            del train_data[key]
    logger.debug(
        'split_edges: %d train / %d valid / %d test edges',
        *(edge_split[p]['edge'].size(1) for p in ('train', 'valid', 'test')),
    )
    return train_data, edge_split


def _logreg_hadamard(
    z: Tensor,
    edge_split: EdgeSplit,
    valid: tuple[Tensor, Tensor],
    random_state: int,
    c_grid: tuple[float, ...],
) -> Callable[[Tensor], np.ndarray]:
    """Fit logistic regression on Hadamard features of train edges vs as many sampled non-edges
    (seeded ``negative_sampling`` on the training graph), C chosen on validation ROC-AUC."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from torch_geometric.utils import negative_sampling, to_undirected

    num_nodes = z.size(0)
    train_pos = _edge_part(edge_split, 'train', 'edge', num_nodes)
    with _seeded(random_state, torch.device('cpu')):
        train_neg = negative_sampling(
            to_undirected(train_pos.cpu(), num_nodes=num_nodes),
            num_nodes=num_nodes,
            num_neg_samples=train_pos.size(1),
        )

    def features(edges: Tensor) -> np.ndarray:
        return _edge_scores(z, edges, lambda a, b: a * b)  # [E, D]

    x = np.concatenate([features(train_pos), features(train_neg)])
    labels = np.concatenate([np.ones(train_pos.size(1)), np.zeros(train_neg.size(1))])
    x_val = np.concatenate([features(valid[0]), features(valid[1])])
    y_val = np.concatenate([np.ones(valid[0].size(1)), np.zeros(valid[1].size(1))])
    best_auc, best_c, best_clf = -1.0, c_grid[0], None
    with _quiet_sklearn():
        for c in c_grid:  # ties keep the smaller C
            clf = LogisticRegression(C=float(c), solver='lbfgs', max_iter=1000)
            clf.fit(x, labels)
            auc = float(roc_auc_score(y_val, clf.decision_function(x_val)))
            if auc > best_auc:
                best_auc, best_c, best_clf = auc, c, clf
    logger.debug('hadamard link probe: C=%g selected, val AUC %.4f', best_c, best_auc)
    if best_clf is None:  # unreachable: the grid is checked non-empty by the caller
        raise GCLConfigError('c_grid is empty; give at least one C.')
    fitted = best_clf

    def score(edges: Tensor) -> np.ndarray:
        return fitted.decision_function(features(edges))

    return score


def evaluate_link_prediction(
    z: Tensor,
    edge_split: EdgeSplit,
    *,
    scorer: str = 'cosine',
    random_state: int = 0,
    c_grid: tuple[float, ...] | None = None,
) -> dict[str, Any]:
    r"""Held-out link prediction: score unseen edges against non-edges (ROC-AUC, AP).

    ``edge_split`` comes from :func:`split_edges` (or an OGB ``get_edge_split()``; ``[E, 2]``
    tensors are accepted), and ``z`` must come from an encoder trained on ``train_data`` only.
    Scorers:

    - ``'cosine'``: :math:`s(u, v) = \cos(z_u, z_v)`; nothing is trained, ``'train'`` unused.
    - ``'hadamard'``: logistic regression on :math:`\hat z_u \odot \hat z_v` (rows
      L2-normalised) of the train positive edges plus as many non-edges from a seeded
      ``negative_sampling`` of the training graph; C from ``c_grid`` (default
      :math:`2^{-4..6}` step 2) chosen on **validation** ROC-AUC.

    Args:
        z (Tensor): node embeddings, detached inside.
        edge_split (dict): ``{'train': {'edge'}, 'valid': {'edge', 'edge_neg'}, 'test':
            {'edge', 'edge_neg'}}`` with ``[2, E]`` node-id tensors.
        scorer (str, optional): ``'cosine'`` or ``'hadamard'``. (default: ``'cosine'``)
        random_state (int, optional): seed of the training negatives. (default: :obj:`0`)
        c_grid (tuple[float], optional): C values of the ``'hadamard'`` probe.

    Returns:
        dict: ``test_auc``, ``test_ap``, ``val_auc``, ``val_ap`` (floats) and ``protocol``,
        e.g. ``'held-out 85/5/10, cosine'`` (percentages of positive edges per split).

    Shapes:
        - **input:** ``z`` :math:`(N, D)`
    """
    if scorer not in SCORERS:
        raise GCLConfigError(f'unknown scorer {scorer!r}; choose one of {list(SCORERS)}.')
    if not isinstance(edge_split, Mapping):
        raise GCLDataError(
            'edge_split must be a dict as returned by split_edges(data); held-out link '
            'prediction needs edges removed before training.'
        )
    z = _check_embeddings(z)
    zn = _l2_normalize(z)
    num_nodes = z.size(0)
    valid = (
        _edge_part(edge_split, 'valid', 'edge', num_nodes),
        _edge_part(edge_split, 'valid', 'edge_neg', num_nodes),
    )
    test = (
        _edge_part(edge_split, 'test', 'edge', num_nodes),
        _edge_part(edge_split, 'test', 'edge_neg', num_nodes),
    )

    if scorer == 'cosine':

        def score(edges: Tensor) -> np.ndarray:
            return _edge_scores(zn, edges, lambda a, b: (a * b).sum(dim=-1))
    else:
        grid = DEFAULT_C_GRID if c_grid is None else tuple(c_grid)
        if not grid or any(not c > 0 for c in grid):
            raise GCLConfigError(f'c_grid must hold positive values, got {grid!r}.')
        score = _logreg_hadamard(zn, edge_split, valid, random_state, grid)

    val_auc, val_ap = _auc_ap(score(valid[0]), score(valid[1]))
    test_auc, test_ap = _auc_ap(score(test[0]), score(test[1]))

    sizes = [valid[0].size(1), test[0].size(1)]
    if 'train' in edge_split and 'edge' in edge_split['train']:
        sizes.insert(0, _check_edge_index(edge_split['train']['edge'], num_nodes).size(1))
    pct = '/'.join(str(round(100 * s / sum(sizes))) for s in sizes)
    result = {
        'test_auc': test_auc,
        'test_ap': test_ap,
        'val_auc': val_auc,
        'val_ap': val_ap,
        'protocol': f'held-out {pct}, {scorer}',
    }
    logger.info('link prediction (%s): test AUC %.4f, AP %.4f', scorer, test_auc, test_ap)
    return result


def evaluate_link_prediction_transductive(
    z: Tensor,
    edge_index: Tensor,
    random_state: int = 0,
) -> dict[str, Any]:
    r"""CSGCL's transductive link prediction (ALGORITHMS.md §4.6): optimistic by design.

    Positives are the edges of ``edge_index``, **the graph the encoder was trained on**
    (each undirected edge once, self-loops dropped); negatives are as many non-edges from a
    seeded ``negative_sampling``. Score :math:`\sigma(z_u^\top z_v)` on the raw (not
    normalised) embeddings, in float64 so the sigmoid saturates late and adds few ties;
    ROC-AUC as in CSGCL's code, plus AP (which that code does not compute). Use
    :func:`split_edges` and :func:`evaluate_link_prediction` for an honest number.

    Args:
        z (Tensor): node embeddings.
        edge_index (LongTensor): the training graph's edges.
        random_state (int, optional): seed of the negatives. (default: :obj:`0`)

    Returns:
        dict: ``auc``, ``ap`` (floats) and
        ``protocol='transductive (CSGCL): edges seen in training'``.

    Shapes:
        - **input:** ``z`` :math:`(N, D)`, ``edge_index`` :math:`(2, E)`
    """
    from torch_geometric.utils import negative_sampling, to_undirected

    z = _check_embeddings(z)
    num_nodes = z.size(0)
    edge_index = _check_edge_index(edge_index, num_nodes).cpu()
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    pos = edge_index[:, edge_index[0] < edge_index[1]]
    if pos.size(1) == 0:
        raise GCLDataError('edge_index has no edges (other than self-loops) to score.')
    with _seeded(random_state, torch.device('cpu')):
        neg = negative_sampling(edge_index, num_nodes=num_nodes, num_neg_samples=pos.size(1))
    z64 = z.double()

    def score(edges: Tensor) -> np.ndarray:
        return _edge_scores(z64, edges, lambda a, b: torch.sigmoid((a * b).sum(dim=-1)))

    auc, ap = _auc_ap(score(pos), score(neg))
    return {'auc': auc, 'ap': ap, 'protocol': TRANSDUCTIVE_PROTOCOL}
