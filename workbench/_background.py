"""Slow panel updates (a t-SNE, attributions of other samples) on a worker thread, newest first.

A control's callback runs on the kernel's main thread; if it computed for a second there, the
kernel could not take the next slider position until it finished. ``BackgroundWork`` runs the
update on one worker thread instead and returns at once, so the kernel keeps answering. Requests
that arrive while one runs replace each other: only the newest setting is computed next, never a
queue of stale ones.
"""

from __future__ import annotations

import threading
from typing import Callable

Job = Callable[[], None]


class BackgroundWork:
    """One worker thread running the newest submitted job; ``on_busy(True/False)`` brackets the work.

    Args:
        on_busy: called with True when work starts (on the submitting thread, at once) and with
            False when no job is left (on the worker thread).
        on_error: called (on the worker thread) with an exception a job raised; the next job
            still runs. ``wait`` re-raises the last one.
    """

    def __init__(self, on_busy: Callable[[bool], None], on_error: Callable[[BaseException], None]) -> None:
        self._on_busy, self._on_error = on_busy, on_error
        self._lock = threading.Lock()
        self._pending: Job | None = None
        self._running = False
        self._idle = threading.Condition(self._lock)
        self.error: BaseException | None = None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running

    def submit(self, job: Job) -> None:
        """Run ``job`` soon on the worker (replacing a job that has not started yet); returns at once."""
        with self._lock:
            self._pending = job
            start = not self._running
            self._running = True
            self.error = None
        if start:
            self._on_busy(True)
            threading.Thread(target=self._work, name="msmix-panel-work", daemon=True).start()

    def wait(self, timeout: float | None = None) -> None:
        """Block until no job is pending or running; re-raise the last job's error, if any."""
        with self._idle:
            if not self._idle.wait_for(lambda: not self._running, timeout):
                raise TimeoutError(f"panel work still running after {timeout} s")
            error = self.error
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._pending = self._pending, None
            if job is None:
                self._on_busy(False)
                with self._idle:
                    if self._pending is None:
                        self._running = False
                        self._idle.notify_all()
                        return
                self._on_busy(True)  # a job came in while the panel was being marked idle
                continue
            try:
                job()
            except Exception as error:  # shown by the panel; the worker goes on with newer jobs
                with self._lock:
                    self.error = error
                self._on_error(error)
