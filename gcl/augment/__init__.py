"""Graph augmentations as PyG transforms (``Data`` in, ``Data`` out, input untouched)."""

from gcl.augment.adaptive import (
    AdaptiveDropEdge,
    AdaptiveMaskFeature,
    adaptive_probabilities,
    edge_drop_weights,
    feature_drop_weights,
)
from gcl.augment.communal import (
    CommunalAttributeVoting,
    CommunalDropEdge,
    cav,
    cav_dense,
    ced,
    ced_edge_weights,
)
from gcl.augment.compose import Compose, make_view
from gcl.augment.drop_edge import DropEdge
from gcl.augment.functional import drop_edge_weighted, drop_feature, drop_feature_weighted
from gcl.augment.mask_feature import MaskFeature
from gcl.augment.weighted import WeightedFeatureMask

__all__ = [
    'DropEdge',
    'AdaptiveDropEdge',
    'AdaptiveMaskFeature',
    'edge_drop_weights',
    'feature_drop_weights',
    'adaptive_probabilities',
    'MaskFeature',
    'WeightedFeatureMask',
    'Compose',
    'make_view',
    'drop_feature',
    'drop_feature_weighted',
    'drop_edge_weighted',
    'CommunalDropEdge',
    'CommunalAttributeVoting',
    'ced',
    'ced_edge_weights',
    'cav',
    'cav_dense',
]
