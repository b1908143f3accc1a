"""One timed GRACE training with gcl or with PyGCL's parts: ``python train_gcl_pygcl.py VARIANT
DATASET EPOCHS [SEED [EMBEDDINGS]]``, VARIANT ``gcl`` or ``pygcl``. Prints ``{variant,
sec_per_epoch, peak_rss_mb, final_loss}`` as JSON (the first 2 epochs are left out of the mean as
warm-up). With ``EMBEDDINGS`` (a ``.pt`` path) it also saves the trained encoder's output on the
whole graph, ``[N, D]`` (no augmentation, eval mode), for ``bench_peers_accuracy.py`` to score.

Both use gcl's shipped GRACE config of the dataset. ``pygcl`` builds the model as PyGCL's
``examples/GRACE.py`` does: ``GCL.augmentors`` for the views, PyG ``GCNConv`` layers with the
activation after each, a ``fc1 -> ELU -> fc2`` projection, and ``DualBranchContrast(InfoNCE(tau),
mode='L2L', intraview_negs=True)``. Run it with the stand-in modules on ``PYTHONPATH``.
"""

import json
import resource
import sys
import time

import torch
from settings import grace_graph, grace_settings

variant, dataset, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
embeddings_path = sys.argv[5] if len(sys.argv) > 5 else None
cfg = grace_settings(dataset, epochs, seed)
config = cfg['config']
data = grace_graph(cfg)

if variant == 'gcl':
    from gcl.methods import GRACE

    model = GRACE(config).fit(data)
    seconds = [h['seconds'] for h in model.history_]
    final_loss = model.history_[-1]['loss']
    embed = lambda: model.embed(data)   # noqa: E731
else:
    import GCL.augmentors as A
    import GCL.losses as L
    import torch.nn.functional as F
    from GCL.models import DualBranchContrast
    from torch import nn
    from torch_geometric.nn import GCNConv

    from gcl.encoders.gcn import make_activation

    hidden, first, proj = cfg['hidden'], cfg['first'], cfg['proj']
    pe, pf = cfg['p_edge'], cfg['p_feat']

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            widths = [data.num_features] + [first] * (cfg['layers'] - 1) + [hidden]
            self.convs = nn.ModuleList(GCNConv(a, b) for a, b in zip(widths[:-1], widths[1:]))
            self.act = make_activation(cfg['activation'])
            self.fc1, self.fc2 = nn.Linear(hidden, proj), nn.Linear(proj, hidden)
            self.aug1 = A.Compose([A.EdgeRemoving(pe=pe[0]), A.FeatureMasking(pf=pf[0])])
            self.aug2 = A.Compose([A.EdgeRemoving(pe=pe[1]), A.FeatureMasking(pf=pf[1])])

        def gconv(self, x, edge_index, edge_weight):
            for conv in self.convs:
                x = self.act(conv(x, edge_index, edge_weight))
            return x

        def project(self, z):
            return self.fc2(F.elu(self.fc1(z)))

        def forward(self, x, edge_index):
            x1, e1, w1 = self.aug1(x, edge_index)
            x2, e2, w2 = self.aug2(x, edge_index)
            return self.gconv(x1, e1, w1), self.gconv(x2, e2, w2)

    from gcl.utils.seed import seed_everything

    seed_everything(seed)
    model = Encoder()
    contrast = DualBranchContrast(loss=L.InfoNCE(tau=cfg['tau']), mode='L2L',
                                  intraview_negs=True)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg['lr'],
                                 weight_decay=cfg['weight_decay'])
    x = data.x.to_dense() if data.x.is_sparse else data.x
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        optimiser.zero_grad()
        z1, z2 = model(x, data.edge_index)
        loss = contrast(h1=model.project(z1), h2=model.project(z2))
        loss.backward()
        optimiser.step()
        seconds.append(time.perf_counter() - start)
    final_loss = float(loss)

    def embed() -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return model.gconv(x, data.edge_index, None)

if embeddings_path:
    torch.save(embed().detach().cpu().contiguous(), embeddings_path)
seconds = seconds[2:]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'variant': variant, 'sec_per_epoch': sum(seconds) / len(seconds),
                  'peak_rss_mb': peak, 'final_loss': final_loss}))
