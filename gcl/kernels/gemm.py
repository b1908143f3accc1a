"""Dense matrix products of the CPU loss kernels, through numpy's OpenBLAS where torch's is slow.

torch's CPU wheels multiply with MKL. On AMD CPUs MKL takes a slower code path, and the product
the blockwise kernels issue most, a ``[B, D] @ [D, N]`` similarity block (a short inner
dimension, a wide output), ran at half the speed of numpy's OpenBLAS on this 2-core AMD EPYC:
0.84 s against 0.42 s for Amazon-Photo's 29 blocks at D = 256 with one thread, 0.51 s against
0.24 s with two; the gradient products ``[B, N] @ [N, D]`` were level with one thread (0.94x
and 1.02x). numpy's ``matmul`` is a BLAS call on the same memory (``Tensor.numpy()`` shares it)
that writes into the given output, so routing these products is a zero-copy swap of the library,
not a reimplementation. All figures: ``benchmarks/CPU_GEMM.md``
(``python benchmarks/bench_cpu_gemm.py``).

With one thread that is the whole story: the GRACE / GCA loss step at Photo's size went from
4.36 to 3.43 s (1.27x) and a GCA epoch on Amazon-Photo from 6.02 to 4.86 s (1.24x). With two,
the libraries' thread pools fight: torch's OpenMP workers spin-wait on the cores between
parallel regions while OpenBLAS's work, and the same epoch took 6.78 s against MKL's 3.85 s.
``OMP_WAIT_POLICY=PASSIVE`` in the environment before Python starts parks those workers; with
it, ``GCL_CPU_GEMM=numpy`` made the two-thread epoch 1.14x faster (3.37 s). A library cannot set
the wait policy once torch has loaded, so ``auto`` routes single-threaded work only.

The backend (environment variable ``GCL_CPU_GEMM``, or :func:`use_cpu_gemm`):

- ``auto`` (default): ``numpy`` when torch runs one intra-op thread
  (:func:`torch.get_num_threads`), torch's BLAS is MKL, numpy's is OpenBLAS and the CPU is AMD's;
  ``torch`` otherwise (other CPUs, not measured here; other builds; several threads);
- ``torch``: always :func:`torch.mm` (the kernels' behaviour before this module);
- ``numpy``: numpy's BLAS for every float32 / float64 CPU product, at any thread count.

Only CPU tensors of float32 / float64 that record no autograd graph are routed; CUDA, half
precision and differentiable calls use torch. numpy's OpenBLAS keeps its own thread pool, sized
to :func:`torch.get_num_threads` before each routed product (via threadpoolctl), so
``torch.set_num_threads`` / ``OMP_NUM_THREADS`` govern both libraries. The two libraries round
differently in the last bits (about 1e-7 relative in float32), so a run's numbers depend on the
backend the way they depend on the thread count.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor

__all__ = ['BACKENDS', 'ENV_VAR', 'cpu_gemm_backend', 'gemm_addmm_', 'gemm_mm',
           'machine_prefers_numpy', 'use_cpu_gemm']

ENV_VAR = 'GCL_CPU_GEMM'
BACKENDS = ('auto', 'torch', 'numpy')
_ROUTED = (torch.float32, torch.float64)

_override = threading.local()            # use_cpu_gemm's choice, per thread
_threads_lock = threading.Lock()
_blas_threads: list[int] = [0]           # the OpenBLAS pool size last set (0: never)


def _check(name: str, origin: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f'{origin} must be one of {", ".join(BACKENDS)}, got {name!r}')
    return name


def _numpy_blas() -> str:
    """The BLAS numpy was built with ('openblas', 'mkl', ... or '' when unknown)."""
    try:
        info = np.show_config(mode='dicts')['Build Dependencies']['blas']
    except Exception:   # noqa: BLE001 (older numpy: no dict mode; treat as unknown)
        return ''
    return str(info.get('name', '')).lower()


def _cpu_vendor() -> str:
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('vendor_id'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return ''


@functools.lru_cache(maxsize=1)
def machine_prefers_numpy() -> bool:
    """Whether ``auto`` routes single-threaded products to numpy here: torch's BLAS is MKL,
    numpy's is OpenBLAS and the CPU is AMD's (where MKL is known to be slow)."""
    torch_mkl = torch.backends.mkl.is_available()
    numpy_openblas = 'openblas' in _numpy_blas()
    return torch_mkl and numpy_openblas and _cpu_vendor() == 'AuthenticAMD'


def cpu_gemm_backend() -> str:
    """The backend CPU products use now: ``'torch'`` or ``'numpy'`` (``auto`` resolved for the
    current thread count)."""
    name = getattr(_override, 'name', None)
    if name is None:
        name = _check(os.environ.get(ENV_VAR, 'auto').strip().lower() or 'auto', ENV_VAR)
    if name != 'auto':
        return name
    return 'numpy' if machine_prefers_numpy() and torch.get_num_threads() == 1 else 'torch'


@contextmanager
def use_cpu_gemm(name: str) -> Iterator[None]:
    """Use backend ``name`` (``auto`` / ``torch`` / ``numpy``) in this thread for the block, e.g.
    to compare the two in one process (``benchmarks/bench_cpu_gemm.py``, the tests)."""
    _check(name, 'the CPU GEMM backend')
    previous = getattr(_override, 'name', None)
    _override.name = name
    try:
        yield
    finally:
        _override.name = previous


def _routed(*tensors: Tensor) -> bool:
    """Whether numpy does this product: CPU, float32 / float64 alike, the ``numpy`` backend, and
    no autograd graph to record (numpy's result would silently drop it; the kernels call these
    functions inside their own ``autograd.Function``, where grad mode is off)."""
    first = tensors[0]
    if first.device.type != 'cpu' or first.dtype not in _ROUTED:
        return False
    if any(t.device.type != 'cpu' or t.dtype != first.dtype for t in tensors):
        return False
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    return cpu_gemm_backend() == 'numpy'


def _sync_threads() -> None:
    """Size numpy's BLAS pool like torch's intra-op pool (a no-op unless it changed)."""
    wanted = torch.get_num_threads()
    if _blas_threads[0] == wanted:
        return
    with _threads_lock:
        if _blas_threads[0] != wanted:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=wanted, user_api='blas')
            _blas_threads[0] = wanted


def _array(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


_scratch = threading.local()


def _scratch_view(rows: int, cols: int, dtype: torch.dtype) -> Tensor:
    """A reusable per-thread ``[rows, cols]`` block (grown, never shrunk), so that the products
    that accumulate do not page in a fresh output each call."""
    key = f'buf_{dtype}'
    buf = getattr(_scratch, key, None)
    if buf is None or buf.numel() < rows * cols:
        buf = torch.empty(rows * cols, dtype=dtype)
        setattr(_scratch, key, buf)
    return buf[:rows * cols].view(rows, cols)


def gemm_mm(a: Tensor, b: Tensor, out: Tensor | None = None) -> Tensor:
    """``a @ b`` (``[M, K] @ [K, N]``), into ``out`` (``[M, N]``, contiguous) when given.

    Any strides numpy's ``matmul`` accepts (transposed views such as ``v.T`` are passed to BLAS
    as such, without a copy).
    """
    if not _routed(a, b):
        return torch.mm(a, b) if out is None else torch.mm(a, b, out=out)
    _sync_threads()
    if out is None:
        out = a.new_empty(a.size(0), b.size(1))
    np.matmul(_array(a), _array(b), out=_array(out))
    return out


def gemm_addmm_(c: Tensor, a: Tensor, b: Tensor, alpha: float = 1.0) -> Tensor:
    """``c += alpha * a @ b`` in place (``c`` ``[M, N]``); returns ``c``."""
    if not _routed(c, a, b):
        return c.addmm_(a, b, alpha=alpha)
    _sync_threads()
    product = _scratch_view(a.size(0), b.size(1), c.dtype)
    np.matmul(_array(a), _array(b), out=_array(product))
    return c.add_(product, alpha=alpha)
