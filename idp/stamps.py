"""Versions in the database (the `stamp` table, name -> integer) that tell every process, on every host, what changed.

Per-process caches (tenants and clients, QA settings, signing keys, the published documents) remember the version
they were filled at and are dropped when it changes. A change bumps its version in its own transaction: a flush
that adds, changes or deletes a Tenant or Client bumps "tenants", a Setting "settings" (see the listener below), so
no writer can forget; bulk statements (reset's wipe) and key rotation bump explicitly. Being rows of the shared
database, the versions reach every host, which a file in one host's data folder could not.

Reading them costs one small query, made at most once per request (kept in flask.g).
"""
from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

NAMES = ("tenants", "settings", "keys")
SELECT = "SELECT name, version FROM stamp"  # the `stamp` table of idp.models.Stamp, read whole


def current():
    """Return {name: version} as the database has it now, read once per app context (each request has its own)."""
    if has_app_context() and "stamps" in g:
        return g.stamps
    # In the session's transaction but around SQLAlchemy (no autoflush, no statement compiled, no result object: a
    # DBAPI cursor of the session's connection): a flush might bump a stamp, so it is read first, then the request
    # writes; and every request pays this read. (Not seen by engine events: it writes nothing.)
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(SELECT)
        versions = dict(cursor.fetchall())
    finally:
        cursor.close()
    if has_app_context():
        g.stamps = versions
    return versions


def version(name):
    return current().get(name, 0)


def bump(name, connection=None):
    """Bump a version in the current transaction (the caller commits it with the change it stands for)."""
    from .database import dialect_insert
    from .models import Stamp

    target = connection if connection is not None else db.session
    statement = dialect_insert(Stamp, connection.dialect.name if connection is not None else None).values(name=name, version=1)
    target.execute(statement.on_conflict_do_update(index_elements=[Stamp.name],
                                                   set_={"version": Stamp.version + 1}))
    if has_app_context():
        g.pop("stamps", None)  # this request reads its own change


@event.listens_for(Session, "before_flush")
def _bump_on_change(session, flush_context, instances):
    """Bump "tenants" when a Tenant or Client row changes, "settings" when a Setting does, in the flush's transaction."""
    from .models import Client, Setting, Tenant

    changed = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, (Tenant, Client)):
            changed.add("tenants")
        elif isinstance(row, Setting):
            changed.add("settings")
    for name in sorted(changed):
        bump(name, session.connection())
