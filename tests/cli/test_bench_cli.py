"""`gcl bench`, `gcl leaderboard`, `gcl plot` and `gcl train --select rankme` end to end."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from gcl.cli.main import app

runner = CliRunner()


def _fake_run(calls):
    def run(config, *, tasks, **kwargs):
        calls.append((config['dataset'], config['seed'], list(tasks)))
        records = [{'method': config['method'], 'dataset': config['dataset'],
                    'seed': config['seed'], 'task': task,
                    'protocol': 'random-10-10-80' if task == 'node' else 'kmeans-k=7, n_init=10',
                    'metrics': {'test_acc': 0.8 + config['seed'] / 100} if task == 'node'
                    else {'nmi': 0.5}, 'config': json.loads(json.dumps(config)), 'epochs': 1,
                    'wall_s': 1.0, 'peak_rss_mb': 100.0} for task in tasks]
        return {'records': records, 'run_dir': 'x'}
    return run


def test_help():
    for command in ('bench', 'leaderboard', 'plot'):
        result = runner.invoke(app, [command, '--help'])
        assert result.exit_code == 0 and 'Usage' in result.output
    assert '--select' in runner.invoke(app, ['train', '--help']).output


def test_bench_dry_run_lists_cells(env):
    result = runner.invoke(app, ['bench', '--methods', 'grace', '--datasets', 'cora,citeseer',
                                 '--seeds', '0-1', '--tasks', 'node', '--dry-run',
                                 '--format', 'json'])
    assert result.exit_code == 0, result.output
    cells = json.loads(result.stdout)
    assert [c['cell'] for c in cells] == ['grace/cora seed 0 node', 'grace/cora seed 1 node',
                                          'grace/citeseer seed 0 node',
                                          'grace/citeseer seed 1 node']
    assert not any(c['done'] for c in cells)
    table = runner.invoke(app, ['bench', '--methods', 'gca', '--datasets', 'amazon-computers',
                                '--seeds', '0', '--tasks', 'link-transductive', '--dry-run'])
    assert table.exit_code == 0, table.output
    # 80 columns: long cell names are folded, not cut ('gca/amazon-compute…')
    assert '…' not in table.stdout and 'gca/amazon-computers' in table.stdout, table.stdout


def test_bench_runs_resumes_and_reports(env, monkeypatch):
    calls: list = []
    monkeypatch.setattr('gcl.bench.runner._run_in_process', _fake_run(calls))
    args = ['bench', '-m', 'grace', '-d', 'cora', '-s', '0-2', '--tasks', 'node,cluster',
            '--epochs', '1', '--no-isolate', '--format', 'json']
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload['cells'], payload['ran'], payload['skipped']) == (6, 6, 0)
    assert payload['results_file'] == 'benchmarks/results/bench.jsonl'
    node = next(r for r in payload['rows'] if r['task'] == 'node')
    assert node['seeds'] == [0, 1, 2] and node['mean'] == pytest.approx(81.0)
    assert len(calls) == 3
    results = env / 'benchmarks' / 'results' / 'bench.jsonl'
    with open(results, 'a') as fh:
        fh.write('{"method": "grace", "trunc')
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    payload = json.loads(again.stdout)
    assert (payload['ran'], payload['skipped']) == (0, 6) and len(calls) == 3
    assert payload['skipped_lines'] == [
        {'line': 7, 'problem': 'truncated record (the last write was cut short)'}]


def test_bench_suite_file_and_progress_lines(env, monkeypatch):
    calls: list = []
    monkeypatch.setattr('gcl.bench.runner._run_in_process', _fake_run(calls))
    suite = env / 'tiny.yaml'
    suite.write_text('name: tiny\nmethods: [grace]\ndatasets: [cora]\nseeds: 0-1\n'
                     'tasks: [node]\nepochs: 2\n')
    result = runner.invoke(app, ['bench', '--suite', str(suite), '--no-isolate'])
    assert result.exit_code == 0, result.output
    assert '[0/2 cells] grace/cora seed 0 (node)  ETA ?' in result.output
    assert '[1/2 cells] grace/cora seed 1 (node)  ETA' in result.output
    assert (env / 'benchmarks' / 'results' / 'tiny.jsonl').is_file()
    assert [c[1] for c in calls] == [0, 1]


def test_bench_errors_are_one_line(env):
    result = runner.invoke(app, ['bench', '--datasets', 'cora'])
    assert result.exit_code == 2 and 'give --methods, --datasets and --seeds' in result.output
    result = runner.invoke(app, ['bench', '-m', 'grace', '-d', 'cora', '-s', '0', '--tasks',
                                 'nodes'])
    assert result.exit_code == 2 and 'unknown task' in result.output


def test_leaderboard_command_keeps_notes(env, monkeypatch):
    monkeypatch.setattr('gcl.bench.runner._run_in_process', _fake_run([]))
    runner.invoke(app, ['bench', '-m', 'grace', '-d', 'cora', '-s', '0-1', '--tasks', 'node',
                        '--no-isolate', '-q'])
    out = env / 'benchmarks' / 'RESULTS.md'
    out.write_text('# Results\n\nNotes by the lead.\n')
    result = runner.invoke(app, ['leaderboard', '--format', 'json'])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload['rows'][0]['mean'] == pytest.approx(80.5)
    text = out.read_text()
    assert text.startswith('# Results\n\nNotes by the lead.\n\n<!-- gcl:leaderboard:start -->')
    assert '| grace | 80.50 ± 0.71 |' in text and '83.30 ± 0.40 [S-3p]' in text
    assert (env / 'benchmarks' / 'RESULTS.csv').is_file()
    assert (env / 'benchmarks' / 'figures' / 'accuracy_vs_papers.svg').is_file()
    missing = runner.invoke(app, ['leaderboard', '--results', 'nope.jsonl'])
    assert missing.exit_code == 2 and 'does not exist' in missing.output

    # the terminal summary at 80 columns: a table per dataset and task, nothing cut (one wide
    # table showed 'test_…' and 'rando…'), and how a row's config differs from the paper's
    runner.invoke(app, ['bench', '-m', 'grace', '-d', 'cora', '-s', '0', '--tasks', 'node',
                        '--set', 'loss.tau=0.9', '--no-isolate', '-q'])
    shown = runner.invoke(app, ['leaderboard', '--no-figures']).stdout
    assert 'cora · node' in shown and '…' not in shown, shown
    assert '80.50 ± 0.71' in shown and 'test_acc' in shown and '83.30' in shown
    assert 'random-10-10-80; paper config' in shown
    assert 'random-10-10-80; --set loss.tau=0.9' in shown


def test_plot_command(env):
    run_dir = env / 'run'
    run_dir.mkdir()
    (run_dir / 'config.yaml').write_text(yaml.safe_dump({'method': 'grace', 'dataset': 'cora',
                                                         'seed': 0, 'eval': {}, 'optim': {}}))
    (run_dir / 'history.jsonl').write_text(
        ''.join(json.dumps({'epoch': e, 'loss': 1.0 / e, 'rankme': 10.0 + e}) + '\n'
                for e in range(1, 6)))
    torch.save({'embeddings': torch.randn(2708, 4)}, run_dir / 'embeddings.pt')
    result = runner.invoke(app, ['plot', str(run_dir), '--no-map', '--format', 'json'])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)) == ['curves']
    assert (run_dir / 'figures' / 'curves.png').is_file()
    bad = runner.invoke(app, ['plot', str(env)])
    assert bad.exit_code == 2 and 'not a run directory' in bad.output


def test_train_select_rankme(env):
    result = runner.invoke(app, ['train', '-m', 'grace', '-d', 'cora', '--epochs', '3',
                                 '--select', 'rankme', '--tasks', 'node', '--set',
                                 'eval.repeats=1', '--quiet', '--format', 'json'])
    assert result.exit_code == 0, result.output
    run_dir = json.loads(result.stdout)[0]['run_dir']
    record = json.loads((env / 'runs' / 'results.jsonl').read_text().splitlines()[0])
    history = [json.loads(line) for line in
               (env / 'runs' / run_dir.split('/')[-1] / 'history.jsonl').read_text().splitlines()]
    best = max((h for h in history if h['epoch'] >= 2), key=lambda h: h['rankme'])  # 2nd half
    assert record['selection'] == {'by': 'rankme', 'epoch': best['epoch'],
                                   'rankme': best['rankme']}
    assert record['config']['train']['select'] == 'rankme'
    bad = runner.invoke(app, ['train', '-m', 'grace', '-d', 'cora', '--epochs', '1',
                              '--select', 'best', '--tasks', 'node', '-q'])
    assert bad.exit_code == 2 and "train.select must be 'last' or 'rankme'" in bad.output


def test_bench_jobs_runs_groups_side_by_side(env, monkeypatch):
    calls: list = []
    seen: list = []
    fake = _fake_run(calls)

    def isolated(config, threads=None, **kwargs):
        seen.append(threads)
        return fake(config, **kwargs)

    monkeypatch.setattr('gcl.bench.runner._run_isolated', isolated)
    args = ['bench', '-m', 'grace', '-d', 'cora,citeseer', '-s', '0-1', '--tasks', 'node',
            '--epochs', '1', '--jobs', '2', '--format', 'json']
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload['cells'], payload['ran'], payload['failed']) == (4, 4, [])
    assert sorted(calls) == sorted([(d, s, ['node']) for d in ('cora', 'citeseer')
                                    for s in (0, 1)])
    assert seen == [max(1, torch.get_num_threads() // 2)] * 4
    bad = runner.invoke(app, [*args[:-4], '--jobs', '2', '--no-isolate'])
    assert bad.exit_code == 2 and 'needs isolate' in bad.output


def test_progress_names_every_running_group():
    from gcl.bench.runner import BenchEvent
    from gcl.cli.bench import _Progress

    progress = _Progress(enabled=False, lines=False)
    for event in (BenchEvent('start', 0, 4, 0, 3, 'a'), BenchEvent('start', 0, 4, 0, 3, 'b'),
                  BenchEvent('done', 2, 4, 1, 3, 'a'), BenchEvent('start', 2, 4, 1, 3, 'c'),
                  BenchEvent('failed', 2, 4, 2, 3, 'b')):
        progress(event)
    assert progress.running == ['c']
