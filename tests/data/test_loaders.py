"""Loaders on the shipped and staged files; missing and corrupted datasets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch_geometric.utils import is_undirected

from gcl.data import dataset_status, get_idx_split, get_spec, list_datasets, load_dataset
from gcl.errors import DatasetNotFoundError, GCLConfigError, GCLDataError
from tests.conftest import shared_dataset_or_skip


def test_cora_from_shipped_files(cora):
    assert cora.num_nodes == 2708 and cora.num_edges == 10556 and cora.num_features == 1433
    assert int(cora.y.max()) + 1 == 7
    assert int(cora.train_mask.sum()) == 140 and int(cora.val_mask.sum()) == 500
    assert int(cora.test_mask.sum()) == 1000
    assert is_undirected(cora.edge_index)
    assert torch.allclose(cora.x.sum(1)[cora.x.sum(1) > 0], torch.ones(1))  # row-normalised
    split = get_idx_split(cora)
    assert split['train'].numel() == 140 and split['test'].numel() == 1000


def test_citeseer_from_shipped_files(data_root):
    data = load_dataset('CiteSeer', root=data_root)
    assert (data.num_nodes, data.num_edges, data.num_features) == (3327, 9104, 3703)
    assert int(data.train_mask.sum()) == 120


def test_raw_features_kept_when_asked(tmp_path):
    data = load_dataset('cora', root=tmp_path, normalize_features=False)
    assert set(data.x.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize('name,folder,stats', [
    ('amazon-photo', 'Amazon-Photo', (7650, 238162, 745, 8)),
    ('amazon-computers', 'Amazon-Computers', (13752, 491722, 767, 10)),
    ('coauthor-cs', 'Coauthor-CS', (18333, 163788, 6805, 15)),
])
def test_staged_zip_datasets(name, folder, stats, data_root):
    shared_dataset_or_skip(folder)
    data = load_dataset(name, root=data_root)
    assert (data.num_nodes, data.num_edges, data.num_features, int(data.y.max()) + 1) == stats
    assert get_idx_split(data) is None  # no public split: random 10/10/80
    assert dataset_status(name, data_root) == 'cached'


def test_aliases_and_unknown_names():
    assert get_spec('Computers').name == 'amazon-computers'
    assert get_spec('ogbn_arxiv').name == 'ogbn-arxiv'
    assert 'cora' in list_datasets()
    with pytest.raises(GCLConfigError, match='unknown dataset'):
        get_spec('not-a-dataset')


def test_missing_dataset_names_files_and_folder(tmp_path, monkeypatch):
    monkeypatch.setenv('GCL_DATASETS_PATH', str(tmp_path / 'nowhere'))
    with pytest.raises(DatasetNotFoundError, match=r'ind\.pubmed\.allx.*PubMed/raw'):
        load_dataset('pubmed', root=tmp_path, download=False)


def test_missing_dataset_download_failure_is_clear(tmp_path, monkeypatch):
    """Without network the real loader's download fails; the error says where to put files."""
    monkeypatch.setenv('GCL_DATASETS_PATH', str(tmp_path / 'nowhere'))
    import torch_geometric.datasets.amazon as amazon_module

    def no_network(*args, **kwargs):
        raise OSError('network unreachable')

    monkeypatch.setattr(amazon_module, 'download_url', no_network)
    with pytest.raises(DatasetNotFoundError, match='amazon_electronics_photo.npz'):
        load_dataset('amazon-photo', root=tmp_path / 'root')
    assert not list((tmp_path / 'root').rglob('*.npz'))


def test_truncated_shipped_file_is_rejected(tmp_path, monkeypatch):
    source = Path(__file__).resolve().parents[2] / 'datasets' / 'Cora'
    staged = tmp_path / 'staged' / 'Cora'
    shutil.copytree(source, staged)
    victim = staged / 'ind.cora.x'
    victim.write_bytes(victim.read_bytes()[:100])
    monkeypatch.setattr('gcl.data.loaders.REPO_DATASETS', tmp_path / 'staged')
    monkeypatch.chdir(tmp_path)
    # it pointed at a card (datasets/<Name>.md) that only Cora and CiteSeer have
    with pytest.raises(GCLDataError, match='corrupted or truncated.*`gcl datasets info cora`'):
        load_dataset('cora', root=tmp_path / 'root')
    assert not (tmp_path / 'root' / 'Cora' / 'raw' / 'ind.cora.x').exists()


def test_malformed_raw_file_in_root(tmp_path):
    raw = tmp_path / 'Cora' / 'raw'
    raw.mkdir(parents=True)
    source = Path(__file__).resolve().parents[2] / 'datasets' / 'Cora'
    for f in source.iterdir():
        shutil.copy(f, raw / f.name)
    (raw / 'ind.cora.graph').write_bytes(b'not a pickle')
    with pytest.raises(GCLDataError, match='malformed or truncated'):
        load_dataset('cora', root=tmp_path)


def test_wikics_real_layout(tmp_path):
    """A tiny data.json in WikiCS's on-disk format goes through PyG's real WikiCS loader."""
    import json

    raw = tmp_path / 'WikiCS' / 'raw'
    raw.mkdir(parents=True)
    n, splits = 6, 20
    payload = {
        'features': [[float(i), 1.0, 0.0] for i in range(n)],
        'labels': [0, 1, 0, 1, 0, 1],
        'links': [[1], [2], [3], [4], [5], [0]],
        'train_masks': [[i % 3 == 0 for i in range(n)] for _ in range(splits)],
        'val_masks': [[i % 3 == 1 for i in range(n)] for _ in range(splits)],
        'stopping_masks': [[i % 3 == 1 for i in range(n)] for _ in range(splits)],
        'test_mask': [i % 3 == 2 for i in range(n)],
    }
    (raw / 'data.json').write_text(json.dumps(payload))
    data = load_dataset('wikics', root=tmp_path)
    assert data.num_nodes == 6 and data.num_edges == 12
    assert tuple(data.train_mask.shape) == (6, 20) and tuple(data.test_mask.shape) == (6,)
    assert get_idx_split(data, index=3)['train'].tolist() == [0, 3]


def test_dblp_citationfull_layout(tmp_path):
    """CitationFull reads gnn-benchmark npz files; Cora's npz stands in for dblp.npz here."""
    source = shared_dataset_or_skip('Cora') / 'cora.npz'
    raw = tmp_path / 'dblp' / 'raw'
    raw.mkdir(parents=True)
    shutil.copy(source, raw / 'dblp.npz')
    data = load_dataset('dblp', root=tmp_path)
    assert data.num_nodes == 2708 and is_undirected(data.edge_index)
    assert get_idx_split(data) is None
