"""GRACE's settings for one dataset, as every toolkit's training script reads them: gcl's shipped
GRACE config, resolved once here so that the gcl, PyGCL and CogDL runs cannot drift apart."""

from __future__ import annotations

from typing import Any

from gcl.config import load_config
from gcl.methods import GRACE


def grace_settings(dataset: str, epochs: int | None = None, seed: int = 0) -> dict[str, Any]:
    """``{config, hidden, first, proj, layers, activation, p_edge, p_feat, tau, lr, weight_decay,
    epochs}``: the resolved config (``epochs`` None: the shipped number) and the plain values a
    peer toolkit needs."""
    overrides: dict[str, Any] = {'seed': seed}
    if epochs is not None:
        overrides['optim.epochs'] = epochs
    config = load_config('grace', dataset, overrides=overrides)
    enc, opt = config['encoder'], config['optim']
    hidden = int(enc['hidden'])
    p_edge, p_feat = GRACE(config).rates()   # validated (p1, p2) pairs
    return {'config': config, 'hidden': hidden,
            'first': int(enc.get('first_hidden') or 2 * hidden),
            'proj': int(enc.get('proj_hidden') or hidden), 'layers': int(enc['layers']),
            'activation': enc['activation'], 'p_edge': list(p_edge), 'p_feat': list(p_feat),
            'tau': float(config['loss']['tau']), 'lr': float(opt['lr']),
            'weight_decay': float(opt['weight_decay']), 'epochs': int(opt['epochs'])}


def grace_graph(settings: dict[str, Any]) -> Any:
    """The graph every toolkit trains on: what ``gcl train`` loads for the config (GRACE's
    row-normalised features included), so that only the toolkits differ."""
    from gcl.train.run import load_data

    return load_data(settings['config'])
