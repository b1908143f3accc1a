"""The projection head g used by the contrastive losses (never for evaluation)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gcl.kernels.gemm import gemm_linear

__all__ = ['ProjectionHead']


class ProjectionHead(nn.Module):
    r"""g(z) = W2 ELU(W1 z + b1) + b2, mapping ``D -> P -> D`` (ALGORITHMS.md §0).

    ``normalize=True`` L2-normalises the output, as gCooL does.

    Shapes:
        - **input:** ``[N, D]``; **output:** ``[N, D]``
    """

    def __init__(self, channels: int, hidden: int, normalize: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.normalize = normalize

    def reset_parameters(self) -> None:
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        h = F.elu(gemm_linear(z, self.fc1.weight, self.fc1.bias))
        h = gemm_linear(h, self.fc2.weight, self.fc2.bias)
        return F.normalize(h, dim=-1) if self.normalize else h
