"""Reading a user's graph files: ``gcl.data.from_csv`` with its one-go reader (pandas' C parser)
against its line-by-line parser, on generated files in the shipped formats.

Files: an edge list of ``--edges`` random pairs over ``--nodes`` ids (``src,dst`` header, comma
separated) and a ``--nodes`` x ``--dim`` float feature table. The line-by-line run forces
``gcl.data.custom._read_numeric`` to decline, which is what a file with a malformed line gets. The
two readers alternate over ``--repeats`` in one process; the medians and their ratio are printed
(and written to ``--json``). Both must give identical tensors, which is checked.

    python benchmarks/bench_from_csv.py --json benchmarks/results/from_csv.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch

import gcl.data.custom as custom
from gcl.utils.io import atomic_write_text


def _files(folder: Path, nodes: int, edges: int, dim: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    edge_path, feat_path = folder / 'edges.csv', folder / 'x.csv'
    np.savetxt(edge_path, rng.integers(0, nodes, (edges, 2)), fmt='%d', delimiter=',',
               header='src,dst', comments='')
    np.savetxt(feat_path, rng.standard_normal((nodes, dim)).astype(np.float32), fmt='%.6g',
               delimiter=',')
    return edge_path, feat_path


def _read(edge_path: Path, feat_path: Path, line_by_line: bool):
    start = time.perf_counter()
    if line_by_line:
        with mock.patch.object(custom, '_read_numeric', lambda *a, **k: None):
            data = custom.from_csv(edge_path, feat_path)
    else:
        data = custom.from_csv(edge_path, feat_path)
    return time.perf_counter() - start, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=200_000)
    parser.add_argument('--edges', type=int, default=2_000_000)
    parser.add_argument('--dim', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    times: dict[str, list[float]] = {'one go': [], 'line by line': []}
    with tempfile.TemporaryDirectory() as tmp:
        edge_path, feat_path = _files(Path(tmp), args.nodes, args.edges, args.dim)
        for repeat in range(args.repeats):
            order = [False, True] if repeat % 2 == 0 else [True, False]
            results = {}
            for line_by_line in order:
                seconds, data = _read(edge_path, feat_path, line_by_line)
                name = 'line by line' if line_by_line else 'one go'
                times[name].append(seconds)
                results[name] = data
            fast, slow = results['one go'], results['line by line']
            assert torch.equal(fast.edge_index, slow.edge_index) and torch.equal(fast.x, slow.x)
    fast_s, slow_s = (statistics.median(times[k]) for k in ('one go', 'line by line'))
    report = {'machine': f'{platform.machine()}, {platform.processor() or "cpu"}',
              'torch': torch.__version__, 'date': time.strftime('%Y-%m-%d'),
              'nodes': args.nodes, 'edges': args.edges, 'dim': args.dim,
              'one_go_s': fast_s, 'line_by_line_s': slow_s, 'speedup': slow_s / fast_s,
              'all_seconds': times}
    print(f'{args.edges:,} edges + {args.nodes:,} x {args.dim} features: one go {fast_s:.2f} s, '
          f'line by line {slow_s:.2f} s, {slow_s / fast_s:.1f}x (median of {args.repeats}; '
          'identical tensors)')
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2) + '\n')


if __name__ == '__main__':
    main()
