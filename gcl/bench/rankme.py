r"""RankMe: label-free model selection from the effective rank of the embeddings.

Garrido, Balestriero, Najman, LeCun, "RankMe: Assessing the downstream performance of pretrained
self-supervised representations by their rank", ICML 2023 (their definition of RankMe):

.. math::
    p_k = \frac{\sigma_k(Z)}{\lVert \sigma(Z) \rVert_1} + \epsilon, \qquad
    \mathrm{RankMe}(Z) = \exp\Bigl(-\sum_{k=1}^{\min(N, D)} p_k \log p_k\Bigr)

with :math:`\sigma(Z)` the singular values of the embedding matrix :math:`Z` ``[N, D]`` and
:math:`\epsilon = 10^{-7}`. It lies in :math:`[1, \min(N, D)]` (up to the tiny
:math:`\epsilon` terms), equals :math:`r` when :math:`Z` has :math:`r` equal non-zero singular
values, and drops when the embeddings collapse onto few directions. The paper finds that higher
RankMe goes with higher linear-probe accuracy, so the checkpoint (or hyper-parameter setting)
with the highest RankMe can be chosen without labels.

:class:`RankMe` is a training callback (:data:`gcl.train.loop.Callback`) that logs ``rankme``
(and, optionally, a cheap probe accuracy, which does use labels and is for curves only) into the
history, and with ``select=True`` keeps the weights of the epoch with the highest RankMe.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from gcl.errors import GCLConfigError, GCLDataError

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from gcl.methods.base import Method

logger = logging.getLogger(__name__)

__all__ = ['rankme', 'RankMe', 'select_best', 'callbacks_from_config']

#: the paper's epsilon (Garrido et al., 2023)
EPS = 1e-7


def rankme(z: Tensor, eps: float = EPS) -> float:
    r"""Effective rank of ``z`` (RankMe, Garrido et al. 2023; module docstring).

    The singular values are computed in float64 (``torch.linalg.svdvals``), so the value is
    stable for any float input.

    Args:
        z (Tensor): embeddings, one row per node.
        eps (float, optional): the paper's smoothing term. (default: :obj:`1e-7`)

    Returns:
        float: :math:`\exp(H(p))` in :math:`[1, \min(N, D)]`; 0.0 for an all-zero matrix (no
        direction at all).

    Shapes:
        - **input:** :math:`(N, D)`; **output:** scalar
    """
    if not isinstance(z, Tensor) or z.dim() != 2:
        raise GCLDataError(f'rankme expects a 2-D [N, D] tensor, got '
                           f'{tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__}')
    if z.numel() == 0:
        raise GCLDataError(f'rankme got an empty matrix of shape {tuple(z.shape)}')
    z = z.detach().to(torch.float64)
    if not torch.isfinite(z).all():
        raise GCLDataError('rankme: the embeddings hold NaN or infinite values')
    sigma = torch.linalg.svdvals(z)                                   # [min(N, D)]
    total = sigma.sum()
    if total <= 0:
        return 0.0
    p = sigma / total + eps                                           # [min(N, D)]
    return float(torch.exp(-(p * torch.log(p)).sum()))


class RankMe:
    """Training callback: log RankMe every ``every`` epochs; optionally select by it.

    Compatible with :data:`gcl.train.loop.Callback`: called as
    ``callback(epoch, method, model, data, loss)`` after each optimiser step, it returns
    ``{'rankme': ...}`` (plus ``probe_acc`` / ``probe_val_acc`` on probe epochs) for the history.
    :meth:`gcl.methods.Method.fit` calls :meth:`on_fit_end` after the last epoch; with
    ``select=True`` that loads the weights of the highest-RankMe epoch into the model (no labels
    are used for the choice) and sets ``method.selection_``.

    The callback restores the torch / NumPy / Python random states it found, so logging does not
    change the training trajectory.

    Args:
        every (int, optional): measure RankMe every ``every`` epochs (and at the last epoch);
            0 is off (probe only). (default: :obj:`1`)
        select (bool, optional): keep the best-RankMe weights. (default: :obj:`False`)
        probe_every (int, optional): every ``probe_every`` epochs also log a one-split linear
            probe (``random-10-10-80``, the labels are used: for curves only); 0 is off.
            (default: :obj:`0`)
        random_state (int, optional): seed of the probe's split. (default: :obj:`0`)
        select_from (int, optional): the first epoch that can be selected (RankMe is logged
            before it too). Right after initialisation a GCN encoder's output is close to full
            rank, higher than after training (benchmarks/RANKME.md), so selection should skip
            the first part of training. (default: :obj:`1`)

    Attributes:
        best_epoch_ (int | None), best_rankme_ (float): the highest RankMe seen from
            ``select_from`` on.
        best_state_ (dict | None): a CPU copy of the model's ``state_dict`` at ``best_epoch_``
            (only with ``select=True``).
    """

    def __init__(self, every: int = 1, select: bool = False, probe_every: int = 0,
                 random_state: int = 0, select_from: int = 1) -> None:
        if int(every) < 0 or (select and int(every) < 1):
            raise GCLConfigError(f'RankMe: every must be >= 1 (0 turns logging off, not allowed '
                                 f'with select=True), got {every}')
        if int(probe_every) < 0:
            raise GCLConfigError(f'RankMe: probe_every must be >= 0, got {probe_every}')
        self.every = int(every)
        self.select = bool(select)
        self.probe_every = int(probe_every)
        self.random_state = int(random_state)
        self.select_from = int(select_from)
        self.best_epoch_: int | None = None
        self.best_rankme_ = -math.inf
        self.best_state_: dict[str, Tensor] | None = None

    def _is_due(self, epoch: int, every: int, last: int | None) -> bool:
        return every > 0 and (epoch % every == 0 or epoch == last)

    def __call__(self, epoch: int, method: Method, model: nn.Module, data: Data,
                 loss: float) -> dict[str, float] | None:
        last = _last_epoch(method)
        want_rank = self._is_due(epoch, self.every, last)
        want_probe = self._is_due(epoch, self.probe_every, last) and \
            getattr(data, 'y', None) is not None
        if not (want_rank or want_probe):
            return None
        states = _rng_states()
        was_training = model.training
        try:
            model.eval()
            with torch.no_grad():
                z = method.encode(model, data).detach().float()          # [N, D]
            out: dict[str, float] = {}
            if want_rank:
                value = rankme(z)
                out['rankme'] = value
                if epoch >= self.select_from and value > self.best_rankme_:
                    self.best_rankme_ = value
                    self.best_epoch_ = epoch
                    if self.select:
                        self.best_state_ = {k: v.detach().to('cpu', copy=True)
                                            for k, v in model.state_dict().items()}
            if want_probe:
                out.update(_probe(z, data.y, self.random_state))
        finally:
            model.train(was_training)
            _set_rng_states(states)
        return out

    def on_fit_end(self, method: Method, model: nn.Module) -> None:
        """With ``select=True``, load the best-RankMe weights into ``model``."""
        if not self.select or self.best_state_ is None:
            return
        model.load_state_dict(self.best_state_)
        method.selection_ = {'by': 'rankme', 'epoch': self.best_epoch_,
                             'rankme': self.best_rankme_}
        logger.info('%s: kept epoch %d, the highest RankMe (%.2f)', method.name,
                    self.best_epoch_, self.best_rankme_)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(every={self.every}, select={self.select}, '
                f'probe_every={self.probe_every}, select_from={self.select_from})')


def select_best(candidates: Sequence[Mapping[str, Any]], key: str = 'rankme') -> int:
    """Index of the candidate with the highest ``key`` (e.g. hyper-parameter settings' RankMe).

    Candidates without a finite ``key`` are ignored; ties go to the first.

    Raises:
        GCLDataError: when no candidate has a finite ``key``.
    """
    best, best_value = -1, -math.inf
    for i, candidate in enumerate(candidates):
        value = candidate.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value) and value > best_value:
            best, best_value = i, float(value)
    if best < 0:
        raise GCLDataError(f'select_best: no candidate has a finite {key!r}')
    return best


def callbacks_from_config(config: Mapping[str, Any]) -> list[RankMe]:
    """The callbacks a run's ``train`` section asks for (used by :func:`gcl.train.run.run`).

    ``train.select``: ``'last'`` (default) or ``'rankme'``: the highest-RankMe epoch among
    those after the first ``train.select_after`` fraction of ``optim.epochs`` (default 0.5: the
    second half of training); ``train.rankme_every`` (0: off, or 1 when selecting) and
    ``train.probe_every`` (0: off) log RankMe / a probe accuracy.

    Raises:
        GCLConfigError: an unknown ``train.select`` or a negative interval.
    """
    train = config.get('train') or {}
    select = str(train.get('select') or 'last')
    if select not in ('last', 'rankme'):
        raise GCLConfigError(f"train.select must be 'last' or 'rankme', got {select!r}")
    try:
        every = int(train.get('rankme_every') or 0)
        probe = int(train.get('probe_every') or 0)
    except (TypeError, ValueError) as exc:
        raise GCLConfigError('train.rankme_every and train.probe_every must be integers') \
            from exc
    try:
        after = float(train.get('select_after', 0.5) or 0.0)
    except (TypeError, ValueError) as exc:
        raise GCLConfigError('train.select_after must be a number in [0, 1)') from exc
    if not 0.0 <= after < 1.0:
        raise GCLConfigError(f'train.select_after must be in [0, 1) (a fraction of the epochs), '
                             f'got {after}')
    if select == 'rankme' and every == 0:
        every = 1
    if every == 0 and probe == 0:
        return []
    epochs = int((config.get('optim') or {}).get('epochs') or 0)
    return [RankMe(every=every, select=select == 'rankme', probe_every=probe,
                   random_state=int(config.get('seed') or 0),
                   select_from=int(after * epochs) + 1)]


def _last_epoch(method: Method) -> int | None:
    try:
        return int(method.config['optim']['epochs'])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def _probe(z: Tensor, y: Tensor, random_state: int) -> dict[str, float]:
    """One random 10/10/80 split, validation-selected C: a cheap accuracy for curves."""
    from gcl.eval import evaluate_node_classification

    result = evaluate_node_classification(z, y.cpu(), protocol='random-10-10-80', repeats=1,
                                          random_state=random_state)
    return {'probe_acc': float(result['test_acc']), 'probe_val_acc': float(result['val_acc'])}


def _rng_states() -> dict[str, Any]:
    states: dict[str, Any] = {'torch': torch.get_rng_state(), 'numpy': np.random.get_state(),
                              'python': random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states['torch'])
    np.random.set_state(states['numpy'])
    random.setstate(states['python'])
    if 'cuda' in states:
        torch.cuda.set_rng_state_all(states['cuda'])
