"""SQL statements per sign-in, counted in process (an engine listener), on the bench's path.

The bench's sign-in (bench/signin_bench.py) after its first one: authorize with login_hint, GET password,
POST password, GET kmsi, POST kmsi (the code), POST token, GET userinfo. Prints the statements of each request
and their total, by kind (SELECT, INSERT, UPDATE, DELETE, COMMIT). Run from the repository root:
`python3 bench/sign_in_statements.py`.
"""
import collections
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idp import create_app, seeds  # noqa: E402
from idp.extensions import db  # noqa: E402
from tests.conftest import FAST_HASH  # noqa: E402
from tests.helpers import authorize_url, redeem  # noqa: E402

EMAIL = "client.demo@example.fr"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "IDP_DATA_DIR": f"{tmp}/data", "IDP_PASSWORD_HASH": FAST_HASH,
                          "SECRET_KEY": "bench"})
        with app.app_context():
            seeds.load("default")
            engine = db.engine
        counts = collections.Counter()
        current = ["setup"]

        @event.listens_for(engine, "before_cursor_execute")
        def statement(conn, cursor, sql, parameters, context, executemany):
            counts[(current[0], sql.lstrip().split(None, 1)[0].upper())] += 1

        @event.listens_for(engine, "commit")
        def commit(conn):
            counts[(current[0], "COMMIT")] += 1

        steps = run_sign_in(app, counts, current)
        steps = run_sign_in(app, counts, current, measured=True)
        total = collections.Counter()
        print(f"{'request':16} " + " ".join(f"{k:>7}" for k in KINDS))
        for step in steps:
            row = {k: counts[(step, k)] for k in KINDS}
            total.update(row)
            print(f"{step:16} " + " ".join(f"{row[k]:7}" for k in KINDS))
        print(f"{'total':16} " + " ".join(f"{total[k]:7}" for k in KINDS) + f"   = {sum(total.values())} statements")


KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "COMMIT")


def run_sign_in(app, counts, current, measured=False):
    """One bench sign-in with a new browser; the counts are kept under each request's name when `measured`."""
    client = app.test_client()
    names = []

    def step(name, call):
        current[0] = name if measured else "warm-up"
        names.append(name)
        return call()

    url, verifier = authorize_url(login_hint=EMAIL)
    response = step("authorize", lambda: client.get(url))
    while response.status_code in (302, 303):
        location = response.headers["Location"]
        if "/login/" not in location:
            break
        screen = location.rstrip("/").rsplit("/", 1)[-1]
        page = step(f"GET {screen}", lambda: client.get(location))
        form = _form(page.get_data(as_text=True))
        if screen == "password":
            form["passwd"] = "Demo-2026!"
        elif screen in ("kmsi", "app-consent"):
            form["yes" if screen == "kmsi" else "accept"] = "1"
        response = step(f"POST {screen}", lambda: client.post(location, data=form))
    params = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    tokens = step("POST token", lambda: redeem(client, params["code"], verifier)).get_json()
    body = step("GET userinfo", lambda: client.get("/oidc/userinfo",
                                                   headers={"Authorization": f"Bearer {tokens['access_token']}"}))
    assert body.get_json()["email"] == EMAIL, body.get_data(as_text=True)
    current[0] = "idle"
    return names


def _form(html):
    """The page's first form's hidden and text inputs (the CSRF token with them)."""
    from bs4 import BeautifulSoup

    form = BeautifulSoup(html, "html.parser").find("form")
    return {i["name"]: i.get("value", "") for i in form.find_all("input") if i.get("name") and i.get("type") != "checkbox"}


if __name__ == "__main__":
    main()
