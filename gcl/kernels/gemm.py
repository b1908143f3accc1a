"""Dense matrix products of the CPU loss kernels, through numpy's OpenBLAS where torch's is slow.

torch's CPU wheels multiply with MKL. On AMD CPUs MKL takes a slower code path, and the product
the blockwise kernels issue most, a ``[B, D] @ [D, N]`` similarity block (a short inner
dimension, a wide output), ran 1.6x slower than numpy's OpenBLAS on this 2-core AMD EPYC with one
thread (1.05 s against 0.67 s for Amazon-Photo's 29 blocks at D = 256; 2.0x in an earlier run
that day) and 2.2x slower with two; the encoders' ``[N, F] @ [F, D]`` layers 1.3x, their weight
gradients 1.1x; the loss's gradient products ``[B, N] @ [N, D]`` were level (0.94-0.98x).
numpy's ``matmul`` is a BLAS call on the same memory (``Tensor.numpy()`` shares it) that writes
into the given output, so routing these products is a zero-copy swap of the library, not a
reimplementation. All figures: ``benchmarks/CPU_GEMM.md`` (``python
benchmarks/bench_cpu_gemm.py``).

With one thread that is the whole story: the GRACE / GCA loss step at Photo's size went from
4.36 to 3.43 s (1.27x) and a GCA epoch on Amazon-Photo from 5.79 to 5.19 s (1.12x; the machine's
run-to-run noise is about 10 %). With two threads the libraries' pools fight: torch's OpenMP
workers spin-wait on the cores between parallel regions while OpenBLAS's work, and the same epoch
took 7.40 s against MKL's 3.94 s. ``OMP_WAIT_POLICY=PASSIVE`` in the environment before Python
starts parks those workers; with it, ``GCL_CPU_GEMM=numpy`` made the two-thread epoch 1.18x
faster (3.34 s). A library cannot set the wait policy once torch has loaded, so ``auto`` routes
single-threaded work only; the ``gcl`` command sets the policy itself when it starts with
``GCL_CPU_GEMM=numpy`` on several threads (:mod:`gcl.utils.omp`), and a Python program that
routes products to numpy on several threads without it gets one ``RuntimeWarning``.

The backend (environment variable ``GCL_CPU_GEMM``, or :func:`use_cpu_gemm`):

- ``auto`` (default): ``numpy`` when torch runs one intra-op thread
  (:func:`torch.get_num_threads`), torch's BLAS is MKL, numpy's is OpenBLAS and the CPU is AMD's;
  ``torch`` otherwise (other builds; several threads; other CPUs: on a 2-core Intel Xeon
  with AVX-512 and AMX, MKL was the faster library at one and at two threads, a GCA epoch on
  Amazon-Photo 2.05 s against 2.35 with one thread and 1.21 against 1.64 with two and the
  wait policy, so this rule is AMD's alone: ``benchmarks/CPU_GEMM_INTEL.md``);
- ``torch``: always :func:`torch.mm` (the kernels' behaviour before this module);
- ``numpy``: numpy's BLAS for every float32 / float64 CPU product, at any thread count.

Separately, :func:`loss_precision` (``'bfloat16'``; the config's ``train.loss_precision``) lets
the contrastive loss kernels (the blockwise one, which passes ``allow_bf16=True``, and the dense
one through :func:`loss_matmul`; not the sampled one) multiply float32 operands in bfloat16 on
any device: torch's bfloat16 product accumulates in float32 but returns bfloat16, so
each similarity carries a relative rounding of up to 2^-9 (a logit ``s / tau`` off by up to
about 0.007 at tau = 0.3) and each gradient block the same. CPUs with AVX512-BF16 (this AMD EPYC)
multiply 2.2x faster that way than numpy's float32 OpenBLAS, one thread; what that does to a
training's accuracy is measured in ``benchmarks/LOSS_PRECISION.md``. The encoders' products stay
float32.

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
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.utils.omp import CPU_GEMM_VAR, spinning_pools

__all__ = ['BACKENDS', 'ENV_VAR', 'PRECISIONS', 'cpu_gemm_backend', 'cpu_generation', 'cpuinfo',
           'gemm_addmm_',
           'gemm_linear', 'gemm_mm', 'loss_matmul', 'loss_precision', 'machine_prefers_numpy',
           'precision_name', 'use_cpu_gemm']

ENV_VAR = CPU_GEMM_VAR
BACKENDS = ('auto', 'torch', 'numpy')
_ROUTED = (torch.float32, torch.float64)

PRECISIONS = ('float32', 'bfloat16')
_override = threading.local()            # use_cpu_gemm's choice, per thread
_precision = threading.local()           # loss_precision's choice, per thread
_threads_lock = threading.Lock()
_blas_threads: list[int] = [0]           # the OpenBLAS pool size last set (0: never)
_warned_spinning: list[bool] = [False]   # the pools-fight warning was given (once a process)


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


_CPUINFO = '/proc/cpuinfo'


def cpuinfo(field: str) -> str:
    """A field of ``/proc/cpuinfo`` (``'vendor_id'``, ``'model name'``, ``'model'``), ``''`` when
    unknown; the field's name must match whole (``'model'`` is not ``'model name'``)."""
    try:
        with open(_CPUINFO) as fh:
            for line in fh:
                key, sep, value = line.partition(':')
                if sep and key.strip() == field:
                    return value.strip()
    except OSError:
        pass
    return ''


#: the instruction-set extensions that decide a CPU training's speed here, best last
_SIMD = ('avx2', 'fma', 'avx512f', 'avx512_bf16', 'amx_tile')


def cpu_generation() -> str:
    """The CPU's family / model numbers and its vector extensions, e.g. ``'25/1 avx2 fma'``:
    two hosts may both call themselves ``'AMD EPYC'`` (``model name``) yet differ 2x in speed: a
    gCooL Coauthor-CS epoch took 24 s on one (family 25 model 1, AVX2 only) and 10.6-11.9 s on
    the host of earlier sessions (whose AVX512-BF16 ran ``benchmarks/LOSS_PRECISION.md``), same
    code and settings. ``''`` when ``/proc/cpuinfo`` is not there."""
    family, model = cpuinfo('cpu family'), cpuinfo('model')
    if not family:
        return ''
    flags = set(cpuinfo('flags').split())
    return ' '.join([f'{family}/{model}', *[f for f in _SIMD if f in flags]])


def _cpu_vendor() -> str:
    return cpuinfo('vendor_id')


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
    with _thread_setting(_override, name):
        yield


def precision_name(name: str | None) -> str:
    """``name`` checked and lower-cased (``None``: ``'float32'``); the one check of
    ``train.loss_precision``."""
    from gcl.errors import GCLConfigError

    name = 'float32' if name is None else str(name).lower()
    if name not in PRECISIONS:
        raise GCLConfigError(f'train.loss_precision must be one of {", ".join(PRECISIONS)}, '
                             f'got {name!r}')
    return name


@contextmanager
def loss_precision(name: str | None) -> Iterator[None]:
    """Multiply the loss kernels' float32 operands in ``name`` (``'float32'``, the default and
    exact, or ``'bfloat16'``) in this thread for the block; ``None`` means ``'float32'``.

    Only the loss kernels' products are affected: those issued with ``allow_bf16=True`` (the
    blockwise kernel) and :func:`loss_matmul` (the dense one).
    """
    try:
        with _thread_setting(_precision, precision_name(name)):
            yield
    finally:
        _precision.casts = None                  # the kept bfloat16 copies go with the block


@contextmanager
def _thread_setting(local: threading.local, name: str) -> Iterator[None]:
    """``local.name = name`` for the block, then the previous value again."""
    previous = getattr(local, 'name', None)
    local.name = name
    try:
        yield
    finally:
        local.name = previous


def _bf16_wanted(*tensors: Tensor) -> bool:
    """:func:`loss_precision` is ``'bfloat16'`` and the operands are float32."""
    return getattr(_precision, 'name', None) == 'bfloat16' and \
        all(t.dtype == torch.float32 for t in tensors)


def _lowered(allow_bf16: bool, *tensors: Tensor) -> bool:
    """Whether this product runs in bfloat16: allowed by the caller, :func:`_bf16_wanted`, and
    no autograd graph to record."""
    return allow_bf16 and _bf16_wanted(*tensors) and \
        not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def loss_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` for the dense loss kernel: differentiable, in bfloat16 (returned as float32)
    inside :func:`loss_precision` ``('bfloat16')`` for float32 operands, else exactly ``a @ b``."""
    if _bf16_wanted(a, b):
        return (a.to(torch.bfloat16) @ b.to(torch.bfloat16)).float()
    return a @ b


def _bf16(t: Tensor) -> Tensor:
    """``t`` in bfloat16. A big operand (a whole ``[N, D]`` matrix or a slice or transpose of
    one, multiplied once per block) is read from a bfloat16 copy of the contiguous tensor it views,
    made once and kept while that tensor is unchanged (same memory, shape and version counter).
    The entry holds the tensor itself, so its memory cannot be freed and reused by another tensor
    that would then match the key."""
    base = t._base if t._base is not None else t
    if t.numel() < 1 << 18 or not base.is_contiguous():
        return t.to(torch.bfloat16)
    key = (base.data_ptr(), tuple(base.shape), base._version, base.device)
    cache = getattr(_precision, 'casts', None)
    if cache is None:
        cache = _precision.casts = {}
    hit = cache.get(key)
    if hit is None:
        if len(cache) >= 4:                      # the current loss's u and v, with room to spare
            cache.clear()
        hit = cache[key] = (base, base.to(torch.bfloat16))
    return hit[1].as_strided(t.size(), t.stride(), t.storage_offset() - base.storage_offset())


def _bf16_mm(a: Tensor, b: Tensor) -> Tensor:
    return torch.mm(_bf16(a), _bf16(b))


def _routable(*tensors: Tensor) -> bool:
    """CPU, float32 / float64 alike, and the ``numpy`` backend."""
    first = tensors[0]
    if first.device.type != 'cpu' or first.dtype not in _ROUTED:
        return False
    if any(t.device.type != 'cpu' or t.dtype != first.dtype for t in tensors):
        return False
    return cpu_gemm_backend() == 'numpy'


def _routed(*tensors: Tensor) -> bool:
    """Whether numpy does this product: :func:`_routable` and no autograd graph to record
    (numpy's result would silently drop it; the kernels call these functions inside their own
    ``autograd.Function``, where grad mode is off)."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    return _routable(*tensors)


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
            if not _warned_spinning[0] and spinning_pools('numpy', wanted):
                _warned_spinning[0] = True
                warnings.warn(
                    f'CPU products run in numpy on {wanted} threads while OpenMP workers '
                    'spin-wait (OMP_WAIT_POLICY is not PASSIVE): the two thread pools fight and '
                    'an epoch can take twice as long. Set OMP_WAIT_POLICY=PASSIVE before Python '
                    'starts (the gcl command does so itself), or use GCL_CPU_GEMM=torch.',
                    RuntimeWarning, stacklevel=3)   # the caller of the routed product


# inf / NaN propagate silently, as in torch (a diverging run is caught by the trainer's NaN
# guard, which names the epoch); numpy would warn on every product
def _quiet() -> np.errstate:
    return np.errstate(all='ignore')


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


def gemm_mm(a: Tensor, b: Tensor, out: Tensor | None = None, *,
            allow_bf16: bool = False) -> Tensor:
    """``a @ b`` (``[M, K] @ [K, N]``), into ``out`` (``[M, N]``, contiguous) when given.

    Any strides numpy's ``matmul`` accepts (transposed views such as ``v.T`` are passed to BLAS
    as such, without a copy). ``allow_bf16``: multiply in bfloat16 inside
    :func:`loss_precision` ``('bfloat16')`` (the result is float32 all the same).
    """
    if _lowered(allow_bf16, a, b):
        product = _bf16_mm(a, b)
        return product.float() if out is None else out.copy_(product)
    if not _routed(a, b):
        return torch.mm(a, b) if out is None else torch.mm(a, b, out=out)
    _sync_threads()
    if out is None:
        out = a.new_empty(a.size(0), b.size(1))
    with _quiet():
        np.matmul(_array(a), _array(b), out=_array(out))
    return out


def gemm_addmm_(c: Tensor, a: Tensor, b: Tensor, alpha: float = 1.0, *,
                allow_bf16: bool = False) -> Tensor:
    """``c += alpha * a @ b`` in place (``c`` ``[M, N]``); returns ``c``. ``allow_bf16`` as in
    :func:`gemm_mm` (``c`` stays float32)."""
    if _lowered(allow_bf16, c, a, b):
        return c.add_(_bf16_mm(a, b), alpha=alpha)
    if not _routed(c, a, b):
        return c.addmm_(a, b, alpha=alpha)
    _sync_threads()
    product = _scratch_view(a.size(0), b.size(1), c.dtype)
    with _quiet():
        np.matmul(_array(a), _array(b), out=_array(product))
    return c.add_(product, alpha=alpha)


class _Linear(torch.autograd.Function):
    """``x @ weight.T + bias`` with its three gradients as :func:`gemm_mm` products.

    The backward's products are plain tensor operations, so with ``create_graph=True`` (grad mode
    on) they fall back to differentiable :func:`torch.mm` and double backward works.
    """

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:  # noqa: ANN001
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        out = gemm_mm(x, weight.T)                                          # [N, C]
        return out.add_(bias) if bias is not None else out

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: ANN001, ANN205
        x, weight = ctx.saved_tensors
        grad_x = gemm_mm(grad, weight) if ctx.needs_input_grad[0] else None          # [N, F]
        grad_w = gemm_mm(grad.T, x) if ctx.needs_input_grad[1] else None             # [C, F]
        grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None   # [C]
        return grad_x, grad_w, grad_b


def gemm_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """:func:`torch.nn.functional.linear` whose products (forward and backward) go through
    :func:`gemm_mm`: the encoders' and projection heads' layers, where MKL on AMD was 1.3x
    slower than OpenBLAS for Amazon-Photo's ``[N, 745] @ [745, 256]`` layer and 1.1x for its
    weight gradient, one thread (``benchmarks/CPU_GEMM.md``). Exactly ``F.linear`` when the
    backend is ``torch`` or the input is not a 2-D float32 / float64 CPU tensor.

    Shapes:
        - **x:** ``[N, F]``; **weight:** ``[C, F]``; **bias:** ``[C]``; **output:** ``[N, C]``
    """
    parts = (x, weight) if bias is None else (x, weight, bias)
    if x.dim() != 2 or not _routable(*parts):
        return F.linear(x, weight, bias)
    return _Linear.apply(x, weight, bias)
