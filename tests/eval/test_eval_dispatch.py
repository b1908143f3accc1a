import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import stochastic_blockmodel_graph

from gcl.errors import GCLConfigError, GCLDataError
from gcl.eval import (
    evaluate,
    evaluate_clustering,
    evaluate_link_prediction,
    evaluate_link_prediction_transductive,
    evaluate_node_classification,
    split_edges,
)

NUM_NODES, NUM_CLASSES = 120, 3


@pytest.fixture(scope='module')
def graph():
    probs = torch.full((NUM_CLASSES, NUM_CLASSES), 0.01)
    probs.fill_diagonal_(0.3)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        edge_index = stochastic_blockmodel_graph([NUM_NODES // NUM_CLASSES] * NUM_CLASSES, probs)
    y = torch.arange(NUM_NODES) // (NUM_NODES // NUM_CLASSES)
    return Data(edge_index=edge_index, y=y, num_nodes=NUM_NODES)


@pytest.fixture(scope='module')
def z(graph):
    gen = torch.Generator().manual_seed(0)
    return 3.0 * F.one_hot(graph.y, NUM_CLASSES).float() + 0.1 * torch.randn(
        NUM_NODES, NUM_CLASSES, generator=gen
    )


def test_default_tasks(graph, z):
    out = evaluate(z, graph, repeats=2)
    assert set(out) == {'node', 'cluster'}
    assert out['node']['test_acc'] == 1.0
    assert out['node']['protocol'] == 'random-10-10-80'
    assert out['cluster']['nmi'] == pytest.approx(1.0)
    assert out['node'] == evaluate_node_classification(z, graph.y, repeats=2)
    assert out['cluster'] == evaluate_clustering(z, graph.y, repeats=2)


def test_single_task_string_and_kwargs_routing(graph, z):
    out = evaluate(z, graph, 'cluster', repeats=1, num_clusters=4)
    assert set(out) == {'cluster'}
    assert out['cluster']['protocol'] == 'kmeans-k=4, n_init=10'
    out = evaluate(z, graph, ['node'], node_protocol='gca', repeats=1, epochs=40)
    assert out['node']['protocol'] == 'gca' and out['node']['repeats'] == 1


def test_link_task(graph, z):
    _, edge_split = split_edges(graph, random_state=0)
    out = evaluate(z, graph, ('link',), edge_split=edge_split, scorer='hadamard')
    assert out['link'] == evaluate_link_prediction(z, edge_split, scorer='hadamard')
    assert out['link']['protocol'].endswith('hadamard')


def test_transductive_link_task_scores_the_graphs_own_edges(graph, z):
    # CSGCL's protocol: no edge_split, positives are data.edge_index; no labels needed
    unlabelled = Data(edge_index=graph.edge_index, num_nodes=NUM_NODES)
    out = evaluate(z, unlabelled, 'link-transductive', random_state=3)
    assert set(out) == {'link-transductive'}
    assert out['link-transductive'] == evaluate_link_prediction_transductive(
        z, graph.edge_index, random_state=3)
    assert out['link-transductive']['protocol'].startswith('transductive (CSGCL)')
    assert out['link-transductive']['auc'] > 0.75  # a third of the negatives share a community


def test_public_protocol_reads_1d_masks(graph, z):
    data = graph.clone()
    data.train_mask = torch.zeros(NUM_NODES, dtype=torch.bool)
    data.val_mask = torch.zeros(NUM_NODES, dtype=torch.bool)
    data.train_mask[::4] = True
    data.val_mask[1::4] = True
    data.test_mask = ~(data.train_mask | data.val_mask)
    out = evaluate(z, data, 'node', node_protocol='public')
    assert out['node']['repeats'] == 1 and out['node']['protocol'] == 'public'
    assert out['node']['test_acc'] == 1.0


def test_public_protocol_averages_2d_masks_wikics_style(graph, z):
    num_splits = 4
    data = graph.clone()
    data.train_mask = torch.zeros(NUM_NODES, num_splits, dtype=torch.bool)
    data.val_mask = torch.zeros(NUM_NODES, num_splits, dtype=torch.bool)
    for s in range(num_splits):
        data.train_mask[s:60:8, s] = True
        data.val_mask[s + 4 : 60 : 8, s] = True
    data.test_mask = torch.zeros(NUM_NODES, dtype=torch.bool)  # shared, as WikiCS
    data.test_mask[60:] = True
    out = evaluate(z, data, 'node', node_protocol='public')
    assert out['node']['repeats'] == num_splits
    gca = evaluate(z, data, 'node', node_protocol='gca', splits='masks', epochs=40)
    assert gca['node']['repeats'] == num_splits


def _wikics_style(graph, num_splits):
    """``graph`` with WikiCS-shaped masks: ``[N, S]`` train / val, one shared test mask."""
    data = graph.clone()
    i = torch.arange(NUM_NODES)
    part = (i // 3)[:, None] % num_splits == torch.arange(num_splits)     # [N, S]
    data.train_mask = (i % 3 == 0)[:, None] & part      # every class in every split
    data.val_mask = (i % 3 == 1)[:, None] & part
    data.test_mask = i % 3 == 2
    return data


def test_gca_public_reads_the_masks_and_is_labelled(graph, z):
    data = _wikics_style(graph, 3)
    out = evaluate(z, data, 'node', node_protocol='gca-public', epochs=40)['node']
    assert out['repeats'] == 3 and out['protocol'] == 'gca-public'
    same = evaluate(z, data, 'node', node_protocol='gca', splits='masks', epochs=40)['node']
    assert {k: v for k, v in out.items() if k != 'protocol'} == {
        k: v for k, v in same.items() if k != 'protocol'}     # the same probe, another label
    with pytest.raises(GCLDataError, match='train_mask'):
        evaluate(z, graph, 'node', node_protocol='gca-public')
    with pytest.raises(GCLDataError, match="'gca-public' needs splits"):
        evaluate_node_classification(z, graph.y, protocol='gca-public')


@pytest.mark.parametrize('method', ['gca', 'csgcl', 'gcool'])
def test_wikics_configs_use_gcas_probe_on_the_public_splits(graph, z, method, monkeypatch):
    # GCA's eval.py (and so CSGCL's) trains its linear layer for 800 epochs on each of WikiCS's
    # 20 public splits (ALGORITHMS.md §0.5); gcl evaluates gCooL the same way
    import gcl.eval.node_classification as nc
    from gcl.config import load_config
    from gcl.train.run import evaluate_embeddings

    config = load_config(method, 'wikics')
    assert config['eval']['node_protocol'] == 'gca-public'
    seen = []
    real = nc._gca_probe

    def spy(*args, **kwargs):
        seen.append(kwargs['epochs'])
        return real(*args, **{**kwargs, 'epochs': 300})   # note what was asked, run fewer

    monkeypatch.setattr(nc, '_gca_probe', spy)
    out = evaluate_embeddings(z, _wikics_style(graph, 4), config, ['node'])
    assert seen == [800]
    assert out['node']['repeats'] == 4 and out['node']['protocol'] == 'gca-public'
    assert out['node']['test_acc'] > 0.9


def test_probe_epochs_default_is_the_probes_own(graph, z, monkeypatch):
    import gcl.eval.node_classification as nc
    from gcl.config import load_config
    from gcl.train.run import evaluate_embeddings

    seen = []
    monkeypatch.setattr(nc, '_gca_probe', lambda *a, **k: seen.append(k['epochs']) or [
        {'test_acc': 1.0, 'val_acc': 1.0, 'micro_f1': 1.0, 'macro_f1': 1.0}])
    config = load_config('gca', 'amazon-photo')
    assert config['eval']['probe_epochs'] is None
    evaluate_embeddings(z, graph, config, ['node'])
    assert seen == [3000]


def test_public_protocol_without_masks_raises(graph, z):
    with pytest.raises(GCLDataError, match='train_mask'):
        evaluate(z, graph, 'node', node_protocol='public')


def test_missing_labels_raise(graph, z):
    data = Data(edge_index=graph.edge_index, num_nodes=NUM_NODES)
    with pytest.raises(GCLDataError, match=r"task 'node' needs labels \(data.y\)"):
        evaluate(z, data, 'node')
    with pytest.raises(GCLDataError, match=r"task 'cluster' needs labels \(data.y\)"):
        evaluate(z, data, 'cluster')


def test_missing_edge_split_raises(graph, z):
    with pytest.raises(GCLDataError, match='split_edges'):
        evaluate(z, graph, 'link')


def test_bad_embeddings_raise(graph, z):
    with pytest.raises(GCLDataError, match='has 119 rows but the graph has 120'):
        evaluate(z[:-1], graph)
    bad = z.clone()
    bad[[0, 5, 9]] = math.nan
    with pytest.raises(GCLDataError, match='3 of 120 rows'):
        evaluate(bad, graph)
    with pytest.raises(GCLDataError, match='2-D'):
        evaluate(z[:, 0], graph)
    with pytest.raises(GCLDataError, match='floating-point'):
        evaluate(z.long(), graph)


def test_unknown_task_or_option_raises(graph, z):
    with pytest.raises(GCLConfigError, match='unknown tasks'):
        evaluate(z, graph, ('node', 'graph'))
    with pytest.raises(GCLConfigError, match='unknown option'):
        evaluate(z, graph, 'node', epoch=5)
