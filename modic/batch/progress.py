"""Progress reporting for cohort runs: a tqdm bar on a terminal, plain log lines otherwise, and an
optional Python callback `progress(done, total, message) -> bool | None` (the Slicer module's hook;
returning False asks the run to stop cleanly)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ProgressCallback = Callable[[int, int, str], "bool | None"]


class Progress:
    """Counts finished cases and reports them; `update` returns False when the callback cancels."""

    def __init__(self, total: int, callback: ProgressCallback | None = None, show: bool | None = True,
                 stream: TextIO | None = None):
        self.total = total
        self.done = 0
        self.callback = callback
        self.stream = stream or sys.stderr
        self._bar = None
        self._t0 = time.perf_counter()
        self._computed = 0
        self._show = bool(show)
        self._tty = self._show and _isatty(self.stream)

    def begin(self) -> None:
        """Start timing the cases computed in this run (and the tqdm bar, cached cases as its start)."""
        self._t0 = time.perf_counter()
        if self._tty and self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.done, unit="case", file=self.stream,
                             dynamic_ncols=True, desc="modic extract")

    def message(self, text: str) -> bool:
        """Report a message without finishing a case."""
        self._log(text)
        return self._notify(text)

    def skip(self, n: int, text: str) -> bool:
        """Count `n` cases taken from the cache."""
        self.done += n
        self._log(text)
        return self._notify(text)

    def update(self, text: str) -> bool:
        """Count one case computed in this run (successful or failed)."""
        if self._tty and self._bar is None:
            self.begin()
        self.done += 1
        self._computed += 1
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(text[:40], refresh=True)
        elif self._show:
            elapsed = time.perf_counter() - self._t0
            rate = self._computed / elapsed if elapsed > 0 else 0.0
            left = self.total - self.done
            eta = f"{left / rate:.0f} s" if rate > 0 else "?"
            self.stream.write(f"[modic extract] {self.done}/{self.total} {text} "
                              f"({rate * 60:.1f} cases/min, ETA {eta})\n")
            self.stream.flush()
        return self._notify(text)

    def close(self) -> None:
        """Close the bar (if any)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _log(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        elif self._tty:
            self.stream.write(f"modic extract: {text}\n")
            self.stream.flush()
        elif self._show:
            self.stream.write(f"[modic extract] {text}\n")
            self.stream.flush()

    def _notify(self, text: str) -> bool:
        if self.callback is None:
            return True
        return self.callback(self.done, self.total, text) is not False


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
