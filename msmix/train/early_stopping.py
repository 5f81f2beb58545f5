"""Early stopping on validation loss, by MMSA's rule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Tracks the best validation loss and says when to stop.

    An epoch improves when its loss is at most ``best_loss - min_delta`` (MMSA: 1e-6); NaN never
    improves. Training stops after epoch ``e`` once ``e - best_epoch >= patience``, so with
    patience 8 and the best epoch 2 the last epoch run is 10. Epochs count from 1.
    """

    patience: int
    min_delta: float = 1e-6
    best_loss: float = math.inf
    best_epoch: int = 0
    last_epoch: int = 0

    def update(self, epoch: int, loss: float) -> bool:
        """Record epoch ``epoch``'s validation loss; return whether it is the new best."""
        if epoch != self.last_epoch + 1:
            raise ValueError(f"epochs must be recorded in order: expected {self.last_epoch + 1}, got {epoch}")
        self.last_epoch = epoch
        improved = not math.isnan(loss) and loss <= self.best_loss - self.min_delta
        if improved:
            self.best_loss, self.best_epoch = float(loss), epoch
        return improved

    @property
    def should_stop(self) -> bool:
        return self.last_epoch > 0 and self.last_epoch - self.best_epoch >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
