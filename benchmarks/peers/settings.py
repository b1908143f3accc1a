"""GRACE's settings for one dataset, as every toolkit's training script reads them: gcl's shipped
GRACE config, resolved once here so that the gcl, PyGCL and CogDL runs cannot drift apart."""

from __future__ import annotations

from typing import Any

from gcl.config import load_config
from gcl.methods import GRACE


def grace_settings(dataset: str, epochs: int | None = None) -> dict[str, Any]:
    """``{config, hidden, first, proj, layers, activation, p_edge, p_feat, tau, lr,
    weight_decay}``: the resolved config and the plain values a peer toolkit needs."""
    overrides = {'seed': 0} if epochs is None else {'optim.epochs': epochs, 'seed': 0}
    config = load_config('grace', dataset, overrides=overrides)
    enc, opt = config['encoder'], config['optim']
    hidden = int(enc['hidden'])
    p_edge, p_feat = GRACE(config).rates()   # validated (p1, p2) pairs
    return {'config': config, 'hidden': hidden,
            'first': int(enc.get('first_hidden') or 2 * hidden),
            'proj': int(enc.get('proj_hidden') or hidden), 'layers': int(enc['layers']),
            'activation': enc['activation'], 'p_edge': list(p_edge), 'p_feat': list(p_feat),
            'tau': float(config['loss']['tau']), 'lr': float(opt['lr']),
            'weight_decay': float(opt['weight_decay'])}
