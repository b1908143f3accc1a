"""Is ``gcl bench --jobs 2`` faster than one job on all cores, on this machine?

``gcl bench --jobs J`` trains J groups side by side, each with ``cores // J`` intra-op threads.
Whether that beats one group on all cores depends on the CPU (memory bandwidth, cache, how well
the products scale with threads), so this script measures it for one method and dataset: the
same work, two trainings of ``--epochs`` epochs (seeds 0 and 1), done

* ``sequential`` -- one after the other, each with all ``--threads`` threads (``--jobs 1``);
* ``side-by-side`` -- at the same time, each with ``threads // 2`` threads (``--jobs 2``).

Each training runs in a fresh subprocess through the library's own ``Method.fit`` (the shipped
paper config, only the epoch count changed), so the figure is that of a real ``gcl bench`` cell's
training. Reported: wall time of the whole work, the trainings' seconds per epoch (first 3 epochs
dropped), and ``speed-up = sequential wall / side-by-side wall`` (above 1: ``--jobs 2`` wins).
Modes are interleaved over ``--repeats``; medians are reported.

Usage::

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_jobs.py \\
        --method csgcl --dataset amazon-photo --epochs 60 --repeats 2 \\
        --json benchmarks/results/jobs.jsonl

Nothing else should run on the machine meanwhile (pause other jobs with ``kill -STOP``).
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

WORKER = r'''
import json, sys, time, torch
from gcl.config import load_config
from gcl.methods import get_method
from gcl.train.run import load_data
from gcl.utils.seed import seed_everything

method, dataset, epochs, seed, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
config = load_config(method, dataset, overrides={'optim.epochs': epochs, 'seed': seed})
seed_everything(seed)
data = load_data(config)
start = time.perf_counter()
model = get_method(method)(config).fit(data)
wall = time.perf_counter() - start
seconds = [h['seconds'] for h in model.history_][3:]
print(json.dumps({'sec_per_epoch': sum(seconds) / len(seconds), 'fit_s': wall}))
'''


def _start(method: str, dataset: str, epochs: int, seed: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, '-c', WORKER, method, dataset, str(epochs), str(seed),
                             str(threads)], env=env, stdout=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f'a training subprocess failed (exit {proc.returncode})')
    return json.loads(out.strip().splitlines()[-1])


def run_mode(mode: str, method: str, dataset: str, epochs: int, threads: int) -> dict:
    """Two trainings (seeds 0, 1): one after the other on ``threads`` threads, or together on
    ``threads // 2`` each. Returns the wall time and each training's s/epoch."""
    start = time.perf_counter()
    if mode == 'sequential':
        runs = [_finish(_start(method, dataset, epochs, seed, threads)) for seed in (0, 1)]
    else:
        procs = [_start(method, dataset, epochs, seed, max(1, threads // 2)) for seed in (0, 1)]
        runs = [_finish(p) for p in procs]
    return {'wall_s': time.perf_counter() - start,
            'sec_per_epoch': [r['sec_per_epoch'] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--method', default='gca')
    parser.add_argument('--dataset', default='amazon-photo')
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--threads', type=int, default=os.cpu_count() or 2,
                        help='cores for the whole work (default: all)')
    parser.add_argument('--json', type=Path, help='append the result as one JSON line here')
    args = parser.parse_args()
    if args.threads < 2:
        parser.error('--threads must be at least 2 to share between two jobs')
    if args.epochs < 5:
        parser.error('--epochs must be at least 5 (the first 3 are dropped as warm-up)')

    modes = ('sequential', 'side-by-side')
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    for _ in range(args.repeats):
        for mode in modes:
            results[mode].append(run_mode(mode, args.method, args.dataset, args.epochs,
                                          args.threads))
    wall = {m: statistics.median(r['wall_s'] for r in rs) for m, rs in results.items()}
    per_epoch = {m: statistics.median(s for r in rs for s in r['sec_per_epoch'])
                 for m, rs in results.items()}
    record = {
        'method': args.method, 'dataset': args.dataset, 'epochs': args.epochs,
        'repeats': args.repeats, 'threads': args.threads, 'cpu': platform.processor() or
        platform.machine(), 'cpu_count': os.cpu_count(), 'date': time.strftime('%Y-%m-%d'),
        'wall_s': wall, 'sec_per_epoch': per_epoch,
        'speedup_side_by_side': wall['sequential'] / wall['side-by-side'],
        'runs': results,
    }
    for mode in modes:
        print(f'{mode:>13}: wall {wall[mode]:7.1f} s for 2 x {args.epochs} epochs, '
              f'{per_epoch[mode]:.3f} s/epoch per training')
    print(f'--jobs 2 against --jobs 1: {record["speedup_side_by_side"]:.2f}x the throughput')
    if args.json is not None:
        from gcl.utils.io import append_jsonl
        append_jsonl(args.json, record)


if __name__ == '__main__':
    main()
