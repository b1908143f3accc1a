"""Run records: a run directory per run and one JSON line per (method, dataset, seed, task)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

__all__ = ['environment', 'git_commit', 'peak_rss_mb', 'data_checksum', 'make_record']


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The gcl source tree's git commit (``'-dirty'`` appended when tracked files differ from it),
    if it is a checkout.

    Read once per process and kept: the code a process runs is what it imported, so the commit
    at its first call (the start of a fit or run) is the one to record, not ``HEAD`` when a long
    run ends after later commits.
    """
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(['git', '-C', str(root), 'rev-parse', '--short', 'HEAD'],
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    if not commit:
        return None
    dirty = subprocess.run(['git', '-C', str(root), 'status', '--porcelain',
                            '--untracked-files=no'],
                           capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    return commit + ('-dirty' if dirty else '')


def environment() -> dict[str, Any]:
    """Versions and machine facts written into every record.

    ``cpu`` (the CPU model), ``cpu_generation`` (family / model numbers and vector extensions:
    hosts that share a model name can differ 2x, :func:`gcl.kernels.gemm.cpu_generation`) and
    ``cpu_gemm`` (the library CPU products ran in,
    :func:`gcl.kernels.gemm.cpu_gemm_backend`) are there because a CPU run's speed depends on
    both (the same CSGCL epoch took 4.6-5.2 s on one 2-core host and 9.7 s on another) and its
    last float32 bits on the second; ``malloc`` (:func:`gcl.utils.memory.malloc_in_effect`)
    because it moves a large-layer epoch's time by up to 1.2x; ``omp_wait_policy``
    (``OMP_WAIT_POLICY``, ``None`` when unset) because the numpy backend on several threads runs
    up to 2x slower without ``PASSIVE`` (:mod:`gcl.utils.omp`).
    """
    import sklearn
    import torch_geometric

    from gcl import __version__
    from gcl.kernels.gemm import cpu_gemm_backend, cpu_generation, cpuinfo
    from gcl.utils.memory import malloc_in_effect
    from gcl.utils.omp import WAIT_POLICY

    return {
        'gcl': __version__,
        'torch': torch.__version__,
        'torch_geometric': torch_geometric.__version__,
        'sklearn': sklearn.__version__,
        'python': platform.python_version(),
        'platform': platform.platform(terse=True),
        'threads': torch.get_num_threads(),
        'cpu': cpuinfo('model name') or platform.processor() or None,
        'cpu_generation': cpu_generation() or None,
        'cpu_gemm': cpu_gemm_backend(),
        'malloc': malloc_in_effect(),
        'omp_wait_policy': os.environ.get(WAIT_POLICY) or None,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == 'darwin' else peak / 1024


def data_checksum(data: Any) -> str:
    """A short sha256 over the graph's tensors (edge_index, x, y), to tie a number to its data."""
    digest = hashlib.sha256()
    for key in ('edge_index', 'x', 'y'):
        value = getattr(data, key, None)
        if value is not None:
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def make_record(*, config: dict[str, Any], task: str, metrics: dict[str, Any], wall_s: float,
                epochs: int, device: str, data_sha: str, extra: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    """One results line: everything needed to reproduce and compare the number."""
    protocol = metrics.get('protocol', '')
    record = {
        'method': config['method'],
        'dataset': config['dataset'],
        'seed': config['seed'],
        'task': task,
        'protocol': protocol,
        'metrics': {k: v for k, v in metrics.items() if isinstance(v, (int, float))},
        'epochs': epochs,
        'wall_s': round(wall_s, 3),
        'peak_rss_mb': round(peak_rss_mb(), 1),
        'device': device,
        'config': json.loads(json.dumps(config, default=str)),
        'versions': environment(),
        'git_commit': git_commit(),
        'data_sha256': data_sha,
    }
    if device.startswith('cuda') and torch.cuda.is_available():
        record['peak_cuda_mb'] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    if extra:
        record.update(extra)
    return record
