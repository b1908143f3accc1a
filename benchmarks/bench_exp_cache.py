"""The blockwise kernel with and without its exp cache: seconds per step and peak RSS.

Each (loss, N, variant) runs in a fresh subprocess that does what a training loop does: the same
loss, forward + backward, on new inputs each step; one warm-up step, then the median of
``--steps`` timed steps. ``recompute`` is ``cache=False`` (every ``exp`` block recomputed in the
backward), ``cache`` is ``cache=True`` (blocks kept in the reusable buffer of
:mod:`gcl.kernels.exp_cache`). The two variants of a cell run back to back, in alternating order
over ``--repeats``, so both see the same machine load; the ratio is taken per repeat.

Losses (D = the projection width of the paper configs, 256 for GCA / CSGCL / gCooL on Amazon and
Coauthor): ``grace`` (symmetric, intra-view negatives: GRACE, GCA), ``teamup`` (the same with
per-candidate weights: CSGCL), ``inter`` (symmetric, inter-view negatives only; gCooL's node loss
is the one-way form of it).

    python benchmarks/bench_exp_cache.py --json benchmarks/results/exp_cache.json \\
        --out benchmarks/EXP_CACHE.md
    python benchmarks/bench_exp_cache.py --render-only     # the table again from the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELLS = [('grace', 7650), ('teamup', 7650), ('inter', 7650), ('grace', 13752),
         ('grace', 18333)]
NAMES = {7650: 'Amazon-Photo', 13752: 'Amazon-Computers', 18333: 'Coauthor-CS'}


def worker(spec: dict) -> dict:
    """One subprocess: ``spec['steps']`` timed steps of one (loss, N, variant).

    ``spec['cache']`` (default: ``variant == 'cache'``) is the kernel's ``cache`` flag;
    ``spec['gemm']`` (default ``auto``) the CPU product backend (:mod:`gcl.kernels.gemm`).
    """
    import resource

    os.environ['GCL_CPU_GEMM'] = spec.get('gemm', 'auto')   # gcl.kernels.gemm's backend
    import torch
    import torch.nn.functional as F

    from gcl.kernels import blockwise_log_denominators
    from gcl.kernels.exp_cache import exp_cache_bytes
    from gcl.kernels.gemm import cpu_gemm_backend

    torch.set_num_threads(spec['threads'])
    n, d, loss = spec['n'], spec['dim'], spec['loss']
    g = torch.Generator().manual_seed(0)
    cache = spec.get('cache', spec['variant'] == 'cache')

    def step() -> float:
        u = torch.randn(n, d, generator=g).requires_grad_()
        v = torch.randn(n, d, generator=g).requires_grad_()
        lw = torch.randn(n, generator=g).mul_(0.5).requires_grad_() if loss == 'teamup' else None
        start = time.perf_counter()
        lse1, lse2 = blockwise_log_denominators(
            F.normalize(u, dim=1), F.normalize(v, dim=1), 0.3, log_weights=lw,
            intra_view=loss != 'inter', cache=cache)
        (lse1.sum() + lse2.sum()).backward()
        return time.perf_counter() - start

    step()                                                   # warm-up (allocates the buffer)
    times = [step() for _ in range(spec['steps'])]
    return {**spec, 'seconds': statistics.median(times), 'all_seconds': times,
            'peak_rss_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            'cache_gb': exp_cache_bytes() / 1e9, 'gemm': cpu_gemm_backend()}


def run(spec: dict, env: dict[str, str] | None = None, script: str = __file__,
        flag: str = '--worker') -> dict:
    """``script flag spec out.json`` in a fresh Python process (with ``env`` added to its
    environment): by default this script's :func:`worker`; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'out.json'
        subprocess.run([sys.executable, script, flag, json.dumps(spec), str(out)],
                       check=True, env={**os.environ, **(env or {})})
        return json.loads(out.read_text())


def render(rows: list[dict], meta: dict) -> str:
    """The markdown table: per cell, the medians over repeats and the per-repeat ratio."""
    lines = ['# Blockwise InfoNCE kernel: exp cache vs recomputation', '',
             f'Command: `{meta["command"]}`  ',
             f'Machine: {meta["machine"]}, {meta["threads"]} torch thread(s), torch '
             f'{rows[0]["torch"]}, products by {rows[0].get("gemm", "torch")} '
             '(`gcl.kernels.gemm`); 1-minute load average at the end {meta["load"]:.1f} (other '
             'jobs were running: the two variants of a cell ran back to back, in alternating '
             f'order, so the ratio is the fair figure); {meta["date"]}. Seconds per step are '
             'medians of the timed steps, then of the repeats.  ',
             'CPU only: no GPU was lent to this task.', '',
             '| loss | N (size of) | D | recompute s/step | cache s/step | speed-up '
             '(per-repeat ratios) | recompute peak RSS GB | cache peak RSS GB | buffer GB |',
             '|---|---|---|---|---|---|---|---|---|']
    cells = sorted({(r['loss'], r['n']) for r in rows}, key=lambda c: (c[1], c[0]))
    for loss, n in cells:
        by = {v: [r for r in rows if (r['loss'], r['n'], r['variant']) == (loss, n, v)]
              for v in ('recompute', 'cache')}
        ratios = [a['seconds'] / b['seconds'] for a, b in zip(by['recompute'], by['cache'])]
        med = {v: statistics.median(r['seconds'] for r in by[v]) for v in by}
        rss = {v: max(r['peak_rss_gb'] for r in by[v]) for v in by}
        lines.append(f'| {loss} | {n:,} ({NAMES.get(n, "synthetic")}) | {meta["dim"]} | '
                     f'{med["recompute"]:.2f} | {med["cache"]:.2f} | '
                     f'{statistics.median(ratios):.2f}x ({", ".join(f"{x:.2f}" for x in ratios)})'
                     f' | {rss["recompute"]:.2f} | {rss["cache"]:.2f} | '
                     f'{by["cache"][0]["cache_gb"]:.2f} |')
    lines += ['', 'Both variants give bit-identical values and gradients '
              '(`tests/kernels/test_exp_cache.py`). `cache=None`, the default, caches when the '
              'buffer fits in a quarter of the free memory.', '']
    return '\n'.join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == '--worker':
        result = worker(json.loads(sys.argv[2]))
        import torch

        result['torch'] = torch.__version__
        Path(sys.argv[3]).write_text(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--sizes', type=int, nargs='*', default=None,
                        help='only the cells with these N')
    add_output_arguments(parser, 'benchmarks/results/exp_cache.json', 'benchmarks/EXP_CACHE.md')
    args = parser.parse_args()
    if args.render_only:
        saved = json.loads(Path(args.json).read_text())
        _write(args.out, render(saved['rows'], saved['meta']))
        print(Path(args.out).read_text())
        return
    rows = []
    for loss, n in CELLS:
        if args.sizes and n not in args.sizes:
            continue
        for repeat in range(args.repeats):
            order = ('recompute', 'cache') if repeat % 2 == 0 else ('cache', 'recompute')
            for variant in order:
                spec = dict(loss=loss, n=n, dim=args.dim, variant=variant, steps=args.steps,
                            threads=args.threads, repeat=repeat)
                rows.append(run(spec))
                print(f'{loss} N={n} {variant} repeat {repeat}: '
                      f'{rows[-1]["seconds"]:.2f} s/step', flush=True)
    rows.sort(key=lambda r: (r['loss'], r['n'], r['repeat']))
    meta = dict(command='python ' + ' '.join(sys.argv), threads=args.threads, dim=args.dim,
                machine=f'{platform.machine()}, {os.cpu_count()} CPU cores',
                load=os.getloadavg()[0], date=time.strftime('%Y-%m-%d %H:%M'))
    _write(args.json, json.dumps({'meta': meta, 'rows': rows}, indent=1))
    _write(args.out, render(rows, meta))
    print(Path(args.out).read_text())


def add_output_arguments(parser: argparse.ArgumentParser, json_path: str, md_path: str) -> None:
    """``--json`` (the rows), ``--out`` (the table) and ``--render-only``."""
    parser.add_argument('--json', default=json_path)
    parser.add_argument('--out', default=md_path)
    parser.add_argument('--render-only', action='store_true',
                        help='rewrite --out from the rows in --json, measuring nothing')


def _write(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically (no half-written table)."""
    tmp = Path(path).with_suffix('.tmp')
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == '__main__':
    main()
