"""OGB node-property datasets on torch >= 2.6, where ``torch.load`` defaults to
``weights_only=True``.

``ogb``'s ``PygNodePropPredDataset`` downloads and processes fine, but then re-loads its own
processed file with a bare ``torch.load`` of pickled ``Data`` objects, which torch 2.13 refuses.
We therefore let the real class download (when the raw files are absent), and build the graph
ourselves from the raw CSVs with ``ogb``'s own reader. The result is cached as a dict of plain
tensors and re-read with ``weights_only=True``. The metric stays OGB's: use
``ogb.nodeproppred.Evaluator`` (see :func:`ogb_accuracy`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.utils.io import atomic_save_torch

logger = logging.getLogger(__name__)

__all__ = ['load_ogb_node_dataset', 'ogb_accuracy']


def _meta(name: str) -> dict:
    import ogb
    import pandas as pd

    master = pd.read_csv(Path(ogb.__file__).parent / 'nodeproppred' / 'master.csv', index_col=0,
                         keep_default_na=False)
    return dict(master[name])


def load_ogb_node_dataset(name: str, root: Path) -> Data:
    """Load ``ogbn-*`` as an undirected ``Data`` with OGB's split as boolean masks."""
    folder = Path(root) / name.replace('-', '_')
    cache = folder / 'processed' / 'gcl_data.pt'
    if cache.is_file():
        tensors = torch.load(cache, map_location='cpu', weights_only=True)
        return _to_data(tensors)
    meta = _meta(name)
    raw = folder / 'raw'
    if not (raw / 'edge.csv.gz').is_file():
        from ogb.nodeproppred import PygNodePropPredDataset

        try:  # downloads and processes; its own final reload fails on torch >= 2.6
            PygNodePropPredDataset(name=name, root=str(root))
        except Exception as exc:  # noqa: BLE001
            if not (raw / 'edge.csv.gz').is_file():
                raise
            logger.debug('ogb reload failed as expected (%s); reading the raw files', exc)
    tensors = _read_raw(folder, meta)
    atomic_save_torch(tensors, cache)
    return _to_data(tensors)


def _read_raw(folder: Path, meta: dict) -> dict[str, Tensor]:
    import pandas as pd
    from ogb.io.read_graph_raw import read_csv_graph_raw

    graph = read_csv_graph_raw(str(folder / 'raw'), add_inverse_edge=False)[0]
    num_nodes = int(graph['num_nodes'])
    edge_index = torch.from_numpy(graph['edge_index']).long()
    label = pd.read_csv(folder / 'raw' / 'node-label.csv.gz', compression='gzip',
                        header=None).values
    tensors = {
        'x': torch.from_numpy(np.asarray(graph['node_feat'], dtype=np.float32)),
        'edge_index': to_undirected(edge_index, num_nodes=num_nodes),
        'y': torch.from_numpy(np.array(label, dtype=np.int64)).view(-1),
        'num_nodes': torch.tensor(num_nodes),
    }
    split_dir = folder / 'split' / meta['split']
    for key in ('train', 'valid', 'test'):
        path = split_dir / f'{key}.csv.gz'
        if path.is_file():
            idx = pd.read_csv(path, compression='gzip', header=None).values.T[0]
            tensors[f'{key}_idx'] = torch.from_numpy(np.array(idx, dtype=np.int64))
    return tensors


def _to_data(tensors: dict[str, Tensor]) -> Data:
    num_nodes = int(tensors['num_nodes'])
    data = Data(x=tensors['x'], edge_index=tensors['edge_index'], y=tensors['y'],
                num_nodes=num_nodes)
    if all(f'{k}_idx' in tensors for k in ('train', 'valid', 'test')):
        for key, mask_name in (('train', 'train_mask'), ('valid', 'val_mask'),
                               ('test', 'test_mask')):
            mask = torch.zeros(num_nodes, dtype=torch.bool)
            mask[tensors[f'{key}_idx']] = True
            data[mask_name] = mask
    return data


def ogb_accuracy(name: str, y_true: Tensor, y_pred: Tensor) -> float:
    """Accuracy computed by OGB's own ``Evaluator`` (inputs ``[N]`` class ids)."""
    from ogb.nodeproppred import Evaluator

    result = Evaluator(name).eval({'y_true': y_true.view(-1, 1).cpu(),
                                   'y_pred': y_pred.view(-1, 1).cpu()})
    return float(result['acc'])
