"""Sparse first layer against the dense one, measured in the same run (one CPU thread).

Two parts, written to ``benchmarks/results/sparse_features.json`` and rendered as
``benchmarks/SPARSE_FEATURES.md``:

- ``layer``: the first GCN layer's linear map alone, forward + weight gradient, at each
  dataset's real features and the shipped config's first width: dense ``(X * m) @ W^T`` against
  :class:`gcl.kernels.sparse_features.SparseFeatures` (``X @ (diag(m) W^T)`` by CSR SpMM).
- ``epoch``: seconds per training epoch of the shipped (paper) configs with
  ``encoder.sparse_input=false`` against ``true``, each in a fresh process
  (``bench_csgcl_preprocessing.py _epoch``, so the peak RSS is the variant's own).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py layer
    OMP_NUM_THREADS=1 python benchmarks/bench_sparse_features.py epoch --epochs 3 \\
        --case gca/citeseer --case gcool/coauthor-cs
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results' / 'sparse_features.json'
REPORT = ROOT / 'benchmarks' / 'SPARSE_FEATURES.md'
EPOCH_CHILD = ROOT / 'benchmarks' / 'bench_csgcl_preprocessing.py'

# (method, dataset): the first layer's width comes from the shipped config.
LAYER_CASES = ['gca/cora', 'gca/citeseer', 'gca/coauthor-cs', 'gcool/coauthor-cs',
               'gca/amazon-photo']
EPOCH_CASES = ['gca/cora', 'gca/citeseer', 'csgcl/citeseer', 'gca/coauthor-cs',
               'gcool/coauthor-cs']


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
    atomic_write_text(REPORT, '\n'.join(lines) + '\n')
    print(f'wrote {REPORT.relative_to(ROOT)}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    for name, fn in (('layer', layer), ('epoch', epoch), ('render', render)):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        if name != 'render':
            p.add_argument('--case', action='append', help='method/dataset (repeatable)')
            p.add_argument('--force', action='store_true', help='re-measure finished entries')
        if name == 'layer':
            p.add_argument('--repeats', type=int, default=3)
        if name == 'epoch':
            p.add_argument('--epochs', type=int, default=3)
    args = parser.parse_args()
    args.fn(args)


if __name__ == '__main__':
    main()
