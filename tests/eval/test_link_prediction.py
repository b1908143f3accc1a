import logging
import math
import random

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import is_undirected, stochastic_blockmodel_graph

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval import (
    evaluate_link_prediction,
    evaluate_link_prediction_transductive,
    split_edges,
)

NUM_BLOCKS, BLOCK = 10, 40


@pytest.fixture(scope='module')
def sbm():
    """10 communities of 40 nodes, edges only inside communities (p=0.3)."""
    probs = torch.full((NUM_BLOCKS, NUM_BLOCKS), 0.0)
    probs.fill_diagonal_(0.3)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        edge_index = stochastic_blockmodel_graph([BLOCK] * NUM_BLOCKS, probs)
    y = torch.arange(NUM_BLOCKS * BLOCK) // BLOCK
    return Data(edge_index=edge_index, y=y, num_nodes=NUM_BLOCKS * BLOCK)


@pytest.fixture(scope='module')
def split(sbm):
    return split_edges(sbm, random_state=0)


def pairs(edge_index):
    """Undirected edges as a set of (min, max) pairs."""
    lo = torch.minimum(edge_index[0], edge_index[1]).tolist()
    hi = torch.maximum(edge_index[0], edge_index[1]).tolist()
    return set(zip(lo, hi, strict=True))


def community_embeddings(y):
    return F.one_hot(y, NUM_BLOCKS).float()


def random_embeddings(num_nodes, dim=16):
    return torch.randn(num_nodes, dim, generator=torch.Generator().manual_seed(1))


def test_split_shapes_and_sizes(sbm, split):
    train_data, edge_split = split
    total = sbm.edge_index.size(1) // 2
    sizes = {p: edge_split[p]['edge'].size(1) for p in ('train', 'valid', 'test')}
    assert sizes['valid'] == int(0.05 * total)
    assert sizes['test'] == int(0.10 * total)
    assert sizes['train'] == total - sizes['valid'] - sizes['test']
    for part in ('valid', 'test'):
        assert edge_split[part]['edge_neg'].shape == edge_split[part]['edge'].shape
    assert train_data.edge_index.size(1) == 2 * sizes['train']
    assert is_undirected(train_data.edge_index)
    assert 'pos_edge_label_index' not in train_data
    assert train_data.num_nodes == sbm.num_nodes


def test_split_holds_out_both_directions_and_is_disjoint(sbm, split):
    train_data, edge_split = split
    train_directed = set(zip(*train_data.edge_index.tolist(), strict=True))
    held = pairs(edge_split['valid']['edge']) | pairs(edge_split['test']['edge'])
    for u, v in held:
        assert (u, v) not in train_directed and (v, u) not in train_directed
    tr, va, te = (pairs(edge_split[p]['edge']) for p in ('train', 'valid', 'test'))
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert tr | va | te == pairs(sbm.edge_index)
    negatives = pairs(edge_split['valid']['edge_neg']) | pairs(edge_split['test']['edge_neg'])
    assert not negatives & pairs(sbm.edge_index)


def test_split_is_reproducible_and_leaves_global_rng_alone(sbm, split):
    torch.manual_seed(123)
    random.seed(123)
    _, again = split_edges(sbm, random_state=0)
    assert (
        torch.rand(1).item() == torch.rand(1, generator=torch.Generator().manual_seed(123)).item()
    )
    assert random.random() == random.Random(123).random()
    for part in ('valid', 'test'):
        for key in ('edge', 'edge_neg'):
            assert again[part][key].equal(split[1][part][key])
    _, other = split_edges(sbm, random_state=1)
    assert not other['test']['edge'].equal(split[1]['test']['edge'])


def test_split_does_not_modify_input(sbm):
    before = sbm.edge_index.clone()
    split_edges(sbm, random_state=0)
    assert sbm.edge_index.equal(before)
    assert 'pos_edge_label_index' not in sbm


def test_directed_input_is_symmetrised_with_warning(sbm, caplog):
    one_way = sbm.edge_index[:, sbm.edge_index[0] < sbm.edge_index[1]]
    loops = torch.tensor([[0, 1], [0, 1]])
    data = Data(edge_index=torch.cat([one_way, loops], dim=1), num_nodes=sbm.num_nodes)
    with caplog.at_level(logging.WARNING, logger='gcl.eval.link_prediction'):
        train_data, edge_split = split_edges(data, random_state=0)
    assert 'directed' in caplog.text
    assert is_undirected(train_data.edge_index)
    assert (train_data.edge_index[0] != train_data.edge_index[1]).all()  # self-loops dropped
    total = one_way.size(1)
    assert sum(edge_split[p]['edge'].size(1) for p in ('train', 'valid', 'test')) == total


def test_split_errors():
    with pytest.raises(GCLDataError, match='no edge_index'):
        split_edges(Data(num_nodes=3))
    with pytest.raises(GCLConfigError, match='no training edges'):
        split_edges(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2), 0.5, 0.5)
    with pytest.raises(GCLDataError, match='too few'):
        split_edges(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=3))


@pytest.mark.parametrize('scorer', ['cosine', 'hadamard'])
def test_community_embeddings_predict_links(sbm, split, scorer):
    _, edge_split = split
    out = evaluate_link_prediction(community_embeddings(sbm.y), edge_split, scorer=scorer)
    assert set(out) == {'test_auc', 'test_ap', 'val_auc', 'val_ap', 'protocol'}
    assert out['protocol'] == f'held-out 85/5/10, {scorer}'
    assert out['test_auc'] > 0.9 and out['val_auc'] > 0.9
    assert out['test_ap'] > 0.85


@pytest.mark.parametrize('scorer', ['cosine', 'hadamard'])
def test_random_embeddings_are_at_chance(sbm, split, scorer):
    _, edge_split = split
    out = evaluate_link_prediction(random_embeddings(sbm.num_nodes), edge_split, scorer=scorer)
    assert abs(out['test_auc'] - 0.5) < 0.1


def test_ogb_edge_layout_accepted(sbm, split):
    _, edge_split = split
    ogb = {p: {k: v.t() for k, v in d.items()} for p, d in edge_split.items()}
    z = community_embeddings(sbm.y)
    assert evaluate_link_prediction(z, ogb) == evaluate_link_prediction(z, edge_split)


def test_link_prediction_bad_inputs(sbm, split):
    _, edge_split = split
    z = community_embeddings(sbm.y)
    with pytest.raises(GCLDataError, match=r"\['test'\]"):
        evaluate_link_prediction(z, {'valid': edge_split['valid']})
    with pytest.raises(GCLDataError, match='ids 0..'):
        evaluate_link_prediction(z[:10], edge_split)
    with pytest.raises(GCLConfigError, match='unknown scorer'):
        evaluate_link_prediction(z, edge_split, scorer='dot')
    bad = z.clone()
    bad[5] = math.inf
    with pytest.raises(GCLDataError, match='1 of 400 rows'):
        evaluate_link_prediction(bad, edge_split)
    with pytest.raises(GCLDataError, match='split_edges'):
        evaluate_link_prediction(z, None)


def test_transductive_protocol(sbm):
    out = evaluate_link_prediction_transductive(community_embeddings(sbm.y), sbm.edge_index)
    assert out['protocol'] == 'transductive (CSGCL): edges seen in training'
    assert out['auc'] > 0.9 and out['ap'] > 0.85
    rnd = evaluate_link_prediction_transductive(random_embeddings(sbm.num_nodes), sbm.edge_index)
    assert abs(rnd['auc'] - 0.5) < 0.1
    again = evaluate_link_prediction_transductive(community_embeddings(sbm.y), sbm.edge_index)
    assert again == out
