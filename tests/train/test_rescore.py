"""Re-evaluating a finished run directory (``gcl.train.rescore``, ``gcl evaluate RUN``): the
run's own settings by default, records that the leaderboard and ``gcl bench`` match to the run,
and clear errors."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from gcl.bench.grid import expand_grid
from gcl.bench.runner import record_key
from gcl.cli.main import app
from gcl.config import load_config
from gcl.errors import GCLConfigError, GCLDataError
from gcl.train.rescore import rescore_run
from gcl.train.run import run

OVERRIDES = {'optim.epochs': 2, 'eval.repeats': 1, 'encoder.hidden': 16,
             'encoder.proj_hidden': 16}


@pytest.fixture(scope='module')
def finished(tmp_path_factory, data_root):
    """A 2-epoch GRACE run on Cora, seed 3, node + cluster, as ``gcl train`` leaves it."""
    out = tmp_path_factory.mktemp('runs')
    config = load_config('grace', 'cora', overrides={**OVERRIDES, 'seed': 3})
    return run(config, root=data_root, out_dir=out, tasks=['node', 'cluster'])


def test_defaults_are_the_runs_own_settings(finished, data_root):
    metrics, records = rescore_run(finished['run_dir'], ['node', 'cluster'], root=data_root)
    assert records == []                                     # nothing written without a file
    assert metrics == finished['metrics']                    # same protocol, repeats, seed


def test_records_match_the_runs_cells(finished, data_root, tmp_path):
    results = tmp_path / 'r.jsonl'
    metrics, records = rescore_run(finished['run_dir'], ['link-transductive'], root=data_root,
                                   results_file=results)
    (record,) = [json.loads(line) for line in results.read_text().splitlines()]
    assert record == json.loads(json.dumps(records[0]))
    assert record['task'] == 'link-transductive' and record['seed'] == 3
    assert record['protocol'] == 'transductive (CSGCL): edges seen in training'
    assert record['metrics']['auc'] == metrics['link-transductive']['auc']
    assert record['rescored_from'] == str(finished['run_dir'])
    assert record['data_sha256'] == finished['records'][0]['data_sha256']
    assert record['wall_s'] >= record['eval_seconds'] > 0
    # the training's device and speed are the run's, not this process's guesses
    assert record['device'] == finished['records'][0]['device']
    assert record['seconds_per_epoch'] == finished['records'][0]['seconds_per_epoch'] > 0
    assert record['peak_rss_scope'] == 'rescoring process'
    # the cell gcl bench would run for this task has exactly this key, so it counts as done
    (cell,) = expand_grid(['grace'], ['cora'], [3], tasks=['link-transductive'],
                          overrides={k: v for k, v in OVERRIDES.items() if k != 'optim.epochs'},
                          epochs=2)
    assert record_key(record) == cell.key
    assert record_key(finished['records'][0]).split('|')[-1] == cell.config_hash


def test_another_protocol_is_its_own_cell(finished, data_root, tmp_path):
    metrics, records = rescore_run(finished['run_dir'], ['node'], protocol='public',
                                   root=data_root, results_file=tmp_path / 'r.jsonl')
    assert metrics['node']['protocol'] == 'public' and records[0]['protocol'] == 'public'
    assert records[0]['config']['eval']['node_protocol'] == 'public'


def test_errors(finished, data_root, tmp_path):
    with pytest.raises(GCLConfigError, match='held out'):
        rescore_run(finished['run_dir'], ['link'], root=data_root)
    with pytest.raises(GCLConfigError, match='unknown task'):
        rescore_run(finished['run_dir'], ['nodes'], root=data_root)
    with pytest.raises(GCLConfigError, match="run's seed 3"):
        rescore_run(finished['run_dir'], ['cluster'], seed=0, root=data_root,
                    results_file=tmp_path / 'r.jsonl')
    assert not (tmp_path / 'r.jsonl').exists()
    with pytest.raises(GCLDataError, match='not a run directory'):
        rescore_run(tmp_path, ['node'], root=data_root)
    (tmp_path / 'config.yaml').write_text('method: grace\n')
    with pytest.raises(GCLDataError, match='missing'):
        rescore_run(tmp_path, ['node'], root=data_root)
    unfinished = tmp_path / '.partial-grace-cora-seed3'     # config written, no embeddings yet
    unfinished.mkdir()
    shutil.copy(finished['run_dir'] / 'config.yaml', unfinished / 'config.yaml')
    with pytest.raises(GCLDataError, match='no embeddings.pt: the run did not finish'):
        rescore_run(unfinished, ['node'], root=data_root)


def test_cli_records_and_refuses_files(finished, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    runner = CliRunner()
    results = tmp_path / 'r.jsonl'
    out = runner.invoke(app, ['evaluate', str(finished['run_dir']), '--tasks',
                              'link-transductive', '--results', str(results), '--format', 'json'])
    assert out.exit_code == 0, out.output
    assert json.loads(results.read_text())['task'] == 'link-transductive'
    embeddings = finished['run_dir'] / 'embeddings.pt'
    refused = runner.invoke(app, ['evaluate', str(embeddings), '--dataset', 'cora',
                                  '--results', str(results)])
    assert refused.exit_code == 2 and 'needs a run directory' in refused.output
    wrong = runner.invoke(app, ['evaluate', str(finished['run_dir']), '--dataset', 'citeseer'])
    assert wrong.exit_code == 2 and 'trained on cora' in wrong.output


def test_runs_without_a_recorded_device_say_unknown(finished, data_root, tmp_path):
    """Run directories written before metrics.json carried ``device`` are not guessed at."""
    old = tmp_path / 'old-run'
    shutil.copytree(finished['run_dir'], old)
    summary = json.loads((old / 'metrics.json').read_text())
    del summary['device'], summary['seconds_per_epoch']
    (old / 'metrics.json').write_text(json.dumps(summary))
    _, (record,) = rescore_run(old, ['link-transductive'], root=data_root,
                               results_file=tmp_path / 'r.jsonl')
    assert record['device'] == 'unknown' and record['seconds_per_epoch'] is None


def test_flat_loss_episodes_travel_with_the_records(finished, data_root, tmp_path):
    """A run's records say over which epochs its loss was flat (none for this one); a re-scored
    record reads them from the run's history.jsonl, and leaves them out without one."""
    assert all(r['loss_flat'] == [] for r in finished['records'])
    flat = tmp_path / 'flat-run'
    shutil.copytree(finished['run_dir'], flat)
    losses = [9.0 - 0.1 * e for e in range(1, 31)] + [9.6355] * 40      # flat from epoch 31
    (flat / 'history.jsonl').write_text(''.join(
        json.dumps({'epoch': e, 'loss': v}) + '\n' for e, v in enumerate(losses, start=1)))
    _, (record,) = rescore_run(flat, ['cluster'], root=data_root,
                               results_file=tmp_path / 'r.jsonl')
    assert record['loss_flat'] == [[31, 70]]
    (flat / 'history.jsonl').unlink()
    _, (record,) = rescore_run(flat, ['cluster'], root=data_root,
                               results_file=tmp_path / 'r2.jsonl')
    assert 'loss_flat' not in record


def test_a_rescored_record_names_the_code_that_trained(finished, data_root, tmp_path):
    """metrics.json keeps each training's commits; a re-scored record carries the full-graph
    training's as ``git_commits`` (its own ``git_commit`` is the re-scoring process's), and
    leaves them out for runs made before metrics.json had them."""
    summary = json.loads((finished['run_dir'] / 'metrics.json').read_text())
    assert list(summary['git_commits']) == ['node'] and len(summary['git_commits']['node']) == 1
    assert all('git_commits' not in r for r in finished['records'])   # one commit: no list
    old = tmp_path / 'trained-elsewhere'
    shutil.copytree(finished['run_dir'], old)
    summary['git_commits'] = {'node': ['aaaa111', 'bbbb222']}
    (old / 'metrics.json').write_text(json.dumps(summary))
    _, (record,) = rescore_run(old, ['cluster'], root=data_root, results_file=tmp_path / 'r.jsonl')
    assert record['git_commits'] == ['aaaa111', 'bbbb222']
    del summary['git_commits']
    (old / 'metrics.json').write_text(json.dumps(summary))
    _, (record,) = rescore_run(old, ['cluster'], root=data_root, results_file=tmp_path / 'r2.jsonl')
    assert 'git_commits' not in record
