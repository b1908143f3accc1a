r"""A reusable buffer that keeps the blockwise kernel's ``exp`` blocks from forward to backward.

The blockwise InfoNCE kernel (:mod:`gcl.kernels.blockwise`) recomputes every similarity block in
its backward pass, so that its memory stays :math:`O(NB + ND)` at any ``N``. While the blocks fit
in memory, recomputing them is avoidable work: a quarter of the epoch's matrix products for the
GRACE loss (counted in ``[N, N]``-sized products: forward 2 and backward 4 with the cache,
against 2 and 6 without) and half of the ``exp`` passes. Keeping them in *fresh* tensors would
trade that for page faults (a new multi-hundred-MB tensor each epoch is paged in by the kernel),
so the blocks go into one flat buffer per (thread, device, dtype) that is allocated once and
reused by every later forward.

Ownership: each forward that fills the buffer takes a new token; a backward uses the buffer only
while it still holds its own forward's token, and otherwise recomputes (two losses computed before
one ``backward`` stay correct, the first just loses the cache). Backward passes never write into
the buffer, so ``retain_graph=True`` and a second backward see the same blocks. The forward hands
its backward a handle to the buffer itself, not to the thread's pool, because autograd runs CUDA
backward passes on a thread of its own.

Memory: the buffer holds about ``2 N^2`` floats for the symmetric loss with intra-view negatives
(0.47 GB at Amazon-Photo's 7,650 nodes, 1.5 GB at Amazon-Computers, 2.7 GB at Coauthor-CS) and
stays allocated until :func:`release_exp_cache` or the thread ends. A forward uses it only when
the growth it needs fits in :data:`CACHE_MEMORY_FRACTION` of the free memory on the device.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence

import torch
from torch import Tensor

from gcl.kernels.memory import available_memory

__all__ = ['CACHE_MEMORY_FRACTION', 'ExpLayout', 'claim_exp_cache',
           'owned_exp_cache', 'release_exp_cache', 'exp_cache_bytes']

# Share of the free memory a forward may add to the buffer. A quarter leaves the rest of a run
# (model, optimiser, evaluation) its room: on the 24 GB CPU machine it caches up to Coauthor-CS.
CACHE_MEMORY_FRACTION = 0.25

_tokens = itertools.count(1)
_local = threading.local()


class ExpLayout:
    """Where each anchor block's ``exp`` blocks sit in the flat buffer.

    For the block starting at row ``start`` (``B`` rows): the inter-view block ``[B, N]`` and, with
    intra-view negatives, the triangular blocks ``[B, N - start]`` of ``u`` and (symmetric) ``v``.
    """

    def __init__(self, n: int, starts: Sequence[int], block_size: int, intra_view: bool,
                 symmetric: bool) -> None:
        self.offsets: dict[tuple[str, int], tuple[int, int, int]] = {}
        offset = 0
        for start in starts:
            rows = min(start + block_size, n) - start
            kinds = [('inter', n)]
            if intra_view:
                kinds.append(('u', n - start))
                if symmetric:
                    kinds.append(('v', n - start))
            for kind, cols in kinds:
                self.offsets[(kind, start)] = (offset, rows, cols)
                offset += rows * cols
        self.numel = offset

    def view(self, buffer: Tensor, kind: str, start: int) -> Tensor:
        """The ``[B, cols]`` block ``kind`` (``'inter'``, ``'u'`` or ``'v'``) of ``start``."""
        offset, rows, cols = self.offsets[(kind, start)]
        return buffer[offset:offset + rows * cols].view(rows, cols)


def _pool() -> dict[tuple[str, torch.dtype], list]:
    pool = getattr(_local, 'pool', None)
    if pool is None:
        pool = _local.pool = {}
    return pool


def _key(device: torch.device, dtype: torch.dtype) -> tuple[str, torch.dtype]:
    return str(device), dtype


Handle = tuple[list, int]   # (the pool entry [buffer, token], the token a forward took)


def _drop(entry: list) -> None:
    """Free an entry's buffer; a backward still holding a handle to it then recomputes."""
    entry[0], entry[1] = None, 0


def claim_exp_cache(numel: int, device: torch.device, dtype: torch.dtype, *,
                    force: bool = False) -> tuple[Tensor, Handle] | None:
    """A buffer of at least ``numel`` elements and the handle its backward checks ownership
    with, or ``None`` when growing the buffer would need more than :data:`CACHE_MEMORY_FRACTION`
    of the free memory (``force=True`` skips that check)."""
    pool = _pool()
    key = _key(device, dtype)
    entry = pool.get(key)
    if entry is None or entry[0].numel() < numel:
        held = entry[0].numel() if entry is not None else 0
        extra = (numel - held) * torch.empty((), dtype=dtype).element_size()
        if not force and extra > CACHE_MEMORY_FRACTION * available_memory(device):
            return None
        if entry is not None:
            _drop(entry)      # free the smaller buffer before allocating the larger one
        entry = [torch.empty(numel, device=device, dtype=dtype), 0]
        pool[key] = entry
    entry[1] = next(_tokens)
    return entry[0], (entry, entry[1])


def owned_exp_cache(handle: Handle | None) -> Tensor | None:
    """The buffer if it still holds the blocks of the forward that took ``handle``, else
    ``None`` (a later forward refilled it, or it was released)."""
    if handle is None:
        return None
    entry, token = handle
    return entry[0] if entry[0] is not None and entry[1] == token else None


def exp_cache_bytes() -> int:
    """Bytes held by this thread's buffers."""
    return sum(buf.numel() * buf.element_size() for buf, _ in _pool().values())


def release_exp_cache() -> None:
    """Free this thread's buffers (a later forward allocates again)."""
    pool = _pool()
    for entry in pool.values():
        _drop(entry)
    pool.clear()
