"""Resolve ``--device auto|cpu|cuda|cuda:N`` once, with a clear error where CUDA is absent."""

from __future__ import annotations

import torch

from gcl.errors import GCLConfigError


def resolve_device(spec: str | torch.device | None = 'auto') -> torch.device:
    """Turn a device spec into a :class:`torch.device`.

    ``'auto'`` picks ``cuda`` when a GPU is visible and ``cpu`` otherwise. Asking for CUDA on a
    machine without one raises :class:`GCLConfigError` instead of failing deep inside torch.
    """
    if isinstance(spec, torch.device):
        return spec
    spec = (spec or 'auto').strip().lower()
    if spec == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise GCLConfigError(f'unknown device {spec!r}; use auto, cpu, cuda or cuda:N') from exc
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise GCLConfigError(f'device {spec!r} requested, but no CUDA GPU is visible; '
                                 'use --device cpu or auto')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise GCLConfigError(f'device {spec!r} requested, but only '
                                 f'{torch.cuda.device_count()} CUDA device(s) exist')
    elif device.type != 'cpu':
        raise GCLConfigError(f'unsupported device {spec!r}; use auto, cpu, cuda or cuda:N')
    return device
