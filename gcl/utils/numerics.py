"""Keep subnormal floats out of CPU training, so long runs do not slow down.

Why: weights and Adam moments that weight decay drives towards zero (e.g. the first layer's
columns for features a dataset never uses) end up as subnormal floats (below 1.18e-38 in
float32), which x86 CPUs process in microcode. CSGCL's first layer held 70k of them (18 %) after
1,770 epochs on Amazon-Photo; its product, weight gradient and Adam update then ran 28x slower
on one thread (``benchmarks/bench_denormals.py``), and the whole epoch went from 0.9 to 4.1 s.

The CPU's flush-to-zero flags (``torch.set_flush_denormal``) belong to one thread, and a new
thread inherits them from the thread that creates it (POSIX). So:

* :func:`flush_denormals_for_process` sets them before torch starts its intra-op threads, which
  then all inherit them. The ``gcl`` command and every ``gcl bench`` child process call it first
  thing; a program using the API can too (it changes float semantics process-wide, which is why
  importing gcl does not do it).
* :func:`flush_denormals` sets them in the calling thread for the length of a block
  (``Method.fit``, the linear probe). Set late, they miss the threads that already exist: with
  two threads the kernel above was only 2.0x faster, against 30x with the flags set first.
* :func:`zero_subnormals_` sets the optimiser's subnormal parameters and moments to zero after
  each step, so the threads that lack the flags meet fewer of them (CSGCL on Photo, two threads:
  2.8 s/epoch against 4.3). Only values below the dtype's smallest normal number change, which
  is what flushing does.
* :func:`keep_subnormals_out` does the last two for one optimiser over a block: the flags, and
  :func:`zero_subnormals_` as the optimiser's own step post-hook (``Method.fit``, the probe).

``GCL_FLUSH_DENORMAL=0`` in the environment turns all of them off (IEEE subnormals, bitwise-faithful
arithmetic). Neither affects CUDA tensors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

# float16's smallest normal number is 6.1e-5: zeroing below it would change real values.
_ZEROED_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def flush_requested() -> bool:
    """``GCL_FLUSH_DENORMAL`` (default on): whether gcl keeps subnormals out of CPU training."""
    return os.environ.get('GCL_FLUSH_DENORMAL', '1').strip().lower() not in (
        '0', 'false', 'no', 'off')


def flush_denormal_enabled() -> bool:
    """Whether subnormal floats are flushed to zero in this thread now."""
    tiny = torch.tensor([1e-40], dtype=torch.float32)   # subnormal, unless flushed on creation
    return bool((tiny * 2.0).item() == 0.0)


def flush_denormals_for_process() -> bool:
    """Flush subnormals in this thread and in every thread it starts afterwards (torch's intra-op
    pool included, if it does not exist yet): call it first thing in a process. Follows
    :func:`flush_requested`; returns whether flushing is on."""
    return flush_requested() and bool(torch.set_flush_denormal(True))


@contextmanager
def flush_denormals(enabled: bool | None = None) -> Iterator[bool]:
    """Flush subnormals to zero in this thread inside the block, then restore the setting.

    ``enabled=None`` follows :func:`flush_requested`. Yields whether flushing is on (False also
    where the CPU does not support it).
    """
    if enabled is None:
        enabled = flush_requested()
    before = flush_denormal_enabled()
    active = bool(torch.set_flush_denormal(bool(enabled))) and bool(enabled)
    try:
        yield active
    finally:
        torch.set_flush_denormal(before)


@torch.no_grad()
def zero_subnormals_(optimizer: torch.optim.Optimizer) -> int:
    """Set every subnormal entry of the optimiser's CPU parameters and state tensors (e.g. Adam's
    moments) to zero, in place. Returns how many entries changed.

    Cost: two elementwise passes over the parameters and state, once per step.
    """
    changed = 0
    for group in optimizer.param_groups:
        for param in group['params']:
            tensors = [param, *(v for v in optimizer.state.get(param, {}).values()
                                if isinstance(v, torch.Tensor))]
            for t in tensors:
                if t.device.type != 'cpu' or t.dtype not in _ZEROED_DTYPES or t.dim() == 0:
                    continue
                tiny = (t != 0) & (t.abs() < torch.finfo(t.dtype).tiny)
                count = int(tiny.sum())
                if count:
                    t.masked_fill_(tiny, 0)
                    changed += count
    return changed


@contextmanager
def keep_subnormals_out(optimizer: torch.optim.Optimizer, enabled: bool | None = None
                        ) -> Iterator[bool]:
    """Inside the block: :func:`flush_denormals` in this thread, and :func:`zero_subnormals_`
    after every ``optimizer.step()`` (a step post-hook, removed on exit). ``enabled=None``
    follows :func:`flush_requested`; yields whether the thread's flags are on."""
    if enabled is None:
        enabled = flush_requested()
    handle = optimizer.register_step_post_hook(_zero_after_step) if enabled else None
    try:
        with flush_denormals(enabled) as active:
            yield active
    finally:
        if handle is not None:
            handle.remove()


def _zero_after_step(optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
    zero_subnormals_(optimizer)
