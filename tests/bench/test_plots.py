"""Figures are written as PNG + SVG (Agg / SVG canvases, no display), from plain data."""

from __future__ import annotations

import json

import matplotlib
import pytest
import torch
import yaml

from gcl.bench.plots import (
    embedding_map_2d,
    load_kernel_points,
    plot_accuracy_vs_papers,
    plot_embedding_map,
    plot_kernel_scaling,
    plot_run,
    plot_training_curves,
)
from gcl.errors import GCLDataError

matplotlib.use('Agg')

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _check(paths, stem):
    assert [p.name for p in paths] == [f'{stem.name}.png', f'{stem.name}.svg']
    png, svg = paths
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 2000
    assert '<svg' in svg.read_text()


def test_accuracy_vs_papers(tmp_path):
    points = [
        {'method': 'grace', 'dataset': 'cora', 'ours': 81.0, 'ours_std': 1.0, 'paper': 83.3,
         'paper_std': 0.4, 'same_protocol': False},
        {'method': 'gca', 'dataset': 'cora', 'ours': 82.0, 'ours_std': 0.5, 'paper': None},
        {'method': 'grace', 'dataset': 'amazon-photo', 'ours': 91.0, 'ours_std': 0.3,
         'paper': 92.15, 'paper_std': 0.24, 'epochs': 50},
        {'method': 'grace', 'dataset': 'amazon-photo', 'ours': 92.0, 'ours_std': 0.2,
         'paper': 92.15, 'paper_std': 0.24, 'epochs': 2000},
    ]
    stem = tmp_path / 'figs' / 'acc'
    paths = plot_accuracy_vs_papers(points, stem)
    _check(paths, stem)
    assert '†' in paths[1].read_text()  # matplotlib keeps each text as an SVG comment
    again = plot_accuracy_vs_papers(points, tmp_path / 'again')
    assert again[1].read_bytes() == paths[1].read_bytes()  # same figure, same SVG bytes
    with pytest.raises(GCLDataError, match='no points'):
        plot_accuracy_vs_papers([], stem)


def test_kernel_scaling_from_a_wide_csv(tmp_path):
    data = tmp_path / 'kernels.csv'
    data.write_text('kernel,N,dense_s,blockwise_s,dense_mb,blockwise_mb\n'
                    'info_nce,1000,0.10,0.08,50,10\ninfo_nce,8000,6.0,3.1,3000,120\n'
                    'info_nce,64000,,40.0,,900\n')
    points = load_kernel_points(data)
    assert {p['series'] for p in points} == {'info_nce dense', 'info_nce blockwise'}
    assert [p['seconds'] for p in points if p['series'] == 'info_nce blockwise'] == \
        [0.08, 3.1, 40.0]
    stem = tmp_path / 'kern'
    _check(plot_kernel_scaling(points, stem), stem)


def test_kernel_points_from_long_json(tmp_path):
    data = tmp_path / 'k.json'
    data.write_text(json.dumps({'rows': [
        {'series': 'gcl', 'num_nodes': 100, 'seconds': 0.1, 'memory_mb': 5},
        {'series': 'gcl', 'num_nodes': 1000, 'seconds': 1.0, 'memory_mb': 20}]}))
    assert load_kernel_points(data)[1] == {'series': 'gcl', 'num_nodes': 1000.0,
                                           'seconds': 1.0, 'memory_mb': 20.0}


def test_kernel_points_from_bench_kernels_json(tmp_path):
    data = tmp_path / 'kernels.json'
    data.write_text(json.dumps([
        {'variant': 'dense', 'n': 2708, 'seconds': 0.2, 'peak_rss_gb': 0.5, 'gflops': 9.0},
        {'variant': 'blockwise', 'n': 2708, 'seconds': 0.1, 'peak_rss_gb': 0.25},
        {'variant': 'dense', 'n': 50000, 'error': 'does not fit'},
        {'variant': 'grace', 'n': 1000000, 'mode': 'sampled', 'seconds': 31.0,
         'rss_data_gb': 1.5, 'peak_rss_gb': 5.0},
        {'variant': 'meta', 'n': 0, 'command': 'python benchmarks/bench_kernels.py'}]))
    assert load_kernel_points(data) == [
        {'series': 'dense', 'num_nodes': 2708.0, 'seconds': 0.2, 'memory_mb': 500.0},
        {'series': 'blockwise', 'num_nodes': 2708.0, 'seconds': 0.1, 'memory_mb': 250.0},
        # the whole-epoch rows: one series per mode, and the peak (not the data's) memory
        {'series': 'grace sampled', 'num_nodes': 1e6, 'seconds': 31.0, 'memory_mb': 5000.0}]


def test_training_curves(tmp_path):
    history = [{'epoch': e, 'loss': 9 - e / 10, 'seconds': 0.1} for e in range(1, 31)]
    for h in history[9::10]:
        h.update(rankme=50.0 - h['epoch'], probe_acc=0.7 + h['epoch'] / 1000,
                 probe_val_acc=0.69)
    stem = tmp_path / 'curves'
    _check(plot_training_curves(history, stem, selected_epoch=10), stem)
    with pytest.raises(GCLDataError, match='no loss'):
        plot_training_curves([{'epoch': 1}], stem)


def test_embedding_map_and_tsne(tmp_path):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(4).repeat_interleave(60)
    z = torch.randn(240, 16, generator=g) + 4 * torch.nn.functional.one_hot(y, 16).float()
    xy, name = embedding_map_2d(z, method='tsne')
    assert xy.shape == (240, 2) and name == 't-SNE'
    stem = tmp_path / 'map'
    _check(plot_embedding_map(z, y, stem, method='tsne', max_points=100), stem)
    _check(plot_embedding_map(z, None, stem, method='tsne', max_points=100), stem)
    with pytest.raises(GCLDataError, match='labels have'):
        plot_embedding_map(z, y[:10], stem)


def test_plot_run_directory(tmp_path, data_root, monkeypatch):
    monkeypatch.setenv('GCL_DATA_ROOT', str(data_root))
    run_dir = tmp_path / 'grace-cora-seed0'
    run_dir.mkdir()
    (run_dir / 'config.yaml').write_text(yaml.safe_dump(
        {'method': 'grace', 'dataset': 'cora', 'seed': 0, 'data': {'normalize_features': True},
         'train': {'select': 'rankme'}, 'eval': {}, 'optim': {}}))
    history = [{'epoch': e, 'loss': 8.0 - e / 10, 'rankme': 30.0 + (e == 3)} for e in (1, 2, 3, 4)]
    (run_dir / 'history.jsonl').write_text(''.join(json.dumps(h) + '\n' for h in history))
    torch.save({'embeddings': torch.randn(2708, 8)}, run_dir / 'embeddings.pt')
    drawn = plot_run(run_dir, root=data_root, map_method='tsne', max_points=150)
    _check(drawn['curves'], run_dir / 'figures' / 'curves')
    _check(drawn['map'], run_dir / 'figures' / 'embedding_map')
    with pytest.raises(GCLDataError, match='not a run directory'):
        plot_run(tmp_path)
    (tmp_path / 'config.yaml').write_text('garbage: [\n')   # it was a yaml traceback
    with pytest.raises(GCLDataError, match=r'not valid YAML \(line 2, column 1: expected'):
        plot_run(tmp_path)
