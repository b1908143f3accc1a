"""CSGCL end to end on a small graph: preprocessing (communities, strengths, CED and CAV
weights), a few epochs with the Team-up ramp, the Louvain fallback, configs and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch_geometric.utils import is_undirected

from gcl.augment.communal import cav_attribute_weights, ced_edge_weights
from gcl.community import community_strength, modularity
from gcl.config import load_config
from gcl.errors import GCLConfigError
from gcl.losses import team_up
from gcl.methods import CSGCL, get_method
from gcl.methods import csgcl as csgcl_module


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / 'communities')


def test_prepare_builds_communities_and_weights(sbm_graph, cache):
    model = CSGCL(random_state=0, cache_dir=cache)
    model.prepare(sbm_graph)
    communities = model.communities_
    assert communities.shape == (60,) and communities.dtype == torch.long
    torch.testing.assert_close(model.strength_,
                               community_strength(sbm_graph, communities, dtype=torch.float64))
    assert float(model.strength_.sum()) == pytest.approx(
        float(modularity(sbm_graph, communities)), abs=1e-5)
    torch.testing.assert_close(model.node_strength_, model.strength_[communities].float())
    torch.testing.assert_close(model.edge_weight_,
                               ced_edge_weights(sbm_graph.edge_index, communities,
                                                model.strength_))
    torch.testing.assert_close(model.attr_weight_,
                               cav_attribute_weights(sbm_graph.x, model.node_strength_))
    assert set(model.prepare_seconds_) >= {'community_detection', 'ced_edge_weights'}
    # seeded: the same seed finds the same communities, without and with the cache
    again = CSGCL(random_state=0, cache_dir=cache, use_cache=False)
    again.prepare(sbm_graph)
    assert torch.equal(again.communities_, communities)
    # community.strength picks the first official code's formula (intra edges counted twice)
    old = CSGCL(random_state=0, cache_dir=cache, strength='getmod-e497d32')
    old.prepare(sbm_graph)
    expected = community_strength(sbm_graph, communities, dtype=torch.float64,
                                  formula='getmod-e497d32')
    torch.testing.assert_close(old.strength_, expected)
    assert (old.strength_ > model.strength_).all()
    torch.testing.assert_close(old.edge_weight_, ced_edge_weights(
        sbm_graph.edge_index, communities, expected))


def test_fit_a_few_epochs_with_the_ramp(sbm_graph, cache):
    model = CSGCL(hidden=8, epochs=6, t0=3, gamma_max=1.0, tau=0.5, lr=0.01, random_state=0,
                  cache_dir=cache).fit(sbm_graph)
    z = model.embed(sbm_graph)
    assert z.shape == (60, 8) and bool(torch.isfinite(z).all())
    assert len(model.history_) == 6
    assert model.model_.loss.gamma(6) == pytest.approx(0.03)
    # the step's loss is Team-up with the node strengths
    h1, h2 = torch.randn(60, 4), torch.randn(60, 4)
    torch.testing.assert_close(
        model.model_.loss(h1, h2, epoch=50, node_strength=model.node_strength_),
        team_up(h1, h2, model.node_strength_, 0.47, 0.5))
    assert model.extra_state()['communities'] == model.communities_.tolist()


def test_views_are_subsets_and_undirected_when_asked(sbm_graph, cache):
    model = CSGCL(p_ced=[0.5, 0.5], p_cav=[0.3, 0.3], random_state=0, cache_dir=cache,
                  force_undirected=True)
    model.prepare(sbm_graph)
    key = set(map(tuple, sbm_graph.edge_index.t().tolist()))
    for k in (0, 1):
        x, edge_index = model.view(sbm_graph, k, epoch=1)
        assert set(map(tuple, edge_index.t().tolist())) <= key
        assert is_undirected(edge_index, num_nodes=60)
        dropped = (x == 0).all(0) & (sbm_graph.x != 0).any(0)
        assert torch.equal(x[:, ~dropped], sbm_graph.x[:, ~dropped])


def test_louvain_fallback_without_leidenalg(sbm_graph, cache, monkeypatch, caplog):
    monkeypatch.setattr(csgcl_module, '_leiden_available', lambda: False)
    model = CSGCL(random_state=0, cache_dir=cache)
    assert model.community_algorithm() == 'louvain'
    model.prepare(sbm_graph)
    assert 'Louvain' in caplog.text
    assert CSGCL(algorithm='louvain').community_algorithm() == 'louvain'


def test_configs_and_errors(sbm_graph, cache):
    config = load_config('csgcl', 'amazon-computers')
    assert config['encoder']['hidden'] == 512 and config['loss']['t0'] == 2000
    assert config['loss']['gamma_max'] == 5.0 and config['augment']['p_ced'] == [0.6, 0.7]
    assert load_config('csgcl', 'coauthor-cs')['loss']['batch_size'] == 1024
    assert load_config('csgcl', 'wikics')['augment']['dense_features'] is True
    assert 'GRACE' in load_config('csgcl', 'cora')['provenance']
    assert get_method('csgcl') is CSGCL
    with pytest.raises(GCLConfigError, match='p_ced'):
        CSGCL(p_ced=[0.2, 1.2], epochs=1, cache_dir=cache).fit(sbm_graph)
    with pytest.raises(GCLConfigError, match='p_cav'):
        CSGCL(p_cav=[0.1], epochs=1, cache_dir=cache).fit(sbm_graph)
    with pytest.raises(GCLConfigError, match='ced_threshold'):
        CSGCL(ced_threshold=1.5, epochs=1, cache_dir=cache).fit(sbm_graph)
    with pytest.raises(GCLConfigError, match='unknown'):
        CSGCL(algorithm='girvan-newman', epochs=1, cache_dir=cache).fit(sbm_graph)


def test_cli_trains_csgcl(tmp_path, data_root, monkeypatch):
    from typer.testing import CliRunner

    from gcl.cli.main import app

    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    monkeypatch.setenv('GCL_CACHE_DIR', str(tmp_path / 'cache'))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ['train', '--method', 'csgcl', '--dataset', 'cora',
                                      '--epochs', '2', '--set', 't0=0', '--set', 'hidden=32',
                                      '--set', 'eval.repeats=1', '--tasks', 'cluster',
                                      '--quiet', '--format', 'json', '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert 0.0 <= payload[0]['metrics']['cluster']['nmi'] <= 1.0
