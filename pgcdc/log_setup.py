"""How pgcdc's processes log: the commands' one format and level, copied into snapshot worker processes."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True, slots=True)
class LogSetup:
    """What a process's logging does, for a child process to log the same way."""

    level: int
    """The level pgcdc's loggers log at (the commands' --log-level)."""
    format: str | None
    """The format of the root logger's stream handler; None when the process set up none (as a library caller
    may), whose warnings then go bare to stderr through Python's last-resort handler."""
    date_format: str | None = None


def setup_logging(level: str) -> None:
    """A command's logging: ``level`` (debug, info, warning or error) and LOG_FORMAT, to stderr."""
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT, stream=sys.stderr)


def current_log_setup() -> LogSetup:
    """This process's logging as ``apply_log_setup`` repeats it in another."""
    level = logging.getLogger("pgcdc").getEffectiveLevel()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.formatter is not None:
            # Formatter keeps its format string in a private attribute only.
            formatter = handler.formatter
            return LogSetup(level=level, format=formatter._fmt, date_format=formatter.datefmt)
    return LogSetup(level=level, format=None)


def apply_log_setup(setup: LogSetup) -> None:
    """Log as the process that described ``setup`` does: same level, same format, to stderr."""
    if setup.format is None:
        logging.getLogger().setLevel(setup.level)
        return
    logging.basicConfig(level=setup.level, format=setup.format, datefmt=setup.date_format, stream=sys.stderr)
