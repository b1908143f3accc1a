"""``community_report``: detect communities and describe them (what ``gcl communities`` prints)."""

from __future__ import annotations

import os
import time
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.community.base import GraphLike, as_graph, check_communities
from gcl.community.detect import cache_path, detect, get_detector
from gcl.community.modularity import modularity

__all__ = ['community_report', 'describe_communities']


def describe_communities(data: GraphLike, labels: Tensor, y: Tensor | None = None
                         ) -> dict[str, Any]:
    """Number of communities, modularity, size distribution and, given class labels ``y``,
    NMI / ARI of the communities against them (sklearn, arithmetic NMI)."""
    edge_index, num_nodes = as_graph(data)
    labels = check_communities(labels, num_nodes)
    sizes = torch.bincount(labels).sort(descending=True).values
    sizes = sizes[sizes > 0]
    report: dict[str, Any] = {
        'num_nodes': num_nodes,
        'num_communities': int(sizes.numel()),
        'modularity': modularity((edge_index, num_nodes), labels),
        'size_max': int(sizes[0]),
        'size_median': float(sizes.double().median()),
        'size_min': int(sizes[-1]),
        'singletons': int((sizes == 1).sum()),
        'largest_share': float(sizes[0]) / num_nodes,
        'sizes_top10': sizes[:10].tolist(),
    }
    if y is not None:
        from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

        y = y.view(-1).cpu().numpy()
        report['nmi'] = float(normalized_mutual_info_score(y, labels.numpy()))
        report['ari'] = float(adjusted_rand_score(y, labels.numpy()))
    return report


def community_report(data: Data, algorithm: str = 'louvain', random_state: int | None = 0, *,
                     cache_dir: str | os.PathLike | None = None, use_cache: bool = False,
                     **params: Any) -> tuple[Tensor, dict[str, Any]]:
    """Run ``algorithm`` on ``data`` and describe the result.

    Returns ``(labels [N], report)``; the report holds :func:`describe_communities` plus
    ``algorithm``, ``params``, ``seed`` and ``seconds`` (detection wall time; with
    ``use_cache=True`` a cache hit reports the load time and ``cached: True``).
    """
    detector = get_detector(algorithm, random_state=random_state, **params)
    cached = use_cache and random_state is not None and cache_path(
        data, algorithm, random_state, cache_dir, **params).is_file()
    start = time.perf_counter()
    if use_cache:
        labels = detect(data, algorithm, random_state, cache_dir, **params)
    else:
        labels = detector.fit_predict(data)
    seconds = time.perf_counter() - start
    y = getattr(data, 'y', None) if isinstance(data, Data) else None
    if y is not None and (y.dim() != 1 or y.numel() != data.num_nodes or y.is_floating_point()):
        y = None
    report = {'dataset': getattr(data, 'dataset', None), 'algorithm': detector.name,
              'params': {k: v for k, v in detector.get_params().items() if k != 'random_state'},
              'seed': random_state, 'seconds': seconds,
              'cached': bool(cached),
              **describe_communities(data, labels, y)}
    return labels, report
