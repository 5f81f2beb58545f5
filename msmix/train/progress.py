"""Progress of training and sweeps: live bars where they can redraw, plain lines where they cannot.

A tqdm bar redraws itself with carriage returns and cursor moves. On a terminal, or as a widget in
Jupyter (``tqdm.auto``), that is what one wants; written to a file or a pipe (``2> log.txt``,
``nohup``, CI) it leaves one line per redraw, hundreds per epoch. There, ``StepProgress`` prints
one plain line per finished step (an epoch, a run) instead, and fine-grained bars (batches) are
off.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm.auto import tqdm
from tqdm.std import tqdm as console_tqdm


def bars_redraw(stream: TextIO | None = None) -> bool:
    """Whether a tqdm bar can redraw in place: in Jupyter (``tqdm.auto`` draws widgets there) or
    on a terminal (``stream``, stderr by default, is a TTY)."""
    return in_notebook() or _isatty(stream)


def in_notebook() -> bool:
    """Whether ``tqdm.auto`` draws notebook widgets here (it decides once, at its first import)."""
    from tqdm.autonotebook import tqdm as chosen

    return chosen is not console_tqdm


def _isatty(stream: TextIO | None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def batch_bar(batches: Iterable[Any], total: int, desc: str, enabled: bool) -> Any:
    """A bar over one epoch's batches; off unless ``enabled`` and bars can redraw."""
    return tqdm(batches, total=total, desc=desc, unit="batch", leave=False,
                disable=not (enabled and bars_redraw()), dynamic_ncols=True)


class StepProgress:
    """Counts finished steps out of ``total``: a tqdm bar named ``desc`` where bars redraw, else one
    line per step on stderr (``"epoch 3/25: train=0.41, valid=0.38"``). Disabled, it shows nothing."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0, enabled: bool = True) -> None:
        self.total, self.unit, self.count = total, unit, initial
        self.enabled = enabled
        self._bar = (tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True)
                     if enabled and bars_redraw() else None)

    def step(self, note: str = "") -> None:
        """One more step finished; ``note`` says how it went."""
        self.count += 1
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(1)
        elif self.enabled:
            print(f"{self.unit} {self.count}/{self.total}" + (f": {note}" if note else ""), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> StepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
