"""Callbacks: how notebooks, the workbench and tests watch (or steer) a running fit.

Events and their arguments:
  ``on_batch_end(trainer, step, loss)``: after each optimised batch; ``step`` counts batches
  from 1 over the whole fit, ``loss`` is the detached total loss tensor (reading it with
  ``.item()`` waits for the device, so only do it when needed).
  ``on_epoch_end(trainer, record)``: after each epoch's validation and checkpoint; ``record`` is
  the new ``EpochRecord`` (``trainer.history`` holds the table so far).
  ``on_fit_end(trainer, result)``: once, with the ``FitResult``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

EVENTS = ("on_batch_end", "on_epoch_end", "on_fit_end")


class Callback:
    """Base class: override the events you need; the others do nothing."""

    def on_batch_end(self, trainer: Any, step: int, loss: Any) -> None:
        pass

    def on_epoch_end(self, trainer: Any, record: Any) -> None:
        pass

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        pass


class CallbackList:
    """Dispatches events to Callback objects and to plain functions added per event."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self._functions: dict[str, list[Callable[..., None]]] = {event: [] for event in EVENTS}
        for callback in callbacks:
            for event in EVENTS:
                self._functions[event].append(getattr(callback, event))

    def add(self, event: str, fn: Callable[..., None]) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown callback event {event!r}; events: {', '.join(EVENTS)}")
        if not callable(fn):
            raise TypeError(f"a callback must be callable, got {type(fn).__name__}")
        self._functions[event].append(fn)

    def fire(self, event: str, *args: Any) -> None:
        for fn in self._functions[event]:
            fn(*args)
