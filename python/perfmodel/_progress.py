"""A dependency-free progress bar for long Python-side loops (sweeps, searches).

In a terminal it redraws one line with ``\\r``; in a Jupyter notebook it updates an HTML display
in place. It switches itself off when neither applies (output piped, pytest, CI), so library
code can always create one.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any, Callable, TextIO

from . import _core

__all__ = ["Progress", "make_callback"]

# Redrawing more often than this costs more than it shows (and floods notebook outputs).
_MIN_INTERVAL_S = 0.1
_BAR_WIDTH = 30
_clock = time.perf_counter  # a seam for tests


def _notebook_shell() -> bool:
    """True inside a Jupyter kernel. A kernel has imported IPython already, so looking in
    sys.modules is enough and spares plain scripts IPython's import time (or its absence)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    shell = get_ipython()
    # Subclasses count too (Google Colab's shell derives from ZMQInteractiveShell).
    return any(cls.__name__ == "ZMQInteractiveShell" for cls in type(shell).__mro__)


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class Progress:
    """Progress of ``total`` items, shown as
    ``desc: [####....]  42% 4,200/10,000 [1,234.5 it/s, 3.4 s]``.

    ``enabled=None`` turns the bar on in a Jupyter kernel or when ``file`` (default
    ``sys.stderr``) is a terminal, and off otherwise. In a notebook the bar is an HTML display
    unless ``file`` is given. :meth:`update` takes the absolute count done and redraws at most
    ten times a second, plus once when the count reaches ``total``.
    """

    def __init__(self, total: int, desc: str = "", enabled: bool | None = None,
                 file: TextIO | None = None):
        self.total = max(int(total), 0)
        self.desc = desc
        self.done = 0
        notebook = file is None and _notebook_shell()
        self._file = sys.stderr if file is None else file
        self.enabled = (notebook or _isatty(self._file)) if enabled is None else bool(enabled)
        self._notebook = self.enabled and notebook
        self._start = _clock()
        self._last_draw = float("-inf")
        self._drawn: int | None = None  # count shown by the last redraw
        self._width = 0  # length of the last terminal line, to blank out leftovers
        self._handle: Any = None
        self._closed = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, done: int) -> None:
        """Record that ``done`` items (absolute, not an increment) are finished."""
        self.done = int(done)
        if not self.enabled or self._closed:
            return
        now = _clock()
        final = self.done >= self.total and self._drawn != self.done
        if final or now - self._last_draw >= _MIN_INTERVAL_S:
            self._draw(now)

    def close(self) -> None:
        """Show the final count and end the line; later calls do nothing."""
        if self._closed:
            return
        if self.enabled:
            if self._drawn != self.done:
                self._draw(_clock())
            if not self._notebook and self._drawn is not None:
                self._file.write("\n")
                self._file.flush()
        self._closed = True

    def _text(self, bar: bool = True) -> str:
        """The status line; without the ``#`` bar if ``bar`` is False (a notebook draws its own)."""
        elapsed = _clock() - self._start
        fraction = min(self.done / self.total, 1.0) if self.total > 0 else 1.0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.desc}:"] if self.desc else []
        if bar:
            filled = int(fraction * _BAR_WIDTH)
            parts.append("[" + "#" * filled + "." * (_BAR_WIDTH - filled) + "]")
        # Floor the percentage: 100% only once everything is done.
        parts.append(f"{int(fraction * 100):3d}%")
        parts.append(f"{self.done:,}/{self.total:,}")
        parts.append(f"[{rate:,.1f} it/s, {elapsed:.1f} s]")
        return " ".join(parts)

    def _draw(self, now: float) -> None:
        self._last_draw = now
        self._drawn = self.done
        if self._notebook:
            self._draw_html()
            return
        line = self._text()
        self._file.write("\r" + line.ljust(self._width))
        self._file.flush()
        self._width = len(line)

    def _draw_html(self) -> None:
        from IPython.display import HTML, display

        value, top = (min(self.done, self.total), self.total) if self.total > 0 else (1, 1)
        body = HTML(f"<div><progress value='{value}' max='{top}' style='width:20em'>"
                    f"</progress> <code>{html.escape(self._text(bar=False))}</code></div>")
        if self._handle is None:
            self._handle = display(body, display_id=True)
        else:
            self._handle.update(body)


def _ignore(done: int, total: int) -> None:
    pass


def _nothing() -> None:
    pass


class _BarCallback:
    """Creates its :class:`Progress` on the first call, when the total is known."""

    def __init__(self, enabled: bool | None, desc: str, file: TextIO | None):
        self._enabled, self._desc, self._file = enabled, desc, file
        self._bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = Progress(total, self._desc, enabled=self._enabled, file=self._file)
        self._bar.total = max(int(total), 0)
        self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def make_callback(progress: bool | Callable[[int, int], Any] | None, *, desc: str = "",
                  file: TextIO | None = None,
                  ) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """Turn a user-facing ``progress`` argument into ``(report, close)``.

    ``report(done, total)`` is called with absolute counts; ``close()`` ends the display.
    ``progress`` is None (a bar when in a terminal or notebook), True (always a bar), False (no
    output) or a callable ``f(done, total)``, which is called as is (its ``close`` does nothing).
    """
    if progress is None or isinstance(progress, bool):
        if progress is False:
            return _ignore, _nothing
        bar = _BarCallback(progress, desc, file)
        return bar, bar.close
    if callable(progress):
        return progress, _nothing
    raise _core.InvalidArgument("progress: expected None, True, False or a callable "
                                f"f(done, total), got {type(progress).__name__}")
