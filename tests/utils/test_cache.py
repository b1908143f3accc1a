"""TensorCache: a per-graph value is reused only for the very same, unchanged tensors."""

from __future__ import annotations

import copy
import gc
import pickle
import weakref

import torch

from gcl.utils.cache import TensorCache


def test_hits_same_tensor_and_misses_clone_edit_and_other_settings() -> None:
    t = torch.arange(6)
    cache: TensorCache[int] = TensorCache()
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get((t,), 'a', compute) == 1
    assert cache.get((t,), 'a', compute) == 1                 # same object, unchanged
    assert cache.get((t.clone(),), 'a', compute) == 2         # equal values, other object
    assert cache.get((t,), 'a', compute) == 3
    t.add_(1)                                                 # edited in place, same address
    assert cache.get((t,), 'a', compute) == 4
    assert cache.get((t,), 'b', compute) == 5                 # other settings
    assert cache.get((t, None), 'b', compute) == 6            # another number of tensors
    assert cache.get((t, None), 'b', compute) == 6            # None matches None
    assert cache.get((t, t), 'b', compute) == 7               # ... and nothing else


def test_a_freed_tensor_never_matches_and_is_not_kept_alive() -> None:
    cache: TensorCache[str] = TensorCache()
    t = torch.zeros(1000)
    cache.get((t,), None, lambda: 'first')
    alive = weakref.ref(t)
    del t
    gc.collect()
    assert alive() is None                                    # the cache did not keep it
    u = torch.zeros(1000)                                     # may reuse the freed memory
    assert not cache.hit((u,), None)
    assert cache.get((u,), None, lambda: 'second') == 'second'


def test_copies_and_pickles_start_empty() -> None:
    t = torch.ones(3)
    cache: TensorCache[int] = TensorCache()
    cache.get((t,), None, lambda: 1)
    for other in (copy.deepcopy(cache), pickle.loads(pickle.dumps(cache))):
        assert not other.hit((t,), None)
        assert other.get((t,), None, lambda: 2) == 2
    cache.clear()
    assert not cache.hit((t,), None)
