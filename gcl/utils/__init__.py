"""Small helpers: seeding, devices, atomic file writes.

Names load on first use (PEP 562), so that light modules such as :mod:`gcl.utils.memory` can be
imported without torch (the ``gcl`` command decides whether to start again before importing it).
"""

import importlib as _importlib

_LAZY: dict[str, str] = {
    'seed_everything': 'gcl.utils.seed',
    'resolve_device': 'gcl.utils.device',
    'atomic_write_text': 'gcl.utils.io',
    'atomic_save_torch': 'gcl.utils.io',
    'append_jsonl': 'gcl.utils.io',
    'read_jsonl': 'gcl.utils.io',
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gcl.utils' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
