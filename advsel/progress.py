"""Progress of long work (training epochs, PGD evaluation, AutoAttack) on stderr.

A function that can run for minutes takes ``progress``:

* ``False`` (the library's default for attacks and evaluations): nothing is shown;
* ``None``: a tqdm bar when stderr is a terminal, nothing otherwise (the trainer's default);
* ``True`` (the command line and the book's scripts): a tqdm bar when stderr is a terminal,
  otherwise a line when a stage starts and one when it ends (``PGD-20 x 2 restarts on
  1,000 samples ...``, ``PGD-20 x 2 restarts on 1,000 samples: done in 12.3 s``), so the
  log of a long run shows what it is doing.

A terminal is a stream that is a tty and reports a size: a pseudo-terminal of 0 x 0
(``script`` run without a terminal around it) gets lines, since tqdm draws nothing there.
Progress never draws random numbers nor changes how the work is split, so results are the
same with it on or off.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any, TypeAlias

from tqdm import tqdm

Progress: TypeAlias = bool | None


def is_terminal(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal that tqdm can draw on (a tty with a nonzero width)."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):  # no fileno (a StringIO), a closed or odd stream
        return False


class Stage:
    """One stage of long work, shown as ``progress`` says (see the module docstring).

    ``what``: the stage in words (the bar's label, the lines' text); ``total``: its units
    of work (``unit``), advanced with :meth:`update`.  Use as a context manager; the bar
    is removed when the stage ends (the caller prints the results).
    """

    def __init__(self, what: str, total: int, progress: Progress, *, unit: str = "it",
                 stream: IO[str] | None = None) -> None:
        check_progress(progress)
        self.what, self.done = what, 0
        stream = stream if stream is not None else sys.stderr
        terminal = progress is not False and is_terminal(stream)
        self.bar = tqdm(total=total, desc=what, unit=unit, leave=False, file=stream, dynamic_ncols=True) \
            if terminal else None
        self.stream = stream if progress is True and not terminal else None
        self.start = time.perf_counter()
        if self.stream is not None:
            print(f"{what} ...", file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)

    def note(self, text: str) -> None:
        """What the stage is doing now, beside the bar (e.g. the running sub-attack)."""
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.stream is not None and kind is None:
            print(f"{self.what}: done in {time.perf_counter() - self.start:.1f} s", file=self.stream, flush=True)


def check_progress(progress: Any) -> None:
    """TypeError unless ``progress`` is True, False or None."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress={progress!r} is not allowed; progress must be True (bars on a terminal, "
                        "else a line per stage on stderr), None (bars on a terminal only) or False (nothing)")
