"""GRACE training speed and memory: gcl against the peer toolkits PyGCL and CogDL, same settings.

For each dataset, the same GRACE run is timed once per toolkit, each in a fresh subprocess (peak
RSS only grows within a process), and the variants are interleaved over ``--repeats`` rounds:

* ``gcl``   -- ``gcl.GRACE`` with gcl's shipped GRACE config for the dataset;
* ``pygcl`` -- the same model written with PyGCL's own building blocks, as its ``examples/GRACE.py``
  does: ``GCL.augmentors`` ``EdgeRemoving`` + ``FeatureMasking`` for the views, PyG ``GCNConv``
  layers, and ``DualBranchContrast(InfoNCE(tau), mode='L2L', intraview_negs=True)`` for the loss
  (GRACE's objective: cross-view positive, cross- and intra-view negatives). Same widths,
  activation, projection head (``fc1 -> ELU -> fc2``), drop rates, tau, Adam lr / weight decay and
  epochs as the gcl config.
* ``cogdl`` -- CogDL 0.6's own GRACE (``cogdl.models.nn.grace.GRACE`` trained by its
  ``GRACEModelWrapper.train_step``), same settings, run by the interpreter of a separate
  environment (``--cogdl-python``): CogDL pins ``optuna==2.4.0``, which needs ``matplotlib<3.9``,
  and pulls in transformers, gensim and numba, so it does not share gcl's environment. Set-up::

      python3.11 -m venv ../cogdlvenv && ../cogdlvenv/bin/pip install torch==2.13.0 \
          cogdl==0.6 'matplotlib<3.9'

  The graph reaches it as a plain ``{x, edge_index}`` tensor file written by this script.

The per-toolkit scripts are in ``benchmarks/peers/``: ``train_gcl_pygcl.py`` and
``train_cogdl.py`` time one training each; ``losses_gcl_pygcl.py`` and ``losses_cogdl.py``
evaluate every toolkit's GRACE loss on one fixed random input, to show what each optimises.

PyGCL 0.1.2 (the latest on PyPI, 2022) imports ``dgl``, ``torch_scatter`` and ``torch_sparse``
at import time, none of which installs from PyPI on this machine, although GRACE uses none of
them. The pygcl subprocess therefore gets stand-in modules for those three names whose every
function raises if it is called, so they cannot take part in what is measured. Install the
peer with ``pip install PyGCL==0.1.2`` (its declared requirements are already gcl's).

Usage::

    python benchmarks/bench_peers.py [--datasets cora amazon-photo] [--epochs 20] [--repeats 3] \
        [--memory-gb 20] [--cogdl-python ../cogdlvenv/bin/python]

Writes ``benchmarks/PEERS.md`` (atomically) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from gcl.kernels.gemm import cpu_generation
from gcl.utils.io import atomic_write_text

HERE = Path(__file__).resolve().parent / 'peers'
sys.path.insert(0, str(HERE))   # the toolkits' scripts share peers/settings.py

# Stand-ins for the three modules PyGCL imports but GRACE never calls: each raises if used.
_RAISE = '    raise RuntimeError("benchmark stand-in for {} was called")\n'
SHIMS = {
    'dgl.py': 'class DGLGraph:\n    pass\n\n\ndef graph(*args, **kwargs):\n' + _RAISE.format('dgl'),
    'torch_scatter.py': 'def scatter(*args, **kwargs):\n' + _RAISE.format('torch_scatter'),
    'torch_sparse.py': ('class SparseTensor:\n    def __init__(self, *args, **kwargs):\n    '
                        + _RAISE.format('torch_sparse') + '\n\ndef coalesce(*args, **kwargs):\n'
                        + _RAISE.format('torch_sparse')),
}


def with_shims(shim_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [shim_dir, env.get('PYTHONPATH')]))
    return env


def last_json(command: list[str], env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_losses(shim_dir: str, cogdl_python: str | None) -> dict:
    """Each toolkit's GRACE loss on the fixed input: ``{name: [drawn, agreeing]}``."""
    losses = last_json([sys.executable, str(HERE / 'losses_gcl_pygcl.py')], with_shims(shim_dir))
    if cogdl_python:
        losses |= last_json([cogdl_python, str(HERE / 'losses_cogdl.py')])
    return losses


def export_graph(dataset: str, directory: str) -> tuple[str, dict]:
    """The graph as a plain tensor file, and GRACE's settings, for the CogDL process."""
    from settings import grace_graph, grace_settings

    settings = grace_settings(dataset)
    data = grace_graph(settings)
    x = data.x.to_dense() if data.x.is_sparse else data.x
    path = str(Path(directory, f'{dataset}.pt'))
    torch.save({'x': x.contiguous(), 'edge_index': data.edge_index.contiguous()}, path)
    del settings['config']          # not JSON; CogDL needs only the plain values
    return path, settings


def run_variant(command: list[str], env: dict[str, str] | None,
                memory_gb: float | None) -> dict:
    """One training in a fresh process; ``{'error': ...}`` if it fails (e.g. out of memory)."""

    def limit() -> None:  # in the child: fail with an allocation error, not the OOM killer
        if memory_gb:
            size = int(memory_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    out = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=limit)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ['no output'])[-1]
        if memory_gb and ("can't allocate memory" in last or 'MemoryError' in last):
            return {'error': f'out of memory under the {memory_gb:g} GB limit'}
        return {'error': f'exit {out.returncode}: {last[:160]}'}
    return json.loads(out.stdout.strip().splitlines()[-1])


def variant_commands(dataset: str, epochs: int, shim_dir: str, cogdl_python: str | None
                     ) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    """``{toolkit: (command, environment)}`` of one GRACE training on ``dataset`` for ``epochs``
    (a caller may append the training script's optional ``SEED EMBEDDINGS``); CogDL only with
    ``cogdl_python``, its graph exported into ``shim_dir``."""
    trainer = [sys.executable, str(HERE / 'train_gcl_pygcl.py')]
    commands = {'gcl': (trainer + ['gcl', dataset, str(epochs)], None),
                'pygcl': (trainer + ['pygcl', dataset, str(epochs)], with_shims(shim_dir))}
    if cogdl_python:
        path, settings = export_graph(dataset, shim_dir)
        commands['cogdl'] = ([cogdl_python, str(HERE / 'train_cogdl.py'), path,
                              json.dumps(settings), str(epochs)], None)
    return commands


def peer_flags(args: argparse.Namespace) -> str:
    """The ``--memory-gb`` / ``--cogdl-python`` part of a report's command line."""
    flags = ''
    if args.memory_gb:
        flags += f' --memory-gb {args.memory_gb:g}'
    if args.cogdl_python:
        flags += f' --cogdl-python {args.cogdl_python}'
    return flags


def machine_line(versions: str) -> str:
    """``Machine: ...`` of a peers report: CPU (with its generation), torch, threads, the
    toolkits' ``versions`` and the date, without the closing full stop."""
    return (f'Machine: {platform.machine()}, {os.cpu_count()} CPU cores ({cpu_generation()}), '
            f'torch {torch.__version__}, {torch.get_num_threads()} threads, {versions}; '
            f'{time.strftime("%Y-%m-%d")}')


def peer_versions(cogdl_python: str | None) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = f'PyGCL {version("PyGCL")}'
    except PackageNotFoundError:
        sys.exit('PyGCL is not installed: pip install PyGCL==0.1.2')
    if cogdl_python:
        probe = 'from importlib.metadata import version; print(version("cogdl"))'
        out = subprocess.run([cogdl_python, '-c', probe], check=True, capture_output=True,
                             text=True)
        text += f', CogDL {out.stdout.strip()}'
    return text


def summary(runs: list[dict]) -> dict | None:
    """Medians over the successful runs, or None when every run failed."""
    ok = [r for r in runs if 'error' not in r]
    if not ok:
        return None
    return {key: statistics.median(r[key] for r in ok)
            for key in ('sec_per_epoch', 'peak_rss_mb', 'final_loss')} | {'n': len(ok)}


def table_rows(dataset: str, results: dict[str, list[dict]]) -> list[str]:
    """One row per toolkit; the ratios are the toolkit's figure over gcl's."""
    stats = {v: summary(rs) for v, rs in results.items()}
    base = stats['gcl']
    lines = []
    for variant, st in stats.items():
        if st is None:
            lines.append(f'| {dataset} | {variant} | failed: {results[variant][-1]["error"]} '
                         '| | | | |')
            continue
        slower = f'{st["sec_per_epoch"] / base["sec_per_epoch"]:.2f}x' if base else '–'
        memory = f'{st["peak_rss_mb"] / base["peak_rss_mb"]:.2f}x' if base else '–'
        runs = '' if st['n'] == len(results[variant]) else f' ({st["n"]} runs)'
        lines.append(f'| {dataset} | {variant} | {st["sec_per_epoch"]:.4f}{runs} | '
                     f'{st["peak_rss_mb"]:.0f} | {slower} | {memory} | {st["final_loss"]:.4f} |')
    return lines


def loss_lines(losses: dict) -> list[str]:
    names = {'gcl': 'gcl', 'official': "GRACE's official formula (`model.py`)",
             'official_with_self': 'the official formula plus exp(1/tau) in each denominator',
             'pygcl': 'PyGCL', 'cogdl': 'CogDL'}
    lines = ['', '## What each toolkit optimises', '',
             'GRACE\'s loss on one fixed random input (`benchmarks/peers/loss_input.py`: 500 x 64, '
             'tau 0.3), on the views as drawn and on two views that agree, which a contrastive '
             'loss must score lower:', '',
             '| loss | views as drawn | agreeing views |', '|---|---|---|']
    for key, label in names.items():
        if key in losses:
            drawn, agreeing = losses[key]
            lines.append(f'| {label} | {drawn:.6f} | {agreeing:.6f} |')
    lines += [
        '',
        'gcl equals the official formula. PyGCL equals the official formula plus each anchor\'s '
        'self-similarity exp(1/tau) in its denominator: `DualBranchContrast` rebuilds the '
        'negative mask as `1 - pos_mask` when no extra mask is given (`add_extra_mask`), which '
        'undoes the intra-view mask that `intraview_negs=True` built to leave the anchor out. '
        'That term costs nothing to compute, so its timings compare like with like.',
    ]
    if 'cogdl' in losses:
        kept, total = losses['cogdl_edges_kept']
        lines += [
            '',
            'CogDL\'s `GRACEModelWrapper.contrastive_loss` puts the intra-view self-similarity '
            '(`intro_scores.diag()`, the constant exp(1/tau)) in the numerator where GRACE puts '
            'the cross-view positive, so the positive pair appears only in the denominator and '
            'the loss rises when the views agree (the table). Its views also keep every edge: '
            '`GRACEModelWrapper.prop` calls `cogdl.utils.dropout_adj` without `training=True`, '
            f'and that function drops nothing by default ({kept:,} of {total:,} edges kept at '
            'p = 0.4). So CogDL 0.6 times a different objective on undropped graphs; its row '
            'measures the cost of its code path, not of GRACE.',
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--datasets', nargs='+', default=['cora', 'amazon-photo'])
    parser.add_argument('--epochs', type=int, default=20)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--memory-gb', type=float, default=None,
                        help='address-space limit per training process (a run over it is '
                             'reported as failed instead of exhausting the machine)')
    parser.add_argument('--cogdl-python', default=None,
                        help='python of an environment with cogdl==0.6 (see the docstring); '
                             'without it CogDL is left out')
    parser.add_argument('--out', type=Path, default=Path('benchmarks/PEERS.md'))
    args = parser.parse_args()
    if args.epochs < 3:
        parser.error('--epochs must be at least 3 (the first 2 are dropped as warm-up)')
    versions = peer_versions(args.cogdl_python)
    variants = ['gcl', 'pygcl'] + (['cogdl'] if args.cogdl_python else [])
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SHIMS.items():
            Path(tmp, name).write_text(text)
        losses = check_losses(tmp, args.cogdl_python)
        for dataset in args.datasets:
            commands = variant_commands(dataset, args.epochs, tmp, args.cogdl_python)
            results: dict[str, list[dict]] = {v: [] for v in variants}
            for _ in range(args.repeats):  # interleave the variants
                for variant in variants:
                    if results[variant] and 'error' in results[variant][-1]:
                        continue  # it failed once at these settings: it fails again
                    results[variant].append(run_variant(*commands[variant], args.memory_gb))
                    print(dataset, results[variant][-1], file=sys.stderr, flush=True)
            rows += table_rows(dataset, results)
    flags = f' --epochs {args.epochs} --repeats {args.repeats}' + peer_flags(args)
    lines = [
        '# GRACE: gcl against its peers (speed and memory at equal settings)',
        '',
        f'Command: `python benchmarks/bench_peers.py --datasets {" ".join(args.datasets)}'
        f'{flags}`  ',
        f'{machine_line(versions)}. '
        f'Medians of {args.repeats} fresh processes per toolkit, interleaved; '
        f'{args.epochs} epochs each, the first 2 left out as warm-up.',
        '',
        'Every toolkit trains GRACE at gcl\'s shipped GRACE config of the dataset (widths, '
        'activation, drop rates, tau, Adam settings) from its own parts: `benchmarks/peers/`. '
        'The ratios are the toolkit\'s time per epoch and peak RSS over gcl\'s (gcl = 1.00x).',
        '',
        '| dataset | toolkit | s / epoch | peak RSS (MiB) | time vs gcl | memory vs gcl | '
        'final loss |',
        '|---|---|---|---|---|---|---|',
        *rows,
        *loss_lines(losses),
    ]
    text = '\n'.join(lines) + '\n'
    atomic_write_text(args.out, text)   # no half-written report if the run is interrupted
    print(text)


if __name__ == '__main__':
    main()
