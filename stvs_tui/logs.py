"""The county app's log: one rotating file in the data folder's ``logs/`` (the folder ``stvs-tui where`` lists).

The TUI writes when it opens and whenever database work fails (with the traceback the clerk never sees), so a
support call has something to read.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FILENAME = "stvs-tui.log"
LOGGER = "stvs_tui"


def start_log(folder: Path) -> Path | None:
    """Create ``folder`` (owner only) and send the app's log records to a rotating file in it. A folder that
    cannot be written leaves the app without a log (None), never without the app: the log only helps support."""
    path = folder / LOG_FILENAME
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        except OSError:
            return None
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path
