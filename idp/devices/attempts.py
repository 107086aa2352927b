"""Attempt limits: wrong answers to every secret the journey checks, and every code or notification sent.

The password, the 4-digit email code, SMS codes, TOTP codes and the Authenticator's number are each counted
per account (and per flow when there is one) in the database, in one row per (subject, kind) of
AttemptCounter. A new code does not bring back tries: the count belongs to the account, not to the code.

A check first takes its place in the count with one statement (`INSERT … ON CONFLICT DO UPDATE SET
failures = failures + 1 WHERE failures < limit AND not cooling down RETURNING …`): however many requests arrive
at once, on however many workers or hosts, at most `limit` of them get to compare what was typed. The request
that takes the last place starts the cool-down in the same transaction, before it compares anything. Each cool-down is longer
than the one before (as Microsoft's smart lockout: one minute, then more); a success clears the count.
Sending a code or a notification is counted the same way (its own kind), so asking again and again for new
codes stops too.

Plain functions over the database, no Flask request: screens, grants and the control API share them.
"""
import functools
import os
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select, update

from .. import clock
from ..database import dialect_insert, holds_writes
from ..extensions import db
from ..models import AttemptCounter
from ..sqlite import database_path

# Each cool-down lasts the kind's first cool-down times the next factor: 1, 5, 15, 60 minutes, 4 hours, a day.
GROWTH = (1, 5, 15, 60, 240, 1440)


@dataclass(frozen=True)
class Limit:
    tries: int
    first_cooldown: timedelta


CODE_LIMIT = Limit(5, timedelta(minutes=1))
SEND_LIMIT = Limit(10, timedelta(minutes=1))
LIMITS = {
    "email_code": CODE_LIMIT, "sms_code": CODE_LIMIT, "totp": CODE_LIMIT, "push_number": CODE_LIMIT,
    "email_send": SEND_LIMIT, "sms_send": SEND_LIMIT, "push_send": SEND_LIMIT,
}
# A right answer also clears the count of what was sent for it.
SENDS = {"email_code": "email_send", "sms_code": "sms_send", "push_number": "push_send", "totp": None}


def limit(kind):
    if kind == "password":
        # Smart lockout's threshold and first lock duration are settings (IDP_LOCKOUT_THRESHOLD/SECONDS).
        return Limit(int(current_app.config["IDP_LOCKOUT_THRESHOLD"]),
                     timedelta(seconds=int(current_app.config["IDP_LOCKOUT_SECONDS"])))
    return LIMITS[kind]


def subjects(user=None, flow=None, user_id=None):
    """Who a count belongs to: the account, and the flow (a journey without an account yet has only that)."""
    found = []
    if user_id is None:
        user_id = user.id if user is not None else getattr(flow, "user_id", None)
    if user_id is not None:
        found.append(f"user:{user_id}")
    if flow is not None:
        found.append(f"flow:{flow.id}")
    return found


@dataclass(frozen=True)
class Place:
    """The outcome of asking to check (or send): allowed, or refused until `locked_until`."""
    allowed: bool
    failures: int = 0
    locked_until: object = None


def _ensure(subject, kind, connection):
    """Create the counter row if it is missing; two requests doing it at once leave one row."""
    connection.execute(dialect_insert(AttemptCounter.__table__, connection.dialect.name)
                       .values(subject=subject, kind=kind, failures=0, cooldowns=0)
                       .on_conflict_do_nothing(index_elements=["subject", "kind"]))


@functools.cache
def _taking(dialect):
    """One statement takes a place: the first of a count inserts its row with it, the next ones add one to it
    while a place is free (`failures < tries` and not cooling down); no row comes back when none is.

    Built once per dialect: building it cost more than running it.
    """
    table = AttemptCounter.__table__
    first = dialect_insert(table, dialect).values(subject=bindparam("s"), kind=bindparam("k"), failures=1, cooldowns=0,
                                  last_at=bindparam("now"))
    free = and_(table.c.failures < bindparam("tries"),
                or_(table.c.locked_until.is_(None), table.c.locked_until <= bindparam("now")))
    return (first.on_conflict_do_update(index_elements=["subject", "kind"], where=free,
                                        set_={"failures": table.c.failures + 1, "last_at": bindparam("now")})
            .returning(table.c.failures, table.c.cooldowns))


def _take(subject, kind, rule, now, connection):
    """Take one place in a subject's count; the last place starts the next cool-down. Returns a Place."""
    table = AttemptCounter.__table__
    if rule.tries < 1:
        _ensure(subject, kind, connection)  # a count with no place at all: its row, and every check refused
        taken = None
    else:
        taken = connection.execute(_taking(connection.dialect.name),
                                   {"s": subject, "k": kind, "tries": rule.tries, "now": now}).first()
    if taken is None:
        until = connection.scalar(select(table.c.locked_until).where(table.c.subject == subject,
                                                                      table.c.kind == kind))
        return Place(False, locked_until=until if until and until > now else None)
    failures, cooldowns = taken
    if failures >= rule.tries:
        # This request holds the last place: the cool-down starts now, whatever its answer turns out to be
        # (a right one ends it), so that no other request can be checked meanwhile.
        until = now + rule.first_cooldown * GROWTH[min(cooldowns or 0, len(GROWTH) - 1)]
        connection.execute(update(table).where(table.c.subject == subject, table.c.kind == kind)
                           .values(failures=0, cooldowns=(cooldowns or 0) + 1, locked_until=until))
        return Place(True, failures=failures, locked_until=until)
    return Place(True, failures=failures)


def take(kind, subject_list, own_transaction=False):
    """Ask to check (or send) once for these subjects; the place is taken before anything is compared.

    Refused when any subject is cooling down or has no place left; a refusal gives back the places taken.
    own_transaction: count in a transaction of its own, committed before the caller compares, when the request's
    transaction has sent no write yet (it would hold the locks the count needs; see check_password).
    """
    engine = _own_engine() if own_transaction and not holds_writes(db.session()) else None
    if engine is not None:
        with engine.begin() as connection:
            return _take_all(kind, subject_list, connection)
    return _take_all(kind, subject_list, db.session.connection())


_OWN_ENGINES = {}  # (database URI, process) -> the engine for the counts taken in their own transaction


def _own_engine():
    """An engine of its own for a count in its own transaction, or None for an in-memory database.

    Not the app's pool: a request holding one of its connections must never wait for a second one (a pool
    full of such requests would wait for ever). Its own pool never makes anyone wait either (no limit on
    overflow) but keeps two connections open: opening one per password try (an SQLite file and its pragmas,
    or a PostgreSQL login) cost more than the count. One per process: connections never cross a fork.
    """
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite") and database_path(uri) is None:
        return None
    key = (uri, os.getpid())
    engine = _OWN_ENGINES.get(key)
    if engine is None:
        from sqlalchemy import create_engine

        options = dict(current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        for pooling in ("pool_size", "max_overflow", "pool_timeout", "pool_recycle", "poolclass"):
            options.pop(pooling, None)
        engine = _OWN_ENGINES[key] = create_engine(uri, pool_size=2, max_overflow=-1, **options)
    return engine


def _take_all(kind, subject_list, connection):
    rule = limit(kind)
    now = clock.now()
    taken = []
    result = Place(True)
    for subject in subject_list:
        place = _take(subject, kind, rule, now, connection)
        if not place.allowed:
            for earlier in taken:
                give_back(kind, [earlier], connection)
            return place
        taken.append(subject)
        if place.failures >= result.failures:
            result = Place(True, failures=place.failures, locked_until=place.locked_until or result.locked_until)
    # The UPSERT … RETURNING keeps the counter's row locked until its transaction ends (the request's, committed
    # with its other writes by idp.database.commit_request, or its own), so racing requests queue on it.
    return result


def give_back(kind, subject_list, connection=None):
    """Return a place that compared nothing (a code that had expired, or none was waiting)."""
    table = AttemptCounter.__table__
    (connection or db.session).execute(update(table).where(table.c.subject.in_(subject_list), table.c.kind == kind,
                                           table.c.failures > 0).values(failures=table.c.failures - 1))


@functools.cache
def _clearing(subjects, kinds):
    """The reset of `subjects` counts of `kinds` kinds, built once per shape (a plain IN, nothing to expand)."""
    table = AttemptCounter.__table__
    return (update(table).where(table.c.subject.in_([bindparam(f"s{i}") for i in range(subjects)]),
                                table.c.kind.in_([bindparam(f"k{i}") for i in range(kinds)]))
            .values(failures=0, cooldowns=0, locked_until=None))


def succeeded(kind, subject_list):
    """A right answer: its count, its cool-downs and the count of what was sent for it start again."""
    kinds = [kind] + ([SENDS[kind]] if SENDS.get(kind) else [])
    subject_list = list(subject_list)
    values = {f"s{i}": subject for i, subject in enumerate(subject_list)}
    values.update((f"k{i}", each) for i, each in enumerate(kinds))
    db.session.connection().execute(_clearing(len(subject_list), len(kinds)), values)


def locked_until(kind, subject_list):
    """When the current cool-down of these subjects ends, or None."""
    table = AttemptCounter.__table__
    now = clock.now()
    until = db.session.scalar(select(table.c.locked_until).where(
        table.c.subject.in_(subject_list), table.c.kind == kind, table.c.locked_until > now)
        .order_by(table.c.locked_until.desc()).limit(1))
    return until


def guarded(kind, subject_list, compare, uncounted=("invalid", "expired", "missing")):
    """Run `compare()` (which returns "ok" or why not) only if a place is free; "throttled" when none is.

    A right answer clears the count; `uncounted` outcomes compared nothing and give their place back.
    Returns (outcome, Place).
    """
    place = take(kind, subject_list)
    if not place.allowed:
        return "throttled", place
    outcome = compare()
    if outcome == "ok":
        succeeded(kind, subject_list)
    elif outcome in uncounted:
        give_back(kind, subject_list)
    elif place.locked_until is not None:
        # The last try was wrong: the cool-down that started with it stands.
        return "throttled", place
    return outcome, place


def message():
    """Microsoft's words when a code was tried, or asked for, too many times: nothing is checked until later."""
    return _("Vous avez essayé trop de fois de vérifier votre identité. Veuillez réessayer plus tard.")


class Throttled(Exception):
    """No place is free: the screen says to try again later (until `locked_until`)."""

    def __init__(self, locked_until=None):
        super().__init__(locked_until)
        self.locked_until = locked_until


def require(kind, subject_list, also_cooling=None):
    """Take a place to send (a code, a notification), or raise Throttled.

    `also_cooling`: the kind of the answers to what is sent; while they cool down, nothing new is sent either.
    """
    if also_cooling and (until := locked_until(also_cooling, subject_list)):
        raise Throttled(until)
    place = take(kind, subject_list)
    if not place.allowed:
        raise Throttled(place.locked_until)
    return place


def check_password(user, typed):
    """Check a password under smart lockout: "ok", "wrong" (compared: it was not the password) or "locked"
    (refused without comparing, AADSTS50053). A wrong one may start a lock: user.is_locked() then says so.

    A lock set on the account itself (seed, control API) is kept; the counter's cool-downs are copied to
    user.locked_until and its count to user.failed_logins, which the control API and the home page show.
    """
    if user.is_locked():
        return "locked"
    subject_list = subjects(user=user)
    # The try is counted, and committed, before the password is compared: a counted try then survives whatever
    # happens to the request afterwards, and the database's write lock (SQLite has one) is not held through the
    # password hash (scrypt by default, tens of milliseconds) but only for the count.
    place = take("password", subject_list, own_transaction=True)
    if not place.allowed:
        if place.locked_until is not None:
            user.locked_until = place.locked_until
        return "locked"
    if user.check_password(typed):
        succeeded("password", subject_list)
        if user.failed_logins or user.locked_until is not None:  # else the user's row stays clean: nothing to flush
            user.failed_logins = 0
            user.locked_until = None
        return "ok"
    if place.locked_until is not None:
        user.locked_until = place.locked_until
    user.failed_logins = 0 if place.locked_until is not None else place.failures
    return "wrong"
