"""How often the waiting pages ask the server again: IDP_POLL_MS (1.5 s by default; 200 ms for test servers)."""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from idp import create_app
from idp.testing.server import LiveServer

EMAIL = "authenticator.demo@example.fr"
PHONE = f"/_emulator/phone/{EMAIL}"


@pytest.mark.browser
def test_the_virtual_phone_asks_for_news_at_the_pace_of_the_setting(tmp_path, chromium):
    server = LiveServer(tmp_path / "poll", extra_env={"IDP_POLL_MS": "250"})
    server.start()
    context = chromium.new_context(locale="fr-FR")
    try:
        asked = []
        page = context.new_page()
        page.on("request", lambda request: asked.append(time.monotonic()) if "status.json" in request.url else None)
        page.goto(server.base_url + PHONE)
        assert page.locator("body").get_attribute("data-poll-ms") == "250"
        page.wait_for_timeout(1400)  # at 1.5 s (the default) not one; at 250 ms, five
        assert len(asked) >= 3, asked
    finally:
        context.close()
        server.stop()


def test_pages_carry_the_setting_and_the_default_is_microsofts_pace(tmp_path, monkeypatch):
    monkeypatch.delenv("IDP_POLL_MS", raising=False)  # the suite's own (tests/conftest.py)
    assert create_app({"IDP_DATA_DIR": str(tmp_path / "a")}).config["IDP_POLL_MS"] == 1500
    app = create_app({"IDP_DATA_DIR": str(tmp_path / "b"), "IDP_POLL_MS": "400"})
    from idp import seeds

    with app.app_context():
        seeds.load("default")
    page = app.test_client().get(PHONE)
    assert page.status_code == 200 and b'data-poll-ms="400"' in page.data


@pytest.mark.parametrize("value", ["fast", "0", "50", "3600000"])
def test_serve_refuses_a_poll_interval_out_of_range_in_one_line(tmp_path, value):
    env = {"PATH": "/usr/bin:/bin", "IDP_DATA_DIR": str(tmp_path / "data"), "IDP_POLL_MS": value, "IDP_SMTP": "off"}
    result = subprocess.run([sys.executable, "-m", "idp.cli", "serve", "--port", "0"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"idp-emulator: IDP_POLL_MS must be a whole number of milliseconds from 100 to 60000, not {value!r}"]


@pytest.mark.browser
def test_an_answered_notification_shows_its_result_even_when_a_poll_sees_the_change_first(tmp_path, chromium):
    """The phone's answer is counted at once, but its page can arrive after the next status poll, which no longer
    sees the notification: the page must not reload then (it showed an empty phone, and the result was lost)."""
    server = LiveServer(tmp_path / "answer")
    server.start()
    app = create_app({"IDP_DATA_DIR": str(server.data_dir)})
    with app.app_context():
        from idp.devices import authenticator
        from idp.extensions import db
        from idp.models import User

        number = authenticator.send_push(User.by_email(EMAIL)).number
        db.session.commit()
    context = chromium.new_context(locale="fr-FR")

    def slow_answer(route):
        """Hold the answer's page for 1 s: the polls (every 200 ms) see the notification answered meanwhile."""
        if route.request.method != "POST":
            return route.continue_()
        response = route.fetch(max_redirects=0)
        time.sleep(1.0)
        try:
            route.fulfill(response=response)
        except Exception:  # the page went elsewhere meanwhile (the bug): the assertion below says so
            pass

    try:
        page = context.new_page()
        page.route(lambda url: url.endswith("/notification"), slow_answer)
        page.goto(server.base_url + PHONE + "/notification")
        page.fill('[data-testid="notification-number"]', str(number))
        page.locator('[data-testid="approve"]').click()
        expect(page.locator('[data-testid="notification-result"]')).to_have_attribute("data-result", "approved")
    finally:
        context.close()
        server.stop()


WAIT_JS = Path(__file__).resolve().parents[2] / "idp" / "static" / "js" / "wait.js"
NEXT_PAGE = "<body data-screen='next'>suite</body>"


def waiting_site(chromium, status, post):
    """A context whose page http://waiting.test/screen is a waiting screen with the real wait.js (polls every 100 ms):
    `status(route)` answers its questions, `post(route)` its form. Returns (context, page) on that screen."""
    html = ('<body data-poll-ms="100"><form method="post" action="/next">'
            '<span hidden data-status-url="/status" data-wait-for="push"></span>'
            '<button type="submit" data-testid="next" data-auto-continue>Suivant</button></form>'
            f"<script>{WAIT_JS.read_text()}</script></body>")

    def site(route):
        if route.request.url.endswith("/status"):
            status(route)
        elif route.request.method == "POST":
            post(route)
        else:
            route.fulfill(body=html, content_type="text/html")

    context = chromium.new_context()
    page = context.new_page()
    page.route("http://waiting.test/**", site)
    page.goto("http://waiting.test/screen")
    return context, page


@pytest.mark.browser
def test_a_waiting_screen_sends_its_form_once_when_the_person_clicks_before_the_poll_does(chromium):
    """wait.js clicks "Suivant" once the phone answered; a person may click first. The form must go once: a poll
    that saw the answer while the person's click was on its way sent it twice. (The form's answer is held while
    the polls run.)"""
    sent = []
    context, page = waiting_site(chromium, status=lambda route: route.fulfill(json={"push": "approved"}),
                                 post=sent.append)  # answered below, once the polls have had their time
    try:
        # The person's click (from the page: Playwright's click would wait for the held answer).
        page.evaluate("document.querySelector('[data-testid=\"next\"]').click()")
        page.wait_for_timeout(600)  # six polls, each answered "approved"
        assert len(sent) == 1, [route.request.url for route in sent]
        sent[0].fulfill(body=NEXT_PAGE, content_type="text/html")
        expect(page.locator("body")).to_have_attribute("data-screen", "next")
    finally:
        context.close()


@pytest.mark.browser
def test_a_waiting_screen_asks_again_when_a_question_is_never_answered(chromium):
    """One status question lost (no answer ever): the page gives it up after four intervals (at least 2 s) and asks
    again, so it still goes on by itself once the phone has answered. It used to wait for that answer forever."""
    asked = []

    def status(route):
        asked.append(time.monotonic())
        if len(asked) > 1:  # the first is never answered
            route.fulfill(json={"push": "approved"})

    context, page = waiting_site(chromium, status,
                                 post=lambda route: route.fulfill(body=NEXT_PAGE, content_type="text/html"))
    try:
        expect(page.locator("body")).to_have_attribute("data-screen", "next", timeout=10_000)
        assert len(asked) >= 2 and asked[1] - asked[0] >= 1.9, asked
    finally:
        context.close()


@pytest.mark.browser
def test_the_presenter_view_asks_again_when_a_question_is_never_answered(tmp_path, chromium):
    """present.js polls as wait.js does: its first question about the journey never answered, it asks again after
    four intervals (at least 2 s) instead of following the journey no more."""
    server = LiveServer(tmp_path / "present")
    server.start()
    context = chromium.new_context(locale="fr-FR")
    asked = []

    def state(route):
        asked.append(time.monotonic())
        if len(asked) > 1:  # the first is never answered
            route.continue_()

    try:
        page = context.new_page()
        page.route("**/_emulator/present/state?*", state)
        page.goto(f"{server.base_url}/_emulator/present?user={EMAIL}&method=authenticator")
        page.wait_for_timeout(3000)
        assert len(asked) >= 2 and asked[1] - asked[0] >= 1.9, asked
    finally:
        context.close()
        server.stop()
