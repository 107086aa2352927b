"""Count the SQL statements and commits of one sign-in, request by request: `python bench/statements.py`.

Runs the app of this checkout in-process (werkzeug's threaded server on a free loopback port) on a fresh data
folder seeded as signin_bench.py seeds it, signs one bench user in with signin_bench's light client (authorize →
password → kmsi → code → token → userinfo), and prints, per request, the statements the database received
(SELECT, INSERT, UPDATE, DELETE, other) and the commits, as SQLite's trace callback sees them (raw cursors too). Not a test: figures to compare between versions.
"""
import collections
import os
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import signin_bench as sb  # noqa: E402

VERBOSE = "-v" in sys.argv[1:]  # also print each statement


def main():
    tmp = Path(tempfile.mkdtemp(prefix="statements-"))
    user = "bench.user1@example.fr"
    data = sb.prepare_data_dir(tmp, [user])
    os.environ.update(IDP_DATA_DIR=str(data), IDP_PASSWORD_HASH=sb.FAST_HASH, IDP_SMTP="off")
    from sqlalchemy import event
    from werkzeug.serving import make_server

    from idp import create_app
    from idp.extensions import db

    app = create_app()
    counts = collections.defaultdict(collections.Counter)
    statements = []
    current = {"request": None}

    def _name():
        from flask import request

        current["request"] = f"{request.method} {request.endpoint}"

    app.before_request_funcs.setdefault(None, []).insert(0, _name)  # before the app's own hooks

    with app.app_context():
        engine = db.engine

    # What SQLite itself runs (its trace callback), so statements sent on a raw cursor count too.
    @event.listens_for(engine, "connect")
    def _trace(dbapi_connection, connection_record):
        dbapi_connection.set_trace_callback(_statement)

    def _statement(statement):
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if verb == "PRAGMA":
            return  # a new connection's settings, not the request's work
        name = current["request"]
        if verb == "COMMIT":
            counts[name]["COMMIT"] += 1
            return
        if verb in ("BEGIN", "ROLLBACK"):
            return
        counts[name][verb if verb in ("SELECT", "INSERT", "UPDATE", "DELETE") else "other"] += 1
        if VERBOSE:
            statements.append((name, " ".join(statement.split())[:160]))

    engine.dispose()  # connections opened before the listener (create_app's) reopen with the trace

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    rp = sb.RelyingParty(port)
    browser = sb.Browser(port)
    sb.sign_in(browser, rp, user)  # the first sign-in fills the per-process caches
    counts.clear()
    statements.clear()
    sb.sign_in(browser, rp, user)
    server.shutdown()
    columns = ("SELECT", "INSERT", "UPDATE", "DELETE", "other", "COMMIT")
    print(f"{'request':40}" + "".join(f"{c:>8}" for c in columns) + f"{'total':>8}")
    totals = collections.Counter()
    for name, counter in counts.items():
        totals.update(counter)
        count = sum(counter[c] for c in columns[:-1])
        print(f"{str(name):40}" + "".join(f"{counter[c]:>8}" for c in columns) + f"{count:>8}")
    total = sum(totals[c] for c in columns[:-1])
    print(f"{'one sign-in':40}" + "".join(f"{totals[c]:>8}" for c in columns) + f"{total:>8}")
    for name, text in statements:
        print(f"  {name}: {text}")


if __name__ == "__main__":
    main()
