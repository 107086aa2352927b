"""Attempt limits (idp.devices.attempts): wrong codes and passwords counted per account across new codes and
concurrent requests, cool-downs that grow, a TOTP code accepted once."""
import threading
from datetime import timedelta

import pytest


from idp import clock
from idp.devices import attempts, otp
from idp.extensions import db
from idp.models import Message, User

from ..conftest import PASSWORD
from ..helpers import authorize_url, current_totp, sign_in_until_mfa, written_by_the_flush
from ..mfa_steps import answer_notification
from ..pages import Browser
from .test_signup import INVITED, VERIFY_SUBJECT, mail_count, mailbox_code, to_verify

API = "/_emulator/api"
THROTTLED = "Vous avez essayé trop de fois de vérifier votre identité. Veuillez réessayer plus tard."
TOTP_USER = "totp.demo@example.fr"
AUTHENTICATOR_USER = "authenticator.demo@example.fr"


def move_clock(client, seconds):
    assert client.put(f"{API}/clock", json={"offset_seconds": seconds}).status_code == 200


def other_code(code):
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# --- the mechanism ------------------------------------------------------------------------------

def test_each_cool_down_is_longer_than_the_one_before(app):
    with app.app_context():
        subject = ["user:424242"]
        ends = []
        for round_ in range(3):
            for _ in range(attempts.CODE_LIMIT.tries):
                outcome, _place = attempts.guarded("totp", subject, lambda: "wrong")
            assert outcome == "throttled"
            until = attempts.locked_until("totp", subject)
            ends.append(until - clock.now())
            # Nothing is compared while it cools down.
            assert attempts.guarded("totp", subject, lambda: "ok")[0] == "throttled"
            db.session.commit()
            clock.set_offset(clock.offset_seconds() + int(ends[-1].total_seconds()) + 1)
        minute = timedelta(minutes=1)
        assert [round(end / minute) for end in ends] == [1, 5, 15]
        # A right answer clears the count and the cool-downs.
        assert attempts.guarded("totp", subject, lambda: "ok")[0] == "ok"
        for _ in range(attempts.CODE_LIMIT.tries - 1):
            assert attempts.guarded("totp", subject, lambda: "wrong")[0] == "wrong"


def test_a_place_is_taken_with_one_statement_that_creates_the_count(app):
    from sqlalchemy import event

    from idp.models import AttemptCounter

    with app.app_context():
        seen = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *rest: seen.append(sql) if "attempt_counter" in sql else None)
        subject = ["user:434343"]
        for tries in range(1, attempts.CODE_LIMIT.tries):
            seen.clear()
            place = attempts.take("totp", subject)
            assert place.allowed and place.failures == tries and len(seen) == 1
            row = (db.session.query(AttemptCounter).populate_existing()
                   .filter_by(subject=subject[0], kind="totp").one())
            assert (row.failures, row.cooldowns, row.locked_until) == (tries, 0, None) and row.last_at is not None
        # The last place starts the cool-down; then nothing is taken.
        assert attempts.take("totp", subject).locked_until is not None
        assert not attempts.take("totp", subject).allowed
        db.session.rollback()


# --- the 4-digit email code: the takeover that knew only the address ---------------------------------

def test_new_email_codes_bring_no_new_tries_and_the_right_code_waits_for_the_cool_down(app, client, browser):
    page = to_verify(browser)
    verify_url = page.url
    first = mailbox_code(browser)
    for _ in range(3):
        page = browser.submit(page, {"otc": other_code(first)}, button="idSIButton9")
    assert page.testid("error")["data-error"] == "too_many"
    page = browser.submit(page, button="resend-code")
    second = mailbox_code(browser)
    page = browser.submit(page, {"otc": other_code(second)}, button="idSIButton9")
    assert page.testid("error")["data-error"] == "wrong"
    # The fifth wrong code in all (across two codes) starts the cool-down, with Microsoft's words.
    page = browser.submit(page, {"otc": other_code(second)}, button="idSIButton9")
    assert page.testid("error")["data-error"] == "throttled" and page.error == THROTTLED
    assert page.soup.find(id="VerificationCodeError").get_text(strip=True) == THROTTLED
    # Even the right code is refused now, and no new code is sent.
    page = browser.submit(page, {"otc": second}, button="idSIButton9")
    assert page.screen == "signup-verify-email" and page.testid("error")["data-error"] == "throttled"
    before = mail_count(app)
    page = browser.submit(page, button="resend-code")
    assert page.screen == "signup-verify-email" and page.error == THROTTLED and mail_count(app) == before
    # A minute later the right code works.
    move_clock(client, 61)
    page = browser.get(verify_url)
    page = browser.submit(page, {"otc": second}, button="idSIButton9")
    assert page.screen == "captcha-intro", page.error


def test_asking_for_new_codes_again_and_again_stops(app, browser):
    page = to_verify(browser)
    sent = 0
    for _ in range(attempts.SEND_LIMIT.tries + 2):
        page = browser.submit(page, button="resend-code")
        if page.error == THROTTLED:
            break
        sent += 1
    # The first code, then resends, up to the limit of codes sent per account.
    assert sent == attempts.SEND_LIMIT.tries - 1
    assert mail_count(app) == attempts.SEND_LIMIT.tries
    with app.app_context():
        assert db.session.query(Message).filter_by(to=INVITED, subject=VERIFY_SUBJECT).count() == sent + 1


# --- TOTP ---------------------------------------------------------------------------------------



def test_wrong_totp_codes_end_in_a_cool_down_that_refuses_the_right_code(app, client, browser):
    page, _ = sign_in_until_mfa(browser, TOTP_USER)
    assert page.screen == "mfa-otp"
    right = current_totp(app, TOTP_USER)
    for _ in range(attempts.CODE_LIMIT.tries):
        page = browser.submit(page, {"otc": other_code(right)}, button="idSubmit_SAOTCC_Continue")
    error = page.soup.find(id="idSpan_SAOTCC_Error_OTC").get_text(strip=True)
    assert error == THROTTLED
    right = current_totp(app, TOTP_USER)
    page = browser.submit(page, {"otc": right}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "mfa-otp" and page.error == THROTTLED
    # Another sign-in of the same account is in the same cool-down.
    other = Browser(app.test_client())
    page2, _ = sign_in_until_mfa(other, TOTP_USER)
    page2 = other.submit(page2, {"otc": right}, button="idSubmit_SAOTCC_Continue")
    assert page2.screen == "mfa-otp" and page2.error == THROTTLED
    move_clock(client, 61)
    right = current_totp(app, TOTP_USER)
    page = browser.submit(browser.get(page.url), {"otc": right}, button="idSubmit_SAOTCC_Continue")
    assert page.screen != "mfa-otp", page.error


def test_one_totp_code_sent_by_concurrent_sign_ins_is_accepted_once(app):
    code = current_totp(app, TOTP_USER)
    with app.app_context():
        secret = User.by_email(TOTP_USER).totp_secret
    runners = 8
    barrier = threading.Barrier(runners)
    results = []

    def sign_in():
        with app.app_context():
            user = User.by_email(TOTP_USER)
            barrier.wait()
            results.append(otp.check_totp(user, secret, code))
            db.session.commit()

    threads = [threading.Thread(target=sign_in) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly one wins; the others are told the code was used (or, past the limit, to wait).
    assert len(results) == runners and results.count("ok") == 1
    assert set(results) - {"ok"} <= {"reused", "throttled"} and "reused" in results


# --- the Authenticator's number ---------------------------------------------------------------------

def test_wrong_numbers_in_the_app_end_in_a_cool_down(app, browser):
    page, _ = sign_in_until_mfa(browser, AUTHENTICATOR_USER)
    results = []
    for _ in range(attempts.CODE_LIMIT.tries):
        number = int(page.testid("idRichContext_DisplaySign").get_text(strip=True))
        answered = answer_notification(browser, AUTHENTICATOR_USER, 10 + (number - 10 + 7) % 90)
        results.append(answered.testid("notification-result")["data-result"])
        page = browser.submit(browser.get(page.url), button="resend-push")
    assert results == ["wrong_number"] * (attempts.CODE_LIMIT.tries - 1) + ["throttled"]
    # The last wrong number started the cool-down: no new notification is sent meanwhile.
    assert page.screen == "mfa-push" and page.error == THROTTLED
    assert page.testid("idRichContext_DisplaySign") is None


# --- the password: smart lockout under concurrency -------------------------------------------------

def test_concurrent_wrong_passwords_check_at_most_the_threshold_and_the_lock_grows(app, client):
    threshold = app.config["IDP_LOCKOUT_THRESHOLD"]
    runners = 4 * threshold
    pages = []
    for _ in range(runners):
        browser = Browser(app.test_client())
        page = browser.get(authorize_url()[0])
        page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
        assert page.screen == "password"
        pages.append((browser, page))
    barrier = threading.Barrier(runners)
    answers = []

    def try_password(browser, page):
        barrier.wait()
        answers.append(browser.submit(page, {"passwd": "not-the-password"}, button="idSIButton9").error)

    threads = [threading.Thread(target=try_password, args=pair) for pair in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wrong = [a for a in answers if "50126" in a]
    locked = [a for a in answers if "verrouillé" in a]
    assert len(wrong) + len(locked) == runners
    # At most `threshold` passwords were compared (the last of them shows the lock).
    assert len(wrong) <= threshold - 1 and len(locked) >= runners - threshold + 1
    # The right password waits for the lock, which is longer the second time.
    browser, page = pages[0]
    page = browser.submit(browser.get(page.url), {"passwd": PASSWORD}, button="idSIButton9")
    assert "verrouillé" in page.error
    with app.app_context():
        first_lock = User.by_email("client.demo@example.fr").locked_until - clock.now()
    assert timedelta(seconds=50) < first_lock <= timedelta(seconds=app.config["IDP_LOCKOUT_SECONDS"])
    move_clock(client, app.config["IDP_LOCKOUT_SECONDS"] + 1)
    for _ in range(threshold):
        page = browser.submit(browser.get(page.url), {"passwd": "not-the-password"}, button="idSIButton9")
    assert "verrouillé" in page.error
    with app.app_context():
        second_lock = User.by_email("client.demo@example.fr").locked_until - clock.now()
    assert second_lock > 4 * first_lock


def test_idle_counts_are_purged_but_not_while_cooling_down(app):
    from idp.models import AttemptCounter
    from idp.purge import ATTEMPTS_KEPT, purge

    with app.app_context():
        now = clock.now()
        old = now - ATTEMPTS_KEPT - timedelta(hours=1)
        db.session.add_all([
            AttemptCounter(subject="flow:idle", kind="email_code", failures=2, cooldowns=0, last_at=old),
            AttemptCounter(subject="user:cooling", kind="totp", failures=0, cooldowns=6, last_at=old,
                           locked_until=now + timedelta(hours=1)),
            AttemptCounter(subject="user:recent", kind="totp", failures=1, cooldowns=0, last_at=now),
        ])
        db.session.commit()
        purge(now)
        db.session.commit()
        assert sorted(db.session.scalars(db.select(AttemptCounter.subject))) == ["user:cooling", "user:recent"]


def test_a_password_try_is_counted_and_kept_before_the_password_is_compared(app, browser, monkeypatch):
    """The try is committed on its own: a request that fails after counting it (here the comparison itself)
    cannot take it back, and the write lock is not held through the password hash."""
    from idp.models import AttemptCounter

    page = browser.get(authorize_url(login_hint="client.demo@example.fr")[0])
    assert page.screen == "password"

    def broken(self, typed):
        raise RuntimeError("the comparison failed")

    monkeypatch.setattr(User, "check_password", broken)
    failed = browser.submit(page, {"passwd": "anything"}, button="idSIButton9")
    assert failed.status == 500  # the request's own writes are rolled back (idp.database.commit_request)
    with app.app_context():
        db.session.remove()
        user = db.session.scalar(db.select(User).where(User.email == "client.demo@example.fr"))
        counter = db.session.scalar(db.select(AttemptCounter).where(AttemptCounter.subject == f"user:{user.id}",
                                                                    AttemptCounter.kind == "password"))
        assert counter is not None and counter.failures == 1


def test_a_right_password_leaves_the_users_row_as_it_was(browser):
    """No failed try and no lock to clear: the user's row is not written (nor flushed) by a sign-in."""
    with written_by_the_flush("before_update") as updated:
        page, _ = sign_in_until_mfa(browser, "client.demo@example.fr")
    assert page.screen == "kmsi"
    assert not [row for row in updated if isinstance(row, User)]
