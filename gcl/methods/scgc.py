"""SCGC*: the dense influence-augmented contrastive clustering baseline PamC approximates.

ALGORITHMS.md §5.2 / §5.3 (``gayanku/SCGC`` ``train.py`` ``Ncontrast``; the PAMC repository's
``--model SCGC_TRIM`` needs it but lacks it). Same model, pre-training, DEC assignment, target
distribution, evaluation and time/memory accounting as :class:`~gcl.methods.pamc.PamC`; only
the contrastive term differs: :func:`gcl.losses.scgc_dense_loss` over the dense ``[N, N]``
similarity matrix and the dense influence matrix :math:`\\hat A_r`. That dense term is what PamC's
meta-node loss replaces (its time and memory are compared in ``benchmarks/bench_pamc.py``).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.losses.pamc import scgc_dense_loss
from gcl.methods.pamc import PamC, influence_positives

__all__ = ['SCGC']


class SCGC(PamC):
    """SCGC* (dense baseline of PamC); see the module docstring."""

    name = 'scgc'
    description = 'SCGC* (Kulatilleke et al.): DEC + dense influence contrastive loss (baseline)'

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        config = copy.deepcopy(PamC.default_config())
        config['loss'] = {'name': 'scgc', 'alpha': 1.0, 'beta': 0.1, 'tau': 0.25, 'order': 1}
        return config

    def prepare(self, data: Data) -> None:
        super().prepare(data)
        n = data.num_nodes
        dense = torch.zeros(n, n, dtype=data.x.dtype, device=data.x.device)       # [N, N]
        index, value = influence_positives(data.edge_index, n, int(self.config['loss']['order']))
        dense[index[0].to(dense.device), index[1].to(dense.device)] = value.to(dense)
        self.adjacency_ = dense

    def contrastive_loss(self, z: Tensor, assignment: Tensor) -> Tensor:
        """The dense SCGC* term (the assignment is not used)."""
        return scgc_dense_loss(z, self.adjacency_, float(self.config['loss']['tau']))
