"""``gcl communities`` through Typer's CliRunner on the shipped Cora."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from gcl.cli.main import app

runner = CliRunner()


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv('GCL_DATA_ROOT', str(tmp_path / 'data'))
    return tmp_path


def test_louvain_table_and_pt_output(data_root):
    out = data_root / 'cora-louvain.pt'
    result = runner.invoke(app, ['communities', '--dataset', 'cora', '--algorithm', 'louvain',
                                 '--seed', '0', '--out', str(out), '-q'])
    assert result.exit_code == 0, result.output
    for text in ('communities', 'modularity', 'NMI with labels', 'ARI with labels', 'time (s)'):
        assert text in result.output
    state = torch.load(out, weights_only=True)
    assert state['labels'].shape == (2708,) and state['algorithm'] == 'louvain'
    assert state['num_communities'] == int(state['labels'].max()) + 1


@pytest.mark.parametrize('algorithm', ['leiden', 'label-propagation'])
def test_json_and_csv(data_root, algorithm):
    out = data_root / 'labels.csv'
    result = runner.invoke(app, ['communities', '-d', 'cora', '-a', algorithm, '--format',
                                 'json', '--out', str(out), '-q'])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report['algorithm'] == algorithm and report['num_nodes'] == 2708
    assert 0.5 < report['modularity'] < 1 and 0 < report['nmi'] < 1
    lines = out.read_text().splitlines()
    assert lines[0] == 'node,community' and len(lines) == 2709


def test_resolution_and_errors(data_root):
    fine = runner.invoke(app, ['communities', '-d', 'cora', '--resolution', '3', '--format',
                               'json', '-q'])
    base = runner.invoke(app, ['communities', '-d', 'cora', '--format', 'json', '-q'])
    assert json.loads(fine.stdout)['num_communities'] > json.loads(base.stdout)['num_communities']
    bad = runner.invoke(app, ['communities', '-d', 'cora', '-a', 'girvan-newman'])
    assert bad.exit_code == 2 and 'louvain, leiden, label-propagation' in bad.output
    no_res = runner.invoke(app, ['communities', '-d', 'cora', '-a', 'label-propagation',
                                 '--resolution', '2'])
    assert no_res.exit_code == 2 and 'no parameter' in no_res.output


def test_communities_of_your_own_edge_list(tmp_path):
    """``--edges`` (and ``--labels``) detect communities in a user's graph; no features needed,
    so a graph past the identity-feature limit (20,000 nodes) works too."""
    n, blocks = 24_000, 4
    size = n // blocks
    gen = torch.Generator().manual_seed(0)
    src = torch.randint(0, size, (8 * n,), generator=gen)
    dst = torch.randint(0, size, (8 * n,), generator=gen)
    offset = (torch.arange(8 * n) % blocks) * size   # edges only inside the four planted blocks
    lines = ''.join(f'{a},{b}\n' for a, b in zip((src + offset).tolist(), (dst + offset).tolist()))
    (tmp_path / 'g.csv').write_text('src,dst\n' + lines)
    (tmp_path / 'y.csv').write_text(''.join(f'{i // size}\n' for i in range(n)))
    result = runner.invoke(app, ['communities', '--edges', str(tmp_path / 'g.csv'), '--labels',
                                 str(tmp_path / 'y.csv'), '-a', 'label-propagation',
                                 '--format', 'json', '-q'])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report['dataset'] == 'g' and report['num_nodes'] == n     # named as gcl train names it
    assert report['num_communities'] == blocks and report['nmi'] == pytest.approx(1.0)
    both = runner.invoke(app, ['communities', '--edges', str(tmp_path / 'g.csv'), '-d', 'cora'])
    assert both.exit_code == 2 and 'not both' in both.output
    stray = runner.invoke(app, ['communities', '-d', 'cora', '--labels', str(tmp_path / 'y.csv')])
    assert stray.exit_code == 2 and '--labels goes with --edges' in stray.output
