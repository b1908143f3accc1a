"""torch's MKL products against numpy's OpenBLAS in the CPU kernels and encoders (gcl.kernels.gemm).

Three parts, measured in the same run:

1. **products**: the three shapes the blockwise kernel issues, at N = 7,650 (Amazon-Photo),
   B = 256 rows, D = 256, and the encoder's first layer (F = 745) with its weight gradient,
   through :func:`gcl.kernels.gemm.gemm_mm` / ``gemm_addmm_`` with the backend forced to
   ``torch`` and to ``numpy``, interleaved, one pass over all anchor blocks (or one encoder
   product) each, per thread count in ``--threads``;
2. **steps**: forward + backward of the blockwise kernel with its exp cache, the cells of
   ``bench_exp_cache.py`` (GRACE / GCA, Team-up, inter-view only at the Photo, Computers and CS
   sizes), each (cell, variant) in a fresh process through that script's worker;
3. **epochs**: whole training epochs of a shipped config (default GCA on Amazon-Photo), each
   variant in a fresh process, the median of epochs 2..E.

A variant is an environment: ``torch`` / ``numpy`` (``GCL_CPU_GEMM``), and with more than one
thread also ``numpy+passive`` / ``torch+passive`` (``OMP_WAIT_POLICY=PASSIVE``: OpenMP workers
sleep instead of spinning between parallel regions). The variants of a cell run back to back, in
rotating order over ``--repeats``; ratios against ``torch`` are taken per repeat. The JSON is
rewritten after every row, so an interrupted run keeps what it measured.

    GCL_DATASETS_PATH=../shared/datasets python benchmarks/bench_cpu_gemm.py --threads 1 2
    python benchmarks/bench_cpu_gemm.py --render-only      # the tables again from the JSON
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_exp_cache import CELLS, NAMES, _write, add_output_arguments, run  # noqa: E402

BACKENDS = ('torch', 'numpy')
VARIANTS = {'torch': {'GCL_CPU_GEMM': 'torch'},
            'numpy': {'GCL_CPU_GEMM': 'numpy'},
            'numpy+passive': {'GCL_CPU_GEMM': 'numpy', 'OMP_WAIT_POLICY': 'PASSIVE'},
            'torch+passive': {'GCL_CPU_GEMM': 'torch', 'OMP_WAIT_POLICY': 'PASSIVE'}}
SHAPES = {
    'similarity block [B, D] @ [D, N] (forward)': 'forward',
    'gradient [B, N] @ [N, D] (backward, anchors)': 'rows',
    'gradient [N, B] @ [B, D] (backward, candidates)': 'cols',
    'encoder layer [N, F] @ [F, D] (F = 745, forward)': 'layer',
    'encoder weight gradient [D, N] @ [N, F] (backward)': 'weight',
}


def variants_for(threads: int) -> list[str]:
    """The passive-wait variants only matter when there are worker threads to park."""
    return list(VARIANTS) if threads > 1 else ['torch', 'numpy']


def products(threads: int, n: int = 7650, block: int = 256, dim: int = 256,
             repeats: int = 3) -> list[dict]:
    """Seconds for one pass over the anchor blocks, per shape and backend, interleaved."""
    import torch

    from gcl.kernels.gemm import gemm_addmm_, gemm_mm, use_cpu_gemm

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    coef = torch.randn(block, n, generator=g)
    out = torch.empty(block, n)
    grad_rows, grad_cols = torch.zeros(block, dim), torch.zeros(n, dim)
    starts = range(0, n - block + 1, block)
    feats, weight = torch.randn(n, 745, generator=g), torch.randn(dim, 745, generator=g)
    calls = {'forward': lambda s: gemm_mm(u[s:s + block], v.T, out=out),
             'rows': lambda s: gemm_addmm_(grad_rows, coef, v, 0.5),
             'cols': lambda s: gemm_addmm_(grad_cols, coef.T, u[s:s + block], 0.5),
             'layer': lambda s: gemm_mm(feats, weight.T),
             'weight': lambda s: gemm_mm(u.T, feats)}
    once = {'layer', 'weight'}                 # one product per pass, not one per anchor block
    rows = []
    for label, kind in SHAPES.items():
        times: dict[str, list[float]] = {b: [] for b in BACKENDS}
        for repeat in range(repeats + 1):                   # the first round warms up
            for backend in BACKENDS:
                with use_cpu_gemm(backend):
                    began = time.perf_counter()
                    for s in starts if kind not in once else [0]:
                        calls[kind](s)
                    if repeat:
                        times[backend].append(time.perf_counter() - began)
        flops = (2.0 * n * 745 * dim if kind in once else 2.0 * block * n * dim * len(starts))
        rows.append({'shape': label, 'threads': threads,
                     'blocks': 1 if kind in once else len(starts),
                     **{f'{b}_seconds': statistics.median(times[b]) for b in BACKENDS},
                     **{f'{b}_all': times[b] for b in BACKENDS},
                     **{f'{b}_gflops': flops / statistics.median(times[b]) / 1e9
                        for b in BACKENDS}})
    return rows


def epoch_worker(spec: dict) -> dict:
    """In a fresh process: fit ``spec['epochs']`` epochs of the shipped config."""
    import torch

    from gcl.config import load_config
    from gcl.data import load_dataset
    from gcl.kernels.gemm import cpu_gemm_backend
    from gcl.methods import get_method

    torch.set_num_threads(spec['threads'])
    data = load_dataset(spec['dataset'])
    config = load_config(spec['method'], spec['dataset'],
                         overrides={'optim.epochs': spec['epochs']})
    model = get_method(spec['method'])(config)
    model.fit(data)
    seconds = [h['seconds'] for h in model.history_]
    return {**spec, 'all_seconds': seconds, 'seconds': statistics.median(seconds[1:]),
            'gemm': cpu_gemm_backend()}


def _ratio_table(rows: list[dict], key: tuple[str, ...], label) -> list[str]:  # noqa: ANN001
    """One line per cell (``key`` fields): median s per variant, and each variant's per-repeat
    ratio against ``torch``."""
    lines = []
    cells = sorted({tuple(r[k] for k in key) for r in rows}, key=lambda c: (c[-1], *c[:-1]))
    for cell in cells:
        mine = [r for r in rows if tuple(r[k] for k in key) == cell]
        base = {r['repeat']: r['seconds'] for r in mine if r['variant'] == 'torch'}
        parts = []
        for name in VARIANTS:
            runs = sorted((r for r in mine if r['variant'] == name), key=lambda r: r['repeat'])
            if not runs:
                continue
            med = statistics.median(r['seconds'] for r in runs)
            ratios = [base[r['repeat']] / r['seconds'] for r in runs if r['repeat'] in base]
            shown = (f' ({statistics.median(ratios):.2f}x)' if name != 'torch' and ratios
                     else '')
            parts.append(f'{name} {med:.2f}{shown}')
        lines.append(f'| {label(cell)} | {" · ".join(parts)} |')
    return lines


def _generation(meta: dict) -> str:
    """`` (family/model, vector extensions)`` where the JSON has it (files from 2026-12-07 on):
    hosts that print the same model name differ here."""
    return f' ({meta["cpu_generation"]})' if meta.get('cpu_generation') else ''


def render(saved: dict) -> str:
    meta = saved['meta']
    commands = meta.get('commands') or {p: meta['command'] for p in ('products', 'steps',
                                                                     'epochs')}
    shown = ([f'Command: `{meta["command"]}`  '] if len(set(commands.values())) == 1 else
             [f'Command ({part}): `{cmd}`  ' for part, cmd in commands.items()])
    lines = ['# CPU products: torch (MKL) against numpy (OpenBLAS)', '', *shown,
             f'Machine: {meta["machine"]}, {meta["cpu"]}{_generation(meta)}; '
             f'torch {meta["torch"]} (BLAS: MKL), '
             f'numpy {meta["numpy"]} (BLAS: {meta["numpy_blas"]}); `auto` routes '
             f'single-threaded products to numpy here: {meta["prefers_numpy"]}; 1-minute load '
             f'average at the end {meta["load"]:.1f}; {meta["date"]}. CPU only: no GPU was '
             'lent to this task. Variants: `torch` / `numpy` is `GCL_CPU_GEMM`; `+passive` adds '
             '`OMP_WAIT_POLICY=PASSIVE`. In parentheses: speed-up against `torch` (median of '
             'the per-repeat ratios; above 1 is faster).', '',
             "## 1. The products (N = 7,650, B = 256, D = 256, F = 745; one pass over the "
             'anchor blocks, or one encoder product; median of 3 interleaved rounds after a '
             'warm-up)', '',
             '| product | threads | torch s | numpy s | torch GFLOP/s | numpy GFLOP/s | '
             'speed-up |', '|---|---|---|---|---|---|---|']
    for r in saved['products']:
        lines.append(f'| {r["shape"]} | {r["threads"]} | {r["torch_seconds"]:.3f} | '
                     f'{r["numpy_seconds"]:.3f} | {r["torch_gflops"]:.1f} | '
                     f'{r["numpy_gflops"]:.1f} | '
                     f'{r["torch_seconds"] / r["numpy_seconds"]:.2f}x |')
    lines += ['', '## 2. Loss steps: s/step (forward + backward, exp cache on, D = 256; fresh '
              'process per variant, median of the timed steps)', '',
              '| loss, N, threads | variants |', '|---|---|']
    lines += _ratio_table(saved['steps'], ('loss', 'n', 'threads'),
                          lambda c: f'{c[0]}, {c[1]:,} ({NAMES.get(c[1], "synthetic")}), '
                                    f'{c[2]} thread(s)')
    lines += ['', '## 3. Training epochs: s/epoch (shipped config, median of epochs 2..E, fresh '
              'process per variant)', '', '| method, dataset, threads | variants |', '|---|---|']
    lines += _ratio_table(saved['epochs'], ('method', 'dataset', 'threads'),
                          lambda c: f'{c[0]}, {c[1]}, {c[2]} thread(s)')
    lines += ['', 'The two backends agree to float32 rounding, not bit for bit '
              '(`tests/kernels/test_gemm.py` checks values and gradients of every kernel switch '
              'against each other and the dense reference). `GCL_CPU_GEMM=torch` keeps '
              "torch's products; `numpy` forces OpenBLAS at any thread count.", '']
    return '\n'.join(lines)


def _meta() -> dict:
    import numpy as np
    import torch

    from gcl.kernels import gemm

    return dict(command='python ' + ' '.join(sys.argv), machine=f'{platform.machine()}, '
                f'{os.cpu_count()} CPU cores', cpu=gemm.cpuinfo('model name') or 'unknown CPU',
                cpu_generation=gemm.cpu_generation(),
                torch=torch.__version__, numpy=np.__version__,
                numpy_blas=gemm._numpy_blas() or 'unknown',
                prefers_numpy=gemm.machine_prefers_numpy(),
                load=os.getloadavg()[0], date=time.strftime('%Y-%m-%d %H:%M'))


def _rotation(names: list[str], repeat: int) -> list[str]:
    k = repeat % len(names)
    return names[k:] + names[:k]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == '--epoch-worker':
        Path(sys.argv[3]).write_text(json.dumps(epoch_worker(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--threads', type=int, nargs='*', default=[1])
    parser.add_argument('--parts', default='products,steps,epochs')
    parser.add_argument('--repeats', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--sizes', type=int, nargs='*', default=None,
                        help='only the loss cells with these N')
    parser.add_argument('--losses', nargs='*', default=None, help='only these loss cells')
    parser.add_argument('--method', default='gca')
    parser.add_argument('--dataset', default='amazon-photo')
    parser.add_argument('--epochs', type=int, default=4)
    add_output_arguments(parser, 'benchmarks/results/cpu_gemm.json', 'benchmarks/CPU_GEMM.md')
    args = parser.parse_args()
    if args.render_only:
        _write(args.out, render(json.loads(Path(args.json).read_text())))
        print(Path(args.out).read_text())
        return
    parts = set(args.parts.split(','))
    saved: dict = {'meta': _meta(), 'products': [], 'steps': [], 'epochs': []}
    kept = sorted({'products', 'steps', 'epochs'} - parts)
    if kept and Path(args.json).exists():      # a partial run replaces only the parts it measures
        before = json.loads(Path(args.json).read_text())
        saved['meta']['commands'] = before['meta'].get('commands', {
            part: before['meta']['command'] for part in ('products', 'steps', 'epochs')})
        for part in kept:
            saved[part] = before[part]
    saved['meta'].setdefault('commands', {})
    saved['meta']['commands'].update({part: saved['meta']['command'] for part in parts})

    def save() -> None:
        saved['meta'].update(load=os.getloadavg()[0], date=time.strftime('%Y-%m-%d %H:%M'))
        _write(args.json, json.dumps(saved, indent=1))
        _write(args.out, render(saved))

    for threads in args.threads if 'products' in parts else []:
        saved['products'] += products(threads)
        save()
    for threads in args.threads if 'steps' in parts else []:
        for loss, n in CELLS:
            if (args.sizes and n not in args.sizes) or (args.losses and loss not in args.losses):
                continue
            for repeat in range(args.repeats):
                for name in _rotation(variants_for(threads), repeat):
                    spec = dict(loss=loss, n=n, dim=256, variant=name, cache=True,
                                gemm=VARIANTS[name]['GCL_CPU_GEMM'], steps=args.steps,
                                threads=threads, repeat=repeat)
                    saved['steps'].append(run(spec, VARIANTS[name]))
                    print(f'{loss} N={n} {threads} thread(s) {name} repeat {repeat}: '
                          f'{saved["steps"][-1]["seconds"]:.2f} s/step', flush=True)
                    save()
    for threads in args.threads if 'epochs' in parts else []:
        for repeat in range(args.repeats):
            for name in _rotation(variants_for(threads), repeat):
                spec = dict(method=args.method, dataset=args.dataset, epochs=args.epochs,
                            threads=threads, variant=name, repeat=repeat)
                saved['epochs'].append(run(spec, VARIANTS[name], __file__, '--epoch-worker'))
                print(f'{args.method} {args.dataset} {threads} thread(s) {name} repeat '
                      f'{repeat}: {saved["epochs"][-1]["seconds"]:.2f} s/epoch', flush=True)
                save()
    save()
    print(Path(args.out).read_text())


if __name__ == '__main__':
    main()
