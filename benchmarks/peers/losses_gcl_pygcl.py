"""GRACE's loss by gcl, by GRACE's official formula and by PyGCL, on the fixed input.

Each is evaluated on the views as drawn, ``(h1, h2)``, and on two views that agree, ``(h1, h1)``,
which a contrastive loss must score lower. Prints ``{name: [drawn, agreeing]}`` as JSON. Runs in
gcl's environment with the PyGCL stand-in modules on ``PYTHONPATH`` (see ``bench_peers.py``).
"""

import json

import GCL.losses as L
import torch
import torch.nn.functional as F
from GCL.models import DualBranchContrast
from loss_input import h1, h2, tau

from gcl.losses import InfoNCE


def official(z1: torch.Tensor, z2: torch.Tensor, self_term: bool = False) -> float:
    """GRACE's ``model.py`` loss; ``self_term`` also counts exp(sim(u_i, u_i) / tau)."""
    def semi(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(a), F.normalize(b)
        refl, between = torch.exp(a @ a.t() / tau), torch.exp(a @ b.t() / tau)
        denominator = refl.sum(1) + between.sum(1) - (0 if self_term else refl.diag())
        return -torch.log(between.diag() / denominator)
    return float(0.5 * (semi(z1, z2) + semi(z2, z1)).mean())


pygcl = DualBranchContrast(loss=L.InfoNCE(tau=tau), mode='L2L', intraview_negs=True)
gcl = InfoNCE(tau=tau)
print(json.dumps({
    'gcl': [float(gcl(h1, h2)), float(gcl(h1, h1))],
    'official': [official(h1, h2), official(h1, h1)],
    'official_with_self': [official(h1, h2, True), official(h1, h1, True)],
    'pygcl': [float(pygcl(h1=h1, h2=h2)), float(pygcl(h1=h1, h2=h1))],
}))
