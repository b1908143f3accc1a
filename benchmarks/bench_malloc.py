"""Time per epoch, page faults and peak memory of a CPU training under three malloc settings.

A CPU training allocates and frees the same large tensors every epoch (a GCN layer's ``[N, H]``
activations and their gradients: 141 MB each for gCooL's 2,558-wide layer on Amazon-Computers).
glibc serves every block above 32 MB with ``mmap`` and unmaps it when freed, so the kernel
zeroes and maps the same memory again every epoch: about 110,000 minor page faults per second
and 5-15 % system time in gCooL's Amazon-Computers training. This script runs one training per
setting, each in a fresh process (malloc reads its settings when the process starts), and
reports the median seconds and minor page faults per epoch after the first (the first one
warms up) and the process's peak RSS:

* ``off`` -- glibc as it is;
* ``thp`` -- ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1``: those blocks in 2 MiB pages (gcl's
  default where the kernel offers them, :mod:`gcl.utils.memory`);
* ``heap`` -- ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<64 GiB>``: every block from the heap,
  freed memory kept for the next epoch.

Settings alternate over ``--repeats`` rounds, so a change in the machine's load hits all of them.

Usage::

    python benchmarks/bench_malloc.py [--method gca] [--dataset amazon-photo] [--epochs 12]
        [--threads 2] [--repeats 2] [--json benchmarks/results/malloc.json]

Needs the dataset (``GCL_DATASETS_PATH``); results in ``benchmarks/MALLOC.md``.
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

from gcl.utils.io import atomic_write_text
from gcl.utils.memory import malloc_env

SETTINGS: dict[str, dict[str, str]] = {mode: malloc_env(mode) for mode in ('off', 'thp', 'heap')}
_CLEARED = ('MALLOC_MMAP_MAX_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_ARENA_MAX', 'GLIBC_TUNABLES',
            'GCL_MALLOC', 'GCL_MALLOC_APPLIED')

# Run in the child: train, then print the epochs' seconds and the process's own counters.
CHILD = """
import json, resource, sys
from gcl.config import load_config
from gcl.data import load_dataset
from gcl.methods import get_method
method, dataset, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
config = load_config(method, dataset, overrides={'optim.epochs': epochs})
data = load_dataset(dataset)
faults = []   # the process's minor page faults at the end of each epoch
def count(epoch, method, model, data, loss):
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)
fitted = get_method(method)(config).fit(data, device='cpu', callbacks=[count])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({'seconds': [h['seconds'] for h in fitted.history_],
                  'faults': [b - a for a, b in zip(faults, faults[1:])],
                  'peak_rss_mb': usage.ru_maxrss / 1024}))
"""


def run_one(setting: str, method: str, dataset: str, epochs: int, threads: int) -> dict:
    """One training in a fresh process under ``setting``'s environment."""
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    for key in _CLEARED:
        env.pop(key, None)                      # each setting starts from glibc's defaults
    env.update(SETTINGS[setting])
    done = subprocess.run([sys.executable, '-c', CHILD, method, dataset, str(epochs)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f'{setting}: the training failed:\n{done.stderr[-2000:]}')
    result = json.loads(done.stdout.strip().splitlines()[-1])
    steady = result['seconds'][1:] or result['seconds']   # the first epoch warms up
    result['s_per_epoch'] = statistics.median(steady)
    result['faults_per_epoch'] = statistics.median(result['faults'] or [0])  # epochs 2, 3, ...
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--method', default='gca')
    parser.add_argument('--dataset', default='amazon-photo')
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for _ in range(args.repeats):
        for name in SETTINGS:
            runs[name].append(run_one(name, args.method, args.dataset, args.epochs,
                                      args.threads))
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            's_per_epoch': statistics.median(r['s_per_epoch'] for r in results),
            'faults_per_epoch': statistics.median(r['faults_per_epoch'] for r in results),
            'peak_rss_mb': max(r['peak_rss_mb'] for r in results)}
    base = summary['off']['s_per_epoch']
    for name, row in summary.items():
        row['speedup'] = base / row['s_per_epoch']
        print(f"{name:13s} {row['s_per_epoch']:.3f} s/epoch ({row['speedup']:.2f}x), "
              f"{row['faults_per_epoch']:,.0f} minor faults/epoch, peak RSS "
              f"{row['peak_rss_mb']:,.0f} MiB")
    if args.json is not None:
        from gcl.kernels.gemm import cpuinfo

        result = {'date': time.strftime('%Y-%m-%d %H:%M'), 'cpu': cpuinfo('model name'),
                  'machine': platform.machine(), 'method': args.method,
                  'dataset': args.dataset, 'epochs': args.epochs, 'threads': args.threads,
                  'repeats': args.repeats, 'summary': summary, 'runs': runs}
        atomic_write_text(args.json, json.dumps(result, indent=1) + '\n')


if __name__ == '__main__':
    main()
