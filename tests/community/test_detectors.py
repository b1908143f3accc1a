"""Community detectors: recovery of a planted partition, determinism, the sklearn shape, cache."""

from __future__ import annotations

import sys

import pytest
import torch
from sklearn.metrics import adjusted_rand_score
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

import gcl.community as C
from gcl.errors import GCLConfigError, GCLDataError, NotFittedError

DETECTORS = [C.Louvain, C.Leiden, C.LabelPropagation]


def planted_partition(seed: int = 0, blocks: int = 4, size: int = 40, p_in: float = 0.35,
                      p_out: float = 0.005) -> tuple[Data, torch.Tensor]:
    torch.manual_seed(seed)
    probs = torch.full((blocks, blocks), p_out)
    probs.fill_diagonal_(p_in)
    edge_index = stochastic_blockmodel_graph([size] * blocks, probs, directed=False)
    truth = torch.arange(blocks).repeat_interleave(size)
    return Data(edge_index=edge_index, num_nodes=blocks * size), truth


@pytest.mark.parametrize('cls', DETECTORS)
@pytest.mark.parametrize('seed', [0, 1])
def test_recovers_planted_partition(cls, seed):
    data, truth = planted_partition(seed)
    labels = cls(random_state=seed).fit_predict(data)
    assert labels.dtype == torch.long and labels.shape == (data.num_nodes,)
    assert adjusted_rand_score(truth.numpy(), labels.numpy()) > 0.95


@pytest.mark.parametrize('cls', DETECTORS)
def test_fit_attributes_and_determinism(cls):
    data, _ = planted_partition(3)
    det = cls(random_state=7)
    assert det.get_params()['random_state'] == 7
    with pytest.raises(NotFittedError, match='fit'):
        _ = det.labels_
    assert det.fit(data) is det
    labels = det.labels_
    # canonical ids: 0..C-1, sizes non-increasing
    assert int(labels.min()) == 0 and det.num_communities_ == int(labels.max()) + 1
    sizes = torch.bincount(labels)
    assert bool((sizes[:-1] >= sizes[1:]).all())
    assert det.modularity_ == pytest.approx(C.modularity(data, labels), abs=1e-12)
    assert torch.equal(cls(random_state=7).fit_predict(data), labels)
    # the (edge_index, num_nodes) form gives the same result
    assert torch.equal(cls(random_state=7).fit_predict((data.edge_index, data.num_nodes)), labels)


def test_relabel_communities_is_canonical():
    labels = torch.tensor([5, 5, 9, 9, 9, 2, 7, 7])
    assert C.relabel_communities(labels).tolist() == [1, 1, 0, 0, 0, 3, 2, 2]


@pytest.mark.parametrize('cls', [C.Louvain, C.Leiden])
def test_resolution_changes_granularity(cls):
    data, _ = planted_partition(0)
    assert cls(resolution=1.0, random_state=0).fit(data).num_communities_ == 4
    assert cls(resolution=5.0, random_state=0).fit(data).num_communities_ > 4
    if cls is C.Leiden:  # python-louvain's stopping test is inconsistent for resolution < 1
        assert cls(resolution=0.05, random_state=0).fit(data).num_communities_ < 4


@pytest.mark.parametrize('cls', [C.Louvain, C.Leiden])
@pytest.mark.parametrize('resolution', [-1.0, 0, 'abc', float('nan'), True])
def test_resolution_must_be_a_positive_number(cls, resolution):
    """'abc' died in a float conversion inside python-louvain; -1 quietly gave one community."""
    data, _ = planted_partition(0)
    with pytest.raises(GCLConfigError, match='resolution must be a number > 0'):
        cls(resolution=resolution, random_state=0).fit(data)


def test_leiden_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'leidenalg', None)
    data, _ = planted_partition(0)
    with pytest.raises(GCLConfigError, match=r'pip install gcl-toolkit\[leiden\]'):
        C.Leiden().fit(data)


def test_bad_graph_input():
    with pytest.raises(GCLDataError, match='ids 0..3'):
        C.Louvain().fit((torch.tensor([[0, 1], [1, 4]]), 4))
    with pytest.raises(GCLDataError, match='Data or a tuple'):
        C.Louvain().fit(torch.zeros(2, 3, dtype=torch.long))


def test_detect_by_name_and_cache(tmp_path, monkeypatch):
    data, _ = planted_partition(1)
    labels = C.detect(data, 'louvain', random_state=0, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith('louvain-')
    # a second call reads the cache: the detector is not run again
    calls = []
    original = C.Louvain._detect
    monkeypatch.setattr(C.Louvain, '_detect',
                        lambda self, *a: calls.append(1) or original(self, *a))
    again = C.detect(data, 'Louvain', random_state=0, cache_dir=tmp_path)
    assert torch.equal(again, labels) and calls == []
    # another parameter or seed is another cache entry
    C.detect(data, 'louvain', random_state=0, cache_dir=tmp_path, resolution=0.5)
    C.detect(data, 'louvain', random_state=1, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 3 and len(calls) == 2
    # a corrupted cache file is recomputed, not trusted
    files[0].write_bytes(b'not a torch file')
    assert torch.equal(C.detect(data, 'louvain', random_state=0, cache_dir=tmp_path), labels)
    assert len(calls) == 3
    # a cache entry of the wrong length is rejected too
    torch.save({'labels': torch.zeros(3, dtype=torch.long)}, files[0])
    assert torch.equal(C.detect(data, 'louvain', random_state=0, cache_dir=tmp_path), labels)


def test_detect_rejects_unknown_names(tmp_path):
    data, _ = planted_partition(0)
    with pytest.raises(GCLConfigError, match='louvain, leiden, label-propagation'):
        C.detect(data, 'girvan-newman', cache_dir=tmp_path)
    with pytest.raises(GCLConfigError, match='no parameter'):
        C.detect(data, 'label-propagation', cache_dir=tmp_path, resolution=2.0)
    assert isinstance(C.get_detector('lpa'), C.LabelPropagation)


def test_check_communities_errors():
    with pytest.raises(GCLDataError, match='has 3 entries but the graph has 4 nodes'):
        C.check_communities(torch.tensor([0, 1, 1]), 4)
    with pytest.raises(GCLDataError, match='negative ids'):
        C.check_communities(torch.tensor([0, -1, 1, 0]), 4)
    with pytest.raises(GCLDataError, match='integer'):
        C.check_communities(torch.tensor([0.0, 1.0]), 2)


def test_label_propagation_fast_variant_recovers_blocks_the_async_one_shatters():
    """Four random blocks of 1,000 nodes, mean degree 8, no edges between them. networkx's
    asynchronous LPA keeps a label that merely ties for the most frequent, so it freezes in
    about a thousand fragments; FLPA (the default) returns the blocks."""
    gen = torch.Generator().manual_seed(0)
    blocks, size, per_block = 4, 1000, 4000
    src = torch.randint(0, size, (blocks, per_block), generator=gen)
    dst = torch.randint(0, size, (blocks, per_block), generator=gen)
    offset = (torch.arange(blocks) * size)[:, None]
    edge_index = torch.stack([(src + offset).reshape(-1), (dst + offset).reshape(-1)])
    truth = torch.arange(blocks).repeat_interleave(size).numpy()
    fast = C.LabelPropagation(random_state=0).fit((edge_index, blocks * size))
    assert fast.get_params() == {'random_state': 0, 'variant': 'fast'}
    assert adjusted_rand_score(truth, fast.labels_.numpy()) > 0.95
    slow = C.LabelPropagation(random_state=0, variant='async').fit((edge_index, blocks * size))
    assert slow.num_communities_ > 20 * blocks
    with pytest.raises(GCLConfigError, match='variant must be one of'):
        C.LabelPropagation(variant='sync')
