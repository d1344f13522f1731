"""The whole process in a real terminal: `frontdesk demo` starts, shows the chart browser with the
Demo mailbox key, quits on Ctrl+Q with exit code 0, and leaves no port open and no files behind."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.demo.test_demo import refused

ROOT = Path(__file__).resolve().parents[2]
START = "import sys; from frontdesk.cli import main; sys.exit(main(['demo']))"
WEB = re.compile(rb"Web endpoint \(emailed links point here\): http://127\.0\.0\.1:(\d+)")
SMTP = re.compile(rb"capturing every email: 127\.0\.0\.1:(\d+)")


def read_until(master: int, output: bytearray, wanted: list[bytes], seconds: float) -> bool:
    """Read the terminal until every `wanted` piece was written (False at the deadline)."""
    deadline = time.monotonic() + seconds
    while not all(piece in output for piece in wanted) and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                output += os.read(master, 65536)
            except OSError:
                return False
    return all(piece in output for piece in wanted)


@pytest.mark.slow
def test_frontdesk_demo_in_a_terminal_starts_and_quits_cleanly(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env.update(TERM="xterm-256color", COLUMNS="80", LINES="24", TMPDIR=str(temp))
    child = subprocess.Popen(
        [sys.executable, "-c", START],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    output = bytearray()
    try:
        shown = read_until(master, output, [b"Demo mailbox", b"Cedar Counseling"], 60)
        os.write(master, b"\x11")  # Ctrl+Q
        read_until(master, output, [b"The demo has stopped"], 30)
        code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    tail = bytes(output[-3000:])
    assert shown, tail
    assert code == 0, tail
    web, smtp = WEB.search(output), SMTP.search(output)
    assert web and smtp, tail
    assert refused(int(web.group(1))) and refused(int(smtp.group(1)))
    assert b"Traceback" not in output
    assert list(temp.iterdir()) == []  # the fresh demo database went with it
