"""Checkpoints: plain types and tensors only, written atomically, read with
``weights_only=True`` so a foreign or malicious pickle is refused, never executed."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from gcl.errors import GCLCheckpointError
from gcl.utils.io import atomic_save_torch

__all__ = ['save_checkpoint', 'load_checkpoint', 'CHECKPOINT_FORMAT']

CHECKPOINT_FORMAT = 'gcl-checkpoint-v1'


def save_checkpoint(path: str | os.PathLike, *, method: str, config: dict[str, Any],
                    state_dict: dict[str, Any], optimizer: dict[str, Any] | None = None,
                    epoch: int = 0, extra: dict[str, Any] | None = None) -> Path:
    """Write ``{'format', 'gcl_version', 'method', 'config', 'epoch', 'state_dict', ...}``."""
    from gcl import __version__

    payload = {
        'format': CHECKPOINT_FORMAT,
        'gcl_version': __version__,
        'method': method,
        'config': config,
        'epoch': int(epoch),
        'state_dict': state_dict,
        'optimizer': optimizer,
        'rng': torch.get_rng_state(),
        # The GPUs' generators too (dropout masks drawn on CUDA), so a resumed CUDA fit continues
        # the same random stream; only when CUDA is in use (reading it would initialise CUDA).
        'cuda_rng': torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        'extra': extra or {},
    }
    return atomic_save_torch(payload, path)


def load_checkpoint(path: str | os.PathLike, method: str | None = None) -> dict[str, Any]:
    """Read and check a gcl checkpoint.

    Raises:
        GCLCheckpointError: missing file, not a gcl checkpoint, unsafe content (anything
            ``weights_only=True`` refuses), or a checkpoint of another method.
    """
    path = Path(path)
    if not path.is_file():
        raise GCLCheckpointError(f'checkpoint {path} does not exist')
    with open(path, 'rb') as fh:
        head = fh.read(4)
    if not (head.startswith(b'PK\x03\x04') or head[:1] == b'\x80'):  # torch.save: zip or pickle
        raise GCLCheckpointError(f'{path} is not a checkpoint: not a file written by torch.save '
                                 '(gcl checkpoints are .pt files from gcl train or Method.save)')
    try:
        payload = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as exc:
        raise GCLCheckpointError(f'{path} is not a safe gcl checkpoint: it holds objects other '
                                 'than tensors and plain types, so it was not loaded') from exc
    except Exception as exc:  # noqa: BLE001 - zip errors, truncation, EOF
        raise GCLCheckpointError(f'{path} is not a readable checkpoint '
                                 f'({type(exc).__name__}: {str(exc)[:120]})') from exc
    if not isinstance(payload, dict) or payload.get('format') != CHECKPOINT_FORMAT:
        raise GCLCheckpointError(f'{path} is not a gcl checkpoint (no {CHECKPOINT_FORMAT!r} '
                                 'format tag)')
    if method is not None and payload.get('method') != method:
        raise GCLCheckpointError(f'{path} is a checkpoint of method {payload.get("method")!r}, '
                                 f'not {method!r}')
    return payload
