"""CogDL's GRACE loss on the fixed input, and whether its views drop edges.

The loss is ``GRACEModelWrapper.contrastive_loss``, symmetrised as its ``train_step`` does, on the
views as drawn and on agreeing views (as ``losses_gcl_pygcl.py``). The edge check calls
``cogdl.utils.dropout_adj`` exactly as ``GRACEModelWrapper.prop`` does, at p = 0.4, on 4,000
random edges. Runs in CogDL's environment; prints JSON.
"""

import json

import torch
from cogdl.models.nn.grace import GRACE
from cogdl.utils import dropout_adj
from cogdl.wrappers.model_wrapper.node_classification.grace_mw import (
    GRACEModelWrapper,
)
from loss_input import h1, h2, tau

model = GRACE(64, 64, 64, 2, [0.3, 0.4], [0.2, 0.4], tau)
wrapper = GRACEModelWrapper(model, {'hidden_size': 64, 'lr': 0.01, 'weight_decay': 0.0}, tau,
                            [0.3, 0.4], [0.2, 0.4], -1, 64)


def loss(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(0.5 * (wrapper.contrastive_loss(a, b) + wrapper.contrastive_loss(b, a)))


edge_index = torch.randint(0, 500, (2, 4000))
kept, _ = dropout_adj(edge_index, torch.ones(4000), 0.4)  # GRACEModelWrapper.prop's call
print(json.dumps({'cogdl': [loss(h1, h2), loss(h1, h1)],
                  'cogdl_edges_kept': [int(kept[0].numel()), 4000]}))
