"""`sweep demo` keeps its helper process's output in a log file, never in a pipe nobody reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.cli.demo import log_tail, start_logged

CHATTY = (
    "import sys\n"
    "for i in range(20_000):\n"  # ~1 MB on each stream: far more than a pipe buffer (64 kB)
    "    sys.stderr.write(f'request {i:06d} ' + 'x' * 40 + '\\n')\n"
    "    sys.stdout.write(f'access {i:06d} ' + 'y' * 40 + '\\n')\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('\\x1b]0;pwned\\x07last words\\n')\n"
    "sys.exit(3)\n"
)


def test_a_chatty_helper_never_blocks_and_its_output_is_kept(tmp_path: Path) -> None:
    """With `stderr=PIPE` and nobody reading, this child would block on its first full pipe and never
    exit; the wait's timeout only turns such a hang into a failure instead of a stuck test run."""
    log = tmp_path / "demo-mall.log"
    proc = start_logged([sys.executable, "-c", CHATTY], log)
    try:
        assert proc.wait(timeout=120) == 3
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    assert proc.stdout is None and proc.stderr is None  # nothing for anyone to forget to read
    text = log.read_text(encoding="utf-8")
    assert "request 019999" in text and "access 019999" in text
    assert log_tail(log, lines=1) == "last words"  # the window-title sequence is gone


def test_log_tail_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "never-written.log") == ""
