"""Name resolution for registered components.

A component is registered by being exported in its subpackage's ``__all__`` (see STYLE.md §2):
``gcl/losses/__init__.py`` exporting ``DCL`` makes ``resolve('loss', 'dcl')`` work. Names are
matched after normalisation (lower case, ``-``, ``_`` and spaces removed), as PyG's resolver does,
and a class may declare extra ``aliases``.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from gcl.errors import GCLConfigError

__all__ = ['normalize_name', 'registered', 'resolve']

_KINDS = {
    'loss': 'gcl.losses',
    'augment': 'gcl.augment',
    'method': 'gcl.methods',
    'encoder': 'gcl.encoders',
    'community': 'gcl.community',
}


def normalize_name(name: str) -> str:
    """Lower-case ``name``, drop ``-``, ``_``, ``.`` and spaces: ``'Info-NCE'`` -> ``'infonce'``."""
    return ''.join(ch for ch in name.lower() if ch not in '-_. ')


def registered(kind: str) -> dict[str, Any]:
    """All components of ``kind`` as ``{normalised name or alias: class}``."""
    if kind not in _KINDS:
        raise GCLConfigError(f'unknown component kind {kind!r}; known: {sorted(_KINDS)}')
    module = importlib.import_module(_KINDS[kind])
    table: dict[str, Any] = {}
    for public in getattr(module, '__all__', []):
        obj = getattr(module, public)
        if not inspect.isclass(obj) or inspect.isabstract(obj):  # a base class is not a choice
            continue
        names = [getattr(obj, 'name', None) or public, public, *getattr(obj, 'aliases', ())]
        for name in names:
            table.setdefault(normalize_name(name), obj)
    return table


def resolve(kind: str, name: str) -> Any:
    """Return the class registered as ``name`` under ``kind``.

    Raises:
        GCLConfigError: if no component of that name exists; the message lists the valid ones.
    """
    table = registered(kind)
    key = normalize_name(name)
    if key not in table:
        valid = sorted({getattr(c, 'name', c.__name__) for c in table.values()})
        raise GCLConfigError(f'unknown {kind} {name!r}; choose one of: {", ".join(valid)}')
    return table[key]
