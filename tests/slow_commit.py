"""Run the ``accesoins`` command with a store that stalls inside its transaction (for kill tests).

``python tests/slow_commit.py build ...``: the first table written to the
snapshot prints ``SNAPSHOT-WRITING`` on stderr, then the process sleeps, so a
test can interrupt it mid-transaction. The store itself has no test hook.
"""

from __future__ import annotations

import signal
import sys
import time

import pandas as pd

from accesoins.cli import app
from accesoins.store import SnapshotWriter

MARKER = "SNAPSHOT-WRITING"
_append = SnapshotWriter.append


def _stalling_append(self: SnapshotWriter, name: str, frame: pd.DataFrame) -> None:
    _append(self, name, frame)
    sys.stderr.write(MARKER + "\n")
    sys.stderr.flush()
    time.sleep(60)


if __name__ == "__main__":
    # A job started in the background by a non-interactive shell (as a CI runner may start the tests)
    # inherits SIGINT ignored: restore Ctrl-C as a terminal user has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    SnapshotWriter.append = _stalling_append  # type: ignore[method-assign]
    app(prog_name="accesoins")
