"""The purge: cookieless authorizes and expired codes do not make the database grow without bound."""
from sqlalchemy import func, select

from idp.extensions import db
from idp.models import BrowserSession, Flow, FlowEvent

from ..helpers import authorize_url, sign_in


def counts(app):
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (Flow, BrowserSession, FlowEvent)}


def test_abandoned_journeys_and_empty_browser_sessions_are_purged(app, client, browser):
    sign_in(browser)  # a real sign-in: its browser session and account stay
    url, _ = authorize_url()
    for _ in range(1000):
        app.test_client().get(url)  # a browser without cookie, each time
    grown = counts(app)
    assert grown["Flow"] > 1000 and grown["BrowserSession"] > 1000
    # A day and a minute later (the QA clock), the next request runs the purge.
    assert client.put("/_emulator/api/clock", json={"offset_seconds": 86400 + 120}).status_code == 200
    client.get(f"/_emulator/api/users")
    after = counts(app)
    assert after["Flow"] <= 1 and after["BrowserSession"] <= 2, after
    # The signed-in browser still signs in without typing anything (its session was kept).
    params, _, _ = sign_in(browser, prompt=None)
    assert "code" in params


def test_the_purge_runs_at_most_once_a_minute_per_process(app, client):
    url, _ = authorize_url()
    assert client.put("/_emulator/api/clock", json={"offset_seconds": 86400 * 3}).status_code == 200
    for _ in range(5):
        app.test_client().get(url)
    # Less than a minute later, nothing is purged even though these flows are, for this test, made old.
    with app.app_context():
        from datetime import timedelta

        from idp import clock

        db.session.execute(Flow.__table__.update().values(updated_at=clock.now() - timedelta(days=2)))
        db.session.commit()
    client.get("/_emulator/api/users")
    assert counts(app)["Flow"] == 5
    assert client.put("/_emulator/api/clock", json={"offset_seconds": 86400 * 3 + 61}).status_code == 200
    client.get("/_emulator/api/users")
    assert counts(app)["Flow"] == 0


def test_discovery_and_jwks_leave_the_purge_to_the_next_request(app, client):
    """What a server's start waits for (the first discovery) does not wait on a purge: the next request runs it."""
    from ..conftest import TENANT

    url, _ = authorize_url()
    for _ in range(3):
        app.test_client().get(url)
    assert client.put("/_emulator/api/clock", json={"offset_seconds": 86400 * 3}).status_code == 200
    for path in (f"/{TENANT}/v2.0/.well-known/openid-configuration", f"/{TENANT}/discovery/v2.0/keys",
                 f"/{TENANT}/discovery/keys"):
        assert client.get(path).status_code == 200
        assert counts(app)["Flow"] == 3
    client.get("/_emulator/api/users")
    assert counts(app)["Flow"] == 0
