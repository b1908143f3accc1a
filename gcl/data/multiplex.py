"""Multiplex graphs of DMGI / HDMI / gCooL: ACM-3025 (PAP, PLP) and IMDB (MAM, MDM).

**Format: one ``Data``, not ``HeteroData``.** A multiplex graph has a single node type with one
feature matrix and several edge sets (relations, "layers") over the same nodes. The loaders
return a PyG ``Data`` with

- ``x [N, F]``, ``y [N]``, the fixed split as ``train_mask`` / ``val_mask`` / ``test_mask``;
- ``edge_index_<REL> [2, E_rel]`` for every relation (symmetric, self-loops removed: the GCN
  adds its own), and ``relations`` (the list of relation names, in order);
- ``edge_index``: the union of the relations, so every single-graph tool (``check_graph``,
  GRACE, the evaluators, ``split_edges``) works on the merged graph unchanged.

``HeteroData`` would add a node type and edge-type triples for what is one node set, and none of
the single-graph machinery (validation, trainer, evaluation, checksums) accepts it. Use
:func:`multiplex_layer` to get one relation as a plain single-graph ``Data`` (e.g. ACM's PAP).

The IMDB file is a pickle; it is opened with :class:`RestrictedUnpickler`, which resolves only
the classes the shared MANIFEST lists (numpy arrays and dtypes, scipy.sparse matrices,
``collections.defaultdict``, ``builtins.list``). Anything else raises ``GCLDataError``.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from gcl.data.catalog import DatasetSpec
from gcl.data.loaders import _GENERATED, data_search_paths, stage_raw_files
from gcl.errors import DatasetNotFoundError, GCLDataError

logger = logging.getLogger(__name__)

__all__ = ['RestrictedUnpickler', 'restricted_load', 'read_acm_mat', 'read_imdb_pickle',
           'multiplex_layer', 'relation_names', 'is_multiplex']

#: relations DMGI, HDMI and gCooL use; ACM3025.mat also has PMP and PTP (pass ``relations=``)
DEFAULT_RELATIONS = {'ACM3025.mat': ('PAP', 'PLP'), 'imdb.pkl': ('MDM', 'MAM')}

_NUMPY_NAMES = {'dtype', 'ndarray', '_reconstruct', 'scalar', '_frombuffer'}


class RestrictedUnpickler(pickle.Unpickler):
    """A ``pickle.Unpickler`` that resolves only data classes (MANIFEST.md, "Pickle warning").

    Allowed: numpy's ``ndarray`` / ``dtype`` / ``scalar`` reconstruction helpers, the
    ``*_matrix`` / ``*_array`` classes of ``scipy.sparse``, ``collections.defaultdict`` and
    ``builtins.list``. Any other global (functions such as ``os.system``, ``numpy.save`` ...)
    raises :class:`GCLDataError` before anything runs.
    """

    def find_class(self, module: str, name: str) -> Any:
        allowed = (
            ((module == 'numpy' or module.startswith('numpy.')) and name in _NUMPY_NAMES)
            or ((module == 'scipy.sparse' or module.startswith('scipy.sparse.'))
                and (name.endswith('_matrix') or name.endswith('_array')))
            or (module == 'collections' and name == 'defaultdict')
            or (module == 'builtins' and name == 'list')
        )
        if not allowed:
            raise GCLDataError(f'refusing to unpickle {module}.{name}: only numpy arrays, '
                               'scipy.sparse matrices, defaultdict and list are allowed in '
                               'dataset pickles (the file may be tampered with; get a fresh copy)')
        return super().find_class(module, name)


def restricted_load(path: str | os.PathLike | io.BufferedIOBase) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler` (``encoding='latin1'``)."""
    try:
        if isinstance(path, (str, os.PathLike)):
            with open(path, 'rb') as fh:
                return RestrictedUnpickler(fh, encoding='latin1').load()
        return RestrictedUnpickler(path, encoding='latin1').load()
    except GCLDataError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as exc:
        raise GCLDataError(f'{path}: not a readable dataset pickle ({type(exc).__name__}: '
                           f'{str(exc)[:150]})') from exc


def _edge_index(row: np.ndarray, col: np.ndarray, num_nodes: int) -> Tensor:
    """Symmetric, coalesced ``[2, E]`` without self-loops from COO indices."""
    edge_index = torch.stack([torch.as_tensor(row.astype(np.int64)),
                              torch.as_tensor(col.astype(np.int64))])
    edge_index, _ = remove_self_loops(edge_index)
    return to_undirected(edge_index, num_nodes=num_nodes)


def _assemble(x: Tensor, y: Tensor, layers: dict[str, Tensor], masks: dict[str, Tensor]
              ) -> Data:
    num_nodes = x.size(0)
    data = Data(x=x, y=y, num_nodes=num_nodes)
    for name, edge_index in layers.items():
        data[f'edge_index_{name}'] = edge_index
    data.edge_index = coalesce(torch.cat(list(layers.values()), dim=1), num_nodes=num_nodes)
    data.relations = list(layers)
    for key, mask in masks.items():
        data[key] = mask
    return data


def _select(available: Sequence[str], relations: Sequence[str] | None, default: Sequence[str],
            path: Path) -> list[str]:
    wanted = list(relations) if relations else list(default)
    missing = [r for r in wanted if r not in available]
    if missing:
        raise GCLDataError(f'{path.name} has no relation(s) {missing}; available: '
                           f'{", ".join(available)}')
    return wanted


def read_acm_mat(path: str | os.PathLike, relations: Sequence[str] | None = None) -> Data:
    """ACM-3025 (HAN / DMGI / HDMI) from ``ACM3025.mat``: 3,025 papers, 1,870 binary features,
    3 classes, fixed 600 / 300 / 2,125 split; relations PAP and PLP by default (PMP, PTP too).

    Raises:
        GCLDataError: the file is not a MATLAB file or lacks the expected keys.
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - scipy raises several kinds
        raise GCLDataError(f'{path}: not a readable MATLAB .mat file ({type(exc).__name__}: '
                           f'{str(exc)[:150]})') from exc
    required = ('feature', 'label', 'train_idx', 'val_idx', 'test_idx')
    missing = [k for k in required if k not in mat]
    if missing:
        raise GCLDataError(f'{path} lacks the keys {missing} of the DMGI/HAN ACM3025 format '
                           f'(found: {sorted(k for k in mat if not k.startswith("__"))})')
    available = [k for k in ('PAP', 'PLP', 'PMP', 'PTP') if k in mat]
    chosen = _select(available, relations, DEFAULT_RELATIONS['ACM3025.mat'], path)
    x = torch.as_tensor(np.asarray(mat['feature'], dtype=np.float32))
    label = np.asarray(mat['label'])
    num_nodes = x.size(0)
    if label.shape != (num_nodes, label.shape[1] if label.ndim == 2 else -1):
        raise GCLDataError(f'{path}: label must be one-hot [N, C], got shape {label.shape}')
    y = torch.as_tensor(label.argmax(1), dtype=torch.long)
    layers = {}
    for name in chosen:
        adjacency = np.asarray(mat[name])
        if adjacency.shape != (num_nodes, num_nodes):
            raise GCLDataError(f'{path}: relation {name} has shape {adjacency.shape}, expected '
                               f'({num_nodes}, {num_nodes})')
        row, col = np.nonzero(adjacency)
        layers[name] = _edge_index(row, col, num_nodes)
    masks = {}
    for key, attr in (('train_idx', 'train_mask'), ('val_idx', 'val_mask'),
                      ('test_idx', 'test_mask')):
        idx = torch.as_tensor(np.asarray(mat[key]).reshape(-1).astype(np.int64))
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= num_nodes):
            raise GCLDataError(f'{path}: {key} holds ids outside 0..{num_nodes - 1}')
        mask = torch.zeros(num_nodes, dtype=torch.bool)
        mask[idx] = True
        masks[attr] = mask
    return _assemble(x, y, layers, masks)


def read_imdb_pickle(path: str | os.PathLike, relations: Sequence[str] | None = None) -> Data:
    """IMDB (DMGI / HDMI) from ``imdb.pkl``: 3,550 movies, 2,000 features, 3 classes, fixed
    300 / 300 / 2,950 split; relations MDM and MAM (upper triangles in the file, symmetrised).

    Raises:
        GCLDataError: a class outside the allow-list, or the keys / shapes are not as expected.
    """
    path = Path(path)
    obj = restricted_load(path)
    required = ('feats', 'labels', 'adjs', 'splits')
    if not isinstance(obj, dict) or any(k not in obj for k in required):
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise GCLDataError(f'{path} is not a DMGI IMDB pickle: expected a dict with keys '
                           f'{list(required)}, got {found}')
    feats = obj['feats']
    dense = feats.toarray() if hasattr(feats, 'toarray') else np.asarray(feats)
    x = torch.as_tensor(np.asarray(dense, dtype=np.float32))
    num_nodes = x.size(0)
    y = torch.as_tensor(np.asarray(obj['labels']).astype(np.int64))
    if y.shape != (num_nodes,):
        raise GCLDataError(f'{path}: labels have shape {tuple(y.shape)}, expected ({num_nodes},)')
    chosen = _select(list(obj['adjs']), relations, DEFAULT_RELATIONS['imdb.pkl'], path)
    layers = {}
    for name in chosen:
        row, col = (np.asarray(a) for a in obj['adjs'][name])
        if row.shape != col.shape or (row.size and max(row.max(), col.max()) >= num_nodes):
            raise GCLDataError(f'{path}: relation {name} is not a (row, col) pair of ids in '
                               f'0..{num_nodes - 1}')
        layers[name] = _edge_index(row, col, num_nodes)
    masks = {}
    for key in ('train_mask', 'val_mask', 'test_mask'):
        mask = torch.as_tensor(np.asarray(obj['splits'][key]).astype(bool))
        if mask.shape != (num_nodes,):
            raise GCLDataError(f'{path}: {key} has shape {tuple(mask.shape)}, expected '
                               f'({num_nodes},)')
        masks[key] = mask
    return _assemble(x, y, layers, masks)


def is_multiplex(data: Data) -> bool:
    """Whether ``data`` carries relations (``data.relations`` and ``edge_index_<rel>``)."""
    relations = getattr(data, 'relations', None)
    return bool(relations) and all(f'edge_index_{r}' in data for r in relations)


def relation_names(data: Data) -> list[str]:
    """The relation names of a multiplex ``Data``.

    Raises:
        GCLDataError: ``data`` is not multiplex.
    """
    if not is_multiplex(data):
        raise GCLDataError('this graph is not multiplex (no data.relations with matching '
                           'edge_index_<relation> tensors); load acm-multiplex or imdb-multiplex')
    return list(data.relations)


def multiplex_layer(data: Data, relation: str) -> Data:
    """One relation of a multiplex graph as a plain single-graph ``Data`` (``x``, ``y``, masks,
    ``edge_index`` = that relation), e.g. ``multiplex_layer(acm, 'PAP')``."""
    names = relation_names(data)
    if relation not in names:
        raise GCLDataError(f'unknown relation {relation!r}; this graph has {", ".join(names)}')
    out = Data(x=data.x, y=data.y, edge_index=data[f'edge_index_{relation}'],
               num_nodes=data.num_nodes)
    for key in ('train_mask', 'val_mask', 'test_mask'):
        if key in data:
            out[key] = data[key]
    return out


_READERS = {'ACM3025.mat': read_acm_mat, 'imdb.pkl': read_imdb_pickle}


def _locate(spec: DatasetSpec, root: Path) -> Path:
    """The raw file under ``root/<folder>/raw``, staged there from a local copy when needed."""
    raw_dir = root / spec.folder / 'raw'
    name = spec.raw_files[0]
    if (raw_dir / name).is_file():
        return raw_dir / name
    for base in data_search_paths():
        folder = base / (spec.shipped_folder or spec.folder)
        if (folder / name).is_file():
            stage_raw_files(spec, folder, raw_dir)        # verifies the catalog sha256
            return raw_dir / name
    raise DatasetNotFoundError(
        f'dataset {spec.display!r} is not available offline and has no download: put {name} in '
        f'{raw_dir}, or in a folder {spec.shipped_folder}/ inside a directory listed in '
        f'$GCL_DATASETS_PATH. Source: {spec.source}')


def build_multiplex(spec: DatasetSpec, root: Path, relation: str | None = None,
                    relations: Sequence[str] | None = None) -> Data:
    """Catalog builder (``loader='multiplex'``): the multiplex ``Data`` of ``spec``.

    Options (``load_dataset(..., relations=[...])`` or ``data.options`` in a config):
    ``relations`` picks the layers; ``relation='PAP'`` returns that single layer as a plain
    ``Data`` (:func:`multiplex_layer`).
    """
    path = _locate(spec, root)
    if isinstance(relations, str):
        relations = [relations]
    if relation is not None:
        relations = list(dict.fromkeys([relation, *(relations or [])]))
    data = _READERS[spec.raw_files[0]](path, relations)
    if relation is not None:
        return multiplex_layer(data, relation)
    return data


_GENERATED['multiplex'] = build_multiplex
