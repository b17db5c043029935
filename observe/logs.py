"""Log setup: plain lines, or one JSON object per line (LOG_FORMAT=json), for every logger.

A record may carry `fields` (extra={"fields": {...}}): in JSON they become keys of the object,
in plain lines `key=value` pairs after the message. Nothing a user typed or a secret goes in.
"""

from __future__ import annotations

import logging
import re
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


# Control characters (a newline in a percent-decoded path would start a forged line) and the
# invisible ones that reorder or hide text on a terminal.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
PLAIN_VALUE = re.compile(r'[^\s"=]+')


def escaped(text: str) -> str:
    """The text with every unsafe character written as its escape (a newline as \\n)."""
    return UNSAFE.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


def _value(value) -> str:
    """A field's value: quoted when it holds a space, a quote or an `=` (so it cannot pass for
    another field), and escaped either way."""
    text = str(value)
    return escaped(text if PLAIN_VALUE.fullmatch(text) else orjson.dumps(text).decode())


class PlainFormatter(logging.Formatter):
    """`LEVEL logger: message key=value …`, one line per record whatever the message holds (a
    traceback, which the code and not a client writes, keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escaped(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            text += " " + " ".join(f"{escaped(str(key))}={_value(value)}" for key, value in fields.items())
        return text


def configure(level: str, log_format: str) -> None:
    """Sets every logger (the app's, uvicorn's, Python warnings) to one format and level."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.captureWarnings(True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers:  # uvicorn set its own handlers up: they write our format too
            logger.handlers = [handler]
