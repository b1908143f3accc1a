"""Interrupted trainings resume from their checkpoint and end exactly where uninterrupted ones do:
``Method.fit`` for each method, ``gcl.train.run.run`` with a checkpoint folder (node and link
trainings), and ``gcl bench`` (a killed cell started again, ``--dry-run`` showing its epoch);
and the progress lines a long background training logs."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from gcl.bench.grid import expand_grid
from gcl.bench.runner import checkpoint_folder, run_cells, scan_results
from gcl.cli.main import app
from gcl.methods import get_method
from gcl.methods.base import Method
from gcl.train.checkpoint import load_checkpoint
from gcl.train.run import run


class Interrupted(Exception):
    """Stands in for the process being killed."""


def stop_at(epoch: int):
    """A callback that 'kills' training during ``epoch`` (after its step, before its checkpoint),
    so the epoch is lost and the resumed fit must redo it."""
    def callback(current, method, model, data, loss):
        if current == epoch:
            raise Interrupted
    return callback


@pytest.fixture
def one_thread():
    """Bit-for-bit comparisons at one thread: with several, some CPU reductions (PamC's, seen
    here) sum in a varying order, so even two uninterrupted fits differ in the last bits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_interrupted_fit_resumes_to_the_same_model(small_method_name, small_method, sbm_graph,
                                                    tmp_path, one_thread):
    name = small_method_name
    epochs = 6
    full = small_method(name, epochs).fit(sbm_graph, device='cpu')
    path = tmp_path / 'c.pt'
    with pytest.raises(Interrupted):
        small_method(name, epochs).fit(sbm_graph, device='cpu', checkpoint_path=path,
                                            checkpoint_seconds=1e-9, callbacks=[stop_at(4)])
    saved = load_checkpoint(path, name)
    assert saved['epoch'] == 3
    assert [h['epoch'] for h in saved['extra']['history']] == [1, 2, 3]
    assert saved['extra']['fit_seconds'] > 0

    resumed = small_method(name, epochs).fit(sbm_graph, device='cpu', resume_from=path)
    assert [h['epoch'] for h in resumed.history_] == list(range(1, epochs + 1))
    assert [h['loss'] for h in resumed.history_] == [h['loss'] for h in full.history_]
    assert resumed.fit_seconds_ > saved['extra']['fit_seconds']
    assert torch.equal(resumed.embed(sbm_graph), full.embed(sbm_graph))


def test_epoch_interval_still_checkpoints_with_history(sbm_graph, tmp_path):
    path = tmp_path / 'c.pt'
    with pytest.raises(Interrupted):
        get_method('grace')(hidden=8, epochs=6, checkpoint_every=2, random_state=0).fit(
            sbm_graph, checkpoint_path=path, callbacks=[stop_at(5)])
    saved = load_checkpoint(path, 'grace')
    assert saved['epoch'] == 4 and len(saved['extra']['history']) == 4


def test_training_without_a_bar_logs_its_progress(sbm_graph, caplog):
    from gcl.train.loop import fit_loop

    method = get_method('grace')(hidden=8, epochs=3, random_state=0)
    method.prepare(sbm_graph)
    model = method.build(sbm_graph)
    optimizer = torch.optim.Adam(model.parameters())
    with caplog.at_level('INFO', logger='gcl'):
        fit_loop(method, model, sbm_graph, optimizer, epochs=3, log_seconds=1e-9)
    lines = [r.getMessage() for r in caplog.records if 'epoch' in r.getMessage()]
    assert len(lines) == 3 and lines[1].startswith('grace: epoch 2/3, loss ')
    assert 's/epoch, about 0m left' in lines[2]


def _config(seed: int = 0) -> dict:
    from gcl.config import load_config

    # Cora's GRACE config, run on the 60-node graph (``data=``): the node probe and the link
    # split work on any graph, and Cora itself would make these tests slow.
    return load_config('grace', 'cora', overrides={'optim.epochs': 6, 'eval.repeats': 1,
                                                   'encoder.hidden': 16, 'seed': seed})


class KillAfterStep:
    """Patches ``Method.after_step`` to 'kill' the n-th training (1-based) of this process at
    ``epoch``."""

    def __init__(self, monkeypatch, epoch: int, training: int = 1) -> None:
        self.epoch, self.training, self.seen = epoch, training, 0
        original = Method.after_step

        def after_step(method, model, data, epoch_now):
            original(method, model, data, epoch_now)
            if epoch_now == 1:
                self.seen += 1
            if self.seen == self.training and epoch_now == self.epoch:
                raise Interrupted
        monkeypatch.setattr(Method, 'after_step', after_step)


def _metrics(result: dict) -> dict:
    return {task: {k: v for k, v in values.items() if not k.endswith('seconds')}
            for task, values in result['metrics'].items()}


@pytest.mark.parametrize('killed', [1, 2], ids=['node-training', 'link-training'])
def test_run_with_checkpoint_folder_resumes_and_matches(killed, sbm_graph, tmp_path,
                                                         monkeypatch):
    tasks = ['node', 'link']
    reference = run(_config(), data=sbm_graph, out_dir=tmp_path / 'ref', tasks=tasks,
                    save_embeddings=False)
    folder = tmp_path / 'ckpt'
    with monkeypatch.context() as patch:
        KillAfterStep(patch, epoch=5, training=killed)
        with pytest.raises(Interrupted):
            run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=tasks,
                save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    left = sorted(p.name for p in folder.iterdir())
    assert left == (['node.pt'] if killed == 1 else ['link.pt', 'node.pt'])
    assert not list((tmp_path / 'runs').glob('.partial-*'))   # no half-written run directory

    result = run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=tasks,
                 save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    assert _metrics(result) == _metrics(reference)
    by_task = {r['task']: r for r in result['records']}
    if killed == 1:
        assert by_task['node']['resumed_from_epoch'] == 4
        assert 'resumed_from_epoch' not in by_task['link']
    else:
        assert by_task['node']['resumed_from_epoch'] == 6        # finished, nothing to redo
        assert by_task['link']['resumed_from_epoch'] == 4
    assert not folder.exists()                                  # removed once complete
    assert (result['run_dir'] / 'checkpoint.pt').exists()


def test_a_training_resumed_under_new_code_records_both_commits(sbm_graph, tmp_path,
                                                                monkeypatch):
    """A checkpoint remembers the commit its epochs ran under; the resumed training's records
    list every commit (``git_commits``) and ``git_commit`` is the finishing process's."""
    import gcl.methods.base as base
    import gcl.train.record as record

    tasks = ['node', 'link']
    folder = tmp_path / 'ckpt'
    with monkeypatch.context() as patch:
        patch.setattr(base, 'git_commit', lambda: 'aaaa111')
        KillAfterStep(patch, epoch=5, training=2)
        with pytest.raises(Interrupted):
            run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=tasks,
                save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    assert load_checkpoint(folder / 'link.pt', 'grace')['extra']['git_commits'] == ['aaaa111']
    monkeypatch.setattr(base, 'git_commit', lambda: 'bbbb222')
    monkeypatch.setattr(record, 'git_commit', lambda: 'bbbb222')
    result = run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=tasks,
                 save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    by_task = {r['task']: r for r in result['records']}
    assert by_task['link']['git_commits'] == ['aaaa111', 'bbbb222']
    # the node training had finished under aaaa111: its saved checkpoint says so, nothing reran
    assert by_task['node']['git_commits'] == ['aaaa111', 'bbbb222']
    assert all(r['git_commit'] == 'bbbb222' for r in result['records'])
    saved = load_checkpoint(result['run_dir'] / 'checkpoint.pt', 'grace')
    assert saved['extra']['git_commits'] == ['aaaa111', 'bbbb222']


def test_one_commit_is_not_repeated_and_old_checkpoints_say_unknown():
    from gcl.methods.base import _commits_after

    assert _commits_after(['aaaa111'], 'aaaa111') == ['aaaa111']
    assert _commits_after(['aaaa111'], 'bbbb222') == ['aaaa111', 'bbbb222']
    assert _commits_after(None, 'bbbb222') == ['unknown', 'bbbb222']


def test_git_commit_is_read_once_per_process(monkeypatch):
    import subprocess

    from gcl.train.record import git_commit

    git_commit.cache_clear()
    calls = []
    real = subprocess.run

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)
    monkeypatch.setattr(subprocess, 'run', counting)
    first = git_commit()
    n = len(calls)
    assert n >= 1 and git_commit() == first and len(calls) == n
    git_commit.cache_clear()


def test_a_checkpoint_of_another_config_is_not_resumed(sbm_graph, tmp_path, caplog):
    folder = tmp_path / 'ckpt'
    folder.mkdir()
    other = get_method('grace')(_config(seed=1)).fit(sbm_graph)
    other.save(folder / 'node.pt')
    result = run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=['node'],
                 save_embeddings=False, checkpoint_dir=folder)
    assert 'written by another config' in caplog.text
    assert 'resumed_from_epoch' not in result['records'][0]


def test_a_checkpoint_from_before_a_new_option_still_resumes(sbm_graph, tmp_path, monkeypatch):
    """An option gcl added later (at its default) is not "another config": a checkpoint written
    without it resumes (here: without train.loss_precision, as before that option existed)."""
    folder = tmp_path / 'ckpt'
    with monkeypatch.context() as patch:
        KillAfterStep(patch, epoch=5)
        with pytest.raises(Interrupted):
            run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=['node'],
                save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    saved = load_checkpoint(folder / 'node.pt', 'grace')
    del saved['config']['train']['loss_precision']
    torch.save(saved, folder / 'node.pt')
    assert get_method('grace')(_config()).resolve_saved_config(saved['config']) == \
        get_method('grace')(_config()).config
    result = run(_config(), data=sbm_graph, out_dir=tmp_path / 'runs', tasks=['node'],
                 save_embeddings=False, checkpoint_dir=folder, checkpoint_seconds=1e-9)
    assert result['records'][0]['resumed_from_epoch'] == 4


def test_rankme_selection_is_not_resumable(sbm_graph, tmp_path):
    config = _config()
    config['train']['select'] = 'rankme'
    folder = tmp_path / 'ckpt'
    run(config, data=sbm_graph, out_dir=tmp_path / 'runs', tasks=['node'], save_embeddings=False,
        checkpoint_dir=folder, checkpoint_seconds=1e-9)
    assert not folder.exists()


def test_bench_resumes_a_killed_cell_and_dry_run_shows_its_epoch(data_root, tmp_path,
                                                                   monkeypatch):
    cells = expand_grid(['grace'], ['cora'], [0], tasks=['node'], epochs=6,
                        overrides={'eval.repeats': 1, 'encoder.hidden': 16})
    results, out = tmp_path / 'r.jsonl', tmp_path / 'runs'
    with monkeypatch.context() as patch:
        KillAfterStep(patch, epoch=5)
        with pytest.raises(Interrupted):
            run_cells(cells, results, out_dir=out, root=data_root, stop_on_error=True,
                      save_embeddings=False, checkpoint_seconds=1e-9)
    folder = checkpoint_folder(out, 'grace', 'cora', 0, cells[0].config_hash)
    assert load_checkpoint(folder / 'node.pt')['epoch'] == 4

    listed = CliRunner().invoke(app, [
        'bench', '-m', 'grace', '-d', 'cora', '-s', '0', '--tasks', 'node', '--epochs', '6',
        '--set', 'eval.repeats=1', '--set', 'encoder.hidden=16', '--results', str(results),
        '--out', str(out), '--root', str(data_root), '--dry-run', '--format', 'json'])
    assert listed.exit_code == 0, listed.output
    (item,) = json.loads(listed.stdout)
    assert item['checkpoint'] == 'epoch 4/6' and not item['done']

    summary = run_cells(cells, results, out_dir=out, root=data_root, save_embeddings=False,
                        checkpoint_seconds=1e-9)
    assert (summary.ran, summary.failed) == (1, [])
    (record,) = [r for _, r in scan_results(results).records]
    assert record['resumed_from_epoch'] == 4
    assert not folder.exists()


def _checkpoint_at(tmp_path, sbm_graph, epochs: int = 3, **options):
    """A GRACE checkpoint (hidden 8) after ``epochs`` epochs; ``options`` go to its config."""
    from gcl.methods.grace import GRACE

    path = tmp_path / 'c.pt'
    GRACE(hidden=8, epochs=epochs, random_state=0, **options).fit(sbm_graph, checkpoint_path=path)
    return path


@pytest.mark.parametrize('change, named', [
    ({'random_state': 3}, "seed 0 (here 3)"),
    ({'tau': 0.9}, 'loss.tau 0.5 (here 0.9)'),
    ({'lr': 0.01}, 'optim.lr'),
], ids=['seed', 'loss', 'optimiser'])
def test_resume_refuses_a_checkpoint_trained_with_other_settings(change, named, sbm_graph,
                                                                tmp_path):
    """Epochs 1-3 ran under the checkpoint's config: continuing them under another seed, loss or
    optimiser would give a model that the new config (which its records carry) does not
    describe. The error names the setting and both values."""
    from gcl.errors import GCLConfigError
    from gcl.methods.grace import GRACE

    path = _checkpoint_at(tmp_path, sbm_graph, tau=0.5)
    options = {'hidden': 8, 'epochs': 6, 'random_state': 0, 'tau': 0.5, **change}
    with pytest.raises(GCLConfigError, match='trained with other settings') as error:
        GRACE(**options).fit(sbm_graph, resume_from=path)
    assert named in str(error.value)
    assert "load_checkpoint(path)['config']" in str(error.value)  # how to resume it properly


def test_resume_allows_other_evaluation_settings_and_refuses_fewer_epochs(sbm_graph, tmp_path):
    from gcl.errors import GCLConfigError
    from gcl.methods.grace import GRACE

    path = _checkpoint_at(tmp_path, sbm_graph)
    reference = GRACE(hidden=8, epochs=5, random_state=0).fit(sbm_graph)
    other_eval = GRACE(hidden=8, epochs=5, random_state=0)
    other_eval.config['eval']['repeats'] = 2             # how it is scored, not what is trained
    other_eval.config['train']['checkpoint_every'] = 1
    other_eval.config['augment']['p_edge'] = tuple(other_eval.config['augment']['p_edge'])
    other_eval.fit(sbm_graph, resume_from=path)
    assert other_eval.resumed_from_epoch_ == 3
    torch.testing.assert_close(other_eval.embed(sbm_graph), reference.embed(sbm_graph))
    with pytest.raises(GCLConfigError, match='at epoch 3, past the 2 epochs'):
        GRACE(hidden=8, epochs=2, random_state=0).fit(sbm_graph, resume_from=path)


def test_run_records_an_explicit_resume(sbm_graph, tmp_path):
    """``gcl train --resume`` (``run(resume=...)``) says ``resumed_from_epoch`` in its records,
    as a resumed ``gcl bench`` cell does, and refuses another seed, naming the command that
    resumes the run with its own config."""
    from gcl.errors import GCLConfigError

    first = run(_config(), data=sbm_graph, out_dir=tmp_path / 'a', tasks=['node'],
                save_embeddings=False)
    config = dict(_config(), optim={**_config()['optim'], 'epochs': 8})
    result = run(config, data=sbm_graph, out_dir=tmp_path / 'b', tasks=['node'],
                 save_embeddings=False, resume=first['run_dir'] / 'checkpoint.pt')
    (record,) = result['records']
    assert record['resumed_from_epoch'] == 6 and record['epochs'] == 8
    with pytest.raises(GCLConfigError, match='seed 0 .here 1.') as error:
        run(_config(seed=1), data=sbm_graph, out_dir=tmp_path / 'c', tasks=['node'],
            save_embeddings=False, resume=first['run_dir'] / 'checkpoint.pt')
    assert f"gcl train -m grace -d cora --config {first['run_dir'] / 'config.yaml'}" \
        in str(error.value)
    assert not list((tmp_path / 'c').glob('.partial-*'))      # nothing half-written left
