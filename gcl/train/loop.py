"""The one training loop every method uses: full-batch epochs, NaN guard, stall warning,
progress, checkpoints."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gcl.errors import TrainingDivergedError

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from gcl.methods.base import Method

logger = logging.getLogger(__name__)

__all__ = ['fit_loop', 'Callback', 'StallWatch', 'flat_episodes']

# A callback sees (epoch, method, model, data, loss) after each step; it may return a dict of
# extra numbers to log in the history (e.g. RankMe, probe accuracy).
Callback = Callable[[int, 'Method', nn.Module, 'Data', float], dict[str, float] | None]


def fit_loop(method: Method, model: nn.Module, data: Data, optimizer: torch.optim.Optimizer, *,
             epochs: int, start_epoch: int = 1, progress: bool = False,
             checkpoint_path: str | Path | None = None, checkpoint_every: int = 0,
             checkpoint_seconds: float = 0.0, prior_history: Sequence[dict[str, Any]] = (),
             prior_seconds: float = 0.0, log_seconds: float = 300.0,
             callbacks: Sequence[Callback] = (), stall_window: int = 20
             ) -> list[dict[str, Any]]:
    """Run epochs ``start_epoch..epochs`` of ``method.step`` with one optimiser step each.

    Returns the history: one dict per epoch with ``epoch``, ``loss``, ``seconds`` and whatever the
    callbacks return.

    A checkpoint goes to ``checkpoint_path`` after every ``checkpoint_every``-th epoch and, with
    ``checkpoint_seconds > 0``, after any epoch that ends at least that long after the previous
    checkpoint (or the start). It holds the history so far (``prior_history`` -- the epochs a
    resumed fit restored -- plus this call's) and ``fit_seconds`` (``prior_seconds`` plus the time
    since this call began), so a fit resumed from it reports the whole training.

    A loss that stays flat for ``stall_window`` epochs (0: never checked) is logged as a WARNING
    once per episode (:class:`StallWatch`), and its end as INFO, so a collapsed run is seen at
    its start rather than after hours; training continues (gCooL has been seen to recover).

    Without a progress bar, a line ``epoch k/E, loss, s/epoch, time left`` is logged (INFO) every
    ``log_seconds`` (0: never), so a long run in the background shows where it is.

    Raises:
        TrainingDivergedError: when a loss is NaN or infinite (the message names the epoch).
    """
    history: list[dict[str, Any]] = []
    began = last_saved = last_logged = time.perf_counter()
    bar = _progress(progress)
    stall = StallWatch(method.name, stall_window)
    task = bar.add_task(f'{method.name}', total=epochs, completed=start_epoch - 1,
                        loss=float('nan')) if bar else None
    try:
        for epoch in range(start_epoch, epochs + 1):
            start = time.perf_counter()
            model.train()
            optimizer.zero_grad(set_to_none=True)
            loss = method.step(model, data, epoch)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f'{method.name}: the loss became {value} at epoch {epoch}; training stopped. '
                    'Lower the learning rate (optim.lr) or raise the temperature (loss.tau).')
            stall.update(epoch, value)
            loss.backward()
            optimizer.step()
            method.after_step(model, data, epoch)
            entry: dict[str, Any] = {'epoch': epoch, 'loss': value,
                                     'seconds': time.perf_counter() - start}
            entry.update({f'loss_{k}': v for k, v in method.loss_terms().items()})
            for callback in callbacks:
                extra = callback(epoch, method, model, data, value)
                if extra:
                    entry.update(extra)
            history.append(entry)
            if bar is not None:
                bar.update(task, advance=1, loss=value)
            now = time.perf_counter()
            if bar is None and log_seconds > 0 and now - last_logged >= log_seconds:
                _log_progress(method.name, epoch, epochs, value, history)
                last_logged = now
            if checkpoint_path and ((checkpoint_every and epoch % checkpoint_every == 0) or
                                    (checkpoint_seconds > 0 and
                                     now - last_saved >= checkpoint_seconds)):
                method.write_checkpoint(checkpoint_path, model, optimizer,
                                        [*prior_history, *history], prior_seconds + now - began)
                last_saved = time.perf_counter()
            logger.debug('epoch %d loss %.5f', epoch, value)
    finally:
        if bar is not None:
            bar.stop()
    return history


class StallWatch:
    """Warns when the training loss stops moving: the sign of a collapsed encoder.

    Every method here draws fresh random augmentations each epoch, so even a converged model's
    loss moves from one epoch to the next. A loss flat to ``tol * max(1, |loss|)`` over
    ``window`` epochs means the output no longer depends on the input: the encoder has collapsed,
    every similarity is equal, and an InfoNCE loss over ``2N - 1`` candidates sits at
    :math:`\\log(2N - 1)`. Seen with GCA's paper settings (``lr = 0.1``) on Amazon-Photo's
    held-out-edge graph, flat at 9.6355 = log(15,299) from about epoch 20 until at least epoch
    1,053 of 2,000. That collapse was onto one direction, not dead ReLUs: at epoch 1,052 no
    embedding row was zero, but their effective rank (RankMe) was 1.12, every projected view lay
    within cosine 0.999997 of their mean (they differed only in length, about 4.5e4), and the
    normalisation before the similarities passes back gradients of order 1 / length, so the
    loss stays put. One WARNING per flat episode and an INFO line
    when the loss moves again; nothing is stopped, since gCooL has been seen to recover after
    1,785 flat epochs (:mod:`gcl.eval.collapse`).

    Args:
        name: the method's name, for the messages.
        window: flat epochs before the warning; 0 turns the check off.
        tol: the loss's allowed range over the window, relative to ``max(1, |loss|)``.
        log: whether to log; :func:`flat_episodes` replays a history quietly.

    Attributes:
        episodes: ``[first, last]`` epoch of each flat episode so far; the last one of an
            episode still going on is the latest epoch seen.
    """

    def __init__(self, name: str, window: int = 20, tol: float = 1e-5, log: bool = True) -> None:
        self.name, self.window, self.tol, self.log = name, int(window), float(tol), bool(log)
        self.recent: deque[float] = deque(maxlen=max(self.window, 1))
        self.episodes: list[list[int]] = []
        self.open = False                    # whether the last episode is still going on

    def update(self, epoch: int, loss: float) -> bool:
        """Record ``loss`` of ``epoch``; returns whether the loss is currently flat."""
        if self.window <= 0:
            return False
        self.recent.append(loss)
        tol = self.tol * max(1.0, abs(loss))
        flat = len(self.recent) == self.window and max(self.recent) - min(self.recent) <= tol
        if self.open:
            self.episodes[-1][1] = epoch     # extended now, cut back below if this step moved
        if flat and not self.open:
            self.open = True
            self.episodes.append([epoch - self.window + 1, epoch])
            if self.log:
                logger.warning(
                    '%s: the loss has stayed at %.4f since epoch %d (%d epochs) although every '
                    'epoch draws new augmentations: the encoder has most likely collapsed onto '
                    'one direction (every similarity equal). Training goes on, since it can '
                    'recover; a lower learning rate (optim.lr) usually avoids it.', self.name,
                    loss, self.episodes[-1][0], self.window)
        # Hysteresis: an episode ends on a real step, not when a slow drift (as the loss creeps
        # towards log(2N - 1)) nudges the window's range past tol, which would flap the warning.
        elif not flat and self.open and len(self.recent) >= 2 and \
                abs(self.recent[-1] - self.recent[-2]) > tol:
            self.open = False
            self.episodes[-1][1] = epoch - 1
            if self.log:
                logger.info('%s: the loss moves again at epoch %d (%.4f), after being flat since '
                            'epoch %d', self.name, epoch, loss, self.episodes[-1][0])
        return flat


def flat_episodes(history: Sequence[dict[str, Any]], window: int = 20,
                  tol: float = 1e-5) -> list[list[int]]:
    """The flat-loss episodes of a training ``history`` (dicts with ``epoch`` and ``loss``), as
    :class:`StallWatch` sees them during training: ``[[first, last], ...]`` epochs, ``[]`` for a
    healthy run. Records carry them (``loss_flat``) so a low number is traced to its collapse."""
    watch = StallWatch('', window, tol, log=False)
    for entry in history:
        watch.update(int(entry['epoch']), float(entry['loss']))
    return [list(e) for e in watch.episodes]


def _log_progress(name: str, epoch: int, epochs: int, loss: float,
                  history: list[dict[str, Any]]) -> None:
    recent = [h['seconds'] for h in history[-50:]]
    per_epoch = sum(recent) / len(recent)
    left = int(round(per_epoch * (epochs - epoch)))
    hours, rest = divmod(left, 3600)
    logger.info('%s: epoch %d/%d, loss %.4f, %.2f s/epoch, about %s left', name, epoch, epochs,
                loss, per_epoch, f'{hours}h{rest // 60:02d}m' if hours else f'{rest // 60}m')


def _progress(enabled: bool):  # noqa: ANN202
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(TextColumn('[bold]{task.description}'), BarColumn(), MofNCompleteColumn(),
                   TextColumn('loss {task.fields[loss]:.4f}'), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    bar.start()
    return bar
