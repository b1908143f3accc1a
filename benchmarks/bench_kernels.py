"""Contrastive kernels and GCN propagation: time and peak memory; regenerates KERNELS.md.

Every (variant, N) runs in a fresh subprocess (peak RSS only grows), and the plain ``torch.mm``
rate it is compared with is measured in the same invocation, on the block shape the blockwise
kernel uses. Variants:

- ``dense`` / ``blockwise`` / ``sampled``: the InfoNCE family of
  :func:`gcl.kernels.contrastive_loss` (GRACE's symmetric loss with intra-view negatives,
  D = 128), forward + backward;
- ``pamc`` / ``scgc``: PamC's meta-node block loss vs SCGC*'s dense loss (d = 10, K = 10,
  positives: self + 10 random neighbours per node);
- ``gcnconv`` / ``csr``: one GCN propagation of a 256-channel signal on a ``dropout_edge`` view
  of ``synthetic-sbm`` (avg degree 10), normalisation included, forward + backward;
- ``grace``: a full GRACE epoch on the million-node graph (``--grace``).

Large exact runs are timed on a fraction of the anchor blocks and scaled by the number of
blocks (each block costs the same: it meets all N columns); the table says so.

    python benchmarks/bench_kernels.py                 # the full table (about an hour here)
    python benchmarks/bench_kernels.py --sizes 2708 --variants dense blockwise   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

SIZES = [2708, 13752, 50_000, 200_000, 1_000_000]
LOSS_VARIANTS = ['dense', 'blockwise', 'sampled', 'pamc', 'scgc']
PROP_VARIANTS = ['gcnconv', 'csr']
DIM = 128
NUM_NEGATIVES = 256
FULL_BLOCKWISE_MAX = 13752          # above: time a fraction of the blocks
FRACTION_BLOCKS = 4                 # anchor blocks timed there (spread over the rows)
DENSE_MAX = 13752                   # above: the [N, N] matrices do not fit (see KERNELS.md)
GCNCONV_MAX = 200_000               # above: its [E, 256] message tensors (8 GB each) do not fit


# ----------------------------------------------------------------------------- worker side
def _rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _make_step(variant: str, n: int, shared: dict):  # noqa: ANN202
    """A no-argument callable doing one forward + backward of ``variant`` at size ``n``, and
    ``info`` (FLOPs, the fraction of blocks timed, ...). ``shared`` caches inputs across
    variants of one worker (the same graph for GCNConv and CSR)."""
    import torch
    import torch.nn.functional as F

    info: dict = {}
    if variant in ('dense', 'blockwise', 'sampled', 'mm'):
        # the tables document torch's own products (numpy's OpenBLAS route: CPU_GEMM.md)
        os.environ['GCL_CPU_GEMM'] = 'torch'
        from gcl.kernels import blockwise as bw
        from gcl.kernels import contrastive_loss, default_block_size

        if 'h' not in shared:
            shared['h'] = (torch.randn(n, DIM, requires_grad=True),
                           torch.randn(n, DIM, requires_grad=True))
        h1, h2 = shared['h']
        block = default_block_size(n)
        info['block'] = block
        if variant == 'mm':
            a, b = torch.randn(block, DIM), torch.randn(n, DIM)
            info['flops'] = 2.0 * block * n * DIM
            return (lambda: a @ b.T), info
        if variant == 'blockwise' and n > FULL_BLOCKWISE_MAX:
            u = F.normalize(h1.detach(), dim=1)
            v = F.normalize(h2.detach(), dim=1)
            starts = _sample_starts(n, block, FRACTION_BLOCKS)
            shift = bw._fixed_shift(u, v, None, None, 0.4)
            lse = torch.full((n,), math.log(2 * n) + shift)
            grad = torch.full((n,), 1.0 / n)
            opts = (0.4, block, True, True, True)

            def fraction() -> None:
                bw._forward_shifted(u, v, None, None, shift, *opts, starts=starts)
                _backward_fraction(bw, u, v, lse, grad, shift, opts, starts)

            info['flops'] = blockwise_flops(n, DIM, block, starts)
            info['fraction'] = info['flops'] / blockwise_flops(n, DIM, block)
            return fraction, info
        kwargs: dict = {'mode': variant}
        if variant == 'sampled':
            kwargs['num_negatives'] = NUM_NEGATIVES
        if variant == 'blockwise':
            kwargs['block_size'] = block
            # time the recomputing kernel the tables document (the exp cache: EXP_CACHE.md)
            from gcl.kernels import exp_cache

            exp_cache.CACHE_MEMORY_FRACTION = 0.0
        if variant != 'sampled':          # the exact kernels' matrix-product FLOPs
            info['flops'] = (12 * 2.0 * n * n * DIM if variant == 'dense'
                             else blockwise_flops(n, DIM, block))

        def loss_step() -> None:
            contrastive_loss(h1, h2, 0.4, **kwargs).backward()
            h1.grad = h2.grad = None

        return loss_step, info
    if variant in ('pamc', 'scgc'):
        from gcl.losses import pamc_block_loss, scgc_dense_loss

        if 'z' not in shared:
            self_loops = torch.arange(n).repeat(2, 1)
            neighbours = torch.stack([torch.arange(n).repeat_interleave(10),
                                      torch.randint(0, n, (10 * n,))])
            index = torch.cat([self_loops, neighbours], dim=1)
            shared['z'] = (torch.randn(n, 10, requires_grad=True), index,
                           torch.full((index.size(1),), 1.0 / 11), torch.randint(0, 10, (n,)))
        z, index, weight, assignment = shared['z']
        if variant == 'pamc':
            def pamc_step() -> None:
                pamc_block_loss(z, index, weight, assignment, 0.5).backward()
                z.grad = None

            return pamc_step, info
        dense = torch.zeros(n, n)
        dense[index[0], index[1]] = weight

        def scgc_step() -> None:
            scgc_dense_loss(z, dense, 0.25).backward()
            z.grad = None

        return scgc_step, info
    if variant in ('gcnconv', 'csr'):
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
        from torch_geometric.utils import dropout_edge

        from gcl.data.synthetic import synthetic_sbm
        from gcl.kernels import csr_propagate, gcn_adjacency

        if 'view' not in shared:
            graph = synthetic_sbm(num_nodes=n, avg_degree=10, num_features=8, seed=0)
            shared['view'] = dropout_edge(graph.edge_index, p=0.2)[0]
            shared['x'] = torch.randn(n, 256, requires_grad=True)
        view, x = shared['view'], shared['x']
        info['edges'] = int(view.size(1))
        if variant == 'gcnconv':
            from torch_geometric.nn import GCNConv

            conv = GCNConv(256, 256)

            def gcnconv_step() -> None:
                index, weight = gcn_norm(view, None, n)
                conv.propagate(index, x=x, edge_weight=weight).sum().backward()
                x.grad = None

            return gcnconv_step, info

        def csr_step() -> None:
            csr_propagate(gcn_adjacency(view, n), x).sum().backward()
            x.grad = None

        return csr_step, info
    raise ValueError(variant)


def worker(spec: dict) -> dict:
    """``mode='rss'``: one call of one variant, for its peak RSS. ``mode='time'``: every variant
    of ``spec['group']`` built in this process, warmed up, then timed in interleaved rounds
    (median), so their ratios share the machine's conditions."""
    import torch

    torch.set_num_threads(int(spec.get('threads', 2)))
    torch.manual_seed(0)
    n = int(spec['n'])
    if spec.get('variant') == 'grace':
        return {'variant': 'grace', 'n': n, **_grace_epoch(spec), 'peak_rss_gb': _rss_gb()}
    shared: dict = {}
    if spec['mode'] == 'rss':
        step, info = _make_step(spec['variant'], n, shared)
        start = time.perf_counter()
        step()
        return {'variant': spec['variant'], 'n': n, 'kind': 'rss', 'peak_rss_gb': _rss_gb(),
                'one_call_s': time.perf_counter() - start, **info}
    steps = {name: _make_step(name, n, shared) for name in spec['group']}
    rounds = int(spec.get('rounds', 3))
    if spec.get('warmup', True):
        for step, _ in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (step, _) in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    out = {'kind': 'time', 'n': n, 'rounds': rounds, 'variants': {}}
    for name, (_, info) in steps.items():
        middle = sorted(times[name])[rounds // 2]
        entry = {**info, 'measured_s': middle, 'all_s': times[name]}
        entry['seconds'] = middle / info.get('fraction', 1.0)
        if 'flops' in info:
            entry['gflops'] = info['flops'] / middle / 1e9
        out['variants'][name] = entry
    return out


def _backward_fraction(bw, u, v, lse, grad, shift, opts, starts):  # noqa: ANN001, ANN202
    """The shifted backward restricted to the anchor blocks beginning at ``starts``."""
    return bw._backward_shifted(u, v, None, None, lse, lse, grad, grad, False, shift, *opts,
                                starts=starts)


def _sample_starts(n: int, block: int, count: int) -> list[int]:
    """``count`` anchor blocks spread evenly over the rows: with triangular intra-view blocks a
    block's cost falls linearly with its start, so an even spread estimates the mean."""
    blocks = math.ceil(n / block)
    picks = sorted({int(round((k + 0.5) * blocks / count - 0.5)) for k in range(count)})
    return [min(b, blocks - 1) * block for b in picks]


def blockwise_flops(n: int, d: int, block: int, starts: list[int] | None = None) -> float:
    """Matrix-product FLOPs of the blockwise symmetric GRACE kernel (forward + backward) over
    the anchor blocks at ``starts`` (default all): per block ``[B, N]`` inter-view products
    (1 forward, 1 recomputed, 2 gradient) and, per view, the triangular ``[B, N - start]``
    intra-view block (1 forward, 1 recomputed, 1 gradient for the rows, 1 for the later rows
    over ``[B, N - stop]``)."""
    total = 0.0
    for start in (range(0, n, block) if starts is None else starts):
        rows = min(block, n - start)
        tri = rows * (n - start)
        tail = rows * (n - start - rows)
        total += 4 * rows * n + 2 * (3 * tri + tail)
    return 2.0 * d * total


def _grace_epoch(spec: dict) -> dict:
    import torch

    from gcl.data import load_dataset
    from gcl.methods import GRACE

    start = time.perf_counter()
    data = load_dataset('synthetic-sbm', num_nodes=int(spec['n']), avg_degree=10,
                        num_features=int(spec.get('features', 128)))
    load_s = time.perf_counter() - start
    rss_data = _rss_gb()
    mode = spec['mode']
    options = {'mode': mode, 'hidden': int(spec['hidden'])}
    if mode == 'sampled':
        options['num_negatives'] = int(spec['k'])
    method = GRACE(epochs=1, random_state=0, **options)
    model = method.build(data)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    if mode == 'sampled':
        times = []
        for epoch in range(1, int(spec.get('epochs', 2)) + 1):
            begin = time.perf_counter()
            optimizer.zero_grad()
            loss = method.step(model, data, epoch)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - begin)
        return {'load_s': load_s, 'epoch_s': times, 'seconds': min(times),
                'rss_data_gb': rss_data, 'loss': float(loss.detach())}
    # exact mode: time the encoder + head for both views, and a fraction of the loss blocks
    from gcl.kernels import blockwise as bw
    from gcl.kernels import default_block_size

    begin = time.perf_counter()
    h1, h2 = method.project(model, data, 1)
    u = torch.nn.functional.normalize(h1, dim=1)
    v = torch.nn.functional.normalize(h2, dim=1)
    encode_fwd = time.perf_counter() - begin
    n = u.size(0)
    block = default_block_size(n)
    starts = _sample_starts(n, block, int(spec.get('blocks', 1)))
    ud, vd = u.detach(), v.detach()
    shift = bw._fixed_shift(ud, vd, None, None, 0.4)
    opts = (0.4, block, True, True, True)
    begin = time.perf_counter()
    bw._forward_shifted(ud, vd, None, None, shift, *opts, starts=starts)
    lse = torch.full((n,), math.log(2 * n) + shift)
    grad = torch.full((n,), 1.0 / n)
    _backward_fraction(bw, ud, vd, lse, grad, shift, opts, starts)
    loss_fraction = time.perf_counter() - begin
    begin = time.perf_counter()
    ((u * torch.randn_like(u)).sum() + (v * torch.randn_like(v)).sum()).backward()
    encode_bwd = time.perf_counter() - begin
    fraction = (blockwise_flops(n, u.size(1), block, starts)
                / blockwise_flops(n, u.size(1), block))
    loss_s = loss_fraction / fraction
    return {'load_s': load_s, 'rss_data_gb': rss_data, 'encoder_s': encode_fwd + encode_bwd,
            'loss_s_extrapolated': loss_s, 'fraction': fraction,
            'seconds': encode_fwd + encode_bwd + loss_s}


# ----------------------------------------------------------------------------- parent side
def run(spec: dict, timeout: int) -> dict:
    try:
        done = subprocess.run([sys.executable, __file__, '--worker', json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**spec, 'error': f'timeout after {timeout} s'}
    if done.returncode != 0:
        return {**spec, 'error': (done.stderr.strip().splitlines() or ['failed'])[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_s(value: float | None) -> str:
    if value is None:
        return '-'
    return f'{value:.3f}' if value < 10 else f'{value:.1f}'


def measure_size(n: int, args: argparse.Namespace) -> list[dict]:
    """Time each group interleaved in one worker, then one fresh worker per variant for RSS."""
    chosen = set(args.variants)
    groups = []
    loss = [v for v in ('dense', 'blockwise', 'sampled') if v in chosen
            and (v != 'dense' or n <= DENSE_MAX)]
    if 'blockwise' in loss:
        loss.append('mm')
    pamc = [v for v in ('pamc', 'scgc') if v in chosen and (v != 'scgc' or n <= DENSE_MAX)]
    prop = [v for v in ('gcnconv', 'csr') if v in chosen and (v != 'gcnconv' or n <= GCNCONV_MAX)]
    groups = [g for g in (loss, pamc, prop) if g]
    flat: dict[str, dict] = {}
    for group in groups:
        spec = {'mode': 'time', 'group': group, 'n': n, 'threads': args.threads,
                'rounds': 3 if n <= 13752 else 1, 'warmup': n <= 50_000}
        out = run(spec, args.timeout)
        print(f'# time N={n} {group}: {out}', file=sys.stderr, flush=True)
        for name in group:
            if 'error' in out:
                flat[name] = {'variant': name, 'n': n, 'error': out['error']}
            else:
                flat[name] = {'variant': name, 'n': n, **out['variants'][name]}
    if 'mm' in flat and 'blockwise' in flat:
        flat['blockwise']['mm_gflops'] = flat.pop('mm').get('gflops')
        if 'dense' in flat:
            flat['dense']['mm_gflops'] = flat['blockwise']['mm_gflops']
    for name in list(flat):
        if 'error' in flat[name]:
            continue
        rss = run({'mode': 'rss', 'variant': name, 'n': n, 'threads': args.threads},
                  args.timeout)
        flat[name]['peak_rss_gb'] = rss.get('peak_rss_gb')
        print(f'# rss N={n} {name}: {rss.get("peak_rss_gb")}', file=sys.stderr, flush=True)
    for name, reason in (('dense', 'does not fit'), ('scgc', 'does not fit'),
                         ('gcnconv', 'does not fit')):
        if name in chosen and name not in flat:
            flat[name] = {'variant': name, 'n': n, 'error': reason}
    return list(flat.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    parser.add_argument('--sizes', type=int, nargs='+', default=SIZES)
    parser.add_argument('--variants', nargs='+', default=LOSS_VARIANTS + PROP_VARIANTS)
    parser.add_argument('--grace', action='store_true', help='also the 1M-node GRACE epochs')
    parser.add_argument('--grace-hidden', type=int, default=32)
    parser.add_argument('--grace-k', type=int, default=256)
    # One thread: on a machine shared with other jobs, two torch threads stall at every
    # parallel region's barrier when one is descheduled (20-50x slower measured here).
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--timeout', type=int, default=900)
    parser.add_argument('--json', default=None, help='write the raw results here too')
    parser.add_argument('--out', default=None, help='write the Markdown report here '
                        '(benchmarks/KERNELS.md); default: stdout')
    parser.add_argument('--render-from', default=None,
                        help='re-render the report from a --json file instead of measuring')
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.render_from:
        with open(args.render_from) as fh:
            saved = json.load(fh)
        args.sizes = sorted({r['n'] for r in saved if r.get('variant') not in ('grace', 'meta')})
        _emit(render(saved, args), args.out)
        return
    results = []
    for n in args.sizes:
        results += measure_size(n, args)
    if args.grace:
        for mode in ('sampled', 'blockwise'):
            spec = {'variant': 'grace', 'n': 1_000_000, 'mode': mode, 'k': args.grace_k,
                    'hidden': args.grace_hidden, 'threads': args.threads}
            record = run(spec, args.timeout)
            record.update(mode=mode, k=args.grace_k, hidden=args.grace_hidden,
                          threads=args.threads, date=time.strftime('%Y-%m-%d %H:%M'),
                          load=os.getloadavg()[0])
            results.append(record)
            print(f'# grace {mode}: {results[-1]}', file=sys.stderr, flush=True)
    results.append({'variant': 'meta', 'n': 0,
                    'command': f'python benchmarks/bench_kernels.py {" ".join(sys.argv[1:])}',
                    'date': time.strftime('%Y-%m-%d %H:%M'), 'load': os.getloadavg()[0],
                    'threads': args.threads})
    if args.json:
        with open(args.json, 'w') as fh:
            json.dump(results, fh, indent=1)
    _emit(render(results, args), args.out)


def _emit(text: str, path: str | None) -> None:
    if path is None:
        print(text)
        return
    with open(path, 'w') as fh:
        fh.write(HEADER + text + '\n')


HEADER = """# Contrastive kernels: time and memory (generated by `benchmarks/bench_kernels.py`)

Which loss mode does what (`gcl.kernels.contrastive_loss`, `info_nce(mode=...)`, `loss.mode`):

- `dense`: exact, the reference; O(N^2 D) time, O(N^2) memory (four [N, N] matrices kept for
  autograd). Tests and tiny graphs.
- `blockwise`: exact, same value and gradients as dense (float64 tests at 1e-6); O(N^2 D) time
  with 8 [N, N]-sized products instead of dense's 12 (the intra-view blocks are symmetric, so
  each anchor block meets only the columns from its own first row on); O(N B + N D) memory,
  B = `gcl.kernels.default_block_size` rows. `auto` picks it on CPU from N = 257 on.
  While its `exp` blocks fit in a quarter of the free memory (about 2 N^2 floats: 2.7 GB at
  Coauthor-CS) it keeps them from forward to backward in one reusable buffer
  (`gcl.kernels.exp_cache`): 6 products instead of 8, half the `exp` passes, the same numbers
  bit for bit; measured in `EXP_CACHE.md`. The tables below time the recomputing kernel
  (`cache=False`), whose memory stays O(N B) at any N. On CPU the kernel's products go
  through numpy's OpenBLAS where torch's MKL is slow (`gcl.kernels.gemm`: AMD CPUs by default,
  `GCL_CPU_GEMM=torch|numpy|auto`), measured in `CPU_GEMM.md`; the tables below time torch's.
- `sampled` (`gcl train --negatives K`): an **approximation**. K uniform negatives per call,
  shared by all anchors; the denominator estimate is unbiased, its log (the loss) is biased down
  (Jensen), and K = N gives the exact value. O(N K D) time, O(B K + N D) memory.
- `auto` (default): dense for N <= 256 on CPU (8,192 on CUDA, not measured) while its matrices
  fit in half the free memory, blockwise otherwise. Exact either way.

The same block machinery computes DCL / DCLW (`positive_in_denominator=False`, positive weights),
Team-up (`log_weights`, per-candidate weights with their gradient) and MEOW (`groups`, pairwise
cluster weights built block by block). Meta-node / community sums use `gcl.kernels.segment`
(PyG `scatter`; `torch_scatter` when importable, not installed here). GCN propagation goes through
a CSR SpMM (`GCNEncoder(propagation='csr')`, chosen by `'auto'` on CPU at every size, and on
other devices once GCNConv's [E, C] message tensor would pass 256 MiB).

Reading the tables: the kernels compared in one table row were timed in one process,
interleaved, so they share the machine's conditions (the load average is given below). The
kernel tables use D = 128; the 1M-node GRACE run uses `encoder.hidden=32` (projections of 32
dimensions), which is why its whole epoch is faster than the D = 128 sampled kernel alone at
N = 1M. "blockwise / mm" compares the kernel's matrix-product FLOPs per second
(the FLOPs it actually performs, triangular blocks counted as such) with a plain `torch.mm` on its
[B, D] x [D, N] block shape: at small N that product runs from cache and the kernel's element-wise
passes (exp, scaling, masks) weigh more. From N = 50,000 on, one [B, N] block (51 MB at 50k, 1 GB
at 1M) no longer fits the 32 MB L3 cache, so the kernel and that reference product both run from
memory at a third of their small-N rate; tiling the columns as well as the rows is the next
step for large graphs.

"""


def _when(record: dict) -> str:
    """``, 2 threads, load 0.4, 2026-12-01 08:30`` when the record says so."""
    parts = [f'{record["threads"]} torch thread{"s" if record["threads"] != 1 else ""}'
             if 'threads' in record else '',
             f'load average {record["load"]:.1f}' if 'load' in record else '',
             str(record.get('date', ''))]
    return ''.join(f', {p}' for p in parts if p)


def _measured(by: dict, sizes: list[int], variants: tuple[str, ...]) -> list[int]:
    """The sizes at which at least one of ``variants`` was timed (a table's rows)."""
    return [n for n in sizes if any('seconds' in by.get((v, n), {}) for v in variants)]


def _scgc_extrapolation(by: dict, measured: list[int], target: int = 100_000) -> list[str]:
    """A labelled estimate of SCGC* at ``target`` nodes from its measured growth exponent
    (two largest measured sizes), against PamC measured at ``target`` (when it was)."""
    pamc = by.get(('pamc', target), {})
    if len(measured) < 2 or 'seconds' not in pamc:
        return []
    small, large = sorted(measured)[-2:]
    t_small, t_large = by[('scgc', small)]['seconds'], by[('scgc', large)]['seconds']
    exponent = math.log(t_large / t_small) / math.log(large / small)
    # conservative: plain N^2 growth from the largest measured size (the measured growth is
    # steeper where the [N, N] matrices stop fitting in cache and get paged in)
    estimate = t_large * (target / large) ** 2
    speedup = estimate / pamc['seconds']
    return [f'- At N = {target:,} (the target size): PamC measured {pamc["seconds"]:.3f} s; '
            f'SCGC*, which cannot run there, would take at least about {estimate:.0f} s (its '
            f'N = {large:,} time scaled by N^2, the least its [N, N] products grow; measured '
            f'growth between N = {small:,} and {large:,}: N^{exponent:.2f}; an extrapolation, '
            f'not a measurement), so PamC is about {speedup:.0f}x as fast '
            f'({"meets" if speedup >= 20 else "misses"} the 20x target).']


def _block_rows() -> int:
    from gcl.kernels import default_block_size

    return default_block_size(10**9)           # the rows per block of a large graph


def render(results: list[dict], args: argparse.Namespace) -> str:
    import torch

    by = {(r['variant'], r['n']): r for r in results}
    meta = by.get(('meta', 0), {})
    lines = [f'Command: `{meta.get("command", "python benchmarks/bench_kernels.py")}`',
             f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores '
             f'(1-minute load average {meta.get("load", float("nan")):.1f} at the end), '
             f'{meta.get("threads", args.threads)} torch threads, torch {torch.__version__}; '
             f'CPU only: no GPU was lent to this task, so there is no CUDA table; '
             f'{meta.get("date", "")}. Times are medians of 3 after a warm-up (1 run for the '
             f'largest cases); peak RSS is the whole worker process, including about 0.38 GB of '
             f'Python + torch.', '']
    lines += ['### InfoNCE kernels (GRACE loss: symmetric, intra + inter negatives, D = 128), '
              'forward + backward', '',
              '| N | dense s | blockwise s | sampled (K=256) s | blockwise / dense | '
              'dense peak RSS GB | blockwise peak RSS GB | sampled peak RSS GB | '
              'blockwise GFLOP/s | dense GFLOP/s | torch.mm GFLOP/s | blockwise / mm |',
              '|---|---|---|---|---|---|---|---|---|---|---|---|']
    notes = ['', f'Dense (and SCGC* below) is not run above N = {DENSE_MAX:,}: at N = 50,000 one '
             '[N, N] float32 matrix is 10 GB and the dense forward + backward keeps about six '
             '(`gcl.kernels.dense_peak_bytes`), 60 GB on a 24 GB machine. GCNConv is not run '
             f'above N = {GCNCONV_MAX:,}: at 1M nodes each [E, 256] message tensor is 8 GB. '
             'torch.mm is timed on the blockwise block shape [B, D] x [D, N] (B = '
             f'{_block_rows()} rows), interleaved with the kernels.']
    for n in _measured(by, args.sizes, ('dense', 'blockwise', 'sampled')):
        d, b, s = (by.get((v, n), {}) for v in ('dense', 'blockwise', 'sampled'))
        speed = (f'{d["seconds"] / b["seconds"]:.2f}x faster' if 'seconds' in d
                 and 'seconds' in b else '-')
        frac = f' (from {b["fraction"]:.3%} of the blocks)' if b.get('fraction') else ''
        mm = b.get('mm_gflops')
        lines.append(
            f'| {n:,} | {_fmt_s(d.get("seconds")) if "seconds" in d else d.get("error", "-")} '
            f'| {_fmt_s(b.get("seconds"))}{frac} | {_fmt_s(s.get("seconds"))} | {speed} | '
            f'{d.get("peak_rss_gb", float("nan")):.2f} | {b.get("peak_rss_gb", float("nan")):.2f} '
            f'| {s.get("peak_rss_gb", float("nan")):.2f} | '
            f'{b.get("gflops", float("nan")):.1f} | {d.get("gflops", float("nan")):.1f} | '
            f'{mm if mm is None else round(mm, 1)} | '
            f'{(b["gflops"] / mm) if mm and "gflops" in b else float("nan"):.0%} |')
    lines += notes
    lines += ['', '### PamC block loss vs SCGC* dense loss (d = 10, K = 10, 11 positives per node)',
              '', '| N | SCGC* s | PamC s | SCGC* / PamC | SCGC* peak RSS GB | '
              'PamC peak RSS GB |', '|---|---|---|---|---|---|']
    for n in _measured(by, args.sizes, ('pamc', 'scgc')):
        p, c = by.get(('pamc', n), {}), by.get(('scgc', n), {})
        ratio = f'{c["seconds"] / p["seconds"]:.2f}x' if 'seconds' in c and 'seconds' in p \
            else '-'
        lines.append(f'| {n:,} | {_fmt_s(c["seconds"]) if "seconds" in c else c.get("error", "-")}'
                     f' | {_fmt_s(p.get("seconds"))} | {ratio} | '
                     f'{c.get("peak_rss_gb", float("nan")):.2f} | '
                     f'{p.get("peak_rss_gb", float("nan")):.2f} |')
    lines += ['', '### GCN propagation, one layer, 256 channels, normalisation included, '
              'forward + backward', '', '| N | directed edges | GCNConv s | CSR s | '
              'speed-up | GCNConv peak RSS GB | CSR peak RSS GB |', '|---|---|---|---|---|---|---|']
    for n in _measured(by, args.sizes, ('gcnconv', 'csr')):
        g, c = by.get(('gcnconv', n), {}), by.get(('csr', n), {})
        speed = f'{g["seconds"] / c["seconds"]:.1f}x' if 'seconds' in g and 'seconds' in c \
            else '-'
        edges = c.get('edges') or g.get('edges')
        lines.append(f'| {n:,} | {edges if edges is None else f"{edges:,}"} (a p = 0.2 view of '
                     f'{10 * n:,}) | '
                     f'{_fmt_s(g.get("seconds")) if "seconds" in g else g.get("error", "-")} | '
                     f'{_fmt_s(c.get("seconds")) if "seconds" in c else c.get("error", "-")} | '
                     f'{speed} | {g.get("peak_rss_gb", float("nan")):.2f} | '
                     f'{c.get("peak_rss_gb", float("nan")):.2f} |')
    grace = [r for r in results if r.get('variant') == 'grace']
    if grace:
        lines += ['', '### GRACE on synthetic-sbm: 1,000,000 nodes, 10,000,000 directed edges '
                  '(5M undirected pairs), 128 features', '']
        for r in grace:
            if 'error' in r:
                lines.append(f'- `{r.get("mode")}` mode: {r["error"]}')
            elif r.get('mode') == 'sampled':
                lines.append(
                    f'- `sampled` mode (K = {r.get("k")}, encoder.hidden = {r.get("hidden")}'
                    f'{_when(r)}): '
                    f'epoch times {", ".join(f"{t:.1f}" for t in r["epoch_s"])} s (two views, '
                    f'encoder + head + loss, forward + backward + Adam step); peak RSS '
                    f'{r["peak_rss_gb"]:.2f} GB (the graph alone: {r["rss_data_gb"]:.2f} GB; '
                    f'generating it took {r["load_s"]:.1f} s).')
            else:
                lines.append(
                    f'- `blockwise` (exact) mode (encoder.hidden = {r.get("hidden")}): two views '
                    f'through encoder + head, forward + backward {r["encoder_s"]:.1f} s; the loss '
                    f'timed on {r["fraction"]:.4%} of the anchor blocks and scaled: '
                    f'{r["loss_s_extrapolated"]:.0f} s; so about {r["seconds"] / 3600:.1f} h per '
                    f'epoch. Peak RSS {r["peak_rss_gb"]:.2f} GB.')
    lines += ['', '### Targets of issue 6, as measured above', '']
    for n in args.sizes:
        b = by.get(('blockwise', n), {})
        if 'gflops' in b and b.get('mm_gflops'):
            share = b['gflops'] / b['mm_gflops']
            lines.append(f'- blockwise exact at N = {n:,}: {b["gflops"]:.1f} GFLOP/s = '
                         f'{share:.0%} of torch.mm on the same block shape '
                         f'({"meets" if share >= 0.5 else "misses"} the 50% target).')
    both = [n for n in args.sizes if 'seconds' in by.get(('pamc', n), {})
            and 'seconds' in by.get(('scgc', n), {})]
    if both:
        n = max(both)
        ratio = by[('scgc', n)]['seconds'] / by[('pamc', n)]['seconds']
        lines.append(f'- PamC vs dense SCGC*: {ratio:.2f}x as fast at N = {n:,}, the largest N '
                     f'where SCGC* fits; at N = 100,000 SCGC* needs 40 GB for each [N, N] '
                     f'float32 matrix and cannot run on this 24 GB machine at all, while PamC\'s '
                     f'loss is in the table above.')
        lines += _scgc_extrapolation(by, both)
    for r in grace:
        if r.get('mode') == 'sampled' and 'seconds' in r:
            ok_t, ok_m = r['seconds'] < 60, r['peak_rss_gb'] < 8
            lines.append(f'- 1M-node GRACE epoch, sampled mode: {r["seconds"]:.1f} s '
                         f'({"meets" if ok_t else "misses"} < 60 s), peak RSS '
                         f'{r["peak_rss_gb"]:.2f} GB ({"meets" if ok_m else "misses"} < 8 GB).')
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
