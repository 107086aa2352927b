"""The guide's order, in-process (issue 12): the invitation lands on the email screen, the captcha's request screen
comes before the puzzle (with a settable number of rounds), and the method registered during a sign-in satisfies
MFA for the rest of that sign-in, while a later, separate sign-in asks for MFA again."""
import html

import pyotp
import pytest

from idp import clock, seeds
from idp.extensions import db
from idp.journey import captcha
from idp.journey.timeline import summary
from idp.models import Flow, Invitation, SessionAccount, User
from idp.openapi import document

from ..conftest import PASSWORD, TENANT
from ..helpers import authorize_url, callback_params
from ..mfa_steps import access_token_claims
from .test_signup import answer_of, flow_id_of, mailbox_code, past_captcha_intro, set_setting

API = "/_emulator/api"
GUEST = "guide.client@example.fr"
GUEST_PASSWORD = "Guide-Acces-2026"
STEP_TWO = "http://localhost:8401/"
NOT_FOUND = "Nous n'avons pas trouvé de compte avec ce nom d'utilisateur."
CALLOUT = "Renseignez ici"


def invite(client, email=GUEST):
    """Invite a client through the control API; return the path of the email's "Je configure mon nouvel accès"."""
    response = client.post(f"{API}/invitations", json={"email": email, "redirect_url": STEP_TWO})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["inviteRedeemUrl"].split("localhost", 1)[1]


def raw_html(page):
    return html.unescape(page.response.get_data(as_text=True))


# --- 2. the invitation lands on the guide's first screen -----------------------------------------------------

def test_invitation_link_opens_the_email_screen_empty_and_without_the_guides_callout(app, client, browser):
    page = browser.get(invite(client))
    assert page.screen == "email"
    field = page.testid("i0116")
    assert field["id"] == "i0116" and field["name"] == "loginfmt"
    assert field.get("value", "") == ""  # the client types the address the email came to (guide), nothing prefilled
    assert page.soup.find(id="idSIButton9")["data-testid"] == "idSIButton9"
    assert CALLOUT not in raw_html(page)  # a callout of the guide, not text of Microsoft's page
    assert "utilisez le lien de votre invitation" not in page.text()  # already on it
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        assert flow.invitation_id and flow.user_id is None and flow.email is None


def test_returning_email_screen_has_no_callout_either(browser):
    page = browser.get(authorize_url()[0])
    assert page.screen == "email" and CALLOUT not in raw_html(page)


def test_typing_the_invited_address_goes_on_to_create_the_password(app, client, browser):
    page = browser.get(invite(client))
    page = browser.submit(page, {"loginfmt": "  Guide.Client@Example.fr "}, button="idSIButton9")
    assert page.screen == "signup-password", page.error
    assert page.testid("identity-email").get_text(strip=True) == GUEST
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        assert flow.email == GUEST and flow.user_id == User.by_email(GUEST).id
        assert db.session.get(Invitation, flow.invitation_id).redeemed_at is not None


def test_an_unknown_address_gets_the_aadsts50034_wording_and_redeems_nothing(app, client, browser):
    page = browser.get(invite(client))
    page = browser.submit(page, {"loginfmt": "personne@example.fr"}, button="idSIButton9")
    assert page.screen == "email" and page.error.startswith(NOT_FOUND) and "AADSTS50034" in page.error
    assert page.testid("i0116")["value"] == "personne@example.fr"
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        assert flow.user_id is None and db.session.get(Invitation, flow.invitation_id).redeemed_at is None


def test_another_known_account_cannot_redeem_someone_elses_invitation(app, client, browser):
    page = browser.get(invite(client))
    email_screen = page.url
    page = browser.submit(page, {"loginfmt": "client.demo@example.fr"}, button="idSIButton9")
    assert page.screen == "email"
    assert page.error == ("Cette invitation a été envoyée à une autre adresse e-mail. Entrez l'adresse sur laquelle "
                          "vous avez reçu l'e-mail de Baker Tilly.")
    flow_id = flow_id_of(page)
    with app.app_context():
        flow = db.session.get(Flow, flow_id)
        assert flow.user_id is None and db.session.get(Invitation, flow.invitation_id).redeemed_at is None
    # No later screen by URL either: the flow knows nobody yet.
    assert browser.get(f"/login/{flow_id}/password").screen == "email"
    # The invited address still works afterwards.
    page = browser.submit(browser.get(email_screen), {"loginfmt": GUEST}, button="idSIButton9")
    assert page.screen == "signup-password"


def test_the_invited_client_who_already_has_an_account_types_the_address_then_the_password(app, client, browser):
    redeem = invite(client)
    with app.app_context():
        seeds.apply_user(User.by_email(GUEST).tenant, {"email": GUEST, "password": PASSWORD, "state": "registered",
                                                       "invited": True})
        db.session.commit()
    page = browser.submit(browser.get(redeem), {"loginfmt": GUEST}, button="idSIButton9")
    assert page.screen == "password"


# --- 3. captcha: the request, then the puzzle, with a settable number of rounds ------------------------------

def to_captcha_intro(app, client, browser):
    page = browser.submit(browser.get(invite(client)), {"loginfmt": GUEST}, button="idSIButton9")
    page = browser.submit(page, {"new-password": GUEST_PASSWORD}, button="idSIButton9")
    page = browser.submit(page, {"birth-day": "14", "birth-month": "6", "birth-year": "1984"}, button="idSIButton9")
    assert page.screen == "signup-verify-email", page.error
    page = browser.submit(page, {"otc": mailbox_code(browser, GUEST)}, button="idSIButton9")
    assert page.screen == "captcha-intro", page.error
    return page


def test_the_puzzle_cannot_be_reached_before_its_request(app, client, browser):
    page = to_captcha_intro(app, client, browser)
    flow_id = flow_id_of(page)
    assert browser.get(f"/signup/{flow_id}/captcha").screen == "captcha-intro"
    token = page.form(containing="idSIButton9").fields["csrf_token"]
    response = browser.client.post(f"/signup/{flow_id}/captcha", data={"csrf_token": token, "choice": "x"})
    assert response.status_code == 302 and response.location.endswith(f"/signup/{flow_id}/captcha-intro")
    with app.app_context():
        flow = db.session.get(Flow, flow_id)
        assert captcha.STATE_KEY not in flow.state and not User.by_email(GUEST).has_account
    # Without its CSRF token, Suivant does not move on.
    assert browser.client.post(f"/signup/{flow_id}/captcha-intro", data={}).status_code in (200, 400)
    assert browser.get(page.url).screen == "captcha-intro"


@pytest.mark.parametrize("rounds", [1, 2, 4])
def test_captcha_rounds_setting_makes_the_puzzle_deterministic(app, client, browser, rounds):
    assert client.put(f"{API}/settings", json={"captcha_rounds": rounds}).get_json()["captcha_rounds"] == rounds
    page = past_captcha_intro(browser, to_captcha_intro(app, client, browser))
    for n in range(1, rounds + 1):
        assert page.screen == "captcha"
        assert page.testid("captcha-round").get_text(strip=True) == f"({n} sur {rounds})"
        page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    assert page.screen == "tenant-consent"


def test_captcha_rounds_default_stays_random_from_one_to_three(app, client):
    assert client.get(f"{API}/settings").get_json()["captcha_rounds"] is None
    set_setting(app, "captcha_rounds", 3)
    assert client.put(f"{API}/settings", json={"captcha_rounds": None}).get_json()["captcha_rounds"] is None
    assert captcha.MAX_ROUNDS == 3


@pytest.mark.parametrize("value", [0, captcha.MAX_SET_ROUNDS + 1, "2", True, 2.5, -1])
def test_captcha_rounds_out_of_range_is_refused_with_a_message(client, value):
    response = client.put(f"{API}/settings", json={"captcha_rounds": value})
    assert response.status_code == 400
    assert "captcha_rounds" in response.get_json()["error"]["message"]
    assert client.get(f"{API}/settings").get_json()["captcha_rounds"] is None


def test_captcha_rounds_in_a_seeds_settings_file(app, tmp_path):
    (tmp_path / "settings.yaml").write_text("captcha: puzzle\ncaptcha_rounds: 2\n", encoding="utf-8")
    assert seeds.read_settings(tmp_path) == {"captcha": "puzzle", "captcha_rounds": 2}
    (tmp_path / "settings.yaml").write_text("captcha_rounds: 99\n", encoding="utf-8")
    with pytest.raises(seeds.SeedError, match="captcha_rounds"):
        seeds.read_settings(tmp_path)


def test_openapi_lists_captcha_rounds_and_the_one_list_of_captcha_modes(app):
    schemas = document()["components"]["schemas"]
    for name in ("Settings", "SettingsUpdate"):
        assert schemas[name]["properties"]["captcha_rounds"]["maximum"] == captcha.MAX_SET_ROUNDS
    assert schemas["Settings"]["properties"]["captcha"]["enum"] == list(captcha.MODES)
    assert schemas["SettingsUpdate"]["properties"]["captcha"]["enum"] == [*captcha.MODES, None]


# --- 1. step 2 without MFA -----------------------------------------------------------------------------------

def part_one(app, client, browser):
    """The guide's part 1 from the invitation: account, captcha (one round), tenant consent, proof-up with another
    authenticator app (TOTP); ends on the Espace Client's "step 2" page. Returns the app's TOTP."""
    set_setting(app, "captcha_rounds", 1)
    page = past_captcha_intro(browser, to_captcha_intro(app, client, browser))
    page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    page = browser.submit(page, button="idBtn_Accept")
    assert page.screen == "proofup-interrupt", page.text()[:200]
    page = browser.submit(browser.submit(page, button="idSubmit_ProofUp_Redirect"), button="other-authenticator-app")
    totp = pyotp.parse_uri(page.testid("otpauth-uri").get_text(strip=True))
    with app.app_context():
        now = clock.timestamp()
    page = browser.submit(page, {"otc": totp.at(now)}, button="next")
    assert page.screen == "proofup-success"
    browser.submit(page, button="done")
    assert browser.last_redirect == STEP_TWO
    return totp


def screens_seen(app, flow_id):
    """The screens a journey showed, in order (the journey recorder)."""
    with app.app_context():
        return summary(db.session.get(Flow, flow_id))["screens"]


def test_step_two_right_after_registration_asks_no_mfa(app, client, browser):
    part_one(app, client, browser)
    with app.app_context():
        assert User.by_email(GUEST).tenant.mfa == "always"  # the seeds' policy: MFA at every request
        account = db.session.query(SessionAccount).filter_by(user_id=User.by_email(GUEST).id).one()
        assert account.signed_in and account.mfa_registered_at is not None and "mfa" in account.amr
    # "Se connecter" on the Espace Client: straight to "Autorisations demandées", then the code.
    url, verifier = authorize_url()
    page = browser.get(url)
    assert page.screen == "app-consent", page.text()[:200]
    flow_id = flow_id_of(page)
    browser.submit(page, button="idBtn_Accept")
    params = callback_params(browser)
    assert params["state"] == "state-123" and params["code"]
    access, id_token = access_token_claims(app, client, params, verifier)
    assert "mfa" in access["amr"] and id_token["preferred_username"] == GUEST
    assert screens_seen(app, flow_id) == ["app-consent"]


@pytest.mark.parametrize("how", ["new browser", "after sign-out", "prompt=login"])
def test_a_later_separate_sign_in_asks_for_mfa_again(app, client, browser, how):
    totp = part_one(app, client, browser)
    if how == "new browser":
        from ..pages import Browser

        browser = Browser(app.test_client())
        url, _ = authorize_url(login_hint=GUEST)
    elif how == "after sign-out":
        browser.get(f"/{TENANT}/oauth2/v2.0/logout")
        url, _ = authorize_url()
    else:
        url, _ = authorize_url(prompt="login")
    page = browser.get(url)
    if page.screen == "account-picker":
        page = browser.submit(page, {"upn": GUEST}, button="account-tile")
    if page.screen == "email":
        page = browser.submit(page, {"loginfmt": GUEST}, button="idSIButton9")
    assert page.screen == "password", page.text()[:200]
    page = browser.submit(page, {"passwd": GUEST_PASSWORD}, button="idSIButton9")
    assert page.screen == "mfa-otp", page.text()[:200]
    with app.app_context():
        account = db.session.query(SessionAccount).filter_by(
            user_id=User.by_email(GUEST).id, browser_id=db.session.get(Flow, flow_id_of(page)).browser_id).one()
        assert account.mfa_registered_at is None  # a new sign-in: the registration's MFA no longer counts
        code = totp.at(clock.timestamp() + 30)  # the next step: the one used at registration is refused
    page = browser.submit(page, {"otc": code}, button="idSubmit_SAOTCC_Continue")
    assert page.screen == "kmsi", page.error


def test_an_mfa_proved_at_sign_in_still_counts_only_for_its_request_under_always(app, client, browser):
    """Only a registration carries over: under "always", a method proved at sign-in is asked at each request."""
    part_one(app, client, browser)
    with app.app_context():
        # As if this browser's sign-in had been a returning one, with MFA proved on mfa-otp (not registered).
        account = db.session.query(SessionAccount).filter_by(user_id=User.by_email(GUEST).id).one()
        account.mfa_registered_at = None
        db.session.commit()
    page = browser.get(authorize_url()[0])
    assert page.screen == "mfa-otp"
