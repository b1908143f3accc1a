"""Free memory on a device, for the kernels' choices (dense or blockwise, exp cache or not)."""

from __future__ import annotations

import os

import torch

__all__ = ['available_memory']


def available_memory(device: torch.device | str | None = None) -> int:
    """Free memory in bytes on ``device``: ``torch.cuda.mem_get_info`` on CUDA, else the
    system's available RAM (``psutil`` when installed, ``/proc/meminfo`` otherwise)."""
    device = torch.device(device) if device is not None else torch.device('cpu')
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open('/proc/meminfo') as fh:
            for line in fh:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_AVPHYS_PAGES'))
