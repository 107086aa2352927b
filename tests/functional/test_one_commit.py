"""One commit per request that writes, in one place (idp.database.commit_request); screen and phone GETs write nothing.

An engine listener notes every statement and every COMMIT with the request that issued it, while real journeys
are walked through their forms.
"""
import collections

import pytest
from flask import has_request_context, request
from sqlalchemy import event

from idp.extensions import db

from ..conftest import PASSWORD
from ..helpers import sign_in, sign_in_until_mfa
from ..pages import Browser
from ..mfa_steps import answer_notification, invited_user, read_sms_codes, scan_qr_with_phone

SCREEN_PATHS = ("/login/", "/signup/", "/proofup/", "/mfa/", "/_emulator/phone/")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT")


@pytest.fixture
def statements(app):
    """[(method, path, kind)] of every statement and COMMIT issued while handling a request."""
    seen = []
    with app.app_context():
        engine = db.engine

    def note(kind):
        if has_request_context():
            seen.append((request.method, request.path, kind))

    def statement(conn, cursor, sql, parameters, context, executemany):
        note(sql.lstrip().split(None, 1)[0].upper())

    def commit(conn):
        note("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def writes_of_gets(seen):
    """The writes and commits of GET requests to journey screens and phone pages."""
    return [(path, kind) for method, path, kind in seen
            if method == "GET" and path.startswith(SCREEN_PATHS) and kind in WRITES]


def screens_seen(seen):
    """The screen ids of the journey screens GET (e.g. /mfa/<flow>/otp is mfa-otp, /login/<flow>/kmsi is kmsi)."""
    found = set()
    for method, path, _ in seen:
        if method == "GET" and path.startswith(SCREEN_PATHS[:4]):
            prefix, *_, name = path.strip("/").split("/")
            found.add(name if prefix == "login" else f"{prefix}-{name}")
    return found


def test_returning_sign_in_screens_are_read_without_writing(client, browser, statements):
    client.get("/_emulator/api/journeys")  # the periodic purge (idp.purge) runs on a first request: not on a screen's
    params, _, _ = sign_in(browser)
    assert "code" in params
    assert {"email", "password", "kmsi", "app-consent"} <= screens_seen(statements)
    assert writes_of_gets(statements) == []


def test_mfa_screens_and_the_phone_pages_are_read_without_writing(app, client, browser, statements):
    client.get("/_emulator/api/journeys")
    page, _ = sign_in_until_mfa(browser, "sms.demo@example.fr")
    assert page.screen == "mfa-otp"
    code = read_sms_codes(browser, "sms.demo@example.fr")[0]  # the SMS went when the flow arrived at mfa-otp
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "kmsi"

    other = Browser(app.test_client())  # another person's browser
    page, _ = sign_in_until_mfa(other, "authenticator.demo@example.fr")
    assert page.screen == "mfa-push"  # the notification went when the flow arrived there
    answer_notification(other, "authenticator.demo@example.fr",
                        page.testid("idRichContext_DisplaySign").get_text(strip=True))
    assert {"mfa-otp", "mfa-push"} <= screens_seen(statements)
    assert writes_of_gets(statements) == []


def test_proofup_screens_and_the_phone_pages_are_read_without_writing(app, client, browser, statements):
    email = "pu.readonly@example.fr"
    invited_user(app, email)
    client.get("/_emulator/api/journeys")
    page, _ = sign_in_until_mfa(browser, email)
    for button in ("idSubmit_ProofUp_Redirect", "next", "next"):
        page = browser.submit(page, button=button)
    assert page.screen == "proofup-app-qr"
    scan_qr_with_phone(browser, email)
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-try"
    answer_notification(browser, email, page.testid("idRichContext_DisplaySign").get_text(strip=True))
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-app-approved"
    page = browser.submit(page, button="next")
    assert page.screen == "proofup-success"
    assert {"proofup-interrupt", "proofup-app-intro", "proofup-app-setup", "proofup-app-qr", "proofup-app-try",
            "proofup-app-approved", "proofup-success"} <= screens_seen(statements)
    assert writes_of_gets(statements) == []


def test_a_post_commits_once_even_when_its_form_comes_back_with_an_error(client, browser, statements):
    from ..helpers import authorize_url

    client.get("/_emulator/api/journeys")
    page = browser.get(authorize_url(login_hint="client.demo@example.fr")[0])
    assert page.screen == "password"
    del statements[:]
    page = browser.submit(page, {"passwd": "wrong"}, button="idSIButton9")
    assert page.screen == "password" and page.error
    posts = collections.Counter(kind for method, _, kind in statements if method == "POST")
    # The wrong try is counted (idp.devices.attempts) and kept: one commit, at the end of the request.
    assert posts["COMMIT"] == 1 and posts["UPDATE"] >= 1
    del statements[:]
    page = browser.submit(page, {"passwd": PASSWORD}, button="idSIButton9")
    assert page.screen == "kmsi"
    posts = collections.Counter(kind for method, _, kind in statements if method == "POST")
    assert posts["COMMIT"] == 1


def test_every_request_of_a_sign_in_commits_at_most_once(client, browser, statements):
    client.get("/_emulator/api/journeys")
    del statements[:]
    sign_in(browser)
    commits = collections.Counter((method, path) for method, path, kind in statements if kind == "COMMIT")
    assert commits and max(commits.values()) == 1, commits
