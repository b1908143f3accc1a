"""gCooL cost on CPU: seconds per training step at the paper settings, and sparse vs dense DeCA.

1. ``--steps``: for each dataset, the shipped config (``gcl/configs/gcool/<dataset>.yaml``, the
   official ``param/*.json``) is built and one optimiser step is timed with the community terms
   on (``alpha > 0``, the first ``0.2 * stride`` epochs) and off (plain node loss, every later
   epoch); the median of ``--repeats`` steps after ``--warmup`` untimed ones (default 1).
   Projected full-run time = ``0.2 * stride`` steps on + the rest off.
2. ``--deca``: the official dense DeCA (``N x N`` adjacency, ``R^T A R``) against gcl's sparse
   ``O(|E| K)`` form, forward + backward, each variant in a fresh subprocess for its peak RSS.

Usage::

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_gcool.py --steps \
        --datasets amazon-photo coauthor-cs amazon-computers --repeats 3
    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_gcool.py --deca
    # two commits' steps: run it with PYTHONPATH set to a worktree of each
    PYTHONPATH=../old-tree python benchmarks/bench_gcool.py --steps --datasets coauthor-cs \
        --threads 2 --phases off --repeats 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from timing import alternate

DECA_VARIANT = r'''
import json, sys, time, torch
from gcl.community import deca_loss, deca_loss_dense, soft_assignment
from gcl.data import load_dataset
from gcl.train.record import peak_rss_mb
torch.set_num_threads(1)
variant, name, k, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = load_dataset(name)
gen = torch.Generator().manual_seed(0)
h = torch.nn.functional.normalize(torch.randn(data.num_nodes, 64, generator=gen), dim=1)
centers = torch.randn(k, 64, generator=gen, requires_grad=True)
fn = deca_loss if variant == 'sparse' else deca_loss_dense
base = peak_rss_mb()
times = []
for _ in range(repeats + 1):
    start = time.perf_counter()
    loss = fn(soft_assignment(h, centers, 0.4), data.edge_index, 0.9)
    loss.backward()
    times.append(time.perf_counter() - start)
    centers.grad = None
peak = peak_rss_mb()
print(json.dumps({'seconds': sorted(times[1:])[len(times[1:]) // 2], 'value': float(loss),
                  'peak_mb': peak, 'extra_mb': peak - base}))
'''


def gcool_step(name: str) -> tuple[Callable[[int], None], dict]:
    """A training step of gCooL at the shipped config of dataset ``name`` (Adam with the
    config's lr and weight decay), as a callable of the epoch, and the config."""
    from gcl.config import load_config
    from gcl.data import load_dataset
    from gcl.methods import GCooL

    config = load_config('gcool', name)
    data = load_dataset(name)
    method = GCooL(config, random_state=0)
    method.prepare(data)
    model = method.build(data)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(config['optim']['lr']),
                                 weight_decay=float(config['optim']['weight_decay']))

    def step(epoch: int) -> None:
        optimizer.zero_grad(set_to_none=True)
        method.step(model, data, epoch).backward()
        optimizer.step()

    return step, config


def time_steps(name: str, repeats: int, warmup: int = 1,
               phases: tuple[str, ...] = ('on', 'off')) -> dict:
    step, config = gcool_step(name)
    stride = float(config['community']['stride'])
    rate = float(config['community']['alpha_rate'])
    epochs = int(config['optim']['epochs'])
    out = {'dataset': name, 'epochs': epochs, 'H': config['encoder']['first_hidden'],
           'D': config['encoder']['hidden']}
    for phase, epoch in (('on', 1), ('off', epochs)):
        if phase not in phases:
            continue
        times = []
        for _ in range(repeats + warmup):
            start = time.perf_counter()
            step(epoch)
            times.append(time.perf_counter() - start)
        out[f'step_{phase}_s'] = statistics.median(times[warmup:])
        out[f'steps_{phase}_s'] = times[warmup:]
    steps_on = min(epochs, int(rate * stride))
    if 'step_on_s' in out and 'step_off_s' in out:
        out['projected_run_min'] = (steps_on * out['step_on_s']
                                    + (epochs - steps_on) * out['step_off_s']) / 60
    return out


def time_gcool_steps(repeats: int, module: Any, attribute: str, variants: dict[str, Any],
                     name: str = 'coauthor-cs') -> dict[str, float]:
    """Median seconds of a gCooL training step on ``name`` (node loss only: the last epoch's
    setting) with ``module.attribute`` set to each of ``variants`` in turn
    (:func:`timing.alternate`); the attribute is restored afterwards."""
    step, config = gcool_step(name)
    epoch = int(config['optim']['epochs'])
    original = getattr(module, attribute)

    def run(value: Any) -> Callable[[], None]:
        def fn() -> None:
            setattr(module, attribute, value)
            step(epoch)
        return fn

    try:
        return alternate({label: run(value) for label, value in variants.items()}, repeats)
    finally:
        setattr(module, attribute, original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', action='store_true')
    parser.add_argument('--deca', action='store_true')
    parser.add_argument('--datasets', nargs='+', default=['amazon-photo', 'coauthor-cs'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first (--steps)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--phases', nargs='+', choices=['on', 'off'], default=['on', 'off'],
                        help='which steps to time (--steps): community terms on, off')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import gcl
    from gcl.train.record import peak_rss_mb

    print(f'# {time.strftime("%Y-%m-%d %H:%M")}, torch {torch.__version__}, '
          f'{args.threads} thread(s), gcl from {Path(gcl.__file__).parent}')
    if args.steps:
        print('| dataset | H | D | epochs | s/step, community on | s/step, node only | '
              'projected run (min) |')
        print('|---|---|---|---|---|---|---|')
        for name in args.datasets:
            r = time_steps(name, args.repeats, args.warmup, tuple(args.phases))
            cells = [f"{r[k]:.2f}" if k in r else '-' for k in ('step_on_s', 'step_off_s')]
            run = f"{r['projected_run_min']:.0f}" if 'projected_run_min' in r else '-'
            print(f"| {name} | {r['H']} | {r['D']} | {r['epochs']} | {cells[0]} | {cells[1]} | "
                  f"{run} |", flush=True)
            for phase in args.phases:
                print(f"# {name} {phase} steps: "
                      + ', '.join(f'{t:.2f}' for t in r[f'steps_{phase}_s']), flush=True)
            print(f'# peak RSS of this process so far: {peak_rss_mb() / 1024:.2f} GB', flush=True)
    if args.deca:
        print('| dataset | N | K | dense s | sparse s | speed-up | dense extra MB | '
              'sparse extra MB | |value diff| |')
        print('|---|---|---|---|---|---|---|---|---|')
        for name, k in (('cora', 7), ('amazon-photo', 8)):
            res = {}
            for variant in ('dense', 'sparse'):
                proc = subprocess.run([sys.executable, '-c', DECA_VARIANT, variant, name, str(k),
                                       str(args.repeats)], capture_output=True, text=True,
                                      check=True)
                res[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
            from gcl.data import load_dataset

            n = load_dataset(name).num_nodes
            d, s = res['dense'], res['sparse']
            print(f"| {name} | {n} | {k} | {d['seconds']:.4f} | {s['seconds']:.4f} | "
                  f"{d['seconds'] / s['seconds']:.1f}x | {d['extra_mb']:.0f} | "
                  f"{s['extra_mb']:.0f} | {abs(d['value'] - s['value']):.1e} |", flush=True)


if __name__ == '__main__':
    main()
