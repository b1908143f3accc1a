"""Sparse first layer against the dense one, measured in the same run (one CPU thread).

Two parts, written to ``benchmarks/results/sparse_features.json`` and rendered as
``benchmarks/SPARSE_FEATURES.md``:

- ``layer``: the first GCN layer's linear map alone, forward + weight gradient, at each
  dataset's real features and the shipped config's first width: dense ``(X * m) @ W^T`` against
  :class:`gcl.kernels.sparse_features.SparseFeatures` (``X @ (diag(m) W^T)`` by CSR SpMM).
- ``epoch``: seconds per training epoch of the shipped (paper) configs with
  ``encoder.sparse_input=false`` against ``true``, each in a fresh process
  (``bench_csgcl_preprocessing.py _epoch``, so the peak RSS is the variant's own).
- ``tiles``: the sparse first layer's forward and backward SpMMs with the per-direction column
  tiles of :func:`gcl.kernels.propagate.column_tile` against the one fixed 256-column tile used
  before, in alternating rounds of the same process at each ``--threads``; with ``--steps``
  also a gCooL Coauthor-CS training step (community terms off) under each rule, the old one
  reinstated by the script for the baseline.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py layer
    OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py epoch --epochs 3 \\
        --case gca/citeseer --case gcool/coauthor-cs
    python benchmarks/bench_sparse_features.py tiles --threads 1 2 --steps
    python benchmarks/bench_sparse_features.py render

Finished entries are kept in the JSON file (an entry is re-measured only with ``--force``).
``GCL_DATASETS_PATH`` must point at the staged datasets for Amazon / Coauthor.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from timing import alternate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results' / 'sparse_features.json'
REPORT = ROOT / 'benchmarks' / 'SPARSE_FEATURES.md'
EPOCH_CHILD = ROOT / 'benchmarks' / 'bench_csgcl_preprocessing.py'

# (method, dataset): the first layer's width comes from the shipped config.
LAYER_CASES = ['gca/cora', 'gca/citeseer', 'gca/coauthor-cs', 'gcool/coauthor-cs',
               'gca/amazon-photo']
EPOCH_CASES = ['gca/cora', 'gca/citeseer', 'csgcl/citeseer', 'gca/coauthor-cs',
               'gcool/coauthor-cs']


TILE_CASES = ['gca/citeseer', 'gca/coauthor-cs', 'gcool/coauthor-cs']
OLD_TILE = 256   # the fixed column tile of both directions before column_tile


def _load() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {'layer': {}, 'epoch': {}}


def _save(results: dict[str, Any]) -> None:
    from gcl.utils.io import atomic_write_text

    results['machine'] = {'cpu': platform.processor() or platform.machine(),
                          'torch': torch.__version__, 'threads': torch.get_num_threads()}
    atomic_write_text(RESULTS, json.dumps(results, indent=2) + '\n')


def _first_width(method: str, dataset: str) -> int:
    from gcl.config import load_config

    enc = load_config(method, dataset)['encoder']
    return int(enc.get('first_hidden') or 2 * int(enc['hidden']))


def _time(fn: Any, repeats: int) -> float:
    fn()                                             # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _time_first_layer(x: torch.Tensor, width: int, repeats: int) -> tuple[float, float, float]:
    """Median seconds of the dense and the sparse first layer (forward + weight gradient) on
    ``x [N, F]`` with ``width`` outputs and a 30% column mask; also ``x``'s density."""
    from gcl.kernels.sparse_features import SparseFeatures

    torch.manual_seed(0)
    keep = torch.rand(x.size(1)) >= 0.3
    weight = torch.randn(width, x.size(1), requires_grad=True)    # nn.Linear layout [C, F]
    upstream = torch.randn(x.size(0), width)
    features = SparseFeatures.from_dense(x)

    def dense() -> None:
        weight.grad = None
        ((x * keep) @ weight.t()).backward(upstream)

    def sparse() -> None:
        weight.grad = None
        features.masked(keep).linear(weight).backward(upstream)

    return _time(dense, repeats), _time(sparse, repeats), features.density


def layer(args: argparse.Namespace) -> None:
    from gcl.data import load_dataset

    torch.set_num_threads(1)
    results = _load()
    for case in args.case or LAYER_CASES:
        if case in results['layer'] and not args.force:
            continue
        method, dataset = case.split('/')
        x = load_dataset(dataset).x                                   # [N, F]
        width = _first_width(method, dataset)
        repeats = 1 if x.size(0) * x.size(1) * width > 1e11 else args.repeats
        t_dense, t_sparse, density = _time_first_layer(x, width, repeats)
        results['layer'][case] = {
            'nodes': x.size(0), 'features': x.size(1), 'width': width,
            'density': density, 'dense_s': t_dense, 'sparse_s': t_sparse,
            'speedup': t_dense / t_sparse, 'repeats': repeats}
        print(f'{case}: dense {t_dense:.3f} s, sparse {t_sparse:.3f} s '
              f'({t_dense / t_sparse:.1f}x)', flush=True)
        _save(results)


def _old_rule(rows: int, itemsize: int = 4) -> int:
    return OLD_TILE


def _time_directions(features: Any, width: int, repeats: int) -> dict[str, dict[str, float]]:
    """Median seconds of the forward SpMM ``X @ W^T`` and the backward one ``X^T @ dY`` at
    ``width`` columns, under the old and the new tile rule, alternating
    (:func:`timing.alternate`) so that the machine's drift hits both."""
    from gcl.kernels.propagate import _spmm, column_tile

    g = torch.Generator().manual_seed(0)
    n, f = features.shape
    weight_t = torch.randn(f, width, generator=g)                    # W^T [F, C]
    grad = torch.randn(n, width, generator=g)                        # dY [N, C]
    rules = {'old': _old_rule, 'new': column_tile}
    operands = {'forward': (features.matrix, weight_t), 'backward': (features.transposed, grad)}

    def product(rule: Any, matrix: torch.Tensor, dense: torch.Tensor) -> Any:
        return lambda: _spmm(matrix, dense, rule(matrix.size(1)))

    t = alternate({(r, d): product(rule, *operands[d]) for r, rule in rules.items()
                   for d in operands}, repeats)
    return {r: {d: t[(r, d)] for d in operands} for r in rules}


def tiles(args: argparse.Namespace) -> None:
    from gcl.data import load_dataset
    from gcl.kernels.gemm import cpu_generation
    from gcl.kernels.propagate import column_tile
    from gcl.kernels.sparse_features import SparseFeatures

    results = _load()
    part = results.setdefault('tiles', {})
    part['cpu'] = cpu_generation()
    part['date'] = time.strftime('%Y-%m-%d %H:%M')
    for threads in args.threads:
        torch.set_num_threads(threads)
        for case in args.case or TILE_CASES:
            method, dataset = case.split('/')
            features = SparseFeatures.from_dense(load_dataset(dataset).x)
            width = _first_width(method, dataset)
            t = _time_directions(features, width, args.repeats)
            n, f = features.shape
            part[f'{case}@{threads}'] = {
                'threads': threads, 'nodes': n, 'features': f, 'width': width,
                'tiles_new': [column_tile(f), column_tile(n)], 'tiles_old': [OLD_TILE] * 2,
                'repeats': args.repeats, **{f'{r}_{d}_s': v for r, dirs in t.items()
                                            for d, v in dirs.items()}}
            print(f'{case} @ {threads} threads: ' + ', '.join(
                f'{r} fwd {dirs["forward"]:.3f} s bwd {dirs["backward"]:.3f} s'
                for r, dirs in t.items()), flush=True)
            _save(results)
        if args.steps:
            from bench_gcool import time_gcool_steps

            import gcl.kernels.sparse_features as sf

            steps = time_gcool_steps(args.step_repeats, sf, 'column_tile',
                                     {'old': _old_rule, 'new': sf.column_tile})
            part[f'gcool/coauthor-cs step@{threads}'] = {
                'threads': threads, 'repeats': args.step_repeats,
                **{f'{r}_step_s': v for r, v in steps.items()}}
            print(f'gcool/coauthor-cs step @ {threads} threads: old {steps["old"]:.2f} s, '
                  f'new {steps["new"]:.2f} s', flush=True)
            _save(results)


def epoch(args: argparse.Namespace) -> None:
    results = _load()
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    for case in args.case or EPOCH_CASES:
        method, dataset = case.split('/')
        entry = results['epoch'].get(case, {})
        for setting in ('false', 'true'):
            if setting in entry and not args.force:
                continue
            cmd = [sys.executable, str(EPOCH_CHILD), '_epoch', method, dataset,
                   str(args.epochs), f'encoder.sparse_input={setting}']
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-1:] or ['']
                print(f'{case} sparse_input={setting}: failed ({tail[0]})', flush=True)
                continue
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            entry[setting] = {'median_epoch_s': out['median_epoch_s'],
                              'epoch_seconds': out['epoch_seconds'],
                              'peak_rss_gb': out['peak_rss_gb'], 'epochs': args.epochs}
            results['epoch'][case] = entry
            print(f'{case} sparse_input={setting}: {out["median_epoch_s"]:.2f} s/epoch, '
                  f'{out["peak_rss_gb"]:.2f} GB', flush=True)
            _save(results)


def _conditions(results: dict[str, Any]) -> list[str]:
    """Markdown lines saying what shared the machine during each part (``conditions``)."""
    conditions = results.get('conditions') or {}
    if not conditions:
        return []
    return ['What shared the machine:', '',
            *[f'- `{part}`: {text}.' for part, text in conditions.items()], '']


def _render_tiles(part: dict[str, Any]) -> list[str]:
    rows = {k: v for k, v in part.items() if isinstance(v, dict) and 'new_forward_s' in v}
    if not rows:
        return []
    lines = ['', '## Column tiles of the SpMMs: per direction against one fixed 256', '',
             f'`python benchmarks/bench_sparse_features.py tiles --threads 1 2 --steps` '
             f'({part.get("date", "?")}, CPU `{part.get("cpu", "?")}`): medians of alternating '
             'rounds in one process. Tiles are (forward, backward) columns; forward reads '
             '`W^T [F, C]`, backward `dY [N, C]`. Every tiling gives the same bits.', '',
             '| config | threads | N | F | width | tiles old | tiles new | fwd old s | '
             'fwd new s | bwd old s | bwd new s | fwd + bwd speed-up |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for key, r in rows.items():
        old = r['old_forward_s'] + r['old_backward_s']
        new = r['new_forward_s'] + r['new_backward_s']
        lines.append(f'| {key.split("@")[0]} | {r["threads"]} | {r["nodes"]:,} | '
                     f'{r["features"]:,} | {r["width"]:,} | {tuple(r["tiles_old"])} | '
                     f'{tuple(r["tiles_new"])} | {r["old_forward_s"]:.3f} | '
                     f'{r["new_forward_s"]:.3f} | {r["old_backward_s"]:.3f} | '
                     f'{r["new_backward_s"]:.3f} | {old / new:.2f}x |')
    steps = {k: v for k, v in part.items() if isinstance(v, dict) and 'new_step_s' in v}
    if steps:
        lines += ['', 'A whole gCooL Coauthor-CS training step (paper config, node loss only, '
                  'first layer 7,105 wide), old rule against new, alternating:', '',
                  '| threads | repeats | old s/step | new s/step | speed-up |',
                  '|---|---|---|---|---|']
        for r in steps.values():
            lines.append(f'| {r["threads"]} | {r["repeats"]} | {r["old_step_s"]:.2f} | '
                         f'{r["new_step_s"]:.2f} | {r["old_step_s"] / r["new_step_s"]:.2f}x |')
    if part.get('note'):
        lines += ['', part['note']]
    return lines


def render(args: argparse.Namespace) -> None:
    from gcl.utils.io import atomic_write_text

    results = _load()
    lines = ['# Sparse first layer (bag-of-words features as CSR, masks on the weights)', '',
             'Generated by `python benchmarks/bench_sparse_features.py render` from',
             '`benchmarks/results/sparse_features.json`; one CPU thread, '
             f'torch {results.get("machine", {}).get("torch", "?")}. Dense and sparse are timed '
             'in the same run. Why and how: `gcl/kernels/sparse_features.py`.', '',
             *_conditions(results),
             '## First layer alone (forward + weight gradient)', '',
             '`OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py layer`', '',
             '| config | N | F | width | density | dense s | sparse s | speed-up |',
             '|---|---|---|---|---|---|---|---|']
    for case, r in results['layer'].items():
        lines.append(f'| {case} | {r["nodes"]:,} | {r["features"]:,} | {r["width"]:,} | '
                     f'{100 * r["density"]:.2f}% | {r["dense_s"]:.3f} | {r["sparse_s"]:.3f} | '
                     f'{r["speedup"]:.1f}x |')
    lines += ['', 'The `auto` setting keeps features sparse at a density of at most 5%, so the '
              'Amazon graphs (35% non-zero) stay dense.', '',
              '## Time per epoch, shipped (paper) configs', '',
              '`OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py epoch --epochs E`: '
              'median over epochs 2..E, each setting in a fresh process.', '',
              '| config | epochs timed | dense s/epoch | sparse s/epoch | speed-up | '
              'dense peak GB | sparse peak GB |', '|---|---|---|---|---|---|---|']
    for case, entry in results['epoch'].items():
        if 'false' not in entry or 'true' not in entry:
            continue
        d, s = entry['false'], entry['true']
        lines.append(f'| {case} | {d["epochs"]} | {d["median_epoch_s"]:.2f} | '
                     f'{s["median_epoch_s"]:.2f} | {d["median_epoch_s"] / s["median_epoch_s"]:.1f}x'
                     f' | {d["peak_rss_gb"]:.2f} | {s["peak_rss_gb"]:.2f} |')
    before = results.get('epoch_before_csr_default')
    if before:
        lines += ['', f'Before `auto` took the CSR propagation on CPU ({before["note"]}):', '',
                  '| config | dense + GCNConv s/epoch | sparse + CSR s/epoch |', '|---|---|---|']
        for case, entry in before.items():
            if isinstance(entry, dict) and 'false' in entry and 'true' in entry:
                lines.append(f'| {case} | {entry["false"]["median_epoch_s"]:.2f} | '
                             f'{entry["true"]["median_epoch_s"]:.2f} |')
    lines += _render_tiles(results.get('tiles') or {})
    atomic_write_text(REPORT, '\n'.join(lines) + '\n')
    print(f'wrote {REPORT.relative_to(ROOT)}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    parts = (('layer', layer), ('epoch', epoch), ('tiles', tiles), ('render', render))
    for name, fn in parts:
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        if name != 'render':
            p.add_argument('--case', action='append', help='method/dataset (repeatable)')
            p.add_argument('--force', action='store_true', help='re-measure finished entries')
        if name == 'layer':
            p.add_argument('--repeats', type=int, default=3)
        if name == 'epoch':
            p.add_argument('--epochs', type=int, default=3)
        if name == 'tiles':
            p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
            p.add_argument('--repeats', type=int, default=5)
            p.add_argument('--steps', action='store_true', help='also time gCooL CS steps')
            p.add_argument('--step-repeats', type=int, default=3)
    args = parser.parse_args()
    args.fn(args)


if __name__ == '__main__':
    main()
