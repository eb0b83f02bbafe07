"""Progress of long work: plain lines when no terminal is attached."""

from __future__ import annotations

import io

from rich.console import Console

from streamrec.progress import ProgressBoard


def test_piped_output_gets_plain_progress_lines() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    with ProgressBoard(console, interval_s=0.0) as board:
        epoch = board.add("epoch 1/2", total=10)
        board.update(epoch, 5, info="batches")
        board.done(epoch)
        produced = board.add("produced", total=200)
        board.update(produced, 50, info="900 ev/s")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2: 5/10 (50%) batches [")
    assert any(line.startswith("produced: 50/200 (25%) 900 ev/s [") for line in lines)
    assert not any(line.startswith("epoch 1/2") for line in lines[1:])  # done: not repeated


def test_lines_are_spaced_by_the_interval() -> None:
    out = io.StringIO()
    with ProgressBoard(Console(file=out, force_terminal=False), interval_s=3600.0) as board:
        task = board.add("consumed", total=100)
        for done in range(1, 101):
            board.update(task, done)
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[-1]]
    assert out.getvalue().startswith("consumed: 100/100 (100%)")


def test_disabled_board_prints_nothing() -> None:
    out = io.StringIO()
    with ProgressBoard(Console(file=out, force_terminal=False), enabled=False) as board:
        board.update(board.add("x", total=3), 3)
    assert out.getvalue() == ""
