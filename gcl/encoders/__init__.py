"""Encoders and projection heads."""

from gcl.encoders.gcn import GCNEncoder, make_activation
from gcl.encoders.projection import ProjectionHead

__all__ = ['GCNEncoder', 'ProjectionHead', 'make_activation']
