"""The loss kernels' products in float32 against bfloat16 (``train.loss_precision``): seconds per
loss step, per training epoch, and how far the bfloat16 values and gradients are from float32.

``kernel``: the blockwise loss (GRACE / GCA form: symmetric, intra-view negatives; ``teamup``:
the same with CSGCL's per-candidate weights) at Amazon-Photo's and Amazon-Computers' N, D = 256,
forward + backward on fixed inputs. The two precisions run in one process, alternating which goes
first over ``--repeats``, so both see the same machine load; the speed-up is taken per repeat and
its median reported. The error columns compare the bfloat16 step with the float32 one on the same
inputs: the largest absolute difference of a log-denominator and the relative norm of the
gradients' difference.

``epoch``: whole training epochs of a shipped paper config (default GCA on Amazon-Photo), each
precision in its own ``fit`` of ``--epochs`` epochs, alternating over ``--repeats``; the median
of epochs 2.. of each fit.

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_loss_precision.py \\
        --json benchmarks/results/loss_precision_speed.json

What bfloat16 does to accuracy is measured with ``gcl bench`` (see LOSS_PRECISION.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gcl.kernels import blockwise_log_denominators
from gcl.kernels.gemm import PRECISIONS, cpu_gemm_backend, cpuinfo, loss_precision
from gcl.utils.io import atomic_write_text

NAMES = {7650: 'Amazon-Photo', 13752: 'Amazon-Computers'}


def _inputs(n: int, d: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    u = F.normalize(torch.randn(n, d, generator=g), dim=1)
    v = F.normalize(u + 0.7 * torch.randn(n, d, generator=g), dim=1)
    return u, v, 0.3 * torch.randn(n, generator=g)


def loss_step(u0: torch.Tensor, v0: torch.Tensor, weights: torch.Tensor | None,
              precision: str) -> tuple[float, list[torch.Tensor], list[torch.Tensor]]:
    """One forward + backward of the blockwise loss: ``(seconds, [lse1, lse2], [du, dv])``."""
    u, v = u0.clone().requires_grad_(), v0.clone().requires_grad_()
    with loss_precision(precision):
        start = time.perf_counter()
        lse1, lse2 = blockwise_log_denominators(u, v, 0.5, log_weights=weights)
        (lse1.sum() + lse2.sum()).backward()
        seconds = time.perf_counter() - start
    return seconds, [lse1.detach(), lse2.detach()], [u.grad, v.grad]


def kernel(sizes: list[int], dim: int, repeats: int) -> list[dict]:
    rows = []
    for n in sizes:
        for loss in ('grace', 'teamup'):
            u, v, w = _inputs(n, dim)
            weights = w if loss == 'teamup' else None
            loss_step(u, v, weights, 'float32')                   # warm-up (buffers, caches)
            loss_step(u, v, weights, 'bfloat16')
            times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
            for r in range(repeats):
                order = PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]
                outputs = {}
                for p in order:
                    seconds, values, grads = loss_step(u, v, weights, p)
                    times[p].append(seconds)
                    outputs[p] = (values, grads)
            exact, low = outputs['float32'], outputs['bfloat16']
            value_err = max((a - b).abs().max().item() for a, b in zip(exact[0], low[0]))
            grad_err = max(((b - a).norm() / a.norm()).item() for a, b in zip(exact[1], low[1]))
            ratios = [a / b for a, b in zip(times['float32'], times['bfloat16'])]
            rows.append({'n': n, 'dataset': NAMES.get(n, ''), 'dim': dim, 'loss': loss,
                         'float32_s': statistics.median(times['float32']),
                         'bfloat16_s': statistics.median(times['bfloat16']),
                         'speedup': statistics.median(ratios),
                         'max_abs_logden_diff': value_err, 'grad_rel_diff': grad_err})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def epoch(method: str, dataset: str, epochs: int, repeats: int) -> list[dict]:
    from gcl.config import load_config
    from gcl.methods import get_method
    from gcl.train.run import load_data

    config = load_config(method, dataset, overrides={'optim.epochs': epochs})
    data = load_data(config)
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for r in range(repeats):
        for p in (PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]):
            config['train']['loss_precision'] = p
            fitted = get_method(method)(config).fit(data, device='cpu')
            times[p].append(statistics.median(h['seconds'] for h in fitted.history_[1:]))
            print(f'{method} {dataset} {p}: {times[p][-1]:.2f} s/epoch', flush=True)
    ratios = [a / b for a, b in zip(times['float32'], times['bfloat16'])]
    return [{'method': method, 'dataset': dataset, 'epochs': epochs,
             'float32_s': statistics.median(times['float32']),
             'bfloat16_s': statistics.median(times['bfloat16']),
             'speedup': statistics.median(ratios), 'per_repeat': times}]


def render(result: dict) -> str:
    lines = [f"Machine: {result['machine']}, torch {result['torch']}, "
             f"{result['threads']} thread(s), CPU products: {result['gemm']}, {result['date']}.",
             '',
             '| N | loss | float32 s / step | bfloat16 s / step | speed-up (median of repeats) '
             '| max abs log-denominator diff | gradient relative diff |',
             '|---|---|---:|---:|---:|---:|---:|']
    for r in result['kernel']:
        lines.append(f"| {r['n']:,} ({r['dataset']}) | {r['loss']} | {r['float32_s']:.3f} | "
                     f"{r['bfloat16_s']:.3f} | {r['speedup']:.2f}x | "
                     f"{r['max_abs_logden_diff']:.1e} | {r['grad_rel_diff']:.1e} |")
    if result.get('epoch'):
        lines += ['', '| method | dataset | float32 s / epoch | bfloat16 s / epoch | speed-up |',
                  '|---|---|---:|---:|---:|']
        for r in result['epoch']:
            lines.append(f"| {r['method']} | {r['dataset']} | {r['float32_s']:.2f} | "
                         f"{r['bfloat16_s']:.2f} | {r['speedup']:.2f}x |")
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[7650, 13752])
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--repeats', type=int, default=4)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--epoch', nargs=2, metavar=('METHOD', 'DATASET'),
                        default=['gca', 'amazon-photo'])
    parser.add_argument('--epochs', type=int, default=4, help='epochs per fit in the epoch part')
    parser.add_argument('--epoch-repeats', type=int, default=2)
    parser.add_argument('--no-epoch', action='store_true')
    parser.add_argument('--json', type=Path, help='also write the figures here')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = {'machine': f'{platform.machine()}, {cpuinfo("model name") or "cpu"}',
              'torch': torch.__version__, 'threads': args.threads, 'gemm': cpu_gemm_backend(),
              'date': time.strftime('%Y-%m-%d'),
              'kernel': kernel(args.sizes, args.dim, args.repeats)}
    if not args.no_epoch:
        result['epoch'] = epoch(*args.epoch, args.epochs, args.epoch_repeats)
    table = render(result)
    print(table)
    if args.json:
        atomic_write_text(args.json, json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
