"""``gcl train --sweep``: hyper-parameters chosen by RankMe on the command line (tiny Cora)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gcl.cli.main import app

runner = CliRunner()

TINY = ['train', '-m', 'grace', '-d', 'cora', '--epochs', '3', '--set', 'hidden=8',
        '--set', 'eval.repeats=1', '--quiet']


def test_sweep_json_records_the_choice(env):
    result = runner.invoke(app, [*TINY, '--sweep', 'loss.tau=0.2,0.8', '--select', 'rankme',
                                 '--tasks', 'node,link', '--seed', '0', '--format', 'json',
                                 '--out', 'runs'])
    assert result.exit_code == 0, result.output
    (payload,) = json.loads(result.stdout)
    assert payload['seed'] == 0 and payload['keys'] == ['loss.tau']
    assert [c['point'] for c in payload['candidates']] == [{'loss.tau': 0.2}, {'loss.tau': 0.8}]
    for graph, index in payload['selected'].items():
        ranks = [c['scores'][graph]['rankme'] for c in payload['candidates']]
        assert index == ranks.index(max(ranks))
    assert set(payload['selected']) == {'full', 'link'}
    assert {t for r in payload['runs'] for t in r['tasks']} == {'node', 'link'}
    assert set(payload['metrics']) == {'node', 'link'}
    records = [json.loads(line) for line in (env / 'runs' / 'results.jsonl').read_text()
               .splitlines()]
    assert {r['task'] for r in records} == {'node', 'link'}
    for record in records:
        graph = 'link' if record['task'] == 'link' else 'full'
        assert record['sweep']['by'] == 'rankme' and record['sweep']['graph'] == graph
        assert record['sweep']['chosen'] == payload['candidates'][payload['selected'][graph]][
            'point']
        assert record['config']['loss']['tau'] == record['sweep']['chosen']['loss.tau']
        assert record['selection']['by'] == 'rankme'          # the epoch choice, as before
    run_dirs = [p for p in (env / 'runs').iterdir() if p.is_dir()]
    assert sorted(str(p.name) for p in run_dirs) == sorted(r['run_dir'].split('/')[-1]
                                                           for r in payload['runs'])
    assert all((p / 'sweep.json').is_file() for p in run_dirs)


def test_sweep_table(env):
    result = runner.invoke(app, [*TINY, '--sweep', 'tau=0.4', '--tasks', 'cluster',
                                 '--out', 'runs'])
    assert result.exit_code == 0, result.output
    assert 'candidates by RankMe' in result.stdout and '* cluster' in result.stdout
    assert 'nmi' in result.stdout


@pytest.mark.parametrize(('extra', 'match'), [
    (['--sweep', 'tau'], 'expects KEY=V1,V2'),
    (['--sweep', 'tau='], 'empty value'),
    (['--sweep', 'tau=0.2', '--sweep', 'tau=0.4'], 'given twice'),
    (['--sweep', 'tau=0.2', '--sweep', 'loss.tau=0.4'], 'same option'),
    (['--sweep', 'tauu=0.2'], 'unknown option'),
    (['--sweep', 'tau=0.2', '--resume', 'x.pt'], 'cannot be combined'),
])
def test_malformed_sweep_is_one_line_exit_2(env, extra, match):
    result = runner.invoke(app, [*TINY, *extra, '--out', 'runs'])
    assert result.exit_code == 2, result.output
    assert match in result.output and 'Traceback' not in result.output
    assert not (env / 'runs').exists() or not list((env / 'runs').iterdir())
