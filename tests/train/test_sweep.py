"""Hyper-parameter selection by RankMe (gcl.train.sweep): the grid, the choice, its record."""

from __future__ import annotations

import json
import math

import pytest
import torch

import gcl.train.sweep as sweep_module
from gcl.bench.rankme import rankme
from gcl.config import merge_config
from gcl.errors import GCLConfigError, GCLDataError
from gcl.methods import GRACE
from gcl.train.run import link_split, run
from gcl.train.sweep import grid_points, parse_sweeps, sweep


def _config(select: str = 'rankme', epochs: int = 4) -> dict:
    config = merge_config(GRACE.default_config(), {
        'dataset': 'sbm', 'encoder': {'hidden': 8}, 'optim': {'epochs': epochs, 'lr': 0.01},
        'train': {'select': select}, 'eval': {'repeats': 1}})
    config['method'] = 'grace'
    return config


GRID = {'tau': [0.2, 0.8], 'optim.lr': [0.001, 0.01]}


def test_parse_sweeps_and_grid_points():
    grid = parse_sweeps(['loss.tau=0.2, 0.4', 'p_edge=[0.2,0.4],[0.3,0.5]', 'lr=1e-3',
                         'activation=relu,prelu'])
    assert grid == {'loss.tau': [0.2, 0.4], 'p_edge': [[0.2, 0.4], [0.3, 0.5]], 'lr': [0.001],
                    'activation': ['relu', 'prelu']}
    points = grid_points(grid)
    assert len(points) == 8
    assert points[0] == {'loss.tau': 0.2, 'p_edge': [0.2, 0.4], 'lr': 0.001, 'activation': 'relu'}
    assert points[-1] == {'loss.tau': 0.4, 'p_edge': [0.3, 0.5], 'lr': 0.001,
                          'activation': 'prelu'}


@pytest.mark.parametrize(('pairs', 'match'), [
    (['tau'], 'expects KEY=V1,V2'),
    (['tau='], 'empty value'),
    (['tau=0.2,,0.4'], 'empty value'),
    (['=0.2'], 'key is empty'),
    (['tau=0.2', 'tau=0.4'], 'given twice'),
    (['tau=0.2,0.2'], 'repeated'),
])
def test_malformed_sweeps_raise(pairs, match):
    with pytest.raises(GCLConfigError, match=match):
        parse_sweeps(pairs)


@pytest.mark.parametrize(('grid', 'match'), [
    ({'hiden': [3]}, 'unknown option'),
    ({'tau': [0.2], 'loss.tau': [0.4]}, 'same option'),
    ({'seed': [0, 1]}, 'use --seed'),
    ({'eval.repeats': [1, 2]}, 'RankMe cannot choose'),
    ({}, 'at least one'),
    ({'tau': []}, 'at least one'),
])
def test_bad_grids_raise_before_training(sbm_graph, tmp_path, monkeypatch, grid, match):
    monkeypatch.setattr(sweep_module, '_score', lambda *a: pytest.fail('trained'))
    with pytest.raises(GCLConfigError, match=match):
        sweep(_config(), grid, data=sbm_graph, out_dir=tmp_path, tasks=['node'])


@pytest.mark.parametrize('select', ['rankme', 'last'])
def test_sweep_runs_only_the_highest_rankme_point(sbm_graph, tmp_path, select):
    out = sweep(_config(select), GRID, data=sbm_graph, out_dir=tmp_path, tasks=['node', 'cluster'])
    candidates = out['candidates']
    assert [c['point'] for c in candidates] == grid_points(GRID)
    ranks = [c['scores']['full']['rankme'] for c in candidates]
    best = max(range(len(ranks)), key=ranks.__getitem__)
    assert out['selected'] == {'full': best}
    (chosen,) = out['runs']                                   # only the winner was run
    assert chosen['index'] == best and chosen['tasks'] == ['node', 'cluster']
    run_dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert [str(p) for p in run_dirs] == [chosen['run_dir']]
    run_dir = run_dirs[0]
    config = (run_dir / 'config.yaml').read_text()
    assert f"tau: {GRID['tau'][best // 2]}" in config
    assert f"lr: {GRID['optim.lr'][best % 2]}" in config

    records = [json.loads(line) for line in (tmp_path / 'results.jsonl').read_text().splitlines()]
    assert {r['task'] for r in records} == {'node', 'cluster'}
    for record in records:
        info = record['sweep']
        assert info['by'] == 'rankme' and info['graph'] == 'full' and info['index'] == best
        assert info['chosen'] == candidates[best]['point'] and info['grid'] == GRID
        assert [c['rankme'] for c in info['candidates']] == pytest.approx(ranks)
    assert json.loads((run_dir / 'sweep.json').read_text())['node'] == records[0]['sweep']

    # the evaluated model is the candidate that won: same RankMe, same kept epoch
    kept = torch.load(run_dir / 'embeddings.pt')['embeddings']
    assert rankme(kept) == pytest.approx(ranks[best], rel=1e-6)
    if select == 'rankme':
        history = [json.loads(line)
                   for line in (run_dir / 'history.jsonl').read_text().splitlines()]
        epoch = candidates[best]['scores']['full']['epoch']
        assert records[0]['selection'] == {'by': 'rankme', 'epoch': epoch,
                                           'rankme': pytest.approx(ranks[best], rel=1e-6)}
        assert math.isclose(next(h['rankme'] for h in history if h['epoch'] == epoch),
                            ranks[best], rel_tol=1e-6)
    else:
        assert all(c['scores']['full']['epoch'] is None for c in candidates)


def test_labels_are_not_used_for_the_choice(sbm_graph, tmp_path, monkeypatch):
    scored, evaluated = [], []
    score = sweep_module._score

    def spy_score(config, graph, device, progress):
        assert 'y' not in graph and not [k for k in graph.keys() if k.endswith('_mask')]
        assert not evaluated, 'a candidate was trained after an evaluation'
        scored.append(config['loss']['tau'])
        return score(config, graph, device, progress)

    import gcl.eval

    evaluate = gcl.eval.evaluate

    def spy_evaluate(*args, **kwargs):
        assert len(scored) == 2, 'evaluation before the selection'
        evaluated.append(kwargs.get('tasks'))
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(sweep_module, '_score', spy_score)
    monkeypatch.setattr(gcl.eval, 'evaluate', spy_evaluate)
    sbm_graph.train_mask = torch.zeros(sbm_graph.num_nodes, dtype=torch.bool)
    grid = {'tau': [0.2, 0.8]}
    first = sweep(_config(), grid, data=sbm_graph, out_dir=tmp_path / 'a', tasks=['node'])
    assert evaluated and len(scored) == 2

    scored.clear()
    evaluated.clear()
    garbage = sbm_graph.clone()
    garbage.y = torch.randint(0, 3, (sbm_graph.num_nodes,), generator=torch.Generator()
                              .manual_seed(1))
    second = sweep(_config(), grid, data=garbage, out_dir=tmp_path / 'b', tasks=['node'])
    assert second['selected'] == first['selected']
    def ranks(out):
        return [(c['scores']['full']['rankme'], c['scores']['full']['epoch'])
                for c in out['candidates']]

    assert ranks(second) == ranks(first)


def test_link_candidates_never_see_held_out_edges(sbm_graph, tmp_path, monkeypatch):
    config = _config()
    _, edge_split = link_split(sbm_graph, config)
    held_out = torch.cat([edge_split['valid']['edge'], edge_split['test']['edge']], dim=1)
    held = {tuple(e) for e in held_out.t().tolist()} | {tuple(e) for e in held_out.flip(0).t()
                                                         .tolist()}
    graphs = []
    score = sweep_module._score

    def spy_score(config, graph, device, progress):
        graphs.append(graph)
        return score(config, graph, device, progress)

    monkeypatch.setattr(sweep_module, '_score', spy_score)
    out = sweep(config, {'tau': [0.2, 0.8]}, data=sbm_graph, out_dir=tmp_path, tasks=['link'])
    assert len(graphs) == 2 and set(out['selected']) == {'link'}
    for graph in graphs:
        assert not held & {tuple(e) for e in graph.edge_index.t().tolist()}
    (chosen,) = out['runs']
    assert chosen['tasks'] == ['link'] and 'test_auc' in out['metrics']['link']
    (record,) = [json.loads(line) for line in (tmp_path / 'results.jsonl').read_text().splitlines()]
    assert record['sweep']['graph'] == 'link'
    assert record['sweep']['index'] == out['selected']['link']


def test_node_and_link_choices_are_made_on_their_own_graphs(sbm_graph, tmp_path):
    out = sweep(_config(), {'tau': [0.2, 0.8]}, data=sbm_graph, out_dir=tmp_path,
                tasks=['node', 'link'])
    for graph in ('full', 'link'):
        ranks = [c['scores'][graph]['rankme'] for c in out['candidates']]
        assert out['selected'][graph] == ranks.index(max(ranks))
    ran = {t: r['index'] for r in out['runs'] for t in r['tasks']}
    assert ran == {'node': out['selected']['full'], 'link': out['selected']['link']}
    assert len(out['runs']) == len(set(out['selected'].values()))
    assert set(out['metrics']) == {'node', 'link'}


def test_a_diverging_candidate_is_left_out(sbm_graph, tmp_path):
    out = sweep(_config(), {'lr': [1e30, 0.01]}, data=sbm_graph, out_dir=tmp_path, tasks=['node'])
    assert out['candidates'][0]['scores']['full']['rankme'] is None
    assert 'NaN' in out['candidates'][0]['scores']['full']['error']
    assert out['selected'] == {'full': 1}
    with pytest.raises(GCLDataError, match='no candidate could be trained'):
        sweep(_config(), {'lr': [1e30]}, data=sbm_graph, out_dir=tmp_path, tasks=['node'])


def test_two_runs_within_a_second_get_two_directories(sbm_graph, tmp_path):
    config = _config('last', epochs=1)
    first = run(config, data=sbm_graph, out_dir=tmp_path, tasks=[], save_embeddings=False)
    second = run(config, data=sbm_graph, out_dir=tmp_path, tasks=[], save_embeddings=False)
    assert first['run_dir'] != second['run_dir']
    assert first['run_dir'].is_dir() and second['run_dir'].is_dir()
