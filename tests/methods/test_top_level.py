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


def test_every_method_takes_float64_features_as_numpy_gives_them(sbm_graph):
    """Features from numpy arrive as float64; fit stopped with a dtype RuntimeError in the first
    matrix product. They are now cast on a copy: the caller's graph keeps its dtype."""
    import torch

    graph = sbm_graph.clone()
    graph.x = graph.x.double()
    for name, cls in registered('method').items():
        if name == 'gcoolmultiplex':      # needs relations: tests/methods/test_gcool.py
            continue
        method = cls(epochs=1, random_state=0).fit(graph)
        z = method.embed(graph)
        assert z.dtype == torch.float32 and z.size(0) == 60, name
        assert graph.x.dtype == torch.float64, name
        for extra in ('predict', 'assign'):          # PamC's clusters, gCooL's communities
            if hasattr(method, extra):
                assert getattr(method, extra)(graph).shape == (60,), (name, extra)
