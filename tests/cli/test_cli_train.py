"""The CLI end to end on shipped Cora with few epochs (Typer's test runner)."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from gcl.cli.main import app

runner = CliRunner()


def test_help_for_every_command():
    for args in ([], ['train'], ['evaluate'], ['embed'], ['datasets'], ['datasets', 'list'],
                 ['datasets', 'info'], ['methods'], ['methods', 'list'], ['methods', 'show']):
        result = runner.invoke(app, [*args, '--help'])
        assert result.exit_code == 0, (args, result.output)
        assert 'Usage' in result.output


def test_help_paragraphs_reflow_to_the_terminal():
    """No command's help keeps a docstring's hard line breaks inside a paragraph.

    Typer's rich mode keeps them and wraps again at the terminal's width, which left a short ragged
    line ("prediction (edges") in `gcl train --help` on an 80-column terminal.
    """
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, 'commands', {}).items():
            yield from walk(sub, [*path, name])

    commands = list(walk(typer.main.get_command(app), []))
    assert len(commands) > 10
    for path, command in commands:
        for paragraph in (command.help or '').split('\n\n'):
            assert '\n' not in paragraph.strip(), (path, paragraph)
    for path, _ in commands:   # at 80 columns no help text is cut off with an ellipsis
        shown = CliRunner(env={'COLUMNS': '80'}).invoke(app, [*path, '--help'])
        assert shown.exit_code == 0 and '…' not in shown.output, (path, shown.output)
    narrow = CliRunner(env={'COLUMNS': '80'}).invoke(app, ['train', '--help'])
    assert narrow.exit_code == 0
    assert 'link prediction (edges held out' in ' '.join(narrow.output.split())
    assert all(len(line.rstrip()) > 40 for line in narrow.output.splitlines()
               if 'prediction (edges' in line)


def test_train_cora_all_three_tasks_json(env):
    result = runner.invoke(app, ['train', '--method', 'grace', '--dataset', 'cora', '--epochs', '3',
                                 '--set', 'eval.repeats=1', '--quiet', '--format', 'json',
                                 '--out', str(env / 'runs')])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    metrics = payload[0]['metrics']
    assert set(metrics) == {'node', 'cluster', 'link'}
    assert 0.0 <= metrics['node']['test_acc'] <= 1.0 and 'protocol' in metrics['link']
    run_dir = env / 'runs' / payload[0]['run_dir'].split('/')[-1]
    for name in ('config.yaml', 'metrics.json', 'embeddings.pt', 'checkpoint.pt', 'history.jsonl',
                 'log.txt'):
        assert (run_dir / name).is_file(), name
    lines = (env / 'runs' / 'results.jsonl').read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert {r['task'] for r in records} == {'node', 'cluster', 'link'}
    for record in records:
        assert record['method'] == 'grace' and record['seed'] == 0 and record['protocol']
        assert record['versions']['torch'] and 'peak_rss_mb' in record
    assert not list((env / 'runs').glob('.partial-*'))

    evaluated = runner.invoke(app, ['evaluate', str(run_dir), '--tasks', 'cluster',
                                    '--repeats', '1', '--format', 'json'])
    assert evaluated.exit_code == 0, evaluated.output
    assert 'nmi' in json.loads(evaluated.stdout)['cluster']
    evaluated = runner.invoke(app, ['evaluate', str(run_dir), '--tasks', 'link-transductive',
                                    '--format', 'json'])
    assert evaluated.exit_code == 0, evaluated.output
    trans = json.loads(evaluated.stdout)['link-transductive']
    assert trans['protocol'].startswith('transductive (CSGCL)') and 0.0 <= trans['auc'] <= 1.0
    refused = runner.invoke(app, ['evaluate', str(run_dir), '--tasks', 'link'])
    assert refused.exit_code == 2 and 'held out' in refused.output


def test_embed_custom_graph(env):
    (env / 'edges.csv').write_text('0,1\n1,2\n2,3\n3,0\n4,5\n5,6\n6,4\n')
    result = runner.invoke(app, ['embed', '--edges', 'edges.csv', '--out', 'z.npy', '--epochs',
                                 '2', '--set', 'hidden=4', '--quiet'])
    assert result.exit_code == 0, result.output
    import numpy as np

    assert np.load(env / 'z.npy').shape == (7, 4)


def test_datasets_and_methods_listing(env):
    result = runner.invoke(app, ['datasets', 'list', '--format', 'json'])
    assert result.exit_code == 0
    rows = {row['name']: row for row in json.loads(result.stdout)}
    assert rows['cora']['status'] in ('shipped', 'cached') and rows['cora']['nodes'] == 2708
    table = runner.invoke(app, ['datasets', 'list'])   # 80 columns: every number whole
    assert table.exit_code == 0 and '123,718,280' in table.stdout, table.stdout
    assert '…' not in table.stdout, table.stdout         # it showed '491,7…' and 'featu…'
    info = runner.invoke(app, ['datasets', 'info', 'cora', '--format', 'json'])
    assert json.loads(info.stdout)['split'] == 'public'
    methods = runner.invoke(app, ['methods', 'list', '--format', 'json'])
    assert 'grace' in {m['name'] for m in json.loads(methods.stdout)}
    show = runner.invoke(app, ['methods', 'show', 'grace', '--dataset', 'citeseer'])
    assert 'tau: 0.9' in show.stdout


@pytest.mark.parametrize('args,match', [
    (['train', '--method', 'nope'], 'unknown method'),
    (['train', '--method', 'grace', '--dataset', 'nope'], 'unknown dataset'),
    (['train', '--method', 'grace', '--set', 'hiden=3'], 'unknown option'),
    (['train', '--method', 'grace', '--device', 'cuda:7'], 'cuda'),
    (['train', '--method', 'grace', '--resume', 'missing.pt', '--epochs', '1'], 'does not exist'),
    # it resumed the one checkpoint for every seed: seeds 1-4 would continue seed 0's training
    (['train', '--method', 'grace', '--resume', 'c.pt', '--seed', '0-4'], 'give one --seed'),
    (['evaluate', 'missing.pt', '--dataset', 'cora'], 'does not exist'),
    (['evaluate', 'runs/misspelt-run'], 'does not exist'),    # it asked for --dataset instead
    (['embed', '--out', 'z.pt', '--dataset', 'cora', '--edges', 'g.csv'], 'not both'),
    # refused before training: it used to train, then write a torch zip archive named z.txt
    (['embed', '--out', 'z.txt', '--dataset', 'cora'], "unknown embeddings format '.txt'"),
    (['evaluate', __file__, '--dataset', 'cora'], "unknown embeddings format '.py'"),
    # refused when the config is read: it used to die inside torch.optim with a traceback
    (['train', '--method', 'grace', '--set', 'lr=abc'], "option 'lr' takes a number"),
    # refused before training: these used to reach torch.optim (a traceback), or ran seed 0 only /
    # trained nothing and evaluated the initial encoder without a word
    (['train', '--method', 'grace', '--set', 'optim.lr=-1'], 'optim.lr must be a positive'),
    (['train', '--method', 'grace', '--set', 'weight_decay=-0.1'], 'optim.weight_decay must'),
    (['train', '--method', 'grace', '--epochs', '-3'], 'optim.epochs must be a whole number'),
    (['train', '--method', 'grace', '--seed', '4-2'], "ranges like 0-4, got '4-2'"),
    (['train', '--method', 'grace', '--set', 'encoder.hidden=0'], 'encoder.hidden must be a width'),
    (['train', '--method', 'pamc', '--set', 'encoder.hidden=[500,0]'], 'encoder.hidden must be'),
    # output paths that cannot be written: refused before training (a results file that is a
    # folder, or in a place without a folder to write, died with a traceback -- for gcl bench
    # at the very end, after the training, when the records were appended)
    (['train', '--method', 'grace', '--results', '.'], '--results . is a folder'),
    (['bench', '-m', 'grace', '-d', 'cora', '-s', '0', '--results', f'{__file__}/r.jsonl'],
     'is a file, not a folder'),
    (['train', '--method', 'grace', '--out', __file__], 'is a file; give a folder'),
    (['communities', '--out', f'{__file__}/c.csv'], 'is a file, not a folder'),
    (['leaderboard', '--out', f'{__file__}/lb.md'], 'is a file, not a folder'),
    # it printed a config for 'nope' as if it were a custom graph
    (['methods', 'show', 'grace', '--dataset', 'nope'], "unknown dataset 'nope'"),
])
def test_errors_are_one_line_exit_2(env, args, match):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert match in result.output
    assert 'Traceback' not in result.output
    assert not list((env / 'runs').glob('.partial-*')) if (env / 'runs').exists() else True


def test_nan_training_leaves_no_run_directory(env):
    result = runner.invoke(app, ['train', '--method', 'grace', '--dataset', 'cora', '--epochs', '3',
                                 '--set', 'lr=1e30', '--tasks', 'node', '--quiet',
                                 '--out', str(env / 'runs')])
    assert result.exit_code == 2 and 'loss became' in result.output
    assert not [p for p in (env / 'runs').iterdir() if p.name != 'results.jsonl'] \
        if (env / 'runs').exists() else True


def _write_planted_graph(folder, blocks: int = 3, size: int = 30):
    """Edges, features and labels of a planted-partition graph, in gcl embed's file formats."""
    import torch

    gen = torch.Generator().manual_seed(0)
    src = torch.randint(0, size, (blocks, 4 * size), generator=gen)
    dst = torch.randint(0, size, (blocks, 4 * size), generator=gen)
    offset = (torch.arange(blocks) * size)[:, None]
    pairs = zip((src + offset).reshape(-1).tolist(), (dst + offset).reshape(-1).tolist())
    (folder / 'my graph.csv').write_text('src,dst\n' + ''.join(f'{a},{b}\n' for a, b in pairs))
    y = torch.arange(blocks).repeat_interleave(size)
    x = torch.nn.functional.one_hot(y, blocks).float() + 0.5 * torch.randn(blocks * size, blocks,
                                                                            generator=gen)
    (folder / 'x.csv').write_text(''.join(','.join(f'{v:.4f}' for v in row) + '\n'
                                          for row in x.tolist()))
    (folder / 'y.csv').write_text(''.join(f'{c}\n' for c in y.tolist()))


def test_train_and_evaluate_your_own_graph(env):
    """``gcl train --edges/--features/--labels``: the three evaluations on a user's files; the run
    keeps their absolute paths, so ``gcl evaluate RUN`` re-reads them and scores the same."""
    _write_planted_graph(env)
    args = ['train', '-m', 'grace', '--edges', 'my graph.csv', '--features', 'x.csv', '--labels',
            'y.csv', '--epochs', '3', '--set', 'hidden=8', '--set', 'eval.repeats=1', '-q',
            '--format', 'json', '--out', str(env / 'runs')]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)[0]
    assert set(payload['metrics']) == {'node', 'cluster', 'link'}
    run_dir = env / 'runs' / payload['run_dir'].split('/')[-1]
    assert run_dir.name.startswith('grace-my-graph-seed0-')
    records = [json.loads(line) for line in (env / 'runs' / 'results.jsonl').read_text()
               .splitlines()]
    assert {r['dataset'] for r in records} == {'my-graph'}
    files = records[0]['config']['data']['files']
    assert files == {'edges': str(env / 'my graph.csv'), 'features': str(env / 'x.csv'),
                     'labels': str(env / 'y.csv')}
    again = runner.invoke(app, ['evaluate', str(run_dir), '--tasks', 'node', '-q', '--format',
                                'json'])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)['node']['test_acc'] == payload['metrics']['node']['test_acc']
    # gcl embed builds the same graph (normalised features included) from the same options
    embedded = runner.invoke(app, ['embed', '-m', 'grace', '--edges', 'my graph.csv',
                                   '--features', 'x.csv', '--checkpoint',
                                   str(run_dir / 'checkpoint.pt'), '--out', 'z.pt', '-q'])
    assert embedded.exit_code == 0, embedded.output
    import torch

    from gcl.utils.embeddings import load_embeddings
    torch.testing.assert_close(load_embeddings(env / 'z.pt'),
                               load_embeddings(run_dir / 'embeddings.pt'))


def test_train_your_own_graph_without_labels_and_bad_combinations(env):
    _write_planted_graph(env)
    result = runner.invoke(app, ['train', '-m', 'grace', '--edges', 'my graph.csv', '--epochs',
                                 '2', '--set', 'hidden=8', '-q', '--format', 'json'])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)[0]['metrics']) == {'link'}   # no labels: link only
    for args, message in (
            (['--edges', 'my graph.csv', '-d', 'cora'], 'not both'),
            (['-d', 'cora', '--labels', 'y.csv'], '--labels goes with --edges'),
            (['-d', 'cora', '--features', 'x.csv', '--labels', 'y.csv'],
             '--features and --labels go with --edges'),
            (['--edges', 'missing.csv'], 'missing.csv: no such file'),
            (['--edges', 'my graph.csv', '--labels', 'missing.csv'], 'missing.csv: no such file'),
            (['--edges', 'my graph.csv', '--tasks', 'node'], 'needs labels')):
        bad = runner.invoke(app, ['train', '-m', 'grace', '--epochs', '1', *args])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)


def test_a_graph_file_is_never_filed_as_a_catalogued_dataset(env):
    """``cora.csv`` trains as ``file-cora`` (not Cora's paper config, not Cora's records), and
    ``--set edges=...`` on a catalogued dataset is refused instead of mislabelling the run."""
    _write_planted_graph(env)
    (env / 'cora.csv').write_text((env / 'my graph.csv').read_text())
    result = runner.invoke(app, ['train', '-m', 'grace', '--edges', 'cora.csv', '--features',
                                 'x.csv', '--labels', 'y.csv', '--epochs', '2', '--set',
                                 'hidden=8', '--set', 'eval.repeats=1', '--tasks', 'node', '-q',
                                 '--format', 'json', '--out', str(env / 'runs')])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)[0]
    run_dir = env / 'runs' / payload['run_dir'].split('/')[-1]
    assert run_dir.name.startswith('grace-file-cora-seed0-')
    record = json.loads((env / 'runs' / 'results.jsonl').read_text().splitlines()[0])
    assert record['dataset'] == 'file-cora'
    assert 'no paper config' in record['config']['provenance']
    # gcl plot colours the map with the file's labels, not Cora's
    plotted = runner.invoke(app, ['plot', str(run_dir)])
    assert plotted.exit_code == 0, plotted.output
    for args in (['-d', 'cora', '--set', 'edges=cora.csv'],
                 ['-d', 'cora', '--set', 'data.files.edges=cora.csv']):
        bad = runner.invoke(app, ['train', '-m', 'grace', '--epochs', '1', *args])
        assert bad.exit_code == 2 and 'is a catalogued one' in bad.output, (args, bad.output)


def test_an_os_error_is_one_line_exit_2(capsys):
    """A disk error met later (no space, no rights) is one line naming the file, not a
    traceback, like gcl's own errors."""
    import typer

    from gcl.cli import common

    @common.handle_errors
    def write() -> None:
        raise PermissionError(13, 'Permission denied', 'runs/results.jsonl')

    with pytest.raises(typer.Exit) as stopped:
        write()
    assert stopped.value.exit_code == 2
    assert 'Permission denied: runs/results.jsonl' in capsys.readouterr().err

