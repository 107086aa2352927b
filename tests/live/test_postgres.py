"""The database-touching core on a real PostgreSQL server as well as SQLite (conftest.postgres), and what several
processes sharing one database rely on: keys and secret in the database, caches of plain values."""
import threading

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from idp import create_app
from idp.extensions import db
from idp.models import AppSecret, SigningKey

from ..functional import test_attempt_limits, test_control_api, test_protocol
from ..conftest import FAST_HASH, make_app
from ..helpers import authorize_url


@pytest.fixture(params=["postgresql"])
def app(request, tmp_path):
    """The in-process app on PostgreSQL (the tests below that also take SQLite say so: BOTH)."""
    if request.param == "postgresql":
        yield from make_app(tmp_path, request.getfixturevalue("postgres_url"), template=True)
    else:
        yield from make_app(tmp_path, template=request.getfixturevalue("app_template"))


BOTH = pytest.mark.parametrize("app", ["sqlite", "postgresql"], indirect=True)

# Representative in-process tests, collected again here with the `app` fixture above (they run on SQLite
# in their own modules): sign-in, refresh, codes, lockout (wrong passwords one after another and all at once,
# a place taken in one statement), the control API's users.
test_sign_in_issues_verifiable_tokens_with_microsoft_claims = \
    test_protocol.test_sign_in_issues_verifiable_tokens_with_microsoft_claims
test_refresh_gives_a_new_token_and_the_old_one_stays_valid = \
    test_protocol.test_refresh_gives_a_new_token_and_the_old_one_stays_valid
test_code_reused_is_54005_and_revokes_nothing = test_protocol.test_code_reused_is_54005_and_revokes_nothing
test_ten_wrong_passwords_lock_the_account = test_protocol.test_ten_wrong_passwords_lock_the_account
test_concurrent_wrong_passwords_check_at_most_the_threshold_and_the_lock_grows = \
    test_attempt_limits.test_concurrent_wrong_passwords_check_at_most_the_threshold_and_the_lock_grows
test_a_place_is_taken_with_one_statement_that_creates_the_count = \
    test_attempt_limits.test_a_place_is_taken_with_one_statement_that_creates_the_count
test_users_lists_seeded_users_with_their_state = test_control_api.test_users_lists_seeded_users_with_their_state
test_delete_user_after_a_sign_in = test_control_api.test_delete_user_after_a_sign_in
test_create_user_in_each_state = test_control_api.test_create_user_in_each_state
test_create_user_twice_is_a_conflict = test_control_api.test_create_user_twice_is_a_conflict
test_invitation_returns_the_redeem_url_and_sends_the_email = \
    test_control_api.test_invitation_returns_the_redeem_url_and_sends_the_email


@BOTH
def test_a_failed_write_does_not_poison_the_worker(app, client):
    """The request that fills the per-process tenant and client caches fails to write (database locked, disk
    full, read-only volume): it rolls back, and the next requests of that worker still work."""
    def fail(session, flush_context, instances):
        raise OperationalError("INSERT INTO flow …", {}, Exception("database is locked"))

    url, _ = authorize_url()
    event.listen(Session, "before_flush", fail)
    try:
        assert client.get(url).status_code in (500, 503)  # that request fails
    finally:
        event.remove(Session, "before_flush", fail)
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]


@BOTH
def test_every_app_on_one_database_shares_the_signing_keys_and_the_session_secret(app, tmp_path):
    other = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "other-host"), "IDP_PASSWORD_HASH": FAST_HASH,
                        "IDP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]})
    try:
        with app.app_context():
            kids = [k["kid"] for k in app.extensions["idp_keys"].jwks("x")["keys"]]
            secret = db.session.scalar(select(AppSecret.value))
        with other.app_context():
            assert [k["kid"] for k in other.extensions["idp_keys"].jwks("x")["keys"]] == kids
            assert other.config["SECRET_KEY"] == secret
            new = other.extensions["idp_keys"].rotate()
        with app.app_context():  # a rotation on one host is seen by the other at its next request
            assert app.extensions["idp_keys"].jwks("x")["keys"][0]["kid"] == new
        assert not (tmp_path / "other-host" / "keys").exists() and not (tmp_path / "other-host" / "secret-key").exists()
    finally:
        with other.app_context():
            db.engine.dispose()


@BOTH
def test_processes_starting_together_create_one_key_and_one_secret(app, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():  # the tables exist (schema creation racing is another test's business): no key yet
        db.session.execute(SigningKey.__table__.delete())
        db.session.execute(AppSecret.__table__.delete())
        db.session.commit()
    # Threads rather than processes (cheaper, and the race is the database's): each starts an app of its own.
    barrier, started, failures = threading.Barrier(4), [], []

    def start(i):
        barrier.wait()
        try:
            started.append(create_app({"IDP_DATA_DIR": str(tmp_path / f"host{i}"), "IDP_DATABASE_URL": url}))
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert len({other.config["SECRET_KEY"] for other in started}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SigningKey)) == 1
        assert db.session.scalar(select(func.count()).select_from(AppSecret)) == 1
        assert db.session.scalar(select(AppSecret.value)) == started[0].config["SECRET_KEY"]
    for other in started:
        with other.app_context():
            db.engine.dispose()


def test_a_data_folder_of_an_earlier_version_keeps_its_keys_and_secret(tmp_path):
    """Keys in IDP_DATA_DIR/keys and the secret-key file (where earlier versions kept them) move into the database
    on first start: tokens and browser cookies issued before stay valid."""
    import json

    from joserfc import jwt
    from joserfc.jwk import KeySet, RSAKey

    from idp.oidc.keys import _new_key

    folder = tmp_path / "data"
    (folder / "keys").mkdir(parents=True)
    kids = []
    for _ in range(2):
        kid, private_pem, certificate_pem = _new_key()
        (folder / "keys" / f"{kid}.pem").write_text(private_pem)
        (folder / "keys" / f"{kid}.crt").write_text(certificate_pem)
        kids.append(kid)
    (folder / "keys" / "index.json").write_text(json.dumps(kids))
    (folder / "secret-key").write_text("the-secret-of-an-earlier-version\n")
    earlier = jwt.encode({"alg": "RS256", "kid": kids[0]}, {"sub": "x"},
                         RSAKey.import_key((folder / "keys" / f"{kids[0]}.pem").read_text()))
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(folder)})
    try:
        assert app.config["SECRET_KEY"] == "the-secret-of-an-earlier-version"
        with app.app_context():
            store = app.extensions["idp_keys"]
            assert [k["kid"] for k in store.jwks("x")["keys"]] == kids[::-1]  # the newest signs
            assert store.signing_key.kid == kids[-1]
            public = KeySet.import_key_set(store.jwks("x"))
            assert jwt.decode(earlier, public).claims["sub"] == "x"
    finally:
        with app.app_context():
            db.engine.dispose()
