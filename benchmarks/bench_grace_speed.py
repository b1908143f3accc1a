"""Seconds per epoch and peak RSS of GRACE on Cora, against an official-style baseline.

Each variant runs in a fresh subprocess (peak RSS only grows within a process):

* ``gcl``      -- ``gcl.GRACE`` with the paper's Cora config (``gcl/configs/grace/cora.yaml``);
* ``official`` -- the same encoder, views and optimiser, but the loss computed the way the official
  GRACE code does (``model.py``: ``exp`` of four dense N x N similarity matrices per step);
* ``cli``      -- the whole ``gcl train --method grace --dataset cora`` command (train + all three
  evaluations), wall time and peak RSS.

Usage::

    python benchmarks/bench_grace_speed.py [--epochs 50] [--repeats 3] [--no-cli]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from gcl.utils.io import atomic_write_text

VARIANT = r'''
import json, resource, sys, time, torch
import torch.nn.functional as F
from gcl.config import load_config
from gcl.data import load_dataset
from gcl.methods import GRACE

variant, epochs = sys.argv[1], int(sys.argv[2])
data = load_dataset('cora')
config = load_config('grace', 'cora', overrides={'optim.epochs': epochs})

class OfficialStyle(GRACE):
    """GRACE with the official repository's loss arithmetic (dense exp, four N x N products)."""
    def step(self, model, data, epoch):
        h1, h2 = self.project(model, data, epoch)
        tau = self.config['loss']['tau']
        def semi(z1, z2):
            z1, z2 = F.normalize(z1), F.normalize(z2)
            refl = torch.exp(z1 @ z1.t() / tau)
            between = torch.exp(z1 @ z2.t() / tau)
            return -torch.log(between.diag() / (refl.sum(1) + between.sum(1) - refl.diag()))
        return 0.5 * (semi(h1, h2) + semi(h2, h1)).mean()

cls = GRACE if variant == 'gcl' else OfficialStyle
model = cls(config).fit(data)
seconds = [h['seconds'] for h in model.history_][2:]  # drop warm-up epochs
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'variant': variant, 'sec_per_epoch': sum(seconds) / len(seconds),
                  'peak_rss_mb': peak, 'final_loss': model.history_[-1]['loss']}))
'''


def run_variant(variant: str, epochs: int) -> dict:
    out = subprocess.run([sys.executable, '-c', VARIANT, variant, str(epochs)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_cli() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(['gcl', 'train', '--method', 'grace', '--dataset', 'cora', '--quiet',
                        '--out', tmp, '--format', 'json'], check=True, capture_output=True)
        wall = time.perf_counter() - start
        metrics = json.loads(next(Path(tmp).glob('grace-cora-*/metrics.json')).read_text())
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {'wall_s': wall, 'sec_per_epoch': metrics['seconds_per_epoch'],
            'peak_rss_mb_children_max': peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--epochs', type=int, default=50)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--out', type=Path, default=Path('benchmarks/GRACE_SPEED.md'))
    parser.add_argument('--no-cli', action='store_true')
    args = parser.parse_args()
    results: dict[str, list[dict]] = {'gcl': [], 'official': []}
    for _ in range(args.repeats):  # interleave the variants
        for variant in results:
            results[variant].append(run_variant(variant, args.epochs))
    cli = None if args.no_cli else run_cli()
    med = {v: statistics.median(r['sec_per_epoch'] for r in rs) for v, rs in results.items()}
    rss = {v: statistics.median(r['peak_rss_mb'] for r in rs) for v, rs in results.items()}
    lines = [
        '# GRACE on Cora: seconds per epoch and peak RSS',
        '',
        f'Command: `python benchmarks/bench_grace_speed.py --epochs {args.epochs} '
        f'--repeats {args.repeats}{" --no-cli" if args.no_cli else ""}`  ',
        f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads; {time.strftime("%Y-%m-%d")}. Medians of '
        f'{args.repeats} fresh subprocesses per variant, interleaved; first 2 epochs dropped.',
        '',
        '| variant | s / epoch | peak RSS (MiB) | speed-up vs official-style | memory ratio |',
        '|---|---|---|---|---|',
    ]
    for variant in results:
        lines.append(f'| {variant} | {med[variant]:.4f} | {rss[variant]:.0f} | '
                     f'{med["official"] / med[variant]:.2f}x | '
                     f'{rss[variant] / rss["official"]:.2f} |')
    if cli is not None:
        lines += ['', '`gcl train --method grace --dataset cora` (200 epochs, then node '
                  'classification, clustering, and link prediction, which trains a second encoder '
                  'on the held-out-edge graph):', '',
                  f'- wall time {cli["wall_s"]:.1f} s; '
                  f'training {cli["sec_per_epoch"]:.4f} s/epoch; '
                  f'peak RSS {cli["peak_rss_mb_children_max"]:.0f} MiB (largest child process '
                  'of this benchmark).']
    else:
        lines += ['', 'The whole `gcl train --method grace --dataset cora` command was not '
                  'timed in this run (`--no-cli`).']
    text = '\n'.join(lines) + '\n'
    atomic_write_text(args.out, text)   # no half-written report if the run is interrupted
    print(text)


if __name__ == '__main__':
    main()
