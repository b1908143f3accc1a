"""Small helpers: seeding, devices, atomic file writes.

Names load on first use (PEP 562), so that light modules such as :mod:`gcl.utils.memory` can be
imported without torch (the ``gcl`` command decides whether to start again before importing it).
"""

from gcl._lazy import lazy_names as _lazy_names

_LAZY: dict[str, str] = {
    'seed_everything': 'gcl.utils.seed',
    'resolve_device': 'gcl.utils.device',
    'atomic_write_text': 'gcl.utils.io',
    'atomic_save_torch': 'gcl.utils.io',
    'append_jsonl': 'gcl.utils.io',
    'read_jsonl': 'gcl.utils.io',
}

__all__ = list(_LAZY)


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)
