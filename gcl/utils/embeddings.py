"""Read and write embedding files (``.pt``, ``.npy``, ``.csv``) safely."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gcl.errors import GCLDataError
from gcl.utils.io import atomic_save_torch, atomic_write_bytes, atomic_write_text

__all__ = ['load_embeddings', 'save_embeddings', 'check_embeddings_path', 'FORMATS']

FORMATS = ('.pt', '.pth', '.npy', '.csv')


def check_embeddings_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path when its suffix names a format here; a clear error otherwise.

    Called before training by ``gcl embed`` so that ``-o emb.txt`` fails at once instead of
    writing a torch zip archive named ``.txt`` after the run (which it did before).
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise GCLDataError(f'{path}: unknown embeddings format {path.suffix or "(no suffix)"!r}; '
                           f'name the file with one of {", ".join(FORMATS)}')
    return path


def load_embeddings(path: str | os.PathLike) -> Tensor:
    """Load ``[N, D]`` embeddings from ``.pt`` (tensor or ``{'embeddings': tensor}``, read with
    ``weights_only=True``), ``.npy`` (no pickles) or ``.csv``."""
    path = check_embeddings_path(path)
    if not path.is_file():
        raise GCLDataError(f'embeddings file {path} does not exist')
    try:
        if path.suffix.lower() == '.npy':
            z = torch.from_numpy(np.load(path, allow_pickle=False))
        elif path.suffix.lower() == '.csv':
            z = torch.from_numpy(np.loadtxt(path, delimiter=',', ndmin=2))
        else:
            obj = torch.load(path, map_location='cpu', weights_only=True)
            z = obj.get('embeddings') if isinstance(obj, dict) else obj
    except (pickle.UnpicklingError, ValueError, RuntimeError, OSError) as exc:
        raise GCLDataError(f'{path} is not a readable, safe embeddings file '
                           f'({type(exc).__name__}: {str(exc)[:120]})') from exc
    if not isinstance(z, Tensor) or z.dim() != 2:
        raise GCLDataError(f'{path} must hold a 2-D [N, D] tensor of embeddings')
    return z.float()


def save_embeddings(z: Tensor, path: str | os.PathLike) -> Path:
    """Write ``z [N, D]`` atomically; the format follows the suffix (.pt/.pth, .npy, .csv)."""
    path = check_embeddings_path(path)
    z = z.detach().cpu()
    if path.suffix.lower() == '.npy':
        buffer = io.BytesIO()
        np.save(buffer, z.numpy())
        return atomic_write_bytes(path, buffer.getvalue())
    if path.suffix.lower() == '.csv':
        buffer = io.StringIO()
        np.savetxt(buffer, z.numpy(), delimiter=',', fmt='%.7g')
        return atomic_write_text(path, buffer.getvalue())
    return atomic_save_torch({'embeddings': z}, path)
