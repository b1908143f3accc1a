"""GRACE accuracy after full training: gcl against PyGCL and CogDL, same settings, same probe.

``bench_peers.py`` shows that neither peer optimises GRACE's exact objective on a fixed input
(PyGCL adds ``exp(1/tau)`` to every denominator; CogDL's numerator is the anchor's
self-similarity, and its views drop no edges). This measures what that costs a user.

For each dataset and seed, each toolkit trains GRACE in a fresh process for the shipped config's
epochs (gcl's GRACE config of the dataset, as in ``bench_peers.py``: same widths, activation,
drop rates, tau and Adam settings; the graph ``gcl train`` loads, row-normalised features
included) and saves its encoder's embeddings of the whole graph. gcl's own evaluation then scores
every toolkit's embeddings identically (``gcl.train.run.evaluate_embeddings``, the run's seed):

* node classification under GRACE's protocol ``grace-10-90`` (the leaderboard's: a logistic
  regression on a random 10 % of the nodes, tested on the other 90 %) and under the
  validation-selected ``random-10-10-80``;
* k-means clustering (NMI, ARI, ACC).

So only the training differs: each toolkit's augmentations, encoder and loss.

Usage::

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_peers_accuracy.py \
        --datasets cora citeseer --seeds 0 1 2 3 4 --cogdl-python ../cogdlvenv/bin/python

Writes ``benchmarks/PEERS_ACCURACY.md`` and the per-seed figures in
``benchmarks/results/peers_accuracy.json`` (both atomically, after every run, so a stopped run keeps
what it finished) and prints the report. ``--resume`` keeps the finished runs of that file and
trains only the missing (dataset, toolkit, seed) runs; ``--report-only`` trains nothing and
rewrites the report from the file.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from bench_peers import (
    SHIMS,
    machine_line,
    peer_flags,
    peer_versions,
    run_variant,
    variant_commands,
)

from gcl.kernels.gemm import cpu_generation
from gcl.train.run import evaluate_embeddings
from gcl.utils.io import atomic_write_text

PROTOCOLS = ('grace-10-90', 'random-10-10-80')
#: (column, result key in evaluate_embeddings' output, metric)
COLUMNS = (('GRACE protocol', 'node', 'test_acc'), ('random-10-10-80', 'node:random-10-10-80',
                                                     'test_acc'),
           ('NMI', 'cluster', 'nmi'), ('ARI', 'cluster', 'ari'))


def score(embeddings: Path, graph: Any, config: dict[str, Any], seed: int) -> dict[str, float]:
    """gcl's evaluation of one toolkit's embeddings ``[N, D]`` of ``graph`` under GRACE's
    ``config`` with the run's ``seed``: ``{column: value in %}``."""
    config = copy.deepcopy(config)
    config['seed'] = seed
    config['eval']['node_protocol'] = list(PROTOCOLS)
    z = torch.load(embeddings, weights_only=True)
    if not torch.isfinite(z).all():
        return {'error': 'the embeddings hold NaN or inf'}
    result = evaluate_embeddings(z, graph, config, ['node', 'cluster'])
    return {column: 100 * float(result[key][metric]) for column, key, metric in COLUMNS}


def mean_std(values: list[float]) -> str:
    if not values:
        return '–'
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.fmean(values):.2f} ± {std:.2f}'


def report_rows(dataset: str, runs: dict[str, list[dict]]) -> list[str]:
    rows = []
    for variant, results in runs.items():
        good = [r for r in results if 'error' not in r]
        failed = [r['error'] for r in results if 'error' in r]
        cells = [mean_std([r[c] for r in good]) for c, _, _ in COLUMNS]
        seconds = mean_std([r['sec_per_epoch'] for r in good])
        note = f' ({len(failed)} failed: {failed[0]})' if failed else ''
        seeds = ', '.join(str(r['seed']) for r in good)
        rows.append(f'| {dataset} | {variant} | {seeds}{note} | ' + ' | '.join(cells)
                    + f' | {seconds} |')
    return rows


def hosts_note(raw: dict[str, dict[str, list[dict]]]) -> str:
    """A sentence naming the CPUs the runs ran on when they differ (a ``--resume`` on another
    machine), since the s / epoch column then mixes hosts; ``''`` when they are one."""
    count = Counter(run.get('cpu', 'not recorded') for runs in raw.values()
                    for variant_runs in runs.values() for run in variant_runs)
    if len(count) < 2:
        return ''
    return (' The runs span CPUs, so their s / epoch compare only within one: ' +
            ', '.join(f'{n} on {cpu}' for cpu, n in sorted(count.items())) + '.')


def write_report(args: argparse.Namespace, versions: str, rows: list[str],
                 raw: dict[str, dict[str, list[dict]]]) -> str:
    """The report and the raw figures of the runs done so far, written atomically."""
    flags = f' --seeds {" ".join(map(str, args.seeds))}'
    if args.epochs:
        flags += f' --epochs {args.epochs}'
    flags += peer_flags(args)
    lines = [
        '# GRACE after full training: gcl against its peers (accuracy at equal settings)',
        '',
        f'Command: `python benchmarks/bench_peers_accuracy.py --datasets '
        f'{" ".join(args.datasets)}{flags}`  ',
        f'{machine_line(versions)}.{hosts_note(raw)}',
        '',
        "Every toolkit trains GRACE at gcl's shipped GRACE config of the dataset for its full "
        'number of epochs, on the same graph, once per seed in a fresh process; gcl\'s '
        'evaluation scores every toolkit\'s embeddings the same way, so only the training '
        'differs. Node classification: test accuracy (%) under GRACE\'s `grace-10-90` protocol '
        'and the validation-selected `random-10-10-80`, each averaged over 5 splits; '
        'clustering: k-means NMI and ARI (%). Cells: mean ± std over the seeds; the last column '
        'is the mean training time per epoch (s), first 2 epochs left out. What each toolkit '
        'optimises: `benchmarks/PEERS.md` (the loss check).',
        '',
        '| dataset | toolkit | seeds | ' + ' | '.join(c for c, _, _ in COLUMNS) + ' | s / epoch |',
        '|---|---|---|' + '---|' * len(COLUMNS) + '---|',
        *rows,
    ]
    text = '\n'.join(lines) + '\n'
    atomic_write_text(args.raw, json.dumps(raw, indent=1) + '\n')
    atomic_write_text(args.out, text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--datasets', nargs='+', default=['cora', 'citeseer'])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the shipped config's, as the papers)")
    parser.add_argument('--memory-gb', type=float, default=None,
                        help='address-space limit per training process')
    parser.add_argument('--cogdl-python', default=None,
                        help='python of an environment with cogdl==0.6 (see bench_peers.py); '
                             'without it CogDL is left out')
    parser.add_argument('--out', type=Path, default=Path('benchmarks/PEERS_ACCURACY.md'))
    parser.add_argument('--raw', type=Path,
                        default=Path('benchmarks/results/peers_accuracy.json'))
    parser.add_argument('--resume', action='store_true',
                        help='keep the finished runs of --raw and train only the missing ones')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: write the report from the runs in --raw')
    args = parser.parse_args()
    from settings import grace_graph, grace_settings

    versions = peer_versions(args.cogdl_python)
    variants = ['gcl', 'pygcl'] + (['cogdl'] if args.cogdl_python else [])
    raw: dict[str, dict[str, list[dict]]] = {}
    if (args.resume or args.report_only) and args.raw.exists():
        raw = json.loads(args.raw.read_text())
    elif args.report_only:
        parser.error(f'--report-only reads {args.raw}, which does not exist')

    def runs_of(dataset: str, variant: str) -> list[dict]:
        return raw.setdefault(dataset, {}).setdefault(variant, [])

    def rebuild() -> str:
        rows: list[str] = []
        for dataset in args.datasets:
            runs = {v: sorted((r for r in runs_of(dataset, v) if r['seed'] in args.seeds),
                              key=lambda r: r['seed']) for v in variants}
            if any(runs.values()):
                rows += report_rows(dataset, runs)
        return write_report(args, versions, rows, raw)

    if not args.report_only:
        with tempfile.TemporaryDirectory() as tmp:
            for name, content in SHIMS.items():
                Path(tmp, name).write_text(content)
            for dataset in args.datasets:
                settings = grace_settings(dataset)
                epochs = args.epochs or settings['epochs']
                graph = grace_graph(settings)         # loaded once; the seed does not change it
                commands = variant_commands(dataset, epochs, tmp, args.cogdl_python)
                for seed in args.seeds:
                    for variant in variants:          # interleaved, each in a fresh process
                        previous = [r for r in runs_of(dataset, variant) if r['seed'] == seed]
                        if previous and 'error' not in previous[-1] and \
                                previous[-1].get('epochs') == epochs:
                            continue                  # --resume: this run is done
                        kept = [r for r in runs_of(dataset, variant) if r['seed'] != seed]
                        command, env = commands[variant]
                        embeddings = Path(tmp, f'{dataset}-{variant}-{seed}.pt')
                        result = run_variant(command + [str(seed), str(embeddings)], env,
                                             args.memory_gb)
                        if 'error' not in result:
                            result |= score(embeddings, graph, settings['config'], seed)
                        raw[dataset][variant] = kept + [{'seed': seed, 'epochs': epochs,
                                                         'cpu': cpu_generation(), **result}]
                        print(dataset, variant, seed, result, file=sys.stderr, flush=True)
                        rebuild()                     # a stopped run keeps every finished run
    print(rebuild())

if __name__ == '__main__':
    main()
