"""Graceful stops: SIGTERM/SIGINT set a flag; the run loop saves at the end of the epoch in flight."""

from __future__ import annotations

import signal
import threading


class StopSignal:
    """``with StopSignal() as stop:`` ... ``stop.signum`` is None until SIGTERM/SIGINT arrives.

    A second Ctrl-C raises KeyboardInterrupt at once. Handlers are only installed on the main
    thread (worker threads cannot), and the old ones are put back on exit.
    """

    def __init__(self):
        self.signum = None
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGTERM, signal.SIGINT):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        self.signum = signum
        print(f"\n{signal.Signals(signum).name} received: finishing this epoch, then saving a "
              "checkpoint (Ctrl-C again to abort now)", flush=True)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        return False
