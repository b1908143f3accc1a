"""Does RankMe pick good GRACE checkpoints without labels?  (writes benchmarks/RANKME.md)

For each dataset and each value of a small hyper-parameter grid (``--param KEY=VALUE``, e.g.
the temperature ``loss.tau`` or the learning rate ``optim.lr``), GRACE (the shipped paper config
otherwise, fewer epochs) is trained once; every ``--every`` epochs the callback
:class:`gcl.bench.RankMe` logs RankMe of the encoder output and a linear probe's validation
and test accuracy (one fixed random 10/10/80 split per dataset, validation-selected C). Then,
per dataset:

- Spearman's rho between RankMe and probe test accuracy over all checkpoints (epochs x grid), and
  its mean within each grid value (epochs only);
- the test accuracy of the checkpoint chosen by the highest RankMe (no labels), by the highest
  validation accuracy (labels), and the best test accuracy (oracle), over the whole grid, over
  epochs within each temperature, and over temperatures at the last epoch. "Lost" is
  validation-selected minus RankMe-selected test accuracy (grid, epochs within each value, values
  at the last epoch).

Usage (one training per call, each well under 10 minutes on 2 CPU cores; finished ones are
skipped, so the calls can be repeated)::

    python benchmarks/bench_rankme.py run --dataset cora --param loss.tau=0.4 --epochs 100 \
        --every 10
    python benchmarks/bench_rankme.py report    # text outside the gcl:rankme markers is kept

The checkpoints go to ``benchmarks/results/rankme/checkpoints.jsonl`` (a sub-folder, so
``gcl leaderboard`` does not read them).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

RESULTS = Path('benchmarks/results/rankme/checkpoints.jsonl')
REPORT = Path('benchmarks/RANKME.md')
FIGURES = Path('benchmarks/figures')
MARK_START = '<!-- gcl:rankme:start -->'
MARK_END = '<!-- gcl:rankme:end -->'


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record['dataset'], record['param'], int(record['seed']), int(record['epochs']),
            int(record['every']))


def run(args: argparse.Namespace) -> None:
    """Train one (dataset, param) with RankMe + probe logging; append one JSON line."""
    from gcl.bench.rankme import RankMe
    from gcl.config import load_config, parse_overrides
    from gcl.data import load_dataset
    from gcl.methods import get_method
    from gcl.train.record import environment, git_commit
    from gcl.utils.io import append_jsonl

    param = parse_overrides([args.param])
    (name, value), = param.items()
    label = f'{name}={value}'
    wanted = (args.dataset, label, args.seed, args.epochs, args.every)
    done = {_key(r) for _, r in _read(args.results)}
    if wanted in done:
        print(f'already in {args.results}: {wanted}; skipped')
        return
    overrides = {'optim.epochs': args.epochs, name: value}
    config = load_config('grace', args.dataset, overrides=overrides)
    config['seed'] = args.seed
    data = load_dataset(args.dataset, normalize_features=bool(config['data']['normalize_features']))
    callback = RankMe(every=args.every, probe_every=args.every, random_state=args.split_seed)
    start = time.perf_counter()
    method = get_method('grace')(config).fit(data, callbacks=[callback])
    wall = time.perf_counter() - start
    checkpoints = [{k: h[k] for k in ('epoch', 'loss', 'rankme', 'probe_acc', 'probe_val_acc')}
                   for h in method.history_ if 'probe_acc' in h]
    record = {'dataset': config['dataset'], 'param': label, 'value': value, 'seed': args.seed,
              'epochs': args.epochs, 'every': args.every, 'split_seed': args.split_seed,
              'checkpoints': checkpoints, 'wall_s': round(wall, 1),
              'command': 'python benchmarks/bench_rankme.py ' + shlex.join(sys.argv[1:]),
              'date': time.strftime('%Y-%m-%d'), 'machine': _machine(),
              'config': config, 'versions': environment(), 'git_commit': git_commit()}
    append_jsonl(args.results, record)
    print(f"{config['dataset']} {label}: {len(checkpoints)} checkpoints, {wall:.0f} s; "
          f"last RankMe {checkpoints[-1]['rankme']:.1f}, test {checkpoints[-1]['probe_acc']:.4f}")


def _machine() -> str:
    return (f'{platform.machine()}, {os.cpu_count()} CPU cores (shared), torch '
            f'{torch.__version__}, {torch.get_num_threads()} threads')


def _read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    from gcl.utils.io import read_jsonl

    return list(read_jsonl(path)) if Path(path).is_file() else []


def _spearman(x: list[float], y: list[float]) -> float:
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return float('nan')
    return float(spearmanr(x, y).statistic)


def _pick(points: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return max(points, key=lambda p: p[key])   # first wins ties, in (value, epoch) order


def analyse(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per dataset: correlations and the three selection scenarios (see the module doc)."""
    out: dict[str, dict[str, Any]] = {}
    for dataset in sorted({r['dataset'] for r in records}):
        runs = sorted((r for r in records if r['dataset'] == dataset), key=lambda r: r['value'])
        points = [{'param': r['param'], 'of': r['epochs'], **c} for r in runs
                  for c in r['checkpoints']]
        late_points = [p for p in points if p['epoch'] > p['of'] / 2]
        rho_late = _spearman([p['rankme'] for p in late_points],
                             [p['probe_acc'] for p in late_points])
        rho_all = _spearman([p['rankme'] for p in points], [p['probe_acc'] for p in points])
        rho_val = _spearman([p['rankme'] for p in points], [p['probe_val_acc'] for p in points])
        within = [_spearman([c['rankme'] for c in r['checkpoints']],
                            [c['probe_acc'] for c in r['checkpoints']]) for r in runs]

        def scenario(candidates: list[dict[str, Any]]) -> dict[str, Any]:
            by_rank, by_val = _pick(candidates, 'rankme'), _pick(candidates, 'probe_val_acc')
            late = _pick([c for c in candidates if c['epoch'] > c['of'] / 2] or candidates,
                         'rankme')
            oracle = _pick(candidates, 'probe_acc')
            return {'rankme': by_rank, 'late': late, 'val': by_val, 'oracle': oracle,
                    'lost': by_val['probe_acc'] - by_rank['probe_acc'],
                    'lost_late': by_val['probe_acc'] - late['probe_acc'], 'n': len(candidates)}

        per_value = [scenario([{'param': r['param'], 'of': r['epochs'], **c}
                               for c in r['checkpoints']]) for r in runs]
        finals = [{'param': r['param'], 'of': r['epochs'], **r['checkpoints'][-1]}
                  for r in runs]
        out[dataset] = {
            'runs': runs, 'points': points, 'rho_test': rho_all, 'rho_val': rho_val,
            'rho_late': rho_late, 'n_late': len(late_points),
            'rho_within': within, 'grid': scenario(points), 'epochs': per_value,
            'hyper': scenario(finals) if len(finals) > 1 else None,
        }
    return out


def _selection_row(dataset: str, label: str, sc: dict[str, Any]) -> str:
    return (f"| {dataset} | {label} | {_fmt(sc['rankme'])} | {_fmt(sc['late'])} | "
            f"{_fmt(sc['val'])} | {_fmt(sc['oracle'])} | {100 * sc['lost']:+.2f} | "
            f"{100 * sc['lost_late']:+.2f} |")


def _fmt(p: dict[str, Any]) -> str:
    return f"{100 * p['probe_acc']:.2f} ({p['param']}, ep {p['epoch']})"


def report(args: argparse.Namespace) -> None:
    """Analyse every record and write the markdown report (and a figure)."""
    records = [r for _, r in _read(args.results)]
    if not records:
        sys.exit(f'no records in {args.results}; run the `run` command first')
    result = analyse(records)
    figure = _figure(result, args.figures / 'rankme_vs_accuracy')
    curves = _curves(result, args.figures / 'rankme_curves')
    lines = [
        MARK_START,
        'Generated by `python benchmarks/bench_rankme.py report` from '
        f'`{args.results}`. RankMe (Garrido et al., 2023) is the effective rank of the encoder '
        'output `exp(H(σ/‖σ‖₁ + ε))`. *By RankMe* below is the plain rule (the highest RankMe '
        'among all checkpoints); *RankMe, 2nd half* is what `gcl train --select rankme` does by '
        'default (the highest RankMe after the first `train.select_after` = 0.5 of the epochs). '
        'Neither uses labels. Accuracy: one linear probe per checkpoint on one fixed '
        'random 10/10/80 split per dataset (validation-selected C, `random-10-10-80`), in %.',
        '',
        '## What was run',
        '',
        '| dataset | grid | epochs (probe every) | seed | wall s per run | machine | date |',
        '|---|---|---|---|---|---|---|',
    ]
    for dataset, res in result.items():
        runs = res['runs']
        taus = ', '.join(r['param'] for r in runs)
        lines.append(f"| {dataset} | {taus} | "
                     f"{runs[0]['epochs']} ({runs[0]['every']}) | "
                     f"{', '.join(sorted({str(r['seed']) for r in runs}))} | "
                     f"{statistics.fmean(r['wall_s'] for r in runs):.0f} | "
                     f"{runs[0]['machine']} | {runs[-1]['date']} |")
    lines += ['', 'Commands (one training each):', '', '```']
    lines += [r['command'] for res in result.values() for r in res['runs']]
    lines += ['```', '', '## Correlation', '',
              "Spearman's ρ between RankMe and probe accuracy; *pooled*: all checkpoints of a "
              "dataset (epochs × grid); *within a run*: over the epochs of one training, mean "
              '(min to max) over the grid.', '',
              '| dataset | checkpoints | ρ(RankMe, test acc) pooled | ρ(RankMe, val acc) pooled '
              '| ρ(RankMe, test acc) within a run | ρ(RankMe, test acc), second half of '
              'training (checkpoints) |', '|---|---:|---:|---:|---|---:|']
    for dataset, res in result.items():
        within = [w for w in res['rho_within'] if w == w]
        shown = (f'{statistics.fmean(within):+.2f} ({min(within):+.2f} to {max(within):+.2f})'
                 if within else '–')
        lines.append(f"| {dataset} | {len(res['points'])} | {res['rho_test']:+.2f} | "
                     f"{res['rho_val']:+.2f} | {shown} | {res['rho_late']:+.2f} "
                     f"({res['n_late']}) |")
    lines += ['', '## Selection: accuracy lost by choosing with RankMe, not validation labels', '',
              'Test accuracy (%) of the checkpoint each rule picks; *lost* = validation-'
              'selected − RankMe-selected (positive: RankMe picked worse). *RankMe, 2nd half*: '
              'the highest RankMe among checkpoints after half of the training epochs (still no '
              'labels).', '',
              '| dataset | candidates | by RankMe (no labels) | by RankMe, 2nd half | by val acc '
              '(labels) | oracle (best test) | lost | lost, 2nd half |',
              '|---|---|---|---|---|---|---:|---:|']
    for dataset, res in result.items():
        rows = [('whole grid (values × epochs)', res['grid'])]
        if res['hyper'] is not None:
            rows.append(('grid values only, last epoch', res['hyper']))
        for label, sc in rows:
            lines.append(_selection_row(dataset, f"{label} ({sc['n']})", sc))
        for sc in res['epochs']:
            lines.append(_selection_row(
                dataset, f"epochs only, {sc['rankme']['param']} ({sc['n']})", sc))
    lines += ['', f'![RankMe vs probe accuracy]({os.path.relpath(figure[1], args.out.parent)})',
              '', f'![RankMe and accuracy per epoch]'
              f'({os.path.relpath(curves[1], args.out.parent)})',
              '', '## Per checkpoint', '', '| dataset | run | epoch | loss | RankMe | val acc | '
              'test acc |', '|---|---:|---:|---:|---:|---:|---:|']
    for dataset, res in result.items():
        for p in res['points']:
            lines.append(f"| {dataset} | {p['param']} | {p['epoch']} | {p['loss']:.4f} | "
                         f"{p['rankme']:.2f} | {100 * p['probe_val_acc']:.2f} | "
                         f"{100 * p['probe_acc']:.2f} |")
    lines.append(MARK_END)
    _write_kept(args.out, '\n'.join(lines) + '\n')
    print('\n'.join(lines[:60]))


def _write_kept(path: Path, block: str) -> None:
    """Replace the generated block of ``path``, keeping hand-written text around it."""
    text = path.read_text(encoding='utf-8') if path.exists() else ''
    if MARK_START in text and MARK_END in text:
        head, rest = text.split(MARK_START, 1)
        text = head + block.rstrip('\n') + rest.split(MARK_END, 1)[1]
    else:
        text = (text.rstrip('\n') + '\n\n' if text else
                '# RankMe: label-free checkpoint and hyper-parameter selection for GRACE\n\n'
                ) + block
    path.write_text(text, encoding='utf-8')


def _figure(result: dict[str, dict[str, Any]], stem: Path) -> list[Path]:
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from gcl.bench.plots import save_figure

    fig = Figure(figsize=(3.6 * len(result), 3.4), layout='constrained')
    axes = fig.subplots(1, len(result), squeeze=False)[0]
    for ax, (dataset, res) in zip(axes, result.items(), strict=True):
        colours = colormaps['viridis']
        for i, run_ in enumerate(res['runs']):
            xs = [c['rankme'] for c in run_['checkpoints']]
            ys = [100 * c['probe_acc'] for c in run_['checkpoints']]
            colour = colours(i / max(1, len(res['runs']) - 1))
            ax.plot(xs, ys, marker='o', markersize=3, color=colour, label=run_['param'])
            ax.annotate('end', (xs[-1], ys[-1]), fontsize=6, xytext=(2, 2),
                        textcoords='offset points')
        ax.set_title(f"{dataset} (ρ = {res['rho_test']:+.2f})", fontsize=10)
        ax.set_xlabel('RankMe')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel('probe test accuracy (%)')
    return save_figure(fig, stem)


def _curves(result: dict[str, dict[str, Any]], stem: Path) -> list[Path]:
    """Per dataset: RankMe and probe test accuracy against the epoch, one line per run."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from gcl.bench.plots import save_figure

    fig = Figure(figsize=(3.4 * len(result), 5.2), layout='constrained')
    axes = fig.subplots(2, len(result), squeeze=False)
    for col, (dataset, res) in enumerate(result.items()):
        for i, run_ in enumerate(res['runs']):
            colour = colormaps['viridis'](i / max(1, len(res['runs']) - 1))
            epochs = [c['epoch'] for c in run_['checkpoints']]
            axes[0, col].plot(epochs, [c['rankme'] for c in run_['checkpoints']], marker='o',
                              markersize=3, color=colour, label=run_['param'])
            axes[1, col].plot(epochs, [100 * c['probe_acc'] for c in run_['checkpoints']],
                              marker='o', markersize=3, color=colour)
        axes[0, col].set_title(dataset, fontsize=10)
        axes[0, col].legend(fontsize=7)
        axes[1, col].set_xlabel('epoch')
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel('RankMe')
    axes[1, 0].set_ylabel('probe test accuracy (%)')
    return save_figure(fig, stem)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    one = sub.add_parser('run', help='train one (dataset, param) and log its checkpoints')
    one.add_argument('--dataset', required=True)
    one.add_argument('--param', required=True,
                     help='the grid value of this run, KEY=VALUE, e.g. loss.tau=0.4')
    one.add_argument('--epochs', type=int, default=100)
    one.add_argument('--every', type=int, default=10)
    one.add_argument('--seed', type=int, default=0)
    one.add_argument('--split-seed', type=int, default=0, help='seed of the probe split')
    one.add_argument('--results', type=Path, default=RESULTS)
    rep = sub.add_parser('report', help='write benchmarks/RANKME.md')
    rep.add_argument('--results', type=Path, default=RESULTS)
    rep.add_argument('--out', type=Path, default=REPORT)
    rep.add_argument('--figures', type=Path, default=FIGURES)
    args = parser.parse_args()
    run(args) if args.command == 'run' else report(args)


if __name__ == '__main__':
    main()
