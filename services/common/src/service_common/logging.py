"""structlog configuration shared by both services.

Events are key-value pairs rendered as JSON lines when stderr is not a terminal (containers, CI) and as
coloured console lines on a developer's terminal. Request-scoped values (request id, route) are bound in
context variables by :mod:`service_common.requests`, so every event logged while handling a request
carries them. Callers must never log names, emails, tokens or free-text notes: log ids and counts.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import msgspec
import structlog


class LogSettings(msgspec.Struct, frozen=True):
    """Logging settings (environment prefix ``LOG_``)."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level written (LOG_LEVEL)."""
    format: Literal["auto", "json", "console"] = "auto"
    """json, console, or auto: JSON unless stderr is a terminal (LOG_FORMAT)."""


def configure_logging(settings: LogSettings) -> None:
    """Route structlog and the standard library's logging through one renderer."""
    as_json = settings.format == "json" or (settings.format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log would repeat our request.completed event without the request id.
    logging.getLogger("uvicorn.access").disabled = True
