"""GCA end to end on small graphs: every drop scheme trains, views follow the cached weights,
``--set drop_scheme=pr`` reaches the method, and the CLI trains it."""

from __future__ import annotations

import json

import pytest
import torch

from gcl.augment import adaptive_probabilities, edge_drop_weights
from gcl.config import load_config, parse_overrides
from gcl.errors import GCLConfigError
from gcl.methods import GCA, GRACE, get_method


@pytest.mark.parametrize('scheme', ['degree', 'pr', 'evc', 'uniform'])
def test_every_scheme_trains(sbm_graph, scheme):
    model = GCA(drop_scheme=scheme, hidden=8, epochs=4, lr=0.01, random_state=0).fit(sbm_graph)
    z = model.embed(sbm_graph)
    assert z.shape == (60, 8) and bool(torch.isfinite(z).all())
    assert len(model.history_) == 4
    assert (model.edge_weights_ is None) == (scheme == 'uniform')


def test_views_follow_the_adaptive_probabilities(sbm_graph):
    model = GCA(drop_scheme='degree', p_edge=[0.5, 0.1], p_feat=[0.4, 0.0], random_state=0)
    model.prepare(sbm_graph)
    weights = edge_drop_weights(sbm_graph.edge_index, 60, 'degree')
    torch.testing.assert_close(model.edge_weights_, weights)
    probs = adaptive_probabilities(weights, 0.5, 0.7)
    torch.manual_seed(0)
    key = sbm_graph.edge_index[0] * 60 + sbm_graph.edge_index[1]
    kept = torch.zeros(key.numel())
    draws = 400
    for _ in range(draws):
        x, edge_index = model.view(sbm_graph, 0, epoch=1)
        kept += torch.isin(key, edge_index[0] * 60 + edge_index[1]).float()
        assert x.shape == sbm_graph.x.shape
    drop_rate = 1 - kept / draws
    assert (drop_rate - probs).abs().mean().item() < 0.03
    # p_feat = 0 for view 2: features untouched
    x2, _ = model.view(sbm_graph, 1, epoch=1)
    assert torch.equal(x2, sbm_graph.x)


def test_gca_is_grace_with_uniform_views(sbm_graph):
    z_gca = GCA(drop_scheme='uniform', hidden=8, epochs=3, random_state=1).fit(sbm_graph)
    z_grace = GRACE(hidden=8, epochs=3, random_state=1).fit(sbm_graph)
    torch.testing.assert_close(z_gca.embed(sbm_graph), z_grace.embed(sbm_graph))


def test_config_override_and_errors(sbm_graph):
    config = load_config('gca', 'amazon-computers',
                         overrides=parse_overrides(['drop_scheme=pr']))
    assert config['augment']['drop_scheme'] == 'pr'
    assert config['augment']['threshold'] == 0.7
    assert config['eval']['node_protocol'] == 'gca'
    assert load_config('gca', 'wikics')['augment']['dense_features'] is True
    assert get_method('gca') is GCA
    with pytest.raises(GCLConfigError, match='drop_scheme'):
        GCA(drop_scheme='betweenness', epochs=1).fit(sbm_graph)
    with pytest.raises(GCLConfigError, match='threshold'):
        GCA(threshold=1.5, epochs=1).fit(sbm_graph)


def test_cli_trains_gca_with_pagerank(tmp_path, data_root, monkeypatch):
    from typer.testing import CliRunner

    from gcl.cli.main import app

    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ['train', '--method', 'gca', '--dataset', 'cora',
                                      '--epochs', '2', '--set', 'drop_scheme=pr',
                                      '--set', 'eval.repeats=1', '--tasks', 'cluster',
                                      '--quiet', '--format', 'json', '--out', str(tmp_path)])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert 0.0 <= payload[0]['metrics']['cluster']['nmi'] <= 1.0
