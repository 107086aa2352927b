"""Account creation of an invited client: password, profile, email code, captcha, tenant consent (journey.md, part 1)."""
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.security import check_password_hash

from idp import clock, create_app
from idp.extensions import db
from idp.journey import captcha
from idp.models import Flow, FlowEvent, Message, OneTimeCode, Setting, User

from ..conftest import FAST_HASH, REDIRECT_URI
from ..helpers import authorize_url

INVITED = "nouveau.client@example.fr"
NEW_PASSWORD = "Nouveau-Acces-2026"
WEAK_PASSWORD_TEXT = ("Les mots de passe doivent comporter au moins 8 caractères et contenir au moins deux des éléments "
                      "suivants : majuscules, minuscules, chiffres et symboles.")


# --- walking the journey ----------------------------------------------------------------------

def flow_id_of(page):
    return urlsplit(page.url).path.split("/")[2]


def start_signup(browser):
    url, _ = authorize_url()
    page = browser.get(url)
    assert page.screen == "email"
    page = browser.submit(page, {"loginfmt": INVITED}, button="idSIButton9")
    assert page.screen == "signup-password", page.text()[:300]
    return page


def to_profile(browser):
    page = browser.submit(start_signup(browser), {"new-password": NEW_PASSWORD}, button="idSIButton9")
    assert page.screen == "signup-profile", page.error
    return page


def to_verify(browser):
    page = browser.submit(to_profile(browser), {"birth-day": "14", "birth-month": "7", "birth-year": "1985"},
                          button="idSIButton9")
    assert page.screen == "signup-verify-email", page.error
    return page


def mailbox_code(browser, email=INVITED):
    """Read the newest verification code the way a person does: open the mailbox, open the mail, read it."""
    listing = browser.get(f"/_emulator/mailbox/?to={email}")
    assert listing.screen == "mailbox"
    items = listing.testids("message")
    assert items, "no mail for " + email
    mail = browser.get(items[0].find("a")["href"])
    assert mail.screen == "mailbox-message"
    assert mail.testid("message-subject").get_text(strip=True) == VERIFY_SUBJECT
    text = mail.testid("message-text").get_text()
    return re.search(r"votre adresse e-mail : (\d{4})\b", text).group(1)


VERIFY_SUBJECT = "Vérifiez votre adresse e-mail"


def mail_count(app, email=INVITED):
    """The "Vérifiez votre adresse e-mail" mails sent to `email` (beside its invitation mail, if seeded with one)."""
    with app.app_context():
        return db.session.query(Message).filter_by(to=email, channel="email", subject=VERIFY_SUBJECT).count()


CAPTCHA_REQUEST = "Veuillez résoudre l'énigme pour que nous sachions que vous n'êtes pas un robot."


def past_captcha_intro(browser, page):
    """The guide's request ("Créer un compte", "Veuillez résoudre l'énigme…", Suivant), then the puzzle."""
    assert page.screen == "captcha-intro", page.error
    assert page.soup.find("h1").get_text(strip=True) == "Créer un compte"
    assert page.testid("captcha-intro").get_text(strip=True) == CAPTCHA_REQUEST
    assert page.testid("captcha-choice") is None  # the puzzle is the next screen
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "captcha", page.error
    return page


def to_captcha(browser):
    page = to_verify(browser)
    page = browser.submit(page, {"otc": mailbox_code(browser)}, button="idSIButton9")
    return past_captcha_intro(browser, page)


def answer_of(app, page):
    with app.app_context():
        return captcha.current_answer(db.session.get(Flow, flow_id_of(page)))


def solve_captcha(app, browser, page):
    for _ in range(10):
        if page.screen != "captcha":
            return page
        page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    raise AssertionError("the captcha never ended")


def set_setting(app, key, value):
    with app.app_context():
        Setting.put(key, value)
        db.session.commit()


def wrong_code(code):
    return f"{(int(code) + 1) % 10000:04d}"


# --- the whole sign-up ------------------------------------------------------------------------

def test_invited_client_creates_microsoft_account_then_accepts_tenant_and_reaches_proofup(app, browser):
    page = to_verify(browser)
    assert INVITED in page.testid("verify-intro").get_text()
    code = mailbox_code(browser)
    page = browser.submit(page, {"otc": code, "marketing-opt-in": "y"}, button="idSIButton9")
    page = past_captcha_intro(browser, page)
    page = solve_captcha(app, browser, page)
    assert page.screen == "tenant-consent"
    assert page.testid("tenant-name").get_text(strip=True) == "BakerTilly STREGO - RECETTE"
    assert page.testid("tenant-domain").get_text(strip=True) == "bakertillyrecette.onmicrosoft.com"
    flow_id = flow_id_of(page)
    page = browser.submit(page, button="idBtn_Accept")
    # The proof-up screens come next ("Plus d'informations requises"), served by the proofup blueprint.
    assert urlsplit(browser.last_redirect).path == f"/proofup/{flow_id}/interrupt"
    if page.status == 200:
        assert page.screen == "proofup-interrupt"
    with app.app_context():
        user = User.by_email(INVITED)
        assert user.has_account and check_password_hash(user.password_hash, NEW_PASSWORD)
        assert user.idp == "live.com" and user.email_verified and user.marketing_opt_in
        assert user.country == "FR" and user.birth_date == date(1985, 7, 14)
        assert user.tenant_consent_at is not None
        flow = db.session.get(Flow, flow_id)
        assert "signup" not in flow.state and "captcha" not in flow.state and flow.get("account_created")
        # The plain password is kept nowhere: not in the flow, not in the journey recorder.
        events = db.session.query(FlowEvent).filter_by(flow_id=flow_id).all()
        assert NEW_PASSWORD not in repr(flow.state) and all(NEW_PASSWORD not in repr(e.data) for e in events)
        # The email code is stored hashed only, and spent.
        row = db.session.query(OneTimeCode).filter_by(flow_id=flow_id, purpose="email_verify").one()
        assert code not in row.code_hash and row.used_at is not None


def test_signup_screens_carry_microsoft_ids_identity_and_emulator_marker(app, browser):
    page = start_signup(browser)
    assert page.testid("new-password")["name"] == "new-password"
    assert page.soup.find(id="idSIButton9")["data-testid"] == "idSIButton9"
    assert page.testid("identity-email").get_text(strip=True) == INVITED
    assert page.testid("emulator-marker") is not None
    assert "Entrez le mot de passe que vous souhaitez utiliser avec votre compte." in page.text()
    assert page.testid("show-password") is not None


# --- signup-password --------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["Ab1!", "abcdefghij", "1234567890", "ABCDEFGHIJ", "!!!!????**"])
def test_weak_password_keeps_user_on_screen_with_microsoft_wording(browser, password):
    page = browser.submit(start_signup(browser), {"new-password": password}, button="idSIButton9")
    assert page.status == 200 and page.screen == "signup-password"
    assert page.error == WEAK_PASSWORD_TEXT
    assert page.testid("new-password").get("value", "") == ""  # a secret is never echoed back unasked


def test_empty_password_is_refused(browser):
    page = browser.submit(start_signup(browser), {"new-password": ""}, button="idSIButton9")
    assert page.screen == "signup-password" and page.error == "Un mot de passe est requis."


@pytest.mark.parametrize("password", [INVITED, "Nouveau.Client-2026"])
def test_password_containing_the_email_is_refused(browser, password):
    page = browser.submit(start_signup(browser), {"new-password": password}, button="idSIButton9")
    assert page.screen == "signup-password"
    assert "adresse e-mail" in page.error


def test_two_kinds_of_characters_are_enough(browser):
    page = browser.submit(start_signup(browser), {"new-password": "motdepasse42"}, button="idSIButton9")
    assert page.screen == "signup-profile"


def test_show_password_works_without_javascript(browser):
    page = start_signup(browser)
    assert page.testid("new-password")["type"] == "password"
    shown = browser.submit(page, {"new-password": "Secret-99", "show-password": "y"}, button="apply-show")
    assert shown.screen == "signup-password" and shown.error is None
    field = shown.testid("new-password")
    assert field["type"] == "text" and field["value"] == "Secret-99"
    assert shown.testid("show-password").has_attr("checked")
    hidden = browser.submit(shown, {"show-password": None, "new-password": "x"}, button="idSIButton9")
    assert hidden.testid("new-password")["type"] == "password" and hidden.testid("new-password").get("value", "") == ""


def test_flow_keeps_only_a_password_hash(app, browser):
    page = to_profile(browser)
    with app.app_context():
        signup = db.session.get(Flow, flow_id_of(page)).get("signup")
    assert signup["password_hash"].startswith(FAST_HASH.split(":")[0])
    assert check_password_hash(signup["password_hash"], NEW_PASSWORD)
    assert NEW_PASSWORD not in repr(signup)


# --- signup-profile ---------------------------------------------------------------------------

def test_profile_offers_countries_with_france_by_default(browser):
    page = to_profile(browser)
    select = page.testid("country")
    assert select.find("option", selected=True)["value"] == "FR"
    assert len(select.find_all("option")) > 100
    assert "Date de naissance" in page.text() and "Pays/région" in page.text()


def _years_ago(n):
    today = date.today()
    return str(today.year - n)


@pytest.mark.parametrize("day, month, year, kind, words", [
    ("31", "2", "1990", "impossible", "Cette date n'existe pas"),
    ("30", "2", "2000", "impossible", "Cette date n'existe pas"),
    ("1", "1", str(date.today().year + 1), "future", "dans le futur"),
    ("1", "1", "1899", "too_old", "1900"),
    ("", "3", "1990", "missing", "date de naissance complète"),
    ("1", "3", "19a0", "invalid", "date de naissance valide"),
    ("99999999999999999999", "1", "1990", "invalid", "date de naissance valide"),
    ("٣", "1", "1990", "invalid", "date de naissance valide"),
    ("1", "13", "1990", "impossible", "Cette date n'existe pas"),
])
def test_invalid_birth_date_shows_inline_error_and_keeps_input(browser, day, month, year, kind, words):
    page = browser.submit(to_profile(browser), {"birth-day": day, "birth-month": month, "birth-year": year,
                                                "country": "BE"}, button="idSIButton9")
    assert page.status == 200 and page.screen == "signup-profile"
    assert page.testid("error")["data-error"] == kind
    assert words in page.error
    assert page.testid("birth-year")["value"] == year
    assert page.testid("country").find("option", selected=True)["value"] == "BE"
    if day in {str(d) for d in range(1, 32)}:
        assert page.testid("birth-day").find("option", selected=True)["value"] == day


def test_under_thirteen_is_refused_with_parental_consent_message(browser):
    page = browser.submit(to_profile(browser), {"birth-day": "1", "birth-month": "1", "birth-year": _years_ago(10)},
                          button="idSIButton9")
    assert page.screen == "signup-profile"
    assert page.testid("error")["data-error"] == "too_young"
    assert "au moins 13 ans" in page.error and "parent" in page.error


def test_unknown_country_is_refused(browser):
    page = browser.submit(to_profile(browser), {"birth-day": "1", "birth-month": "1", "birth-year": "1980",
                                                "country": "XX"}, button="idSIButton9")
    assert page.screen == "signup-profile" and page.testid("error")["data-error"] == "country"


def test_profile_stores_country_and_iso_birth_date_and_mails_a_code(app, browser):
    page = browser.submit(to_profile(browser), {"birth-day": "2", "birth-month": "3", "birth-year": "1970",
                                                "country": "CH"}, button="idSIButton9")
    assert page.screen == "signup-verify-email"
    with app.app_context():
        signup = db.session.get(Flow, flow_id_of(page)).get("signup")
        mail = db.session.query(Message).filter_by(to=INVITED, subject=VERIFY_SUBJECT).one()
    assert signup["country"] == "CH" and signup["birth_date"] == "1970-03-02"
    assert mail.sender == "Équipe des comptes Microsoft <account-security-noreply@accountprotection.microsoft.com>"
    assert re.fullmatch(r"\d{4}", mail.code) and mail.code in mail.body_text and mail.code in mail.body_html
    assert "Pour terminer la configuration de votre compte Microsoft" in mail.body_text


# --- signup-verify-email ----------------------------------------------------------------------

def test_verify_email_screen_has_guide_texts(browser):
    page = to_verify(browser)
    text = page.text()
    assert "Confirmer l'adresse e-mail" in text
    assert "vérifiez votre dossier de courrier indésirable" in text
    assert page.testid("resend-code").get_text(strip=True) == "réessayez"
    assert page.testid("marketing-opt-in") is not None
    assert "Contrat de services Microsoft" in text and "loi Informatique et Libertés" in text
    assert page.testid("otc")["name"] == "otc"


def test_wrong_email_code_keeps_user_on_screen(browser):
    page = to_verify(browser)
    code = mailbox_code(browser)
    page = browser.submit(page, {"otc": wrong_code(code), "marketing-opt-in": "y"}, button="idSIButton9")
    assert page.status == 200 and page.screen == "signup-verify-email"
    assert page.testid("error")["data-error"] == "wrong"
    assert page.error == "Ce code ne fonctionne pas. Vérifiez-le et réessayez."
    assert page.testid("marketing-opt-in").has_attr("checked")


@pytest.mark.parametrize("typed", ["", "12", "abcd", "123456"])
def test_malformed_email_code_is_refused_inline(browser, typed):
    page = browser.submit(to_verify(browser), {"otc": typed}, button="idSIButton9")
    assert page.screen == "signup-verify-email" and page.testid("error")["data-error"] == "format"


def test_expired_email_code_is_refused_then_resend_works(app, browser):
    page = to_verify(browser)
    code = mailbox_code(browser)
    with app.app_context():
        clock.set_offset(11 * 60)
    page = browser.submit(page, {"otc": code}, button="idSIButton9")
    assert page.screen == "signup-verify-email"
    assert page.testid("error")["data-error"] == "expired"
    assert "expiré" in page.error
    page = browser.submit(page, button="resend-code")
    assert page.screen == "signup-verify-email" and page.testid("notice") is not None
    page = browser.submit(page, {"otc": mailbox_code(browser)}, button="idSIButton9")
    assert page.screen == "captcha-intro"


def test_three_wrong_codes_invalidate_the_code(app, browser):
    page = to_verify(browser)
    code = mailbox_code(browser)
    for attempt in range(3):
        page = browser.submit(page, {"otc": wrong_code(code)}, button="idSIButton9")
    assert page.testid("error")["data-error"] == "too_many"
    # Even the right code no longer works: the person must ask for a new one.
    page = browser.submit(page, {"otc": code}, button="idSIButton9")
    assert page.screen == "signup-verify-email" and page.testid("error")["data-error"] == "too_many"
    before = mail_count(app)
    page = browser.submit(page, button="resend-code")
    assert mail_count(app) == before + 1
    fresh = mailbox_code(browser)
    page = browser.submit(page, {"otc": fresh}, button="idSIButton9")
    assert page.screen == "captcha-intro"


def test_email_fault_delivers_nothing_and_resend_works_once_cleared(app, browser):
    set_setting(app, "faults", {"email": "fail"})
    page = to_verify(browser)
    assert page.screen == "signup-verify-email"
    assert mail_count(app) == 0
    page = browser.submit(page, button="resend-code")
    assert page.screen == "signup-verify-email" and mail_count(app) == 0
    set_setting(app, "faults", {})
    page = browser.submit(page, button="resend-code")
    assert mail_count(app) == 1
    page = browser.submit(page, {"otc": mailbox_code(browser)}, button="idSIButton9")
    assert page.screen == "captcha-intro"


# --- captcha ----------------------------------------------------------------------------------

def test_captcha_shows_choices_without_the_answer_marked(app, browser):
    page = to_captcha(browser)
    assert "Veuillez résoudre l'énigme pour que nous sachions que vous n'êtes pas un robot." in page.text()
    choices = page.testids("captcha-choice")
    assert 4 <= len(choices) <= 6
    assert all(c["type"] == "radio" and c["name"] == "choice" for c in choices)
    assert all(page.soup.find("label", attrs={"for": c["id"]}).find("img") for c in choices)
    answer = answer_of(app, page)
    assert answer in [c["value"] for c in choices]
    html = page.response.get_data(as_text=True)
    assert html.count(answer) == 1  # only as the value of its radio button


def test_wrong_captcha_answer_adds_a_round(app, browser):
    page = to_captcha(browser)
    with app.app_context():
        before = db.session.get(Flow, flow_id_of(page)).get("captcha")
    wrong = next(c["value"] for c in page.testids("captcha-choice") if c["value"] != answer_of(app, page))
    page = browser.submit(page, {"choice": wrong}, button="idSIButton9")
    assert page.status == 200 and page.screen == "captcha"
    assert page.testid("error")["data-error"] == "wrong"
    assert "Ce n'est pas la bonne réponse" in page.error
    with app.app_context():
        after = db.session.get(Flow, flow_id_of(page)).get("captcha")
    assert after["rounds"] == before["rounds"] + 1 and after["seed"] != before["seed"]
    assert f"sur {after['rounds']}" in page.testid("captcha-round").get_text()
    page = solve_captcha(app, browser, page)
    assert page.screen == "tenant-consent"


def test_captcha_without_a_choice_is_refused_inline(browser):
    page = browser.submit(to_captcha(browser), {}, button="idSIButton9")
    assert page.screen == "captcha" and page.testid("error")["data-error"] == "no_choice"


def test_captcha_auto_mode_passes_with_one_click(app, browser):
    page = to_captcha(browser)
    set_setting(app, "captcha", "auto")
    page = browser.get(page.url)
    assert page.screen == "captcha" and page.testid("captcha-auto") is not None
    page = browser.submit(page, button="idSIButton9")
    assert page.screen == "tenant-consent"


def test_captcha_auto_mode_from_configuration(tmp_path):
    from idp import seeds
    from ..pages import Browser

    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "auto"), "IDP_PASSWORD_HASH": FAST_HASH,
                      "IDP_CAPTCHA": "auto", "SECRET_KEY": "test-secret"})
    with app.app_context():
        seeds.load("default")
    browser = Browser(app.test_client())
    page = browser.submit(to_captcha(browser), button="idSIButton9")
    assert page.screen == "tenant-consent"


def test_captcha_loop_mode_never_passes_and_shows_support_advice(app, browser):
    page = to_captcha(browser)
    set_setting(app, "captcha", "loop")
    for _ in range(3):
        assert page.testid("captcha-support") is None
        page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
        assert page.screen == "captcha"
        assert page.testid("error")["data-error"] == "loop"
    support = page.testid("captcha-support")
    assert support is not None
    with app.app_context():
        tenant = User.by_email(INVITED).tenant
        support_email = tenant.extra["support_email"]
    assert page.testid("support-email").get_text(strip=True) == support_email
    assert page.testid("support-subject").get_text(strip=True) == "Connexion Espace client - Problème de Capcha"
    assert page.testid("support-email")["href"].startswith(f"mailto:{support_email}?subject=Connexion")
    page = browser.submit(page, {"choice": answer_of(app, page)}, button="idSIButton9")
    assert page.screen == "captcha"


# --- tenant-consent ---------------------------------------------------------------------------

def test_tenant_consent_shows_the_guide_texts(app, browser):
    page = solve_captcha(app, browser, to_captcha(browser))
    assert page.screen == "tenant-consent"
    text = page.text()
    for words in ("Autorisation demandée par :", "Recevoir vos données de profil", "Collecter et consigner votre activité",
                  "Utiliser vos données de profil et vos données d'activité",
                  "Vous devez accepter uniquement si vous faites confiance BakerTilly STREGO - RECETTE",
                  "Cette ressource n'est pas partagée par Microsoft."):
        assert words in text
    assert len(page.testids("permission")) == 3
    assert page.soup.find(id="idBtn_Accept") and page.soup.find(id="idBtn_Back")


def test_tenant_consent_cancel_sends_access_denied_to_the_client(app, browser):
    page = solve_captcha(app, browser, to_captcha(browser))
    browser.submit(page, button="idBtn_Back")
    location = urlsplit(browser.last_redirect)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["error"] == "access_denied" and params["state"] == "state-123"
    assert "AADSTS65004" in params["error_description"]
    with app.app_context():
        assert User.by_email(INVITED).tenant_consent_at is None


# --- no skipping, resuming --------------------------------------------------------------------

def test_later_step_urls_do_not_skip_steps(app, browser):
    page = start_signup(browser)
    flow_id = flow_id_of(page)
    # GET a later step: back to where the flow is.
    for later in ("profile", "verify-email", "captcha-intro", "captcha", "tenant-consent"):
        assert browser.get(f"/signup/{flow_id}/{later}").screen == "signup-password"
    # POST a later step's form with valid data: ignored, the password step is still due.
    form = page.form()
    csrf = form.fields["csrf_token"]
    response = browser.client.post(f"/signup/{flow_id}/profile", data={
        "csrf_token": csrf, "country": "FR", "birth-day": "1", "birth-month": "1", "birth-year": "1980"})
    assert response.status_code == 302 and response.location.endswith(f"/signup/{flow_id}/password")
    response = browser.client.post(f"/signup/{flow_id}/captcha", data={"csrf_token": csrf, "choice": "x"})
    assert response.location.endswith("/password")
    with app.app_context():
        assert "birth_date" not in (db.session.get(Flow, flow_id).get("signup") or {})
        assert not User.by_email(INVITED).has_account


def test_captcha_url_before_email_code_returns_to_verify(browser):
    page = to_verify(browser)
    flow_id = flow_id_of(page)
    csrf = page.form(containing="otc").fields["csrf_token"]
    response = browser.client.post(f"/signup/{flow_id}/captcha", data={"csrf_token": csrf, "choice": "x"})
    assert response.location.endswith(f"/signup/{flow_id}/verify-email")


def test_flow_resumes_after_an_app_restart(app, browser, tmp_path):
    page = to_verify(browser)
    flow_id = flow_id_of(page)
    cookie = browser.client.get_cookie("ESTSAUTH")
    restarted = create_app({"TESTING": True, "IDP_DATA_DIR": app.config["IDP_DATA_DIR"],
                            "IDP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                            "IDP_PASSWORD_HASH": FAST_HASH, "IDP_CAPTCHA": "puzzle", "SECRET_KEY": "test-secret"})
    from ..pages import Browser

    other = Browser(restarted.test_client())
    other.client.set_cookie("ESTSAUTH", cookie.value, domain=cookie.domain or "localhost")
    page = other.get(f"/signup/{flow_id}/password")
    assert page.screen == "signup-verify-email"
    page = other.submit(page, {"otc": mailbox_code(other)}, button="idSIButton9")
    assert page.screen == "captcha-intro"


def test_missing_csrf_token_is_an_error_page_not_a_500(browser):
    page = start_signup(browser)
    response = browser.client.post(f"/signup/{flow_id_of(page)}/password", data={"new-password": "Abcdefgh1"})
    assert response.status_code == 400


def test_oversized_fields_are_refused_inline(browser):
    page = browser.submit(start_signup(browser), {"new-password": "Aa1!" * 100}, button="idSIButton9")
    assert page.status == 200 and page.screen == "signup-password" and page.error
    page = to_profile(browser)
    page = browser.submit(page, {"birth-day": "9" * 50, "birth-month": "x", "birth-year": "1" * 30,
                                 "country": "F" * 300}, button="idSIButton9")
    assert page.status == 200 and page.screen == "signup-profile" and page.error


def test_tenant_consent_cancel_without_authorization_request_shows_an_error_page(app, browser):
    page = solve_captcha(app, browser, to_captcha(browser))
    flow_id = flow_id_of(page)
    with app.app_context():
        # As in an invitation journey: no authorization request to answer, only a return URL.
        flow = db.session.get(Flow, flow_id)
        flow.params, flow.client_id, flow.return_url = {}, None, "http://localhost:8401/step2"
        db.session.commit()
    page = browser.submit(page, button="idBtn_Back")
    assert page.status == 400 and page.screen == "error"
    assert "AADSTS65004" in page.text()
    with app.app_context():
        assert db.session.get(Flow, flow_id).completed_at is not None


def test_captcha_state_without_a_drawing_is_drawn_again(app, browser):
    page = to_captcha(browser)
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        flow.set(captcha={"round": 1, "rounds": 1, "answer": "3"})
        db.session.commit()
    page = browser.get(page.url)
    assert page.status == 200 and page.screen == "captcha" and len(page.testids("captcha-choice")) >= 4


def test_captcha_prompt_is_shown_with_its_number(app, browser):
    page = to_captcha(browser)
    seed = next(s for s in range(1000) if captcha.build(s).kind == "dots")
    puzzle = captcha.build(seed)
    with app.app_context():
        flow = db.session.get(Flow, flow_id_of(page))
        flow.set(captcha={**flow.get("captcha"), "seed": seed})
        db.session.commit()
    page = browser.get(page.url)
    prompt = page.testid("captcha-prompt").get_text(" ", strip=True)
    assert prompt.startswith(puzzle.text) and "%" not in prompt
    assert page.testid("captcha")["data-kind"] == "dots"
