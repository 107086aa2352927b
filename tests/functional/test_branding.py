"""The tenant's branding from the seed folder (banner logo, served as a safe SVG), the proof-up phone illustrations
and the "correctement inscrite" notice, on the screens where the guide shows them."""
import re
import shutil
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from idp import seeds
from idp.cli import main
from idp.extensions import db
from idp.models import Tenant

from ..conftest import FAST_HASH, TENANT, TENANT_ID
from ..mfa_steps import answer_notification, read_sms_codes, scan_qr_with_phone
from .test_proofup import reach_sms_phone, start_proofup

SVG = "{http://www.w3.org/2000/svg}svg"
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
NOTICE = "L'application Microsoft Authenticator a été correctement inscrite"
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
ILLUSTRATIONS = {"proofup-app-intro": "phone-authenticator", "proofup-app-setup": "phone-add-account",
                 "proofup-app-try": "phone-notification"}


def logo_url(page):
    logo = page.testid("tenant-logo")
    assert logo is not None and logo.name == "img", f"no tenant logo on {page.screen}"
    return logo["src"]


def assert_branded(page, with_microsoft=True):
    """The tenant's banner logo (its own URL on this emulator) and never the firm's name as bold text."""
    src = logo_url(page)
    assert re.fullmatch(rf"/{TENANT_ID}/branding/logo\.svg\?v=[0-9a-f]{{16}}", src), src
    assert page.testid("tenant-logo")["alt"] == "Baker Tilly"
    assert page.soup.find(string=lambda text: text.strip().lower().replace(" ", "") == "bakertilly") is None
    assert page.soup.select(".brand-wordmark") == []
    microsoft = page.soup.find("img", alt="Microsoft")
    assert (microsoft is not None) == with_microsoft
    stylesheets = [link["href"] for link in page.soup.find_all("link", rel="stylesheet")]
    assert any(href.endswith("/css/branding.css") for href in stylesheets)


def authenticator_journey(app, browser, email):
    """Every page of the Authenticator proof-up, from "Plus d'informations requises" to "Opération réussie"."""
    pages = []
    page, _ = start_proofup(app, browser, email)
    pages.append(browser.get(page.url.replace("/app-intro", "/interrupt")))  # redirected to the current screen
    pages.append(page)
    page = browser.submit(page, button="next")
    pages.append(page)
    page = browser.submit(page, button="next")
    pages.append(page)
    scan_qr_with_phone(browser, email)
    page = browser.submit(browser.get(page.url), button="next")
    pages.append(page)
    number = page.testid("idRichContext_DisplaySign").get_text(strip=True)
    answer_notification(browser, email, number)
    page = browser.submit(browser.get(page.url), button="next")
    pages.append(page)
    page = browser.submit(page, button="next")
    pages.append(page)
    return pages


def test_interrupt_and_every_authenticator_proofup_page_show_the_tenant_logo(app, browser):
    email = "brand.authenticator@example.fr"
    page = start_proofup_interrupt(app, browser, email)
    assert page.screen == "proofup-interrupt"
    assert_branded(page)
    assert page.testid("tenant-name") is None  # the guide: Microsoft's logo and the firm's, nothing else
    screens = [p.screen for p in authenticator_journey(app, browser, email)]
    assert screens == ["proofup-app-intro", "proofup-app-intro", "proofup-app-setup", "proofup-app-qr",
                       "proofup-app-try", "proofup-app-approved", "proofup-success"]


def start_proofup_interrupt(app, browser, email):
    from ..helpers import sign_in_until_mfa
    from ..mfa_steps import invited_user

    invited_user(app, email)
    page, _ = sign_in_until_mfa(browser, email)
    return page


def test_proofup_pages_carry_logo_illustrations_and_the_notice_only_on_success(app, browser):
    pages = authenticator_journey(app, browser, "brand.pages@example.fr")
    for page in pages:
        assert_branded(page)
        assert page.testid("tenant-name").get_text(strip=True) == "BakerTilly STREGO - RECETTE"
        illustrations = page.testids("illustration")
        expected = ILLUSTRATIONS.get(page.screen)
        assert [img["data-illustration"] for img in illustrations] == ([expected] if expected else []), page.screen
        for img in illustrations:
            assert img["src"] == f"/static/img/proofup/{expected}.svg" and img["alt"] == ""
            response = browser.client.get(img["src"])
            try:
                assert response.status_code == 200 and response.mimetype == "image/svg+xml"
                assert ElementTree.fromstring(response.data).tag == SVG
            finally:
                response.close()
        notice = page.testid("registered-notice")
        if page.screen == "proofup-success":
            assert notice is not None and notice["role"] == "status"
            assert NOTICE in notice.get_text(" ", strip=True)
            assert HTTP_DATE.match(page.testid("registered-at").get_text(strip=True))
        else:
            assert notice is None and NOTICE not in page.text(), page.screen


def test_sms_registration_has_the_logo_and_no_authenticator_notice(app, browser):
    email = "brand.sms@example.fr"
    page, _ = reach_sms_phone(app, browser, email)
    seen = [page]
    page = browser.submit(page, {"phone-number": "612345678"}, button="next")
    seen.append(page)
    page = browser.submit(page, {"otc": read_sms_codes(browser, "+33612345678")[0]}, button="next")
    seen.append(page)
    page = browser.submit(page, button="next")
    seen.append(page)
    assert [p.screen for p in seen] == ["proofup-sms-phone", "proofup-sms-code", "proofup-sms-verified",
                                        "proofup-success"]
    for page in seen:
        assert_branded(page)
        assert page.testid("registered-notice") is None and NOTICE not in page.text()
        assert page.testids("illustration") == []


def test_other_authenticator_app_gets_no_authenticator_notice(app, browser):
    import pyotp

    page, _ = start_proofup(app, browser, "brand.totp@example.fr")
    page = browser.submit(page, button="other-authenticator-app")
    assert page.screen == "proofup-totp-qr"
    assert_branded(page)
    code = pyotp.TOTP(page.testid("secret").get_text(strip=True)).now()
    page = browser.submit(page, {"otc": code}, button="next")
    assert page.screen == "proofup-success"
    assert page.testid("registered-notice") is None


def test_tenant_consent_shows_the_logo_instead_of_the_name_in_bold(app, browser):
    from .test_signup import solve_captcha, to_captcha

    page = solve_captcha(app, browser, to_captcha(browser))
    assert page.screen == "tenant-consent"
    assert_branded(page, with_microsoft=False)


def test_logo_url_serves_the_seed_svg_with_safe_headers(app, client):
    with app.app_context():
        tenant = db.session.get(Tenant, TENANT_ID)
        etag, svg = tenant.logo_etag, tenant.logo_svg
    assert svg == (seeds.config.SEEDS_DIR / "default" / "branding" / "logo.svg").read_text(encoding="utf-8")
    for segment in (TENANT_ID, TENANT):
        response = client.get(f"/{segment}/branding/logo.svg")
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml"
        # The logo's own policy, and (idp.security, on every response) framing by the emulator's origin only.
        assert response.headers["Content-Security-Policy"] == LOGO_POLICY + "; frame-ancestors 'self'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["ETag"] == f'"{etag}"'
        assert "no-cache" in response.headers["Cache-Control"]
        root = ElementTree.fromstring(response.data)
        assert root.tag == SVG and root.find("{http://www.w3.org/2000/svg}title").text == "bakertilly"
    again = client.get(f"/{TENANT_ID}/branding/logo.svg", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.data == b""
    versioned = client.get(f"/{TENANT_ID}/branding/logo.svg?v={etag}")
    assert "immutable" in versioned.headers["Cache-Control"] and "max-age=31536000" in versioned.headers["Cache-Control"]
    assert client.get("/unknown.onmicrosoft.com/branding/logo.svg").status_code == 404


def test_every_scenario_has_the_firms_logo():
    scenarios = sorted(p for p in seeds.config.SEEDS_DIR.iterdir() if (p / "tenant.yaml").is_file())
    assert len(scenarios) >= 6
    logo = (seeds.config.SEEDS_DIR / "default" / "branding" / "logo.svg").read_text(encoding="utf-8")
    for folder in scenarios:
        tenant, _, _ = seeds.validate(folder)
        assert seeds.read_logo(folder, tenant) == logo, folder.name


def custom_seed(tmp_path, logo_text=None, logo="branding/logo.svg", logo_bytes=None):
    folder = tmp_path / "seed"
    shutil.copytree(seeds.resolve("default"), folder)
    tenant = yaml.safe_load((folder / "tenant.yaml").read_text(encoding="utf-8"))
    tenant["branding"] = {"logo": logo} if logo is not None else None
    (folder / "tenant.yaml").write_text(yaml.safe_dump(tenant, allow_unicode=True), encoding="utf-8")
    if logo_text is not None:
        (folder / "branding" / "logo.svg").write_text(logo_text, encoding="utf-8")
    if logo_bytes is not None:
        (folder / "branding" / "logo.svg").write_bytes(logo_bytes)
    return folder


def test_reseeding_a_new_logo_changes_its_url_and_no_logo_shows_the_name(app, client, browser, tmp_path):
    with app.app_context():
        before = db.session.get(Tenant, TENANT_ID).logo_etag
    drawn = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>autre</title>'
             '<rect width="10" height="10" fill="#123456"/></svg>')
    with app.app_context():
        seeds.load(custom_seed(tmp_path, drawn))
        after = db.session.get(Tenant, TENANT_ID).logo_etag
    assert after != before
    assert client.get(f"/{TENANT_ID}/branding/logo.svg").data.decode() == drawn

    # Without `branding`, the pages show the tenant's name where the logo was, and the logo URL is gone.
    shutil.rmtree(tmp_path / "seed")
    with app.app_context():
        seeds.load(custom_seed(tmp_path, logo=None))
        assert db.session.get(Tenant, TENANT_ID).logo_etag is None
    assert client.get(f"/{TENANT_ID}/branding/logo.svg").status_code == 404
    page = start_proofup_interrupt(app, browser, "brand.nologo@example.fr")
    assert page.screen == "proofup-interrupt"
    assert page.testid("tenant-logo") is None
    assert page.testid("tenant-name").get_text(strip=True) == "BakerTilly STREGO - RECETTE"


@pytest.mark.parametrize("logo, content, words", [
    ("branding/missing.svg", None, "file missing"),
    ("/etc/logo.svg", None, "relative to the seed folder"),
    ("branding/logo.png", None, "an .svg file"),
    ("branding/logo.svg", "<html><body>bakertilly</body></html>", "not an SVG image"),
    ("branding/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'><rect>", "not a well-formed SVG"),
    ("branding/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "<script>"),
    ("branding/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "event handler"),
    ("branding/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg' xmlns:x='http://www.w3.org/1999/xlink'>"
                          "<image x:href='https://example.com/logo.png'/></svg>", "refers to https://example.com"),
    ("branding/logo.svg", "<!DOCTYPE svg [<!ENTITY a 'aaaa'>]><svg xmlns='http://www.w3.org/2000/svg'>&a;</svg>",
     "not a well-formed SVG"),
    ("branding/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'>" + " " * 100_001 + "</svg>", "at most 100000"),
    ({"file": "logo.svg"}, None, "an .svg file"),
])
def test_bad_branding_is_refused_with_a_clear_message(app, tmp_path, logo, content, words):
    folder = custom_seed(tmp_path, content, logo=logo)
    with app.app_context():
        with pytest.raises(seeds.SeedError) as raised:
            seeds.validate(folder)
        assert "tenant.yaml" in str(raised.value) and "branding.logo" in str(raised.value)
        assert words in str(raised.value)
        # Nothing was changed by the refused seed.
        assert db.session.get(Tenant, TENANT_ID).logo_etag is not None


def test_branding_must_be_a_mapping(tmp_path):
    folder = custom_seed(tmp_path)
    text = (folder / "tenant.yaml").read_text(encoding="utf-8")
    (folder / "tenant.yaml").write_text(re.sub(r"branding:.*(\n  .*)*", "branding: logo.svg", text), encoding="utf-8")
    with pytest.raises(seeds.SeedError, match="'branding': must be a mapping"):
        seeds.validate(folder)


def test_cli_seed_with_a_missing_logo_says_so_in_one_line(tmp_path):
    folder = custom_seed(tmp_path, logo="branding/absent.svg")
    env = {"IDP_DATA_DIR": str(tmp_path / "cli"), "IDP_PASSWORD_HASH": FAST_HASH, "IDP_SECRET_KEY": "t"}
    result = CliRunner().invoke(main, ["seed", str(folder)], env=env)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "branding.logo" in lines[0] and "file missing" in lines[0]
    assert str(folder / "branding" / "absent.svg") in lines[0]


@pytest.mark.parametrize("email, screen", [("authenticator.demo@example.fr", "mfa-push"),
                                           ("totp.demo@example.fr", "mfa-otp"),
                                           ("sms.demo@example.fr", "mfa-otp")])
def test_returning_sign_in_mfa_pages_show_the_tenant_logo(app, browser, email, screen):
    from ..conftest import PASSWORD
    from ..helpers import sign_in_until_mfa

    page, _ = sign_in_until_mfa(browser, email, PASSWORD)
    assert page.screen == screen
    assert_branded(page)
    if screen == "mfa-push":
        choice = browser.submit(page, button="signInAnotherWay")
        assert choice.screen == "mfa-method-choice"
        assert_branded(choice)


def test_an_older_database_gains_the_logo_columns_and_keeps_its_tenant(tmp_path):
    import sqlite3

    from idp import create_app

    folder = tmp_path / "old"
    folder.mkdir()
    connection = sqlite3.connect(folder / "idp.sqlite3")
    # tenant as it was before the seed folder's branding
    connection.execute("CREATE TABLE tenant (id VARCHAR(36) PRIMARY KEY, domain VARCHAR(255) UNIQUE, name VARCHAR(255), "
                       "mfa VARCHAR(16), extra JSON, pairwise_salt VARCHAR(64))")
    connection.execute("INSERT INTO tenant VALUES (?, ?, 'Ancien nom', 'always', '{}', 'salt')", (TENANT_ID, TENANT))
    connection.commit()
    connection.close()
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(folder), "SECRET_KEY": "x", "IDP_PASSWORD_HASH": FAST_HASH})
    with app.app_context():
        tenant = db.session.get(Tenant, TENANT_ID)
        assert tenant.name == "Ancien nom" and tenant.logo_etag is None and tenant.pairwise_salt == "salt"
        seeds.load("default")
        assert db.session.get(Tenant, TENANT_ID).logo_etag is not None
    response = app.test_client().get(f"/{TENANT}/branding/logo.svg")
    assert response.status_code == 200 and b"bakertilly" in response.data
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
