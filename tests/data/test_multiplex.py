"""Multiplex loaders (ACM-3025, IMDB) on the shared files, and their bad-input errors."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch
from torch_geometric.utils import coalesce

from gcl.data import load_dataset, multiplex_layer, relation_names
from gcl.data.multiplex import read_acm_mat, read_imdb_pickle, restricted_load
from gcl.errors import GCLDataError


def shared_datasets() -> Path | None:
    env = os.environ.get('GCL_DATASETS_PATH')
    candidates = [Path(p) for p in env.split(os.pathsep)] if env else []
    candidates.append(Path(__file__).resolve().parents[2].parent / 'shared' / 'datasets')
    for path in candidates:
        if (path / 'ACM-multiplex' / 'ACM3025.mat').is_file():
            return path
    return None


SHARED = shared_datasets()
needs_shared = pytest.mark.skipif(SHARED is None, reason='shared datasets not found: set '
                                  'GCL_DATASETS_PATH to ../shared/datasets')


@pytest.fixture
def datasets_path(monkeypatch):
    monkeypatch.setenv('GCL_DATASETS_PATH', str(SHARED))


@needs_shared
def test_acm_multiplex_matches_manifest(tmp_path, datasets_path):
    data = load_dataset('acm-multiplex', root=tmp_path)
    assert data.x.shape == (3025, 1870) and data.y.shape == (3025,)
    assert relation_names(data) == ['PAP', 'PLP']
    # MANIFEST: PAP 29,281 and PLP 2,210,761 non-zeros, each with 3,025 self-loops (removed here)
    assert data.edge_index_PAP.size(1) == 29281 - 3025
    assert data.edge_index_PLP.size(1) == 2210761 - 3025
    assert torch.bincount(data.y).tolist() == [1061, 965, 999]
    assert [int(data[k].sum()) for k in ('train_mask', 'val_mask', 'test_mask')] == [600, 300, 2125]
    # each relation is symmetric; edge_index is their union
    for rel in data.relations:
        ei = data[f'edge_index_{rel}']
        assert torch.equal(coalesce(ei), coalesce(ei.flip(0)))
        assert not bool((ei[0] == ei[1]).any())
    assert data.edge_index.size(1) >= data.edge_index_PLP.size(1)
    # features are row-normalised by default, binary without normalisation
    raw = load_dataset('acm-multiplex', root=tmp_path, normalize_features=False)
    assert set(torch.unique(raw.x).tolist()) == {0.0, 1.0}
    assert int((raw.x != 0).sum()) == 253300


@needs_shared
def test_acm_pap_layer_and_extra_relations(tmp_path, datasets_path):
    pap = load_dataset('acm-multiplex', root=tmp_path, relation='PAP')
    assert not hasattr(pap, 'relations') or pap.get('relations') is None
    assert pap.edge_index.size(1) == 29281 - 3025 and pap.train_mask.sum() == 600
    other = load_dataset('acm-multiplex', root=tmp_path, relations=['PMP', 'PAP'])
    assert other.relations == ['PMP', 'PAP']
    assert other.edge_index_PMP.size(1) == 2221699 - 3025
    with pytest.raises(GCLDataError, match='no relation'):
        load_dataset('acm-multiplex', root=tmp_path, relations=['PXP'])


@needs_shared
def test_imdb_multiplex_matches_manifest(tmp_path, datasets_path):
    data = load_dataset('imdb-multiplex', root=tmp_path)
    assert data.x.shape == (3550, 2000)
    assert sorted(data.relations) == ['MAM', 'MDM']
    # MANIFEST: MAM 31,439 and MDM 5,119 pairs (upper triangle); both directions here
    assert data.edge_index_MAM.size(1) == 2 * 31439
    assert data.edge_index_MDM.size(1) == 2 * 5119
    assert torch.bincount(data.y).tolist() == [1339, 979, 1232]
    assert [int(data[k].sum()) for k in ('train_mask', 'val_mask', 'test_mask')] == [300, 300, 2950]
    layer = multiplex_layer(data, 'MDM')
    assert torch.equal(layer.edge_index, data.edge_index_MDM)


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


def test_pickle_outside_allow_list_is_refused(tmp_path):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps({'feats': _Evil()}))
    with pytest.raises(GCLDataError, match='refusing to unpickle'):
        read_imdb_pickle(path)
    path.write_bytes(pickle.dumps({'fn': np.save}))   # a numpy function, not a data class
    with pytest.raises(GCLDataError, match='numpy.save'):
        restricted_load(path)


def test_pickle_with_allowed_classes_but_wrong_keys(tmp_path):
    path = tmp_path / 'other.pkl'
    path.write_bytes(pickle.dumps({'feats': sp.lil_matrix(np.eye(3, dtype=np.float32))}))
    with pytest.raises(GCLDataError, match="keys \\['feats', 'labels', 'adjs', 'splits'\\]"):
        read_imdb_pickle(path)
    path.write_bytes(b'not a pickle at all')
    with pytest.raises(GCLDataError, match='not a readable dataset pickle'):
        read_imdb_pickle(path)


def small_imdb(tmp_path, labels=None):
    n = 6
    payload = {
        'feats': sp.lil_matrix(np.eye(n, dtype=np.float32)),
        'labels': np.array([0, 1, 2, 0, 1, 2], dtype=np.int8) if labels is None else labels,
        'adjs': {'MAM': (np.array([0, 1, 2], dtype=np.int16), np.array([1, 2, 3], np.int16)),
                 'MDM': (np.array([4], dtype=np.int16), np.array([5], dtype=np.int16))},
        'splits': {k: np.array([i % 3 == j for i in range(n)])
                   for j, k in enumerate(('train_mask', 'val_mask', 'test_mask'))},
    }
    path = tmp_path / 'imdb.pkl'
    path.write_bytes(pickle.dumps(payload))
    return path


def test_small_imdb_pickle_roundtrip(tmp_path):
    data = read_imdb_pickle(small_imdb(tmp_path), relations=['MAM', 'MDM'])
    assert data.edge_index_MAM.size(1) == 6 and data.edge_index_MDM.size(1) == 2
    assert data.edge_index.size(1) == 8 and int(data.train_mask.sum()) == 2
    with pytest.raises(GCLDataError, match=r'labels have shape \(5,\)'):
        read_imdb_pickle(small_imdb(tmp_path, labels=np.zeros(5, dtype=np.int8)))


def test_mat_without_expected_keys(tmp_path):
    path = tmp_path / 'ACM3025.mat'
    scipy.io.savemat(path, {'feature': np.eye(4, dtype=np.uint8), 'PAP': np.eye(4)})
    with pytest.raises(GCLDataError, match=r"lacks the keys \['label', 'train_idx'"):
        read_acm_mat(path)
    path.write_bytes(b'garbage')
    with pytest.raises(GCLDataError, match='not a readable MATLAB'):
        read_acm_mat(path)


def test_small_mat_roundtrip_and_bad_split(tmp_path):
    n = 5
    adjacency = np.eye(n, dtype=np.uint8)
    adjacency[0, 1] = adjacency[1, 0] = 1
    content = {'feature': np.eye(n, dtype=np.uint8), 'label': np.eye(3, dtype=np.uint8)[
        [0, 1, 2, 0, 1]], 'PAP': adjacency, 'PLP': np.ones((n, n), np.uint8),
        'train_idx': np.array([[0, 1]]), 'val_idx': np.array([[2]]), 'test_idx': np.array([[3, 4]])}
    path = tmp_path / 'ACM3025.mat'
    scipy.io.savemat(path, content)
    data = read_acm_mat(path)
    assert data.edge_index_PAP.tolist() == [[0, 1], [1, 0]]
    assert data.edge_index_PLP.size(1) == n * (n - 1)
    assert data.y.tolist() == [0, 1, 2, 0, 1] and data.test_mask.tolist() == [0, 0, 0, 1, 1]
    scipy.io.savemat(path, {**content, 'test_idx': np.array([[3, 9]])})
    with pytest.raises(GCLDataError, match='outside 0..4'):
        read_acm_mat(path)


def test_multiplex_layer_needs_multiplex():
    from torch_geometric.data import Data

    with pytest.raises(GCLDataError, match='not multiplex'):
        multiplex_layer(Data(x=torch.eye(2), edge_index=torch.tensor([[0], [1]])), 'PAP')
