"""An older database gains the columns models added since, and keeps its rows."""
import sqlite3

from idp import create_app
from idp.extensions import db
from idp.models import AuthenticatorAccount


def test_older_database_gains_new_columns_and_keeps_rows(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    connection = sqlite3.connect(folder / "idp.sqlite3")
    # authenticator_account as it was before it had its own totp_secret column
    connection.execute("CREATE TABLE authenticator_account (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, "
                       "activation VARCHAR(64), added_at DATETIME NOT NULL)")
    connection.execute("INSERT INTO authenticator_account VALUES (1, 7, 'abc', '2026-01-01 00:00:00')")
    connection.commit()
    connection.close()
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(folder), "SECRET_KEY": "x"})
    with app.app_context():
        row = db.session.get(AuthenticatorAccount, 1)
        assert row.activation == "abc" and row.totp_secret is None
        row.totp_secret = "JBSWY3DPEHPK3PXP"
        db.session.commit()
    again = create_app({"TESTING": True, "IDP_DATA_DIR": str(folder), "SECRET_KEY": "x"})
    with again.app_context():
        assert db.session.get(AuthenticatorAccount, 1).totp_secret == "JBSWY3DPEHPK3PXP"


def test_a_column_the_models_dropped_leaves_older_databases_and_codes_are_issued_again(tmp_path):
    from datetime import timedelta

    from idp import clock
    from idp.models import AuthorizationCode, User

    folder = tmp_path / "data"
    folder.mkdir()
    create_app({"TESTING": True, "IDP_DATA_DIR": str(folder), "SECRET_KEY": "x"})
    # authorization_code as it was with its unused client_info flag: NOT NULL, no server default.
    connection = sqlite3.connect(folder / "idp.sqlite3")
    (ddl,) = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'authorization_code'").fetchone()
    connection.execute("DROP TABLE authorization_code")
    connection.execute(ddl.replace("(", "(client_info BOOLEAN NOT NULL, ", 1))
    connection.commit()
    connection.close()
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(folder), "SECRET_KEY": "x"})
    with sqlite3.connect(folder / "idp.sqlite3") as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(authorization_code)")}
    assert "client_info" not in columns and "kmsi" in columns
    with app.app_context():
        user = User(email="someone@example.fr", tenant_id="t")
        db.session.add(user)
        db.session.flush()
        now = clock.now()
        db.session.add(AuthorizationCode(code_hash="h", client_id="c", user_id=user.id, auth_time=now,
                                         expires_at=now + timedelta(minutes=10)))
        db.session.commit()
        assert db.session.query(AuthorizationCode).count() == 1
