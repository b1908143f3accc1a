"""GCL methods. Exporting a class here registers it (``gcl train --method NAME``)."""

from gcl.methods.base import Method
from gcl.methods.csgcl import CSGCL
from gcl.methods.gca import GCA
from gcl.methods.gcool import GCooL
from gcl.methods.gcool_multiplex import GCooLMultiplex
from gcl.methods.grace import GRACE
from gcl.methods.pamc import PamC
from gcl.methods.scgc import SCGC

__all__ = ['Method', 'GRACE', 'GCA', 'CSGCL', 'GCooL', 'GCooLMultiplex', 'PamC', 'SCGC',
           'get_method']


def get_method(name: str) -> type[Method]:
    """The method class registered as ``name`` (e.g. ``'grace'``)."""
    from gcl.registry import resolve

    return resolve('method', name)
