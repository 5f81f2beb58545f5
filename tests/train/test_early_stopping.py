"""EarlyStopping against a brute-force statement of MMSA's rule on random loss sequences."""

from __future__ import annotations

import math
import random

import pytest

from msmix.train import EarlyStopping


def reference(losses: list[float], patience: int, min_delta: float) -> tuple[int, int]:
    """(epochs run, best epoch): scan epochs, stop once `patience` epochs pass without improvement."""
    best_loss, best_epoch = math.inf, 0
    for epoch, loss in enumerate(losses, start=1):
        if not math.isnan(loss) and loss <= best_loss - min_delta:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(losses), best_epoch


@pytest.mark.parametrize("seed", range(20))
def test_matches_reference_on_random_sequences(seed):
    rng = random.Random(seed)
    losses = [rng.choice([rng.uniform(0, 2), 1.0, float("nan")]) for _ in range(25)]
    patience = rng.randint(0, 6)
    stopper = EarlyStopping(patience=patience, min_delta=1e-6)
    epochs = 0
    for epoch, loss in enumerate(losses, start=1):
        stopper.update(epoch, loss)
        epochs = epoch
        if stopper.should_stop:
            break
    assert (epochs, stopper.best_epoch) == reference(losses, patience, 1e-6)


def test_state_round_trip_and_order():
    stopper = EarlyStopping(patience=2)
    assert stopper.update(1, 1.0) and not stopper.update(2, 1.5)
    copy = EarlyStopping(patience=2)
    copy.load_state_dict(stopper.state_dict())
    assert copy == stopper
    with pytest.raises(ValueError, match="expected 3, got 5"):
        stopper.update(5, 0.1)
