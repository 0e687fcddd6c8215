"""Child processes the integration tests start, each writing its output to a log file."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


class LoggedProcess:
    """Read the end of the child's log, stop it politely, or kill it outright."""

    proc: subprocess.Popen[bytes]
    log: Path
    tail_lines = 30

    def tail(self, lines: int | None = None) -> str:
        count = self.tail_lines if lines is None else lines
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-count:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
