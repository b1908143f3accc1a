"""One timed GRACE training with CogDL's own model and training step: ``python train_cogdl.py
GRAPH.pt SETTINGS_JSON EPOCHS [SEED [EMBEDDINGS]]``, in CogDL's environment. ``GRAPH.pt`` holds
``{x [N, F], edge_index [2, E]}`` and the settings are gcl's GRACE config of the dataset, both
written by ``bench_peers.py``. Prints the same JSON as ``train_gcl_pygcl.py``; with
``EMBEDDINGS`` it also saves CogDL's own ``model.embed(graph)`` (the encoder on the whole graph,
eval mode), ``[N, D]``.
"""

import json
import resource
import sys
import time

import torch
from cogdl.data import Graph
from cogdl.models.nn.grace import GRACE
from cogdl.wrappers.model_wrapper.node_classification.grace_mw import GRACEModelWrapper

path, cfg, epochs = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
embeddings_path = sys.argv[5] if len(sys.argv) > 5 else None
blob = torch.load(path, weights_only=True)
graph = Graph(x=blob['x'], edge_index=blob['edge_index'])
torch.manual_seed(seed)
model = GRACE(blob['x'].size(1), cfg['hidden'], cfg['proj'], cfg['layers'], cfg['p_feat'],
              cfg['p_edge'], cfg['tau'], cfg['activation'])
wrapper = GRACEModelWrapper(model, {'hidden_size': cfg['hidden'], 'lr': cfg['lr'],
                                    'weight_decay': cfg['weight_decay']},
                            cfg['tau'], cfg['p_feat'], cfg['p_edge'], -1, cfg['proj'])
optimiser = wrapper.setup_optimizer()
seconds = []
for _ in range(epochs):
    start = time.perf_counter()
    wrapper.train()
    optimiser.zero_grad()
    loss = wrapper.train_step(graph)
    loss.backward()
    optimiser.step()
    seconds.append(time.perf_counter() - start)
if embeddings_path:
    wrapper.eval()
    with torch.no_grad():
        torch.save(model.embed(graph).detach().cpu().contiguous(), embeddings_path)
seconds = seconds[2:]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'variant': 'cogdl', 'sec_per_epoch': sum(seconds) / len(seconds),
                  'peak_rss_mb': peak, 'final_loss': float(loss)}))
