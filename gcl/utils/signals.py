"""Turn SIGTERM into ``SystemExit`` so a stopped run cleans up after itself.

Python's default SIGTERM ends the process at once: no ``finally``, no ``except BaseException``.
A run stopped that way (``kill``, ``timeout``, a batch scheduler, a session ending) left its
hidden ``.partial-<run>`` folder behind. With :func:`exit_on_sigterm` installed, SIGTERM raises
``SystemExit(143)`` in the main thread; :func:`gcl.train.run.run` then removes its partial
folder and the records file is untouched, as on Ctrl-C. Checkpoints already written stay, so the
next start resumes. (SIGKILL cannot be caught; the ``.partial-`` prefix marks what it leaves.)
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

__all__ = ['exit_on_sigterm']

#: 128 + SIGTERM, the exit status a shell reports for a process ended by SIGTERM
SIGTERM_EXIT = 143


def _raise_exit(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001 - signal API
    sys.exit(SIGTERM_EXIT)


def exit_on_sigterm() -> bool:
    """Install the handler (main thread only, where Python runs handlers); returns whether it
    was installed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGTERM, _raise_exit)
    return True
