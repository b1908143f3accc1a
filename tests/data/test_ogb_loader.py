"""The ogbn wrapper reads OGB's real raw layout and caches plain tensors (weights_only)."""

from __future__ import annotations

import gzip

import numpy as np
import torch

from gcl.data import load_dataset


def _write_csv_gz(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, 'wt') as fh:
        for row in rows:
            fh.write(','.join(str(v) for v in np.atleast_1d(row)) + '\n')


def test_ogbn_arxiv_layout(tmp_path):
    folder = tmp_path / 'ogbn_arxiv'
    raw = folder / 'raw'
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0), (5, 0)]
    _write_csv_gz(raw / 'edge.csv.gz', edges)
    rng = np.random.default_rng(0)
    _write_csv_gz(raw / 'node-feat.csv.gz', rng.normal(size=(6, 4)).round(4))
    _write_csv_gz(raw / 'node-label.csv.gz', [[0], [1], [0], [1], [0], [1]])
    _write_csv_gz(raw / 'num-node-list.csv.gz', [[6]])
    _write_csv_gz(raw / 'num-edge-list.csv.gz', [[6]])
    for key, idx in (('train', [0, 1, 2]), ('valid', [3]), ('test', [4, 5])):
        _write_csv_gz(folder / 'split' / 'time' / f'{key}.csv.gz', [[i] for i in idx])
    data = load_dataset('ogbn-arxiv', root=tmp_path, normalize_features=False)
    assert data.num_nodes == 6 and data.x.shape == (6, 4)
    assert data.num_edges == 12  # made undirected
    assert int(data.train_mask.sum()) == 3 and int(data.test_mask.sum()) == 2
    cache = folder / 'processed' / 'gcl_data.pt'
    assert cache.is_file()
    again = load_dataset('ogbn-arxiv', root=tmp_path, normalize_features=False)
    assert torch.equal(again.edge_index, data.edge_index)


def test_ogb_evaluator_accuracy():
    from gcl.data.ogb import ogb_accuracy

    y = torch.tensor([0, 1, 2, 3])
    assert ogb_accuracy('ogbn-arxiv', y, torch.tensor([0, 1, 0, 3])) == 0.75
