"""The emulator's clock: real UTC time moved by an offset that QA can set (PUT /_emulator/api/clock)."""
from datetime import UTC, datetime, timedelta

from flask import g, has_app_context

from .extensions import db


def offset_seconds():
    """Return the clock offset in seconds, read once per app context (each request has its own).

    Kept in flask.g as a plain timedelta: the clock is asked many times per request (every default, every check).
    Setting.put and Setting.forget drop it, so a request that moves the clock reads its own change.
    """
    return int(_offset().total_seconds())


def _offset():
    if has_app_context():
        offset = g.get("clock_offset")
        if offset is not None:
            return offset
    from .models import Setting

    offset = timedelta(seconds=int(Setting.get("clock_offset_seconds", 0) or 0))
    if has_app_context():
        g.clock_offset = offset
    return offset


def move(seconds):
    """Move the clock to real time plus `seconds` for every worker, with the request's commit."""
    from .models import Setting

    Setting.put("clock_offset_seconds", int(seconds))


def set_offset(seconds):
    """Move the clock now, outside a request (scripts, tests): committed at once."""
    move(seconds)
    db.session.commit()


def now():
    """Return the emulator's current time as a naive UTC datetime (as stored in the database)."""
    return datetime.now(UTC).replace(tzinfo=None) + _offset()


def timestamp():
    """Return the emulator's current time as integer seconds since the epoch."""
    return int(now().replace(tzinfo=UTC).timestamp())


def epoch(moment):
    """Return a stored naive UTC datetime as integer seconds since the epoch."""
    return int(moment.replace(tzinfo=UTC).timestamp())
