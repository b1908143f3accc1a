"""One entry point that evaluates frozen embeddings on several tasks of one graph."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval.clustering import evaluate_clustering
from gcl.eval.link_prediction import (
    evaluate_link_prediction,
    evaluate_link_prediction_transductive,
)
from gcl.eval.node_classification import (
    SPLIT_PROTOCOLS,
    _check_embeddings,
    evaluate_node_classification,
)

__all__ = ['evaluate']

logger = logging.getLogger(__name__)

#: the evaluation tasks; all but ``'link'`` score the encoder trained on the full graph
TASKS: tuple[str, ...] = ('node', 'cluster', 'link', 'link-transductive')

_TASK_FUNCTIONS = {
    'node': evaluate_node_classification,
    'cluster': evaluate_clustering,
    'link': evaluate_link_prediction,
    'link-transductive': evaluate_link_prediction_transductive,
}
#: arguments evaluate() sets itself; everything else in **kwargs is routed by name
_OWN = {'protocol', 'repeats', 'random_state', 'splits'}


def _task_kwargs() -> dict[str, set[str]]:
    """Keyword-only parameters of each task function, minus those evaluate() owns."""
    out = {}
    for task, fn in _TASK_FUNCTIONS.items():
        params = inspect.signature(fn).parameters.values()
        out[task] = {p.name for p in params if p.kind is p.KEYWORD_ONLY} - _OWN
    return out


def _splits_from_masks(data: Data) -> dict[str, Tensor] | list[dict[str, Tensor]]:
    """``data.train_mask / val_mask / test_mask`` as split dicts.

    Masks are ``[N]`` (one split) or ``[N, S]`` (S splits, as WikiCS's 20; a 1-D mask, such as
    WikiCS's shared ``test_mask``, is used by every split).
    """
    masks = {}
    for key, attr in (('train', 'train_mask'), ('valid', 'val_mask'), ('test', 'test_mask')):
        mask = getattr(data, attr, None)
        if mask is None:
            raise GCLDataError(
                f"node protocol 'public' needs data.train_mask, data.val_mask and "
                f'data.test_mask, but data.{attr} is missing. Pass splits=... (node ids) '
                f"or use node_protocol='random-10-10-80'."
            )
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.dim() not in (1, 2):
            raise GCLDataError(f'data.{attr} must be a bool mask [N] or [N, S].')
        if mask.size(0) != data.num_nodes:
            raise GCLDataError(
                f'data.{attr} has {mask.size(0)} rows but the graph has {data.num_nodes} nodes.'
            )
        masks[key] = mask
    num_splits = {m.size(1) for m in masks.values() if m.dim() == 2}
    if len(num_splits) > 1:
        raise GCLDataError(f'2-D split masks disagree on the number of splits: {num_splits}.')
    if not num_splits:
        return masks
    (count,) = num_splits
    return [
        {key: (m[:, s] if m.dim() == 2 else m) for key, m in masks.items()} for s in range(count)
    ]


def evaluate(
    z: Tensor,
    data: Data,
    tasks: str | Iterable[str] = ('node', 'cluster'),
    *,
    node_protocol: str = 'random-10-10-80',
    edge_split: Mapping[str, Mapping[str, Tensor]] | None = None,
    repeats: int = 5,
    random_state: int = 0,
    **kwargs: Any,
) -> dict[str, dict[str, Any]]:
    r"""Evaluate frozen embeddings ``z`` of ``data`` on ``tasks``; one result dict per task.

    - ``'node'``: :func:`~gcl.eval.evaluate_node_classification` with ``data.y`` and
      ``protocol=node_protocol``. For ``'public'`` the splits are ``data.train_mask``,
      ``val_mask``, ``test_mask`` unless ``splits=`` is given; 2-D masks ``[N, S]`` are S
      splits (WikiCS) and the result averages over them. ``'gca'`` draws random 10/10/80
      splits unless ``splits=`` is given (``splits='masks'`` reads the masks); ``'gca-public'``
      reads the masks as ``'public'`` does (GCA's and CSGCL's WikiCS evaluation).
    - ``'cluster'``: :func:`~gcl.eval.evaluate_clustering` with ``data.y``.
    - ``'link'``: :func:`~gcl.eval.evaluate_link_prediction` on ``edge_split`` from
      :func:`~gcl.eval.split_edges`; ``z`` must come from an encoder trained on its
      ``train_data``.
    - ``'link-transductive'``: :func:`~gcl.eval.evaluate_link_prediction_transductive`, CSGCL's
      protocol: the positives are ``data.edge_index``, edges the encoder **was trained on**
      (optimistic by design; report it beside ``'link'``, labelled, never instead of it).

    Args:
        z (Tensor): node embeddings, one row per node of ``data``.
        data (Data): the graph (labels in ``data.y``).
        tasks (str or list[str], optional): any of ``'node'``, ``'cluster'``, ``'link'``,
            ``'link-transductive'``. (default: ``('node', 'cluster')``)
        node_protocol (str, optional): see :func:`~gcl.eval.evaluate_node_classification`.
        edge_split (dict, optional): held-out edges, needed by ``'link'``.
        repeats (int, optional): repeats of the random protocols. (default: :obj:`5`)
        random_state (int, optional): base seed. (default: :obj:`0`)
        **kwargs: routed by name: ``splits``, ``normalize``, ``c_grid``, ``epochs``,
            ``eval_every``, ``lr``, ``weight_decay`` to node classification,
            ``num_clusters`` to clustering, ``scorer`` to link prediction.

    Returns:
        dict: ``{'node': {...}, 'cluster': {...}, 'link': {...}, 'link-transductive': {...}}``,
            only the requested tasks.

    Shapes:
        - **input:** ``z`` :math:`(N, D)` with :math:`N` = ``data.num_nodes``
    """
    if isinstance(tasks, str):
        tasks = (tasks,)
    tasks = tuple(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise GCLConfigError(f'unknown tasks {unknown}; choose from {list(TASKS)}.')
    accepted = _task_kwargs()
    splits = kwargs.pop('splits', None)
    routed: dict[str, dict[str, Any]] = {t: {} for t in TASKS}
    for key, value in kwargs.items():
        owners = [t for t in TASKS if key in accepted[t]]
        if not owners:
            valid = sorted(set().union(*accepted.values()) | {'splits'})
            raise GCLConfigError(f'evaluate() got an unknown option {key!r}; valid: {valid}.')
        for task in owners:
            routed[task][key] = value

    if not isinstance(data, Data):
        raise GCLDataError(f'data must be a torch_geometric Data, got {type(data).__name__}.')
    z = _check_embeddings(z, num_nodes=data.num_nodes)

    results: dict[str, dict[str, Any]] = {}
    for task in tasks:
        if task in ('node', 'cluster') and getattr(data, 'y', None) is None:
            raise GCLDataError(
                f'task {task!r} needs labels (data.y); this graph has none. Evaluate '
                f"tasks=('link',) with an edge_split, or attach labels first."
            )
        if task == 'node':
            node_splits = splits
            if node_protocol in SPLIT_PROTOCOLS and node_splits is None:
                node_splits = 'masks'
            if isinstance(node_splits, str):
                if node_splits != 'masks':
                    raise GCLConfigError(
                        f"splits must be a dict, a list or 'masks', got {node_splits!r}."
                    )
                node_splits = _splits_from_masks(data)
            results['node'] = evaluate_node_classification(
                z,
                data.y,
                protocol=node_protocol,
                splits=node_splits,
                repeats=repeats,
                random_state=random_state,
                **routed['node'],
            )
        elif task == 'cluster':
            results['cluster'] = evaluate_clustering(
                z, data.y, repeats=repeats, random_state=random_state, **routed['cluster']
            )
        elif task == 'link-transductive':
            results[task] = evaluate_link_prediction_transductive(
                z, data.edge_index, random_state=random_state
            )
        else:
            if edge_split is None:
                raise GCLDataError(
                    "task 'link' needs edge_split: link prediction must score edges held out "
                    'before training. Call train_data, edge_split = split_edges(data), train '
                    'the encoder on train_data, then pass edge_split=edge_split.'
                )
            results['link'] = evaluate_link_prediction(
                z, edge_split, random_state=random_state, **routed['link']
            )
    return results
