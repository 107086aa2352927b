"""The emulator's clock: real UTC time moved by an offset that QA can set (PUT /_emulator/api/clock)."""
from datetime import UTC, datetime, timedelta

from .extensions import db


def offset_seconds():
    """Return the clock offset in seconds (settings are read once per request)."""
    from .models import Setting

    return int(Setting.get("clock_offset_seconds", 0) or 0)


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
    return datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=offset_seconds())


def timestamp():
    """Return the emulator's current time as integer seconds since the epoch."""
    return int(now().replace(tzinfo=UTC).timestamp())


def epoch(moment):
    """Return a stored naive UTC datetime as integer seconds since the epoch."""
    return int(moment.replace(tzinfo=UTC).timestamp())
