"""Training: the shared loop, checkpoints, and run records."""

from gcl.train.checkpoint import load_checkpoint, save_checkpoint
from gcl.train.loop import fit_loop

__all__ = ['fit_loop', 'save_checkpoint', 'load_checkpoint']
