"""OpenMP's wait policy for ``GCL_CPU_GEMM=numpy`` on several threads: ``OMP_WAIT_POLICY=PASSIVE``.

Why: with ``GCL_CPU_GEMM=numpy`` (:mod:`gcl.kernels.gemm`) a CPU training runs two thread pools
on the same cores, torch's OpenMP workers and numpy's OpenBLAS ones. By default OpenMP's workers
spin-wait between parallel regions, so while OpenBLAS multiplies they take the cores from it: on
this 2-core AMD EPYC a two-thread GRACE epoch on Amazon-Photo took 5.82 s against MKL's 3.04 s
(0.52x), and 2.44 s (1.24x faster than MKL) with ``OMP_WAIT_POLICY=PASSIVE``
(``benchmarks/CPU_GEMM.md``); a GCA epoch there 7.40 s against 3.34 s.

The OpenMP runtime reads the policy once, when torch loads it, so it must be in the environment
before the process starts: ``gcl train``, ``gcl embed`` and ``gcl bench`` put it there themselves
when they start again under gcl's process settings (:func:`gcl.utils.memory.reexec_argv`). A
policy the user set (any value) is left alone, and so is a single-threaded run
(``OMP_NUM_THREADS=1``: one pool idle at a time). A program using the Python API sets the variable
itself; the first product routed to numpy on several threads without it warns once
(``gcl.kernels.gemm``, where the numpy pool is sized).

This module imports nothing heavy: the ``gcl`` command calls it before torch is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ['CPU_GEMM_VAR', 'WAIT_POLICY', 'passive_env', 'spinning_pools']

WAIT_POLICY = 'OMP_WAIT_POLICY'
#: the backend's variable (``gcl.kernels.gemm.ENV_VAR`` is this name; that module loads torch)
CPU_GEMM_VAR = 'GCL_CPU_GEMM'


def _numpy_backend_asked(environ: Mapping[str, str]) -> bool:
    return environ.get(CPU_GEMM_VAR, '').strip().lower() == 'numpy'


def _one_thread(environ: Mapping[str, str]) -> bool:
    return environ.get('OMP_NUM_THREADS', '').strip() == '1'


def passive_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{'OMP_WAIT_POLICY': 'PASSIVE'}`` when a process started from ``environ`` (default
    ``os.environ``) would run the numpy backend on several threads with no wait policy set;
    ``{}`` otherwise."""
    environ = os.environ if environ is None else environ
    if _numpy_backend_asked(environ) and not _one_thread(environ) and \
            not environ.get(WAIT_POLICY, '').strip():
        return {WAIT_POLICY: 'PASSIVE'}
    return {}


def spinning_pools(backend: str, threads: int, environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process has the trap: CPU products in numpy (``backend``) on more than one
    thread while OpenMP's workers spin (``OMP_WAIT_POLICY`` not ``PASSIVE``)."""
    environ = os.environ if environ is None else environ
    return backend == 'numpy' and threads > 1 and \
        environ.get(WAIT_POLICY, '').strip().upper() != 'PASSIVE'
