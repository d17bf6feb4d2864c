"""Progress of long work: stage lines on a stream that is not a terminal, tqdm bars on a real
pseudo-terminal, nothing by default in library calls, and the same numbers with progress on or off."""

from __future__ import annotations

import io
import os
import re
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import torch
import torch.nn as nn
from _synthetic import own_labels

from advsel.attacks import autoattack_accuracy, robust_accuracy
from advsel.cli import main
from advsel.data import TensorData
from advsel.evaluation import evaluate_model
from advsel.progress import Stage, is_terminal

pty = pytest.importorskip("pty")  # POSIX only
fcntl = pytest.importorskip("fcntl")
termios = pytest.importorskip("termios")


class Terminal:
    """A pseudo-terminal of ``rows`` x ``cols``: ``stream`` writes to it, :meth:`shown` returns what it got
    since the last call (a thread keeps reading it, so that a writer never blocks on a full buffer)."""

    def __init__(self, rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.stream: IO[str] = open(slave, "w", encoding="utf-8", closefd=True)  # noqa: SIM115 - closed in close()
        self.got = bytearray()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the terminal was closed
                return
            if not chunk:
                return
            with self.lock:
                self.got += chunk

    def shown(self) -> str:
        self.stream.flush()
        size = -1
        while True:  # until nothing more arrives for 50 ms
            time.sleep(0.05)
            with self.lock:
                if len(self.got) == size:
                    out, self.got = bytes(self.got), bytearray()
                    return out.decode("utf-8", "replace")
                size = len(self.got)

    def close(self) -> None:
        self.stream.close()
        self.reader.join(timeout=5)
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    t = Terminal(30, 120)
    yield t
    t.close()


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return torch.rand(40, 1, 8, 8, generator=g), torch.randint(0, 10, (40,), generator=g)


# ------------------------------------------------------------------ Stage


def test_a_stage_prints_a_line_when_it_starts_and_ends_on_a_stream_that_is_no_terminal() -> None:
    out = io.StringIO()
    with Stage("PGD-20 x 2 restarts on 1,000 samples", 4, True, stream=out) as stage:
        assert out.getvalue() == "PGD-20 x 2 restarts on 1,000 samples ...\n", "the start line comes at once"
        stage.update(4)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and re.fullmatch(r"PGD-20 x 2 restarts on 1,000 samples: done in \d+\.\d s", lines[1])
    for quiet in (None, False):  # None: bars on a terminal only; False: nothing
        silent = io.StringIO()
        with Stage("x", 1, quiet, stream=silent) as stage:
            stage.update()
        assert silent.getvalue() == ""


def test_a_stage_draws_no_random_number(terminal: Terminal) -> None:
    torch.manual_seed(1)
    before = torch.get_rng_state()
    for stream in (io.StringIO(), terminal.stream):  # lines, a bar
        with Stage("x", 2, True, stream=stream) as stage:
            stage.note("y")
            stage.update(2)
    assert torch.equal(torch.get_rng_state(), before)


def test_a_failed_stage_prints_no_done_line() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), Stage("AutoAttack (standard) on 5 samples", 1, True, stream=out):
        raise RuntimeError("boom")
    assert out.getvalue() == "AutoAttack (standard) on 5 samples ...\n"


def test_progress_must_be_true_false_or_none() -> None:
    with pytest.raises(TypeError, match=r"^progress='yes' is not allowed; progress must be True"):
        Stage("x", 1, "yes", stream=io.StringIO())  # type: ignore[arg-type]


def test_a_real_pseudo_terminal_gets_a_tqdm_bar_not_lines(terminal: Terminal) -> None:
    assert is_terminal(terminal.stream) and not is_terminal(io.StringIO())
    for progress in (True, None):
        with Stage("training epoch 1/3", 4, progress, unit="step", stream=terminal.stream) as stage:
            stage.note("samples 1-50")
            stage.update(2)
            assert stage.bar is not None
            stage.bar.refresh()  # tqdm redraws at most every 0.1 s
            shown = terminal.shown()
        assert re.search(r"training epoch 1/3:\s+50%\|.*\| 2/4 \[.*step.*samples 1-50\]", shown), shown
        assert "..." not in shown and "done in" not in shown
        cleared = terminal.shown()
        assert cleared.startswith("\r") and cleared.strip() == "", "the bar is removed when the stage ends"
    with Stage("x", 1, False, stream=terminal.stream) as stage:
        stage.update()
    assert terminal.shown() == ""


def test_a_terminal_of_no_size_gets_lines() -> None:
    """``script`` run without a terminal around it gives a 0 x 0 pseudo-terminal, where tqdm draws nothing."""
    t = Terminal(0, 0)
    try:
        assert t.stream.isatty() and not is_terminal(t.stream)
        with Stage("AutoAttack (standard) on 5 samples", 1, True, stream=t.stream) as stage:
            stage.update()
        assert "AutoAttack (standard) on 5 samples: done in" in t.shown()
    finally:
        t.close()


# ------------------------------------------------------------------ the attacks and the evaluation


def test_library_calls_are_quiet_by_default(bn_model: nn.Module, batch, capsys: pytest.CaptureFixture[str]) -> None:
    x, _ = batch
    y = own_labels(bn_model, x)
    robust_accuracy(bn_model, x, y, eps=0.05, alpha=0.02, steps=2, restarts=2)
    autoattack_accuracy(bn_model, x[:10], y[:10], eps=0.3)
    evaluate_model(bn_model, x, y, eps=0.3, alpha=0.1, steps=2, restarts=1, autoattack_n=10)
    assert capsys.readouterr().err == ""


def traced(model: nn.Module, fn: Callable[[], Any]) -> tuple[Any, list[tuple[tuple[int, ...], float]], torch.Tensor]:
    """``fn()``, the shape and sum of every batch ``model`` saw (every chunk, random start and attack step
    shows in them), and torch's global random state afterwards."""
    seen: list[tuple[tuple[int, ...], float]] = []
    hook = model.register_forward_pre_hook(lambda _, a: seen.append((tuple(a[0].shape), a[0].sum().item())))
    torch.manual_seed(0)
    try:
        return fn(), seen, torch.get_rng_state()
    finally:
        hook.remove()


def test_evaluation_stages_are_lines_on_stderr_and_change_nothing(bn_model: nn.Module, batch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    x, _ = batch
    y = own_labels(bn_model, x)
    y[:5] = (y[:5] + 1) % 10  # some samples wrong from the start
    kwargs = dict(eps=0.3, alpha=0.1, steps=3, restarts=2, seed=5, autoattack_n=16)
    quiet = traced(bn_model, lambda: evaluate_model(bn_model, x, y, **kwargs, progress=False))
    assert capsys.readouterr().err == ""
    shown = traced(bn_model, lambda: evaluate_model(bn_model, x, y, **kwargs, progress=True))
    err = capsys.readouterr().err.splitlines()
    assert shown[0] == quiet[0] and shown[1] == quiet[1], "the same record from the same batches"
    assert torch.equal(shown[2], quiet[2]), "progress draws no random number"
    assert err[0] == "PGD-3 x 2 restarts on 40 samples ..."
    assert re.fullmatch(r"PGD-3 x 2 restarts on 40 samples: done in \d+\.\d s", err[1])
    assert err[2] == "AutoAttack (standard) on 16 samples ..."
    assert re.fullmatch(r"AutoAttack \(standard\) on 16 samples: done in \d+\.\d s", err[3]) and len(err) == 4


def test_bars_on_a_terminal_change_nothing(bn_model: nn.Module, batch, terminal: Terminal,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With a bar, AutoAttack's attacks name themselves on it: the work and the numbers stay those of a
    quiet run."""
    x, _ = batch
    y = own_labels(bn_model, x)

    def attacks(progress: bool) -> tuple[float, float, torch.Tensor, str, str]:
        g = torch.Generator().manual_seed(9)
        pgd = robust_accuracy(bn_model, x, y, eps=0.03, alpha=0.01, steps=3, restarts=2, batch_size=16,
                              generator=g, progress=progress)
        shown = terminal.shown()
        aa = autoattack_accuracy(bn_model, x[:12], y[:12], eps=0.3, batch_size=8, seed=2, progress=progress)
        return pgd, aa, g.get_state(), shown, terminal.shown()

    quiet = traced(bn_model, lambda: attacks(False))
    monkeypatch.setattr(sys, "stderr", terminal.stream)
    bars = traced(bn_model, lambda: attacks(True))
    monkeypatch.undo()
    assert quiet[0][:2] == bars[0][:2] and quiet[1] == bars[1], "the same accuracies from the same batches"
    assert torch.equal(quiet[0][2], bars[0][2]) and torch.equal(quiet[2], bars[2]), "no random number drawn"
    pgd_shown, aa_shown = bars[0][3:]
    assert quiet[0][3:] == ("", ""), "progress=False: nothing on the terminal"
    assert re.search(r"PGD-3 x 2 restarts on 40 samples:\s+\d+%\|.*\| \d/6 \[.*samples 17-32, restart 2", pgd_shown)
    assert re.search(r"AutoAttack \(standard\) on 12 samples:\s+\d+%\|.*\| \d/8 \[.*APGD on 8 samples\]", aa_shown)
    assert "..." not in pgd_shown + aa_shown, "no stage lines on a terminal"


# ------------------------------------------------------------------ the command line


def test_eval_command_shows_its_stages_on_stderr(synthetic_experiments: TensorData, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.pt"
    argv = ["train", "--profile", "smoke", "--method", "robust", "--device", "cpu", "--cache-dir",
            str(tmp_path / "runs"), "--save-model", str(model)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert re.search(r"^training epoch 1/1 \.\.\.\ntraining epoch 1/1: done in \d+\.\d s$", err, re.M), err
    assert main([*argv, "--quiet", "--force"]) == 0
    assert capsys.readouterr().err == "", "--quiet: no epoch lines and no progress"
    assert main(["eval", str(model), "--n", "30", "--steps", "2", "--attack", "both", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines()[::2] == ["PGD-2 x 2 restarts on 30 samples ...",
                                              "AutoAttack (standard) on 30 samples ..."]
    assert "done in" not in captured.out and "AutoAttack accuracy" in captured.out, "results on stdout, progress apart"
