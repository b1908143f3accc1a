"""Pictures (matplotlib, PNG + SVG): accuracy vs the papers, kernel scaling, training curves and
2-D maps of embeddings.

Figures are built with :class:`matplotlib.figure.Figure` directly (no ``pyplot``): no global
state, no display needed, the Agg / SVG canvases are picked by file type. Each ``plot_*``
function takes plain data (lists of dicts, tensors) and a path *stem*, writes ``stem.png`` and
``stem.svg`` atomically, and returns both paths. :func:`plot_run` draws a run directory's curves
and map (``gcl plot RUN_DIR``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gcl.errors import GCLDataError
from gcl.utils.io import atomic_write_bytes

logger = logging.getLogger(__name__)

__all__ = ['save_figure', 'plot_accuracy_vs_papers', 'plot_kernel_scaling', 'load_kernel_points',
           'plot_training_curves', 'plot_embedding_map', 'embedding_map_2d', 'plot_run']

_OURS = '#1f77b4'
_PAPER = '#bbbbbb'


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout='constrained')


def save_figure(fig: Any, stem: str | os.PathLike, dpi: int = 150) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` (atomically) and return their paths."""
    import matplotlib

    stem = Path(stem)
    paths = []
    for suffix in ('.png', '.svg'):
        buffer = io.BytesIO()
        # A fixed salt makes the SVG's element ids (random by default) the same on every run, so
        # an unchanged figure gives an unchanged file.
        with matplotlib.rc_context({'svg.hashsalt': 'gcl'}):
            fig.savefig(buffer, format=suffix[1:], dpi=dpi,
                        metadata={'Date': None} if suffix == '.svg' else None)
        paths.append(atomic_write_bytes(stem.with_suffix(suffix), buffer.getvalue()))
    return paths


# ------------------------------------------------------------------------ accuracy vs papers
def plot_accuracy_vs_papers(points: Sequence[Mapping[str, Any]], stem: str | os.PathLike, *,
                            title: str = 'Node classification accuracy: gcl vs the papers'
                            ) -> list[Path]:
    """One panel per dataset, a pair of bars per method: ours (mean ± std over seeds) and the
    paper's number (hatched), the difference written above.

    Args:
        points: dicts with ``method``, ``dataset``, ``ours``, ``ours_std`` (%), optional
            ``paper``, ``paper_std``, ``paper_tag``, ``epochs``, ``n``, ``same_protocol``
            (False draws a dagger beside the difference;
            :func:`gcl.bench.leaderboard.accuracy_points` makes them).
        stem: output path without suffix.
    """
    if not points:
        raise GCLDataError('plot_accuracy_vs_papers: no points to draw')
    datasets = list(dict.fromkeys(str(p['dataset']) for p in points))
    fig = _figure(max(4.0, 2.6 * len(datasets)), 3.6)
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    for ax, dataset in zip(axes, datasets, strict=True):
        mine = [p for p in points if str(p['dataset']) == dataset]
        counts: dict[str, int] = {}
        for p in mine:
            counts[str(p['method'])] = counts.get(str(p['method']), 0) + 1
        labels, lows = [], []
        for i, p in enumerate(mine):
            label = str(p['method'])
            if counts[label] > 1 and p.get('epochs') is not None:
                label += f"\n{p['epochs']} ep"
            labels.append(label)
            has_paper = p.get('paper') is not None
            ax.bar(i - 0.2 * has_paper, p['ours'], 0.4, yerr=p.get('ours_std') or 0.0,
                   color=_OURS, capsize=3, label=None if i else 'gcl (ours)')
            lows.append(p['ours'])
            if has_paper:
                ax.bar(i + 0.2, p['paper'], 0.4, yerr=p.get('paper_std') or 0.0, color=_PAPER,
                       hatch='//', edgecolor='#555555', capsize=3,
                       label=None if any(p2.get('paper') is not None for p2 in mine[:i])
                       else 'paper')
                lows.append(p['paper'])
                top = max(p['ours'] + (p.get('ours_std') or 0), p['paper'])
                mark = '' if p.get('same_protocol', True) else '†'
                ax.annotate(f"{p['ours'] - p['paper']:+.1f}{mark}", (i, top), ha='center',
                            va='bottom', fontsize=8, xytext=(0, 3), textcoords='offset points')
        ax.set_xticks(range(len(mine)), labels, fontsize=8)
        floor = max(0.0, 5 * math.floor((min(lows) - 8) / 5))
        ax.set_ylim(floor, min(100.0, max(lows) + 6))
        ax.set_title(dataset, fontsize=10)
        ax.grid(axis='y', alpha=0.3)
    axes[0].set_ylabel('accuracy (%)')
    legend: dict[str, Any] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(name, handle)
    if legend:
        axes[0].legend(list(legend.values()), list(legend), fontsize=8, loc='lower left')
    fig.suptitle(title, fontsize=11)
    if any(not p.get('same_protocol', True) for p in points if p.get('paper') is not None):
        fig.supxlabel('numbers above the bars: ours − paper; † the paper used another protocol',
                      fontsize=8)
    return save_figure(fig, stem)


# ------------------------------------------------------------------------ kernel scaling
_NODE_KEYS = ('num_nodes', 'N', 'n', 'nodes')
_SERIES_KEYS = ('series', 'variant', 'impl', 'implementation', 'kernel', 'mode')


def load_kernel_points(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read kernel-benchmark measurements (CSV, JSON list, or JSON ``{'rows': [...]}``) as
    :func:`plot_kernel_scaling` points.

    Column names are matched loosely: nodes from ``num_nodes`` / ``N``; the series from
    ``series`` / ``variant`` / ``kernel``; time from ``seconds`` or any ``*_s`` column;
    memory from ``memory_mb``, any ``*_mb`` / ``*_mib`` column, or ``*_gb`` (x1000, as
    ``benchmarks/bench_kernels.py --json`` writes ``peak_rss_gb``). A wide row with several
    ``<variant>_s`` columns (``baseline_s``, ``gcl_s``) becomes one point per variant. Rows
    without a positive node count (``meta``) or without numbers (``error``) are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise GCLDataError(f'kernel benchmark data {path} does not exist')
    if path.suffix == '.csv':
        with open(path, newline='', encoding='utf-8') as fh:
            rows: list[dict[str, Any]] = list(csv.DictReader(fh))
    else:
        loaded = json.loads(path.read_text(encoding='utf-8'))
        rows = loaded.get('rows', []) if isinstance(loaded, dict) else loaded
    points: list[dict[str, Any]] = []
    for row in rows:
        nodes = next((row[k] for k in _NODE_KEYS if row.get(k) not in (None, '')), None)
        if nodes is None:
            continue
        base = ' '.join(str(row[k]) for k in _SERIES_KEYS if row.get(k) not in (None, ''))
        times = {k[:-2]: row[k] for k in row if k.endswith('_s') and row[k] not in (None, '')}
        mems = {k.rsplit('_', 1)[0]: row[k] for k in row
                if k.lower().endswith(('_mb', '_mib')) and row[k] not in (None, '')}
        if 'seconds' in row or 'memory_mb' in row or not times:
            memory = _float(row.get('memory_mb'))
            if memory is None:  # bench_kernels.py --json writes peak_rss_gb
                gb = row.get('peak_rss_gb')        # the peak, not e.g. the graph's rss_data_gb
                if gb in (None, ''):
                    gb = next((row[k] for k in row if k.lower().endswith('_gb')
                               and row[k] not in (None, '')), None)
                memory = None if _float(gb) is None else 1000 * _float(gb)
            point = {'series': base or 'kernel', 'num_nodes': float(nodes),
                     'seconds': _float(row.get('seconds')), 'memory_mb': memory}
            if point['num_nodes'] > 0 and (point['seconds'] is not None or memory is not None):
                points.append(point)
            continue
        for variant, seconds in times.items():
            memory = mems.get(variant, mems.get(f'{variant}_peak'))
            points.append({'series': f'{base} {variant}'.strip(), 'num_nodes': float(nodes),
                           'seconds': _float(seconds), 'memory_mb': _float(memory)})
    return points


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def plot_kernel_scaling(points: Sequence[Mapping[str, Any]], stem: str | os.PathLike, *,
                        title: str = 'Time and memory vs graph size') -> list[Path]:
    """Two log-log panels, time and peak memory against the number of nodes, one line per
    series (e.g. ``dense baseline``, ``gcl blockwise``).

    Args:
        points: dicts with ``series``, ``num_nodes``, ``seconds`` and/or ``memory_mb``.
        stem: output path without suffix.
    """
    if not points:
        raise GCLDataError('plot_kernel_scaling: no points to draw')
    fig = _figure(8.0, 3.4)
    ax_time, ax_mem = fig.subplots(1, 2)
    series = list(dict.fromkeys(str(p['series']) for p in points))
    for name in series:
        mine = sorted((p for p in points if str(p['series']) == name),
                      key=lambda p: float(p['num_nodes']))
        for ax, key in ((ax_time, 'seconds'), (ax_mem, 'memory_mb')):
            pts = [(float(p['num_nodes']), float(p[key])) for p in mine
                   if p.get(key) is not None]
            if pts:
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, marker='o', label=name)
    for ax, label in ((ax_time, 'seconds'), (ax_mem, 'peak memory (MB)')):
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('nodes')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which='both')
    ax_time.legend(fontsize=7, loc='upper left')
    fig.suptitle(title, fontsize=11)
    return save_figure(fig, stem)


# ------------------------------------------------------------------------ training curves
_CURVES = (('loss', 'training loss'), ('rankme', 'RankMe (effective rank)'),
           ('probe_acc', 'probe accuracy'))


def plot_training_curves(history: Sequence[Mapping[str, Any]], stem: str | os.PathLike, *,
                         selected_epoch: int | None = None, title: str = '') -> list[Path]:
    """Loss, RankMe and probe accuracy against the epoch, one panel each (those present).

    Args:
        history: per-epoch dicts (``history.jsonl``): ``epoch``, ``loss``, optional
            ``rankme``, ``probe_acc``, ``probe_val_acc``.
        stem: output path without suffix.
        selected_epoch: drawn as a dashed line (e.g. the best-RankMe epoch).
    """
    panels = [(k, label) for k, label in _CURVES if any(k in h for h in history)]
    if not panels:
        raise GCLDataError('plot_training_curves: the history has no loss, rankme or probe_acc')
    fig = _figure(3.3 * len(panels), 3.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, label) in zip(axes, panels, strict=True):
        pts = [(h['epoch'], h[key]) for h in history if h.get(key) is not None]
        xs, ys = zip(*pts, strict=True)
        scale = 100.0 if key == 'probe_acc' else 1.0
        ax.plot(xs, [y * scale for y in ys], marker='o' if len(xs) < 40 else None,
                markersize=3, label='test' if key == 'probe_acc' else None)
        if key == 'probe_acc':
            val = [(h['epoch'], h['probe_val_acc']) for h in history
                   if h.get('probe_val_acc') is not None]
            if val:
                vx, vy = zip(*val, strict=True)
                ax.plot(vx, [y * 100 for y in vy], linestyle=':', marker='.', label='val')
            ax.legend(fontsize=8)
            label += ' (%)'
        if selected_epoch is not None:
            ax.axvline(selected_epoch, color='#d62728', linestyle='--', linewidth=1)
        ax.set_xlabel('epoch')
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, stem)


# ------------------------------------------------------------------------ embedding map
def embedding_map_2d(z: Tensor | np.ndarray, *, method: str = 'auto', random_state: int = 0
                     ) -> tuple[np.ndarray, str]:
    """2-D coordinates of ``z`` ``[N, D]``: UMAP if installed (``auto``/``umap``), else t-SNE
    (scikit-learn, after PCA to 50 dimensions when ``D > 50``). Returns ``(xy [N, 2], name)``."""
    x = z.detach().cpu().double().numpy() if isinstance(z, Tensor) else np.asarray(z, float)
    if x.ndim != 2 or x.shape[0] < 5:
        raise GCLDataError(f'embedding map needs a 2-D array with at least 5 rows, got '
                           f'shape {x.shape}')
    if method not in ('auto', 'umap', 'tsne'):
        raise GCLDataError(f"map method must be auto, umap or tsne, got {method!r}")
    if method in ('auto', 'umap'):
        try:
            import umap  # type: ignore[import-not-found]
        except ImportError:
            if method == 'umap':
                raise GCLDataError('UMAP is not installed (pip install umap-learn); use '
                                   '--map-method tsne') from None
        else:
            reducer = umap.UMAP(n_components=2, random_state=random_state)
            return np.asarray(reducer.fit_transform(x)), 'UMAP'
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    if x.shape[1] > 50 and x.shape[0] > 50:
        x = PCA(n_components=50, random_state=random_state).fit_transform(x)
    perplexity = float(min(30.0, (x.shape[0] - 1) / 3))
    xy = TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=random_state
              ).fit_transform(x)
    return np.asarray(xy), 't-SNE'


def plot_embedding_map(z: Tensor | np.ndarray, y: Tensor | np.ndarray | None,
                       stem: str | os.PathLike, *, method: str = 'auto',
                       max_points: int = 3000, random_state: int = 0, title: str = ''
                       ) -> list[Path]:
    """A 2-D map of the embeddings coloured by label (UMAP if installed, else t-SNE).

    Args:
        z: embeddings ``[N, D]``.
        y: labels ``[N]`` (``None``: one colour).
        stem: output path without suffix.
        method: ``auto``, ``umap`` or ``tsne``.
        max_points: a seeded random subset of this many nodes is drawn (t-SNE is O(N log N)
            but slow on large graphs).
    """
    n = int(z.shape[0])
    if y is not None and int(len(y)) != n:
        raise GCLDataError(f'labels have {len(y)} entries but the embeddings {n} rows')
    index = np.arange(n)
    if n > max_points:
        index = np.sort(np.random.default_rng(random_state).choice(n, max_points,
                                                                   replace=False))
    sub = z[torch.as_tensor(index)] if isinstance(z, Tensor) else np.asarray(z)[index]
    xy, name = embedding_map_2d(sub, method=method, random_state=random_state)
    fig = _figure(5.2, 4.6)
    ax = fig.subplots()
    if y is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=3, color=_OURS, alpha=0.7, linewidths=0)
    else:
        labels = np.asarray(y.cpu() if isinstance(y, Tensor) else y)[index]
        classes = np.unique(labels)
        cmap = 'tab10' if len(classes) <= 10 else 'tab20'
        from matplotlib import colormaps

        colours = colormaps[cmap]
        for i, c in enumerate(classes):
            mask = labels == c
            ax.scatter(xy[mask, 0], xy[mask, 1], s=3, color=colours(i % colours.N), alpha=0.75,
                       linewidths=0, label=str(c))
        if len(classes) <= 20:
            ax.legend(fontsize=7, markerscale=3, title='label', title_fontsize=7,
                      loc='center left', bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    shown = f'{len(index)} of {n} nodes' if len(index) < n else f'{n} nodes'
    ax.set_title((title + '\n' if title else '') + f'{name} map, {shown}', fontsize=10)
    return save_figure(fig, stem)


# ------------------------------------------------------------------------ a run directory
def plot_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
             root: str | os.PathLike | None = None, embedding_map: bool = True,
             map_method: str = 'auto', max_points: int = 3000) -> dict[str, list[Path]]:
    """Draw a run directory's training curves (``history.jsonl``) and embedding map
    (``embeddings.pt`` coloured by the dataset's labels).

    Returns ``{'curves': [png, svg], 'map': [png, svg]}`` (keys for what could be drawn).

    Raises:
        GCLDataError: not a run directory, or nothing to draw.
    """
    from gcl.train.rescore import read_run_config
    from gcl.utils.io import read_jsonl

    run_dir = Path(run_dir)
    history_file = run_dir / 'history.jsonl'
    config = read_run_config(run_dir)   # clear errors for a missing, malformed or foreign one
    out = Path(out_dir) if out_dir is not None else run_dir / 'figures'
    title = f"{config.get('method', '?')} on {config.get('dataset', '?')}, " \
            f"seed {config.get('seed', '?')}"
    drawn: dict[str, list[Path]] = {}
    history = [h for _, h in read_jsonl(history_file)] if history_file.is_file() else []
    if history:
        selected = None
        if (config.get('train') or {}).get('select') == 'rankme':
            ranked = [h for h in history if h.get('rankme') is not None]
            if ranked:
                selected = int(max(ranked, key=lambda h: h['rankme'])['epoch'])
        drawn['curves'] = plot_training_curves(history, out / 'curves', title=title,
                                               selected_epoch=selected)
    embeddings = run_dir / 'embeddings.pt'
    if embedding_map and embeddings.is_file():
        from gcl.utils.embeddings import load_embeddings

        z = load_embeddings(embeddings)
        y = _labels(config, root)
        if y is not None and int(y.numel()) != int(z.size(0)):
            logger.warning('labels (%d) do not match the embeddings (%d rows); map uncoloured',
                           y.numel(), z.size(0))
            y = None
        drawn['map'] = plot_embedding_map(z, y, out / 'embedding_map', method=map_method,
                                          max_points=max_points,
                                          random_state=int(config.get('seed') or 0), title=title)
    if not drawn:
        raise GCLDataError(f'{run_dir}: nothing to draw (no history.jsonl and no '
                           'embeddings.pt)')
    return drawn


def _labels(config: Mapping[str, Any], root: str | os.PathLike | None) -> Tensor | None:
    """The labels of the run's graph (a catalogued dataset, or the files of ``data.files``),
    or ``None`` for a graph without labels."""
    from gcl.train.run import load_data

    data = load_data(config, root)
    y = getattr(data, 'y', None)
    return None if y is None else y.view(-1)
