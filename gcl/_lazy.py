"""Names of a package that load on first use (PEP 562 module ``__getattr__`` / ``__dir__``).

``gcl`` and ``gcl.utils`` export torch-backed names, yet ``import gcl.cli.main`` (the ``gcl``
command) and :mod:`gcl.utils.memory` must not import torch before the command has decided to
start itself again under its malloc settings. Python has the hook but no helper for it before
3.15, and the scientific-Python ``lazy_loader`` package would be one more dependency for two uses.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ['lazy_names']


def lazy_names(package: str, names: dict[str, str]) -> tuple[Callable[[str], object],
                                                                Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, where ``names`` maps each exported name to the
    module that defines it (a name whose module is ``package.name`` is that module itself). A
    loaded name is stored in the package, so the hook runs once per name."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        loaded = importlib.import_module(module)
        value = loaded if module == f'{package}.{name}' else getattr(loaded, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
