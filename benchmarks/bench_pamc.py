"""PamC vs SCGC* (its dense baseline) on CiteSeer and ACM: clustering quality and cost.

Each (method, dataset, seed) runs in a fresh subprocess, so its peak RSS is its own. Reported per
run: ACC / NMI / ARI / F1 of argmax q under two labelled protocols -- ``final`` (the trained
model; labels only score) and ``best-epoch`` (PamC's: each metric's max over epochs, label-
selected) -- the training-loop time (sum of epoch times, without pre-training and k-means), the
whole fit time, and the peak RSS. Ratios SCGC*/PamC come from the same invocation.

    python benchmarks/bench_pamc.py --epochs 200 --ae-epochs 30 --seeds 0 1 2 \\
        --jsonl benchmarks/results/pamc/runs.jsonl > pamc.md

ALGORITHMS.md §5; the paper claims about 2x training time and 5x (GPU) memory.
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

from gcl.utils.io import append_jsonl, read_jsonl

WORKER = r'''
import json, resource, sys, time, torch
torch.set_num_threads(int(sys.argv[6]))
from gcl.config import load_config
from gcl.data import load_dataset
from gcl.methods import get_method
method, dataset, epochs, ae_epochs, seed = sys.argv[1:6]
config = load_config(method, dataset, overrides={'optim.epochs': int(epochs),
                                                  'pretrain.ae_epochs': int(ae_epochs),
                                                  'seed': int(seed)})
data = load_dataset(dataset, normalize_features=bool(config['data']['normalize_features']))
start = time.perf_counter()
model = get_method(method)(config).fit(data)
fit_s = time.perf_counter() - start
train_s = sum(h['seconds'] for h in model.history_)
print(json.dumps({'method': method, 'dataset': dataset, 'seed': int(seed), 'fit_s': fit_s,
                  'train_s': train_s, 'epochs': int(epochs), 'ae_epochs': int(ae_epochs),
                  'rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  'metrics': model.clustering_metrics_}))
'''


def run_one(method: str, dataset: str, epochs: int, ae_epochs: int, seed: int,
            threads: int) -> dict:
    env = dict(os.environ)
    env.setdefault('GCL_DATASETS_PATH', os.path.join(os.path.dirname(__file__), '..', '..',
                                                     'shared', 'datasets'))
    out = subprocess.run([sys.executable, '-c', WORKER, method, dataset, str(epochs),
                          str(ae_epochs), str(seed), str(threads)], capture_output=True,
                         text=True, env=env, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), 'threads': threads}


def _key(run: dict) -> tuple:
    return (run['method'], run['dataset'], run['seed'], run['epochs'], run['ae_epochs'])


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.4f}'
    return f'{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', default=['citeseer', 'acm'])
    parser.add_argument('--epochs', type=int, default=200)
    parser.add_argument('--ae-epochs', type=int, default=30)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--jsonl', default=None,
                        help='append each finished run here as one JSON line; runs already in '
                             'the file (same method, dataset, seed, epochs, ae_epochs) are not '
                             'run again, so a killed invocation resumes')
    args = parser.parse_args()
    done = ({_key(r): r for _, r in read_jsonl(args.jsonl)}     # the last record of each run
            if args.jsonl and os.path.exists(args.jsonl) else {})
    runs = []
    for dataset in args.datasets:
        for seed in args.seeds:
            for method in ('pamc', 'scgc'):
                key = (method, dataset, seed, args.epochs, args.ae_epochs)
                if key in done:
                    runs.append(done[key])
                    continue
                run = run_one(method, dataset, args.epochs, args.ae_epochs, seed, args.threads)
                runs.append(run)
                if args.jsonl:
                    append_jsonl(args.jsonl, run)
                print(f'# done {method} {dataset} seed {seed}', file=sys.stderr, flush=True)
    print(f'Command: `python benchmarks/bench_pamc.py --epochs {args.epochs} --ae-epochs '
          f'{args.ae_epochs} --seeds {" ".join(map(str, args.seeds))}`; '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
          f'{args.threads} threads; {time.strftime("%Y-%m-%d")}.\n')
    print('| dataset | method | protocol | ACC | NMI | ARI | F1 |')
    print('|---|---|---|---|---|---|---|')
    for dataset in args.datasets:
        for method, label in (('pamc', 'PamC'), ('scgc', 'SCGC*')):
            mine = [r for r in runs if r['dataset'] == dataset and r['method'] == method]
            for protocol in ('final', 'best-epoch'):
                cells = [_fmt([r['metrics'][protocol][k] for r in mine])
                         for k in ('acc', 'nmi', 'ari', 'f1')]
                print(f'| {dataset} | {label} | {protocol} | ' + ' | '.join(cells) + ' |')
    print('\n| dataset | PamC train s | SCGC* train s | time ratio | PamC fit s | SCGC* fit s '
          '| PamC peak RSS GB | SCGC* peak RSS GB | RSS ratio |')
    print('|---|---|---|---|---|---|---|---|---|')
    for dataset in args.datasets:
        p = [r for r in runs if r['dataset'] == dataset and r['method'] == 'pamc']
        s = [r for r in runs if r['dataset'] == dataset and r['method'] == 'scgc']
        pt = statistics.median(r['train_s'] for r in p)
        st = statistics.median(r['train_s'] for r in s)
        pr = max(r['rss_gb'] for r in p)
        sr = max(r['rss_gb'] for r in s)
        print(f'| {dataset} | {pt:.1f} | {st:.1f} | {st / pt:.2f}x | '
              f'{statistics.median(r["fit_s"] for r in p):.1f} | '
              f'{statistics.median(r["fit_s"] for r in s):.1f} | {pr:.2f} | {sr:.2f} | '
              f'{sr / pr:.2f}x |')


if __name__ == '__main__':
    main()
