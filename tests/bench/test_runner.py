"""The benchmark runner: grids, resuming, torn and corrupted lines, failures, isolation."""

from __future__ import annotations

import json
import logging

import pytest

from gcl.bench.grid import (
    config_hash,
    expand_grid,
    load_suite,
    parse_seeds,
    suite_cells,
)
from gcl.bench.runner import record_key, run_cells, scan_results
from gcl.errors import GCLConfigError


class FakeRun:
    """Stands in for gcl.train.run.run: returns records shaped like make_record's, fast."""

    def __init__(self, fail_on: set[tuple[str, int]] | None = None,
                 interrupt_after: int | None = None) -> None:
        self.calls: list[tuple[str, int, list[str]]] = []
        self.fail_on = fail_on or set()
        self.interrupt_after = interrupt_after

    def __call__(self, config, *, tasks, **kwargs):
        if self.interrupt_after is not None and len(self.calls) == self.interrupt_after:
            raise KeyboardInterrupt
        key = (config['dataset'], config['seed'])
        self.calls.append((config['dataset'], config['seed'], list(tasks)))
        if key in self.fail_on:
            raise RuntimeError(f'boom on {key}')
        protocols = config['eval']['node_protocol']
        protocols = [protocols] if isinstance(protocols, str) else protocols
        records = []
        for task in tasks:
            names = protocols if task == 'node' else ['kmeans-k=7, n_init=10']
            for protocol in names:
                records.append({'method': config['method'], 'dataset': config['dataset'],
                                'seed': config['seed'], 'task': task, 'protocol': protocol,
                                'metrics': {'test_acc': 0.5 + config['seed'] / 100},
                                'config': json.loads(json.dumps(config)), 'epochs': 1,
                                'wall_s': 0.1, 'peak_rss_mb': 10.0})
        return {'records': records, 'run_dir': 'nowhere'}


@pytest.fixture
def cells():
    return expand_grid(['grace'], ['cora', 'citeseer'], [0, 1], tasks=['node', 'cluster'],
                       epochs=1)


def _lines(path):
    return path.read_text().splitlines()


def test_parse_seeds():
    assert parse_seeds('0-4') == [0, 1, 2, 3, 4]
    assert parse_seeds('0,2, 5-6') == [0, 2, 5, 6]
    assert parse_seeds([3, '1-2']) == [3, 1, 2]
    assert parse_seeds(7) == [7]
    for bad in ('a', '4-2', '-1', '1-'):
        with pytest.raises(GCLConfigError, match='ranges like 0-4'):
            parse_seeds(bad)


def test_expand_grid_resolves_and_hashes(cells):
    assert len(cells) == 8
    assert [c.describe() for c in cells[:2]] == ['grace/cora seed 0 node',
                                                 'grace/cora seed 0 cluster']
    assert {c.config['optim']['epochs'] for c in cells} == {1}
    cora = [c for c in cells if c.dataset == 'cora']
    assert len({c.config_hash for c in cora}) == 1       # the seed is not part of the hash
    assert len({c.key for c in cells}) == 8
    assert cora[0].config_hash == config_hash(cora[0].config)
    two = expand_grid(['grace'], ['cora'], [0], tasks=['node'], protocol='gca,random-10-10-80')
    assert [c.protocol for c in two] == ['gca', 'random-10-10-80']
    with pytest.raises(GCLConfigError, match='unknown task'):
        expand_grid(['grace'], ['cora'], [0], tasks=['nodes'])
    with pytest.raises(GCLConfigError, match='empty grid'):
        expand_grid([], ['cora'], [0])
    with pytest.raises(GCLConfigError, match='unknown option'):
        expand_grid(['grace'], ['cora'], [0], overrides={'optim.lrr': 1})


def test_config_hash_survives_new_default_options(cells):
    config = json.loads(json.dumps(cells[0].config))
    older = json.loads(json.dumps(config))
    del older['train']['select_after']             # a record written before the option existed
    assert config_hash(older) == config_hash(config)
    older['optim']['epochs'] = 2                     # a real difference
    assert config_hash(older) != config_hash(config)
    config['seed'] = 99
    assert config_hash(config) == cells[0].config_hash


def test_suite_file(tmp_path):
    path = tmp_path / 's.yaml'
    path.write_text('name: s\nmethods: grace\ndatasets: [cora]\nseeds: 0-1\ntasks: [node]\n'
                    'epochs: 3\nset: {eval.repeats: 1}\n'
                    'overrides:\n  grace/cora: {optim.lr: 0.01}\n')
    suite = load_suite(path)
    cells = suite_cells(suite)
    assert len(cells) == 2 and cells[0].config['optim']['lr'] == 0.01
    assert cells[0].config['eval']['repeats'] == 1 and cells[0].config['optim']['epochs'] == 3
    path.write_text('methods: [grace]\ndatasets: [cora]\nseeds: 0\nepoch: 3\n')
    with pytest.raises(GCLConfigError, match=r"unknown suite key\(s\) \['epoch'\]"):
        load_suite(path)
    path.write_text('methods: [grace\ndatasets: [cora]\n')
    with pytest.raises(GCLConfigError, match=r's\.yaml: not valid YAML \(line 2, column 9: '):
        load_suite(path)   # the position of the problem, on one line


def test_resume_skips_finished_cells(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    fake = FakeRun()
    first = run_cells(cells, results, out_dir=tmp_path / 'runs', run_fn=fake)
    assert (first.ran, first.skipped, first.failed) == (8, 0, [])
    assert len(fake.calls) == 4                           # one training per (dataset, seed)
    assert len(_lines(results)) == 8
    again = run_cells(cells, results, out_dir=tmp_path / 'runs', run_fn=fake)
    assert (again.ran, again.skipped) == (0, 8) and len(fake.calls) == 4
    keys = [record_key(r) for _, r in scan_results(results).records]
    assert sorted(keys) == sorted(c.key for c in cells)


def test_groups_with_a_checkpoint_run_first(cells, tmp_path):
    from gcl.bench.runner import checkpoint_folder

    out = tmp_path / 'runs'
    late = [c for c in cells if (c.dataset, c.seed) == ('citeseer', 0)][0]  # grid position 3
    folder = checkpoint_folder(out, late.method, late.dataset, late.seed, late.config_hash)
    folder.mkdir(parents=True)
    (folder / 'notes.txt').write_text('not a checkpoint')
    fake = FakeRun()
    run_cells(cells, tmp_path / 'a.jsonl', out_dir=out, run_fn=fake)
    grid = [('cora', 0), ('cora', 1), ('citeseer', 0), ('citeseer', 1)]
    assert [c[:2] for c in fake.calls] == grid            # no .pt: grid order
    (folder / 'node.pt').write_bytes(b'')
    fake = FakeRun()
    run_cells(cells, tmp_path / 'b.jsonl', out_dir=out, run_fn=fake)
    assert [c[:2] for c in fake.calls] == [('citeseer', 0), ('cora', 0), ('cora', 1),
                                            ('citeseer', 1)]


def test_killed_run_restarts_where_it_stopped(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    with pytest.raises(KeyboardInterrupt):
        run_cells(cells, results, run_fn=FakeRun(interrupt_after=2), out_dir=tmp_path)
    assert len(_lines(results)) == 4                      # two whole groups, no partial line
    fake = FakeRun()
    summary = run_cells(cells, results, run_fn=fake, out_dir=tmp_path)
    assert (summary.skipped, summary.ran) == (4, 4)
    assert [(d, s) for d, s, _ in fake.calls] == [('citeseer', 0), ('citeseer', 1)]
    assert len({record_key(r) for _, r in scan_results(results).records}) == 8


def test_only_unfinished_tasks_are_rerun(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path)
    kept = [line for line in _lines(results) if '"task": "cluster"' not in line or
            '"dataset": "cora"' not in line or '"seed": 1' not in line]
    results.write_text('\n'.join(kept) + '\n')
    fake = FakeRun()
    summary = run_cells(cells, results, run_fn=fake, out_dir=tmp_path)
    assert fake.calls == [('cora', 1, ['cluster'])] and summary.ran == 1


def test_corrupted_and_truncated_lines_are_reported_and_skipped(cells, tmp_path, caplog):
    results = tmp_path / 'r.jsonl'
    run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path)
    lines = _lines(results)
    lines[2] = lines[2][:-1] + ',,}'                                  # corrupted, line 3
    lines[5] = json.dumps({'method': 'grace'})                        # incomplete, line 6
    text = '\n'.join(lines[:7]) + '\n' + lines[7][:25]                # torn last line, 8
    results.write_text(text)
    scan = scan_results(results)
    assert [n for n, _ in scan.problems] == [3, 6, 8]
    assert 'corrupted' in scan.problems[0][1] and 'incomplete' in scan.problems[1][1]
    assert 'truncated' in scan.problems[2][1] and scan.torn_tail
    caplog.set_level(logging.WARNING, logger='gcl')
    fake = FakeRun()
    summary = run_cells(cells, results, run_fn=fake, out_dir=tmp_path)
    assert [n for n, _ in summary.problems] == [3, 6, 8]
    assert f'{results}:3' in caplog.text and f'{results}:8' in caplog.text
    assert summary.ran == 3 and summary.skipped == 5                 # the 3 lost cells rerun
    after = scan_results(results)
    assert [n for n, _ in after.problems] == [3, 6, 8]                # never merged
    assert not after.torn_tail and len(after.records) == 8
    assert {record_key(r) for _, r in after.records} == {c.key for c in cells}


def test_binary_garbage_line_is_reported(tmp_path):
    path = tmp_path / 'r.jsonl'
    path.write_bytes(b'{"a": 1}\n\xff\xfe\x00garbage\n')
    scan = scan_results(path)
    assert scan.problems == [(1, 'incomplete record (missing method, dataset, seed, task, '
                                 'metrics, config)'), (2, 'corrupted line (not UTF-8 text)')]


def test_a_failing_group_does_not_stop_the_grid(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    summary = run_cells(cells, results, run_fn=FakeRun(fail_on={('cora', 1)}), out_dir=tmp_path)
    assert summary.ran == 6 and len(summary.failed) == 1
    assert 'cora seed 1' in summary.failed[0][0] and 'boom' in summary.failed[0][1]
    with pytest.raises(RuntimeError, match='boom'):
        run_cells(cells, results, run_fn=FakeRun(fail_on={('cora', 1)}), out_dir=tmp_path,
                  stop_on_error=True)


def test_progress_events_and_eta(cells, tmp_path):
    events = []
    run_cells(cells, tmp_path / 'r.jsonl', run_fn=FakeRun(), out_dir=tmp_path,
              on_event=events.append)
    kinds = [e.kind for e in events]
    assert kinds == ['skipped'] + ['start', 'done'] * 4
    starts = [e for e in events if e.kind == 'start']
    assert starts[0].eta_s is None and all(e.eta_s is not None for e in starts[1:])
    assert [e.cells_done for e in starts] == [0, 2, 4, 6]
    assert events[-1].cells_done == 8 and events[-1].eta_s == 0.0


def test_several_node_protocols_are_separate_cells(tmp_path):
    cells = expand_grid(['grace'], ['cora'], [0], tasks=['node'], protocol='gca,grace-10-90')
    results = tmp_path / 'r.jsonl'
    assert run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path).ran == 2
    assert [r['protocol'] for _, r in scan_results(results).records] == ['gca', 'grace-10-90']
    assert run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path).skipped == 2


def test_real_tiny_grace_run_then_resume(tmp_path, data_root, monkeypatch):
    """A real 1-epoch GRACE cell on Cora through gcl.train.run.run, in a fresh process; CSGCL's
    transductive link prediction comes from the same (full-graph) training."""
    cells = expand_grid(['grace'], ['cora'], [0], tasks=['node', 'link-transductive'], epochs=1,
                        overrides={'eval.repeats': 1})
    results = tmp_path / 'r.jsonl'
    summary = run_cells(cells, results, out_dir=tmp_path / 'runs', root=data_root, isolate=True,
                        save_embeddings=False)
    assert (summary.ran, summary.failed) == (2, [])
    records = {r['task']: r for _, r in scan_results(results).records}
    record, trans = records['node'], records['link-transductive']
    assert record['cell_key'] == cells[0].key == record_key(record)
    assert trans['cell_key'] == cells[1].key == record_key(trans)
    assert trans['protocol'] == 'transductive (CSGCL): edges seen in training'
    assert 0.0 < trans['metrics']['auc'] <= 1.0 and 0.0 < trans['metrics']['ap'] <= 1.0
    assert record['peak_rss_scope'] == 'group process' and record['peak_rss_mb'] > 0
    for field in ('config', 'seed', 'protocol', 'versions', 'git_commit', 'data_sha256'):
        assert field in record
    assert 0.0 < record['metrics']['test_acc'] <= 1.0
    (run_dir,) = (tmp_path / 'runs').glob('grace-cora-seed0-*')
    seconds = json.loads((run_dir / 'metrics.json').read_text())['seconds']
    assert 'fit' in seconds and 'fit_link' not in seconds      # one training served both

    def must_not_run(*args, **kwargs):
        raise AssertionError('a finished cell was run again')

    assert run_cells(cells, results, run_fn=must_not_run).skipped == 2


@pytest.mark.slow  # a second spawned process (~10-20 s on two busy cores)
def test_isolated_failure_comes_back_as_an_error(tmp_path):
    cells = expand_grid(['grace'], ['cora'], [0], tasks=['node'], epochs=1,
                        overrides={'data.options.bogus': 1})
    summary = run_cells(cells, tmp_path / 'r.jsonl', root=tmp_path / 'nowhere', isolate=True,
                        out_dir=tmp_path)
    assert summary.ran == 0 and len(summary.failed) == 1
    assert not (tmp_path / 'r.jsonl').exists() or not (tmp_path / 'r.jsonl').read_text()


def test_groups_side_by_side_record_every_cell_once(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    fake = FakeRun(fail_on={('citeseer', 0)})
    events = []
    summary = run_cells(cells, results, run_fn=fake, out_dir=tmp_path, jobs=3,
                        on_event=events.append)
    assert summary.ran == 6 and len(summary.failed) == 1
    assert 'citeseer seed 0' in summary.failed[0][0]
    keys = [record_key(r) for _, r in scan_results(results).records]
    assert len(keys) == len(set(keys)) == 6
    assert sorted(e.kind for e in events) == sorted(['skipped'] + ['start'] * 4 + ['done'] * 3
                                                    + ['failed'])
    assert events[-1].groups_done == 4
    again = run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path, jobs=3)
    assert (again.skipped, again.ran) == (6, 2)                 # only the failed group reruns
    with pytest.raises(RuntimeError, match='boom'):
        run_cells(cells, tmp_path / 'other.jsonl', run_fn=FakeRun(fail_on={('cora', 0)}),
                  out_dir=tmp_path, jobs=2, stop_on_error=True)


def test_jobs_option_is_checked(cells, tmp_path):
    with pytest.raises(GCLConfigError, match='jobs must be >= 1'):
        run_cells(cells, tmp_path / 'r.jsonl', run_fn=FakeRun(), jobs=0)
    with pytest.raises(GCLConfigError, match='needs isolate'):
        run_cells(cells, tmp_path / 'r.jsonl', jobs=2)


def test_real_isolated_groups_side_by_side_share_the_threads(tmp_path, data_root):
    """Two real 1-epoch GRACE cells on Cora, each in its own process, at the same time."""
    import torch

    cells = expand_grid(['grace'], ['cora'], [0, 1], tasks=['node'], epochs=1,
                        overrides={'eval.repeats': 1})
    results = tmp_path / 'r.jsonl'
    summary = run_cells(cells, results, out_dir=tmp_path / 'runs', root=data_root, isolate=True,
                        save_embeddings=False, jobs=2)
    assert (summary.ran, summary.failed) == (2, [])
    records = [r for _, r in scan_results(results).records]
    assert sorted(r['seed'] for r in records) == [0, 1]
    assert {r['versions']['threads'] for r in records} == {max(1, torch.get_num_threads() // 2)}


def test_interrupting_side_by_side_groups_keeps_whole_lines(cells, tmp_path):
    results = tmp_path / 'r.jsonl'
    with pytest.raises(KeyboardInterrupt):
        run_cells(cells, results, run_fn=FakeRun(interrupt_after=1), out_dir=tmp_path, jobs=2)
    scan = scan_results(results) if results.exists() else None
    assert scan is None or (not scan.problems and not scan.torn_tail)
    summary = run_cells(cells, results, run_fn=FakeRun(), out_dir=tmp_path, jobs=2)
    assert summary.ran + summary.skipped == 8 and not summary.failed
