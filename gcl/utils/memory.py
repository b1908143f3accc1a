"""How glibc's malloc hands memory to a CPU training: ``GCL_MALLOC`` = ``thp`` | ``heap`` | ``off``.

Why: a training allocates and frees the same large tensors every epoch (a GCN layer's ``[N, H]``
activations and their gradients: 141 MB each for gCooL's 2,558-wide layer on Amazon-Computers).
glibc serves every block above 32 MB with ``mmap`` and unmaps it when freed, so the kernel maps
and zeroes the same amount of fresh memory again every epoch, 4 KiB page by page. In gCooL's
Amazon-Computers training that was 110,000 page faults per second and 5-15 % system time.

* ``thp`` (what ``auto``, the default, means where the kernel gives transparent huge pages on
  request: ``/sys/kernel/mm/transparent_hugepage/enabled`` is ``madvise``):
  ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` makes malloc ask for 2 MiB pages for those
  blocks, so there are 512x fewer faults. Memory is returned as before, so peak RSS barely
  changes. Two threads, per epoch: CSGCL on Computers 1.13x, gCooL there 1.18x (7.95 s against
  9.41; peak RSS 3,228 MiB against 3,136), gCooL on Coauthor-CS 1.34x; GCA (layers below 32 MB):
  no change beyond noise (``benchmarks/MALLOC.md``).
* ``heap``: ``MALLOC_MMAP_MAX_=0`` and a 64 GiB ``MALLOC_TRIM_THRESHOLD_``: every block comes from
  the heap and freed memory stays mapped for the next epoch; no faults after the first epoch, but
  the heap keeps its high-water mark plus fragmentation. CSGCL on Computers 1.19x at the same
  memory; gCooL there 1.22x at 4,642 MiB (6.3 GB in a long run), on Coauthor-CS 1.53x at 11,143
  MiB against 7,372. For long runs where memory is plentiful.
* ``off``: glibc as it is.

malloc reads these settings once, when a process starts, so ``gcl train``, ``gcl embed`` and ``gcl
bench`` (whose cell processes inherit them) start again at once under them, before torch is
imported (:func:`reexec_argv`). A program using the Python API can put the variables of
:func:`malloc_env` in its own environment before it starts. Numbers do not change, only where
memory comes from. Linux with glibc only; elsewhere nothing is set. Records say which setting a
run had (``versions.malloc``, :func:`malloc_in_effect`).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ['HEAP_ENV', 'THP_TUNABLE', 'malloc_mode', 'malloc_env', 'malloc_in_effect',
           'reexec_argv', 'TRAINING_COMMANDS']

#: ``heap`` mode's variables: no ``mmap``, and a trim threshold no training's free top reaches
HEAP_ENV: dict[str, str] = {'MALLOC_MMAP_MAX_': '0', 'MALLOC_TRIM_THRESHOLD_': str(64 << 30)}
#: ``thp`` mode's glibc tunable (glibc >= 2.35)
THP_TUNABLE = 'glibc.malloc.hugetlb=1'
#: set in a process started under the settings, so that it does not start itself again
APPLIED = 'GCL_MALLOC_APPLIED'
#: the ``gcl`` commands that train, and so start again under the settings
TRAINING_COMMANDS = ('train', 'embed', 'bench')

_THP_FILE = Path('/sys/kernel/mm/transparent_hugepage/enabled')


def _glibc_at_least(major: int, minor: int) -> bool:
    name, version = platform.libc_ver()
    if name != 'glibc' or not version:
        return False
    try:
        have = tuple(int(p) for p in version.split('.')[:2])
    except ValueError:
        return False
    return have >= (major, minor)


def _thp_on_request() -> bool:
    """Whether the kernel gives huge pages to memory that asks (``[madvise]``); with
    ``[always]`` it already does so unasked, and with ``[never]`` not at all."""
    try:
        return '[madvise]' in _THP_FILE.read_text()
    except OSError:
        return False


def malloc_mode() -> str:
    """``GCL_MALLOC`` resolved to what applies here: ``'thp'``, ``'heap'`` or ``'off'``.

    Unset (or ``auto``) means ``thp`` where it helps (Linux, glibc >= 2.35, THP on request),
    else ``off``. ``thp`` asked for where it cannot work is ``off``; ``heap`` needs glibc.

    Raises:
        ValueError: another value.
    """
    asked = os.environ.get('GCL_MALLOC', 'auto').strip().lower() or 'auto'
    if asked not in ('auto', 'thp', 'heap', 'off'):
        raise ValueError(f"GCL_MALLOC must be auto, thp, heap or off, got {asked!r}")
    if platform.system() != 'Linux' or asked == 'off':
        return 'off'
    if asked == 'heap':
        return 'heap' if platform.libc_ver()[0] == 'glibc' else 'off'
    return 'thp' if _glibc_at_least(2, 35) and _thp_on_request() else 'off'


def malloc_env(mode: str | None = None) -> dict[str, str]:
    """The environment variables that put a new process under ``mode`` (default
    :func:`malloc_mode`), merged with what the environment already holds: a ``GLIBC_TUNABLES``
    of the user's keeps its other tunables, and one that sets ``glibc.malloc.hugetlb`` wins."""
    mode = malloc_mode() if mode is None else mode
    if mode == 'heap':
        return {**HEAP_ENV, APPLIED: 'heap'}
    if mode == 'thp':
        tunables = os.environ.get('GLIBC_TUNABLES', '')
        if 'glibc.malloc.hugetlb' in tunables:
            return {APPLIED: 'thp'}
        return {'GLIBC_TUNABLES': f'{tunables}:{THP_TUNABLE}' if tunables else THP_TUNABLE,
                APPLIED: 'thp'}
    return {}


def malloc_in_effect() -> str:
    """The malloc setting this process runs under, read from its environment (set by gcl or by
    hand): ``'heap'``, ``'thp'`` or ``'off'``; for the records, next to the CPU and threads."""
    if os.environ.get('MALLOC_MMAP_MAX_', '').strip() == '0':
        return 'heap'
    if THP_TUNABLE in os.environ.get('GLIBC_TUNABLES', ''):
        return 'thp'
    return 'off'


def reexec_argv(argv: list[str], executable: str,
                env: dict[str, str] | None = None) -> list[str] | None:
    """The command that starts this ``gcl`` process again under the process settings ``env``
    (default :func:`malloc_env`; the ``gcl`` command adds
    :func:`gcl.utils.omp.passive_env`), or ``None``: not a command that trains
    (:data:`TRAINING_COMMANDS`; ``argv[1:]`` read past global options such as ``--debug``;
    ``--help`` and ``--dry-run`` train nothing), already started again, or ``env`` asks for
    nothing the environment does not already hold. Starting again costs about 0.1 s: the
    ``gcl`` command imports torch only after this point (``gcl/__init__.py`` loads names lazily).

    Raises:
        ValueError: a ``GCL_MALLOC`` value that means nothing (:func:`malloc_mode`).
    """
    command = next((a for a in argv[1:] if not a.startswith('-')), None)
    if command not in TRAINING_COMMANDS or os.environ.get(APPLIED):
        return None
    if any(a in ('--help', '--dry-run') for a in argv[1:]):   # nothing trains
        return None
    env = malloc_env() if env is None else env
    if all(os.environ.get(key) == value for key, value in env.items()):
        return None
    return [executable, '-m', 'gcl.cli.main', *argv[1:]]   # however this one was started
