"""Every registered method is reachable as ``gcl.<Class>`` (like ``gcl.GRACE`` in the README), and
only concrete classes are registered."""

from __future__ import annotations

import gcl
from gcl.registry import registered


def test_every_registered_method_is_exported_at_the_top_level():
    for name, cls in registered('method').items():
        assert getattr(gcl, cls.__name__, None) is cls, f'gcl.{cls.__name__} ({name}) missing'
        assert cls.__name__ in gcl.__all__


def test_the_abstract_base_class_is_not_a_method_choice():
    """``--method method`` used to pick the abstract ``Method`` and die in a TypeError."""
    import pytest

    from gcl.errors import GCLConfigError
    from gcl.registry import resolve

    assert gcl.Method not in registered('method').values()
    with pytest.raises(GCLConfigError, match="unknown method 'method'; choose one of: csgcl"):
        resolve('method', 'method')
