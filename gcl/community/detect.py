"""``detect``: run a community detector by name, with an on-disk cache.

Training methods that need communities (CSGCL, gCooL baselines) call :func:`detect` in their
``prepare`` step. A detection is computed once per (graph checksum, algorithm, parameters, seed)
and stored as ``<cache_dir>/<algorithm>-<graph sha>-<params sha>-seed<seed>.pt`` -- written
atomically (:func:`gcl.utils.io.atomic_save_torch`) and read back with ``weights_only=True``. A
cache file that is unreadable or does not fit the graph is logged and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gcl.community.base import CommunityDetector, GraphLike, as_graph, check_communities
from gcl.errors import GCLConfigError
from gcl.utils.io import atomic_save_torch

logger = logging.getLogger(__name__)

__all__ = ['detect', 'cache_path', 'get_detector', 'graph_checksum', 'default_cache_dir',
           'DETECTORS']

DETECTORS: tuple[str, ...] = ('louvain', 'leiden', 'label-propagation')


def default_cache_dir() -> Path:
    """``$GCL_CACHE_DIR/communities``, else ``~/.cache/gcl/communities``."""
    base = os.environ.get('GCL_CACHE_DIR')
    root = Path(base).expanduser() if base else Path.home() / '.cache' / 'gcl'
    return root / 'communities'


def graph_checksum(data: GraphLike) -> str:
    """sha256 (16 hex digits) of the undirected, coalesced structure: what detection depends on."""
    from torch_geometric.utils import to_undirected

    edge_index, num_nodes = as_graph(data)
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    digest = hashlib.sha256(f'n={num_nodes};'.encode())
    digest.update(edge_index.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def get_detector(algorithm: str, random_state: int | None = 0, **params: Any
                 ) -> CommunityDetector:
    """Instantiate the detector registered as ``algorithm`` (``louvain``, ``leiden``,
    ``label-propagation``; names normalised, ``lpa`` accepted).

    Raises:
        GCLConfigError: an unknown algorithm or a parameter the detector does not take.
    """
    from gcl.registry import normalize_name, registered

    table = {k: v for k, v in registered('community').items()
             if isinstance(v, type) and issubclass(v, CommunityDetector)
             and v is not CommunityDetector}
    cls = table.get(normalize_name(algorithm))
    if cls is None:
        raise GCLConfigError(f'unknown community detection algorithm {algorithm!r}; choose one '
                             f'of: {", ".join(DETECTORS)}')
    valid = cls._param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise GCLConfigError(f'{cls.name} takes no parameter(s) {unknown}; valid: '
                             f'{", ".join(v for v in valid if v != "random_state")}')
    return cls(random_state=random_state, **params)


def cache_path(data: GraphLike, algorithm: str = 'louvain', random_state: int | None = 0,
               cache_dir: str | os.PathLike | None = None, **params: Any) -> Path:
    """Where :func:`detect` stores this detection:
    ``<cache_dir>/<algorithm>-<graph sha>-<params sha>-seed<seed>.pt``."""
    detector = get_detector(algorithm, random_state=random_state, **params)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    settings = json.dumps(detector.get_params(), sort_keys=True, default=str)
    params_sha = hashlib.sha256(settings.encode()).hexdigest()[:12]
    return folder / (f'{detector.name}-{graph_checksum(data)}-{params_sha}-'
                     f'seed{random_state}.pt')


def detect(data: GraphLike, algorithm: str = 'louvain', random_state: int | None = 0,
           cache_dir: str | os.PathLike | None = None, *, use_cache: bool = True,
           **params: Any) -> Tensor:
    """Community ids of every node, LongTensor ``[N]`` (ids ``0..C-1``, largest community 0).

    Args:
        data: a PyG ``Data`` or a tuple ``(edge_index, num_nodes)``.
        algorithm: ``'louvain'``, ``'leiden'`` or ``'label-propagation'``.
        random_state: the detector's seed. ``None`` (unseeded) is never cached.
        cache_dir: cache folder (default :func:`default_cache_dir`).
        use_cache: read and write the cache (default ``True``).
        **params: detector parameters, e.g. ``resolution=1.0``.

    Raises:
        GCLConfigError: unknown algorithm or parameter, or Leiden without its extra.
        GCLDataError: a malformed graph.
    """
    edge_index, num_nodes = as_graph(data)
    detector = get_detector(algorithm, random_state=random_state, **params)
    path = None
    if use_cache and random_state is not None:
        path = cache_path((edge_index, num_nodes), algorithm, random_state, cache_dir, **params)
        cached = _read_cache(path, num_nodes)
        if cached is not None:
            logger.info('communities: loaded %s', path)
            return cached
    labels = detector.fit_predict((edge_index, num_nodes))
    if path is not None:
        atomic_save_torch({'labels': labels, 'algorithm': detector.name,
                           'params': json.loads(json.dumps(detector.get_params(), default=str)),
                           'modularity': float(detector.modularity_),
                           'num_nodes': num_nodes}, path)
        logger.info('communities: cached %s', path)
    return labels


def _read_cache(path: Path, num_nodes: int) -> Tensor | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
        labels = check_communities(state['labels'], num_nodes, f'cached communities {path}')
    except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways; recompute
        logger.warning('communities: ignoring unreadable cache file %s (%s); recomputing', path,
                       str(exc)[:120])
        return None
    return labels
