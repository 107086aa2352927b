"""What the performance work must keep true: caches follow every change, SQLite runs in WAL, writers queue."""
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from sqlalchemy import text

from idp import seeds
from idp.extensions import db

from ..conftest import CLIENT_ID, TENANT
from ..helpers import authorize_url

DISCOVERY = f"/{TENANT}/v2.0/.well-known/openid-configuration"
KEYS = f"/{TENANT}/discovery/v2.0/keys"


def test_discovery_is_per_host_even_when_replayed(client):
    for _ in range(2):  # the second round comes from the published-documents cache
        first = client.get(DISCOVERY, headers={"Host": "localhost:8400"}).json
        second = client.get(DISCOVERY, headers={"Host": "127.0.0.1:9999"}).json
        assert first["issuer"].startswith("http://localhost:8400/")
        assert second["issuer"].startswith("http://127.0.0.1:9999/")
        assert second["jwks_uri"] == f"http://127.0.0.1:9999/{TENANT}/discovery/v2.0/keys"


def test_jwks_follows_a_key_rotation_at_once(app, client):
    before = client.get(KEYS).json["keys"]
    assert client.get(KEYS).json["keys"] == before  # replayed
    with app.app_context():  # the keys are in the database
        app.extensions["idp_keys"].rotate()
    after = client.get(KEYS).json["keys"]
    assert len(after) == len(before) + 1
    assert {k["kid"] for k in before} < {k["kid"] for k in after}


def test_discovery_follows_a_reset(app, client):
    assert client.get(DISCOVERY).status_code == 200
    with app.app_context():
        seeds.wipe()
    response = client.get(DISCOVERY)
    assert response.status_code == 400 and response.json["error_codes"] == [90002]
    with app.app_context():
        seeds.load("default")
    assert client.get(DISCOVERY).status_code == 200


def test_a_reseeded_client_is_seen_by_the_next_request(app, client, tmp_path):
    new_uri = "http://localhost:8499/new/callback"
    response = client.get(authorize_url(redirect_uri=new_uri)[0])
    assert response.status_code == 400 and "AADSTS50011" in response.get_data(as_text=True)
    folder = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), folder)
    entries = yaml.safe_load((folder / "clients.yaml").read_text(encoding="utf-8"))
    next(e for e in entries if e["client_id"] == CLIENT_ID)["redirect_uris"].append(new_uri)
    (folder / "clients.yaml").write_text(yaml.safe_dump(entries), encoding="utf-8")
    with app.app_context():
        seeds.load(str(folder))
    response = client.get(authorize_url(redirect_uri=new_uri)[0])
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_embedded_database_runs_in_wal_mode(app):
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL


def test_writers_queue_on_the_write_lock(app):
    with app.app_context():
        first = db.engine.raw_connection()
        second = db.engine.raw_connection()
    try:
        first.cursor().execute("INSERT INTO setting (key, value) VALUES ('queue-a', '1')")
        lock = first.driver_connection.write_lock
        assert lock.held
        done = []

        def write():
            second.cursor().execute("INSERT INTO setting (key, value) VALUES ('queue-b', '2')")
            second.commit()
            done.append(time.monotonic())

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(0.3)
        assert not done  # waiting for the first writer
        first.commit()
        committed = time.monotonic()
        assert not lock.held
        writer.join(5)
        assert done and done[0] >= committed
        assert not second.driver_connection.write_lock.held
    finally:
        first.close()
        second.close()
    with app.app_context():
        keys = set(db.session.execute(text("SELECT key FROM setting WHERE key LIKE 'queue-%'")).scalars())
        assert keys == {"queue-a", "queue-b"}


def test_a_code_redeemed_by_a_racing_request_gives_no_second_token(app, browser, client, monkeypatch):
    from sqlalchemy import update

    from idp import clock
    from idp.models import AuthorizationCode, RefreshToken
    from idp.oidc.server import AuthorizationCodeGrant

    from ..helpers import redeem, sign_in

    params, verifier, _ = sign_in(browser)
    looked_up = AuthorizationCodeGrant.query_authorization_code

    def racing(self, code, client_):
        row = looked_up(self, code, client_)
        # Another request redeems the same code between this one's read and its write.
        with db.engine.begin() as other:
            other.execute(update(AuthorizationCode).where(AuthorizationCode.id == row.id)
                          .values(redeemed_at=clock.now()))
        return row

    monkeypatch.setattr(AuthorizationCodeGrant, "query_authorization_code", racing)
    response = redeem(client, params["code"], verifier)
    assert response.status_code == 400 and response.json["error_codes"] == [54005]
    with app.app_context():
        assert db.session.query(RefreshToken).count() == 0


def test_a_connection_closed_twice_closes_its_lock_file_once(tmp_path):
    import sqlite3

    from idp.sqlite import connection_class

    path = str(tmp_path / "idp.sqlite3")
    connection = sqlite3.connect(path, factory=connection_class(path))
    connection.close()
    connection.close()  # sqlite3 allows it; the lock file's descriptor must not be closed again
    assert connection.write_lock.fd is None


def test_jwks_follows_a_key_rotation_by_another_process_at_once(app, client):
    """The published layer reads the versions again when the database's files changed (idp.oidc.published)."""

    before = client.get(KEYS).json["keys"]
    assert client.get(KEYS).json["keys"] == before  # replayed, the database's files unchanged
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "CLIENT_"))}
    env["IDP_DATA_DIR"] = app.config["IDP_DATA_DIR"]
    rotated = subprocess.run([sys.executable, "-m", "idp.cli", "keys", "rotate"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    after = client.get(KEYS).json["keys"]
    assert len(after) == len(before) + 1


def test_url_builders_are_compiled_on_first_use_not_at_start(tmp_path, monkeypatch, app_template):
    """Cold start: create_app compiles none of werkzeug's url_for builders (two per rule); url_for compiles its rule's
    once, then calls it."""
    from flask import url_for
    from werkzeug.routing import Rule

    from ..conftest import make_app

    compiled = []
    werkzeugs = Rule._compile_builder
    monkeypatch.setattr(Rule, "_compile_builder",
                        lambda rule, append_unknown=True: compiled.append(rule.endpoint) or werkzeugs(rule, append_unknown))
    for app in make_app(tmp_path, template=app_template):
        assert compiled == ["static", "static"]  # Flask's own rule, added by Flask() before create_app can choose
        with app.test_request_context():
            assert url_for("oauth.discovery", tenant=TENANT) == DISCOVERY
            assert url_for("oauth.discovery", tenant=TENANT, x="1") == DISCOVERY + "?x=1"
        assert compiled == ["static", "static", "oauth.discovery"]


def test_a_server_starts_and_answers_discovery_without_jose_and_loads_it_for_its_first_token(app):
    """Cold start: joserfc, cryptography and authlib's OpenID Connect module are imported where a token is signed
    or read, not when the app is built (on a data folder that has its keys) nor by discovery."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "CLIENT_"))}
    env.update(IDP_DATA_DIR=app.config["IDP_DATA_DIR"], IDP_SMTP="off")
    code = (
        "import sys\n"
        "from idp import create_app\n"
        "app = create_app()\n"
        "jose = lambda: sorted(m for m in ('joserfc', 'cryptography', 'authlib.oidc.core') if m in sys.modules)\n"
        "assert jose() == [], jose()\n"
        f"assert app.test_client().get({DISCOVERY!r}).status_code == 200\n"
        "assert jose() == [], jose()\n"
        f"assert app.test_client().get({KEYS!r}).status_code == 200\n"
        "assert jose() == ['cryptography', 'joserfc'], jose()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent.parent)
    assert result.returncode == 0, result.stderr[-2000:]
