"""Small helpers: seeding, devices, atomic file writes."""

from gcl.utils.device import resolve_device
from gcl.utils.io import append_jsonl, atomic_save_torch, atomic_write_text, read_jsonl
from gcl.utils.seed import seed_everything

__all__ = [
    'seed_everything',
    'resolve_device',
    'atomic_write_text',
    'atomic_save_torch',
    'append_jsonl',
    'read_jsonl',
]
