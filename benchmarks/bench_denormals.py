"""How much subnormal floats slow a training step on this CPU, with and without flushing them.

After many epochs, weight decay leaves some first-layer weights and Adam moments below float32's
smallest normal number (1.18e-38); x86 CPUs compute with such *subnormal* values in microcode.
This script times the step where it matters -- the first layer's product, its weight gradient
and the Adam update, on an Amazon-Photo-sized input (7,650 x 745, 30 % non-zero) -- three ways,
in the same process, interleaved:

* ``ieee`` -- the state as it is, subnormals computed in full;
* ``flushed`` -- :func:`gcl.utils.numerics.flush_denormals` (the calling thread's FTZ/DAZ flags;
  torch's other intra-op threads do not get them, so run with several threads to see the gap);
* ``zeroed`` -- the state after :func:`gcl.utils.numerics.zero_subnormals_`, which gcl applies
  after every optimiser step (and the flags), as gcl trains.

The weights: by default a fresh ``[512, 745]`` layer in which ``--fraction`` of the entries (and
of Adam's first moment) are subnormal, as in CSGCL's first layer after 1,770 epochs on Photo
(18 %); or, with ``--checkpoint``, the first layer and its Adam state from a gcl checkpoint.

Usage::

    python benchmarks/bench_denormals.py [--fraction 0.18] [--steps 5] [--repeats 3]
        [--checkpoint RUN/.checkpoints/.../link.pt] [--json benchmarks/results/denormals.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from gcl.utils.io import atomic_write_text
from gcl.utils.numerics import flush_denormals, zero_subnormals_


def synthetic_state(fraction: float, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """A ``[512, 745]`` weight, Adam's two moments, with ``fraction`` subnormal entries."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(512, 745, generator=g) * 0.05
    exp_avg = torch.randn(512, 745, generator=g) * 1e-4
    exp_avg_sq = torch.rand(512, 745, generator=g) * 1e-7
    tiny = torch.rand(512, 745, generator=g) < fraction
    weight[tiny] = torch.rand(int(tiny.sum()), generator=g) * 1e-39
    exp_avg[tiny] = torch.rand(int(tiny.sum()), generator=g) * 1e-39
    return weight, exp_avg, exp_avg_sq


def checkpoint_state(path: Path) -> tuple[torch.Tensor, ...]:
    """The first encoder layer and its Adam moments from a gcl checkpoint."""
    state = torch.load(path, weights_only=True)
    weight = state['state_dict']['encoder.convs.0.lin.weight']
    names = list(state['state_dict'])
    moments = state['optimizer']['state'][names.index('encoder.convs.0.lin.weight')]
    return weight, moments['exp_avg'], moments['exp_avg_sq']


def zeroed_state(weight: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor
                 ) -> tuple[torch.Tensor, ...]:
    """Copies of the state after :func:`zero_subnormals_`, through a real Adam optimiser."""
    param = torch.nn.Parameter(weight.clone())
    optimizer = torch.optim.Adam([param])
    optimizer.state[param] = {'step': torch.tensor(1.0), 'exp_avg': exp_avg.clone(),
                              'exp_avg_sq': exp_avg_sq.clone()}
    zero_subnormals_(optimizer)
    state = optimizer.state[param]
    return param.detach(), state['exp_avg'], state['exp_avg_sq']


def time_steps(weight: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
               x: torch.Tensor, steps: int, flush: bool) -> float:
    """Seconds for ``steps`` products ``x @ W^T``, weight gradients and Adam updates, each from
    the same state (the step's results are discarded: in training the subnormal entries stay
    subnormal, since weight decay keeps shrinking them)."""
    with flush_denormals(flush):
        grad_out = torch.randn(x.shape[0], weight.shape[0],
                               generator=torch.Generator().manual_seed(1))
        start = time.perf_counter()
        for _ in range(steps):
            _ = x @ weight.t()
            grad = grad_out.t() @ x + 1e-5 * weight             # with weight decay
            m = exp_avg.mul(0.9).add_(grad, alpha=0.1)
            v = exp_avg_sq.mul(0.999).addcmul_(grad, grad, value=0.001)
            _ = weight.addcdiv(m, v.sqrt().add_(1e-8), value=-1e-2)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--fraction', type=float, default=0.18)
    parser.add_argument('--checkpoint', type=Path)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    state = checkpoint_state(args.checkpoint) if args.checkpoint else \
        synthetic_state(args.fraction)
    subnormal = float(((state[0] != 0) & (state[0].abs() < torch.finfo(torch.float32).tiny))
                      .float().mean())
    g = torch.Generator().manual_seed(0)
    x = torch.rand(7650, state[0].shape[1], generator=g) * \
        (torch.rand(7650, state[0].shape[1], generator=g) < 0.3)
    zeroed = zeroed_state(*state)
    times: dict[str, list[float]] = {'ieee': [], 'flushed': [], 'zeroed': []}
    for _ in range(args.repeats):
        times['ieee'].append(time_steps(*state, x, args.steps, flush=False))
        times['flushed'].append(time_steps(*state, x, args.steps, flush=True))
        times['zeroed'].append(time_steps(*zeroed, x, args.steps, flush=True))
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {'date': time.strftime('%Y-%m-%d'), 'cpu': platform.processor() or platform.machine(),
              'threads': torch.get_num_threads(), 'cpu_count': os.cpu_count(),
              'weights': str(args.checkpoint) if args.checkpoint else 'synthetic',
              'subnormal_fraction': subnormal, 'steps': args.steps, 'seconds': times,
              'median_s': med, 'speedup_flushed': med['ieee'] / med['flushed'],
              'speedup_zeroed': med['ieee'] / med['zeroed']}
    print(f'{subnormal:.1%} of the weights subnormal; {torch.get_num_threads()} threads, '
          f'{args.steps} steps, median of {args.repeats}: IEEE {med["ieee"]:.3f} s, flushed '
          f'{med["flushed"]:.3f} s ({result["speedup_flushed"]:.1f}x), zeroed '
          f'{med["zeroed"]:.3f} s ({result["speedup_zeroed"]:.1f}x)')
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(result, indent=1) + '\n')


if __name__ == '__main__':
    main()
