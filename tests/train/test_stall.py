"""The training loop's stall warning (``gcl.train.loop.StallWatch``): a loss that stops moving
although every epoch draws new augmentations is reported once, when it starts, and its end too."""

from __future__ import annotations

import logging
import math
import random

from gcl.train.loop import StallWatch, flat_episodes

COLLAPSED = math.log(2 * 7650 - 1)   # InfoNCE with every similarity equal, Amazon-Photo's N


def _feed(watch: StallWatch, losses: list[float]) -> list[bool]:
    return [watch.update(epoch, loss) for epoch, loss in enumerate(losses, start=1)]


def test_a_flat_loss_warns_once_with_its_first_epoch(caplog):
    rng = random.Random(0)
    noisy = [9.2 - 0.01 * e + rng.uniform(-0.05, 0.05) for e in range(30)]
    flat = [COLLAPSED + 1e-7 * rng.random() for _ in range(50)]
    with caplog.at_level(logging.INFO, logger='gcl.train.loop'):
        states = _feed(StallWatch('gca', window=20), noisy + flat)
    assert not any(states[:49])            # 20 flat epochs are needed: epochs 31-50
    assert states[49] and all(states[49:])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert 'since epoch 31' in warnings[0].getMessage() and '9.6355' in warnings[0].getMessage()


def test_recovery_is_reported_and_a_new_episode_warns_again(caplog):
    losses = [5.0] * 25 + [4.0, 3.9, 4.1] + [3.0] * 25
    with caplog.at_level(logging.INFO, logger='gcl.train.loop'):
        _feed(StallWatch('gcool', window=10), losses)
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in messages] == [logging.WARNING, logging.INFO, logging.WARNING]
    assert 'moves again at epoch 26' in messages[1][1]


def test_a_training_loss_that_moves_never_warns(caplog):
    rng = random.Random(1)
    losses = [8.0 - 0.001 * e + rng.gauss(0, 0.01) for e in range(500)]
    with caplog.at_level(logging.INFO, logger='gcl.train.loop'):
        assert not any(_feed(StallWatch('grace', window=20), losses))
    assert caplog.records == []


def test_window_zero_turns_it_off(caplog):
    with caplog.at_level(logging.INFO, logger='gcl.train.loop'):
        assert not any(_feed(StallWatch('gca', window=0), [1.0] * 100))
    assert caplog.records == []


def test_episodes_are_kept_and_replayed_from_a_history(caplog):
    losses = [5.0] * 25 + [4.0, 3.9, 4.1] + [3.0] * 25
    watch = StallWatch('gcool', window=10)
    _feed(watch, losses)
    # flat from epoch 1 until the step at epoch 26; again from epoch 29 (3.0 from there on) to
    # the end, which is the latest epoch seen
    assert watch.episodes == [[1, 25], [29, 53]]
    history = [{'epoch': e, 'loss': v} for e, v in enumerate(losses, start=1)]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger='gcl.train.loop'):
        assert flat_episodes(history, window=10) == watch.episodes
    assert caplog.records == []                          # the replay is quiet
    moving = [{'epoch': e, 'loss': 8.0 - 0.01 * e} for e in range(1, 200)]
    assert flat_episodes(moving) == []
    resumed = [{'epoch': e, 'loss': COLLAPSED} for e in range(500, 540)]  # epochs from a resume
    assert flat_episodes(resumed) == [[500, 539]]
