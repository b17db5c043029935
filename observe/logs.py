"""Log setup: plain lines, or one JSON object per line (LOG_FORMAT=json), for every logger.

A record may carry `fields` (extra={"fields": {...}}): in JSON they become keys of the object,
in plain lines `key=value` pairs after the message. Nothing a user typed or a secret goes in.
"""

from __future__ import annotations

import logging
import time

import orjson

PLAIN_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return text


def configure(level: str, log_format: str) -> None:
    """Sets every logger (the app's, uvicorn's, Python warnings) to one format and level."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.captureWarnings(True)
    if log_format == "json":
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            if logger.handlers:  # uvicorn set its own handlers up: they write JSON too
                logger.handlers = [handler]
