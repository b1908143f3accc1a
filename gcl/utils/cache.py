"""One remembered value per graph: valid while the very same tensors, unchanged, come back.

Augmentations (GCA's drop probabilities, CSGCL's edge and attribute weights), the GCN encoder's
normalised adjacency and a method's sparse copy of the features are computed once per graph and
reused every epoch. A key made of ``data_ptr()`` and sizes is not safe for that: a tensor edited
in place keeps its address, and a freed tensor's memory can be handed to the next graph of the
same size, so the next call would silently reuse the old graph's values. :class:`TensorCache`
keys on the tensor objects themselves (held by weak reference, so it keeps no graph alive and a
freed tensor never matches) and on their in-place version counters.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from torch import Tensor

__all__ = ['TensorCache']

T = TypeVar('T')


class TensorCache(Generic[T]):
    """Remembers the value computed from the last tensors (and extra hashable settings) seen.

    Example:
        >>> cache = TensorCache()
        >>> p = cache.get((data.edge_index,), data.num_nodes, lambda: probabilities(data))

    ``None`` entries in ``tensors`` (an absent edge weight) match only ``None``. Copies and
    pickles of the owner start empty (weak references cannot be pickled).
    """

    def __init__(self) -> None:
        # (weak references to the tensors, their versions + extra, the value), or None
        self._entry: tuple[tuple[weakref.ref | None, ...], tuple, T] | None = None

    def clear(self) -> None:
        """Forget the remembered value."""
        self._entry = None

    @staticmethod
    def _versions(tensors: Sequence[Tensor | None], extra: Hashable) -> tuple:
        return tuple(None if t is None else t._version for t in tensors) + (extra,)

    def hit(self, tensors: Sequence[Tensor | None], extra: Hashable = None) -> bool:
        """Whether the remembered value belongs to ``tensors`` (the same objects, not modified in
        place since) and ``extra``."""
        if self._entry is None:
            return False
        refs, key, _ = self._entry
        return (len(refs) == len(tensors)
                and all((t is None) if ref is None else ref() is t
                        for ref, t in zip(refs, tensors))
                and key == self._versions(tensors, extra))

    def get(self, tensors: Sequence[Tensor | None], extra: Hashable,
            compute: Callable[[], T]) -> T:
        """The remembered value for ``tensors`` and ``extra``, or ``compute()``, remembered."""
        if not self.hit(tensors, extra):
            value = compute()
            self._entry = (tuple(None if t is None else weakref.ref(t) for t in tensors),
                           self._versions(tensors, extra), value)
        return self._entry[2]  # type: ignore[index]

    def __getstate__(self) -> dict:
        return {'_entry': None}

    def __deepcopy__(self, memo: dict) -> TensorCache[T]:
        return TensorCache()
