"""Louvain / Leiden / label propagation on Cora, Amazon-Computers and Coauthor-CS.

For each (dataset, algorithm, seed): detection wall time, number of communities, modularity
(``gcl.community.modularity``), NMI and ARI against the class labels. Detection runs without the
cache (``community_report(use_cache=False)``), so the time is the algorithm's.

Usage::

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_communities.py \
        [--datasets cora amazon-computers coauthor-cs] [--seeds 0 1 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from gcl.community import community_report
from gcl.data import load_dataset

ALGORITHMS = ('louvain', 'leiden', 'label-propagation')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+',
                        default=['cora', 'amazon-computers', 'coauthor-cs'])
    parser.add_argument('--algorithms', nargs='+', default=list(ALGORITHMS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--json', default=None, help='also write the raw rows here')
    args = parser.parse_args()
    torch.set_num_threads(1)

    rows = []
    print(f'# {time.strftime("%Y-%m-%d")}, {platform.processor() or platform.machine()}, '
          f'python {platform.python_version()}, torch {torch.__version__}, '
          f'torch.get_num_threads()={torch.get_num_threads()}')
    print('| dataset | algorithm | seeds | time s | communities | modularity | NMI | ARI |')
    print('|---|---|---|---|---|---|---|---|')
    for name in args.datasets:
        data = load_dataset(name)
        for algorithm in args.algorithms:
            runs = []
            for seed in args.seeds:
                _, report = community_report(data, algorithm, seed)
                runs.append(report)
                rows.append({'dataset': name, **report})

            def fmt(key: str, digits: int = 4, runs: list = runs) -> str:
                values = [r[key] for r in runs]
                mean = statistics.mean(values)
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                return f'{mean:.{digits}f} ± {std:.{digits}f}'

            print(f'| {name} | {algorithm} | {len(runs)} | {fmt("seconds", 2)} | '
                  f'{fmt("num_communities", 1)} | {fmt("modularity")} | {fmt("nmi")} | '
                  f'{fmt("ari")} |', flush=True)
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(rows, fh, indent=1, default=str)


if __name__ == '__main__':
    main()
