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
