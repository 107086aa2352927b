"""The Espace Client relying party: sign-in callback guards, CGU, dashboard tiles, forms, admin invitations."""
import datetime
import html
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from client_app import create_app
from client_app.extensions import db
from client_app.models import Account, AppointmentRequest, ContactRequest, SentInvitation

from ..conftest import CLIENT_ID, PASSWORD, TENANT, TENANT_ID, LiveServer
from ..pages import Form

BASE = "http://localhost:8401"
TILES = {
    "COFFRE-FORT": "Retrouvez dans cet espace sécurisé à valeur probante l'ensemble des documents émis par Baker Tilly.",
    "MES FACTURES": "Accédez à toutes vos factures en ligne",
    "MESSAGERIE": "Echangez avec vos interlocuteurs privilégiés",
    "AGENDA": "Consultez les échéances fiscales et sociales",
    "BANQUE": "Consultez vos écritures bancaires",
    "DÉPÔT DOC": "Déposez des documents à transmettre à vos interlocuteurs",
    "MA COMPTA": "Saisir ou tenir votre comptabilité en ligne",
    "MES SALARIÉS": "Pilotez la gestion de votre personnel en toute sécurité",
    "CASH MANAGER": "Déposez vos factures dématérialisées",
    "MA FACTURATION": "Une gestion commerciale simple pour vos devis et factures",
}


def make_app(tmp_path, authority=None, **extra):
    # CLIENT_ADMIN_PASSWORD as an operator sets it (without it, a random one; see tests/live/test_security.py).
    config = {"TESTING": True, "CLIENT_DATA_DIR": str(tmp_path / "client-data"), "SECRET_KEY": "client-test-secret",
              "CLIENT_BASE_URL": BASE, "CLIENT_ADMIN_PASSWORD": "admin"}
    if authority:
        config["CLIENT_AUTHORITY"] = authority
    config.update(extra)
    return create_app(config)


@pytest.fixture
def espace(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def web(espace):
    return espace.test_client()


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def screen(response):
    body = soup(response).body
    return body.get("data-screen") if body else None


def text(response):
    return html.unescape(soup(response).get_text(" ", strip=True))


def sign_in_as(app, web, email="client.demo@example.fr", name="Client Démo", cgu=True, oid="oid-1"):
    """Put a known client in this browser's session (the sign-in itself is tested against a live IdP below)."""
    with app.app_context():
        account = Account(tenant_id=TENANT_ID, oid=oid, email=email, name=name)
        if cgu:
            account.cgu_version, account.cgu_accepted_at = "2026-01", datetime.datetime(2026, 1, 10)
        db.session.add(account)
        db.session.commit()
        account_id = account.id
    with web.session_transaction() as session:
        session["account_id"] = account_id
    return account_id


def post_form(web, response, data=None, path=None, testid=None):
    """Submit a POST form of the page (the first of its content, or the one holding `testid`), CSRF token included."""
    page = soup(response)
    if testid:
        element = page.find(attrs={"data-testid": testid}).find_parent("form")
    else:
        element = page.find("main").find("form", method="post")
    form = Form(element, BASE + (path or "/"))
    values = dict(form.fields)
    values.update(data or {})
    return web.post(urlsplit(form.action).path, data=values)


# --- the connect page ---------------------------------------------------------------------------

def test_connect_page_has_the_guide_texts_and_support_line(web):
    response = web.get("/")
    assert response.status_code == 200 and screen(response) == "client-connect"
    page = text(response)
    for sentence in ("Chère cliente, cher client,", "Connectez-vous à votre Espace Client",
                     "La configuration de votre accès est presque terminée.",
                     "Une FAQ répondant aux questions les plus fréquentes", "02 41 66 17 49"):
        assert sentence in page
    button = soup(response).find(attrs={"data-testid": "connect"})
    assert button.get_text(strip=True) == "Se connecter" and button["href"] == "/login"


def test_client_app_has_its_own_session_cookie(espace):
    assert espace.config["SESSION_COOKIE_NAME"] == "espace_client_session"
    assert espace.config["SESSION_COOKIE_NAME"] != "ESTSAUTH"


def test_secret_key_is_generated_once_and_kept_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIENT_SECRET_KEY", raising=False)
    first = create_app({"CLIENT_DATA_DIR": str(tmp_path / "d")}).config["SECRET_KEY"]
    second = create_app({"CLIENT_DATA_DIR": str(tmp_path / "d")}).config["SECRET_KEY"]
    assert first == second and len(first) > 30
    assert (tmp_path / "d" / "secret-key").exists() and (tmp_path / "d" / "espace-client.sqlite3").exists()


# --- the callback refuses what it did not ask for ----------------------------------------------

def test_callback_with_a_forged_state_is_refused_with_a_clear_page(web):
    response = web.get("/auth/callback?code=abc&state=forged")
    assert response.status_code == 400 and screen(response) == "client-error"
    assert "Demande de connexion inconnue ou déjà utilisée" in text(response)


def test_callback_without_code_is_refused_with_a_clear_page(web):
    response = web.get("/auth/callback?state=whatever")
    assert response.status_code == 400 and screen(response) == "client-error"
    assert "ne contient pas de code d'autorisation" in text(response)


def test_callback_with_an_idp_error_says_the_sign_in_was_cancelled(web):
    response = web.get("/auth/callback?error=access_denied&error_description=AADSTS65004%3A+User+declined&state=x")
    assert response.status_code == 400
    assert "Connexion annulée" in text(response)


def test_callback_when_the_idp_is_unreachable_is_not_a_500(tmp_path):
    app = make_app(tmp_path, authority="http://127.0.0.1:9/nowhere/v2.0")
    web = app.test_client()
    response = web.get("/login")
    assert response.status_code == 503 and screen(response) == "client-error"
    assert "Service de connexion indisponible" in text(response)


# --- the CGU, once -------------------------------------------------------------------------------

def test_new_client_accepts_the_cgu_once_and_it_is_stored_with_date_and_version(espace, web):
    account_id = sign_in_as(espace, web, email="nouveau@example.fr", cgu=False)
    response = web.get("/tableau-de-bord")
    assert response.status_code == 302 and response.location == "/cgu"
    page = web.get("/cgu")
    assert screen(page) == "client-cgu"
    assert soup(page).find(attrs={"data-testid": "accept-cgu"}).get_text(strip=True) == "J'accepte"
    response = post_form(web, page, path="/cgu")
    assert response.status_code == 302 and response.location == "/tableau-de-bord"
    with espace.app_context():
        account = db.session.get(Account, account_id)
        accepted_at, version = account.cgu_accepted_at, account.cgu_version
    assert version == "2026-01" and accepted_at is not None
    # Accepted once: the CGU page now leads to the dashboard and the date does not move.
    again = web.get("/cgu")
    assert again.status_code == 302 and again.location == "/tableau-de-bord"
    assert screen(web.get("/tableau-de-bord")) == "client-dashboard"
    with espace.app_context():
        assert db.session.get(Account, account_id).cgu_accepted_at == accepted_at


def test_cgu_acceptance_requires_the_csrf_token(espace, web):
    sign_in_as(espace, web, cgu=False)
    response = web.post("/cgu", data={"accept": "J'accepte"})
    assert response.status_code == 400 and "Page expirée" in text(response)


# --- the dashboard and the pages behind its tiles -----------------------------------------------

def test_dashboard_has_every_tile_of_the_guide_with_its_sentence(espace, web):
    sign_in_as(espace, web)
    response = web.get("/tableau-de-bord")
    assert screen(response) == "client-dashboard"
    tiles = soup(response).find_all(attrs={"data-testid": "tile"})
    found = {t["data-tile"]: html.unescape(t.find(class_="tile-sentence").get_text(strip=True)) for t in tiles}
    assert found == TILES
    assert "Services" in text(response) and "Applications" in text(response)
    assert soup(response).find(attrs={"data-testid": "contact"}).get_text(strip=True) == "Être recontacté"
    assert soup(response).find(attrs={"data-testid": "appointment"}).get_text(strip=True) == "Demander un rendez-vous"
    for tile in tiles:
        page = web.get(tile["href"])
        assert page.status_code == 200, tile["data-tile"]
        assert soup(page).find(attrs={"data-testid": "tile-title"}).get_text(strip=True) == tile["data-tile"]


def test_tile_pages_show_the_seed_dossier(espace, web):
    sign_in_as(espace, web)
    assert "F2026-00412" in text(web.get("/espace/mes-factures"))
    assert "Bilan et compte de résultat 2025" in text(web.get("/espace/coffre-fort"))
    assert "PRLV URSSAF PAYS DE LA LOIRE" in text(web.get("/espace/banque"))
    assert "Déclaration de TVA (CA3) de mars" in text(web.get("/espace/agenda"))
    assert web.get("/espace/inconnu").status_code == 404


def test_pages_need_a_signed_in_client(web):
    for path in ("/tableau-de-bord", "/espace/banque", "/etre-recontacte", "/rendez-vous"):
        response = web.get(path)
        assert response.status_code == 302 and response.location == "/", path


# --- the forms -----------------------------------------------------------------------------------

def test_contact_form_shows_inline_french_errors_and_keeps_what_was_typed(espace, web):
    sign_in_as(espace, web)
    page = web.get("/etre-recontacte")
    assert screen(page) == "client-contact"
    response = post_form(web, page, {"phone": "12", "email": "pas-une-adresse", "subject": "", "slot": "",
                                     "message": "Bonjour"}, path="/etre-recontacte")
    assert response.status_code == 400 and screen(response) == "client-contact"
    errors = {e["data-testid"]: e.get_text(strip=True) for e in soup(response).select(".field-error")}
    assert errors["error-phone"].startswith("Numéro de téléphone invalide")
    assert errors["error-email"] == "Adresse e-mail invalide."
    assert errors["error-subject"] == "Choisissez un sujet."
    assert errors["error-slot"] == "Choisissez un créneau."
    assert soup(response).find(id="message").get_text().strip() == "Bonjour"
    with espace.app_context():
        assert db.session.query(ContactRequest).count() == 0


def test_contact_request_is_stored_and_confirmed(espace, web):
    sign_in_as(espace, web)
    page = web.get("/etre-recontacte")
    response = post_form(web, page, {"phone": "06 12 34 56 78", "subject": "fiscalite", "slot": "matin"},
                         path="/etre-recontacte")
    assert response.status_code == 302
    confirmation = web.get(response.location)
    assert screen(confirmation) == "client-contact-sent"
    assert "votre demande de rappel a bien été enregistrée" in text(confirmation)
    with espace.app_context():
        item = db.session.query(ContactRequest).one()
        assert (item.name, item.email, item.subject, item.slot) == ("Client Démo", "client.demo@example.fr", "fiscalite", "matin")


def next_weekday(days_ahead):
    day = datetime.date.today() + datetime.timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def test_appointment_form_refuses_past_weekend_and_malformed_dates(espace, web):
    sign_in_as(espace, web)
    page = web.get("/rendez-vous")
    assert screen(page) == "client-appointment"
    saturday = datetime.date.today() + datetime.timedelta(days=(5 - datetime.date.today().weekday()) % 7 or 7)
    for day, message in (("hier", "Date invalide"), ("2020-01-06", "Choisissez une date à venir."),
                         (saturday.isoformat(), "fermé le week-end")):
        response = post_form(web, page, {"day": day, "slot": "10:30", "mode": "visio", "topic": "juridique"},
                             path="/rendez-vous")
        assert response.status_code == 400
        assert message in soup(response).find(attrs={"data-testid": "error-day"}).get_text(), day
    with espace.app_context():
        assert db.session.query(AppointmentRequest).count() == 0


def test_appointment_request_is_stored_and_confirmed(espace, web):
    sign_in_as(espace, web)
    page = web.get("/rendez-vous")
    day = next_weekday(7)
    response = post_form(web, page, {"day": day.isoformat(), "slot": "14:00", "mode": "cabinet", "topic": "social"},
                         path="/rendez-vous")
    assert response.status_code == 302
    confirmation = web.get(response.location)
    assert screen(confirmation) == "client-appointment-sent"
    assert day.strftime("%d/%m/%Y") in text(confirmation)
    with espace.app_context():
        item = db.session.query(AppointmentRequest).one()
        assert (item.day, item.slot, item.mode, item.topic) == (day, "14:00", "cabinet", "social")


def test_forms_refuse_a_post_without_csrf_token(espace, web):
    sign_in_as(espace, web)
    response = web.post("/etre-recontacte", data={"name": "X", "phone": "0612345678", "email": "x@example.fr",
                                                  "subject": "autre", "slot": "matin"})
    assert response.status_code == 400 and screen(response) == "client-error"


def test_admin_page_needs_the_admin_password(web):
    page = web.get("/admin/invitations")
    assert screen(page) == "client-admin-login"
    wrong = post_form(web, page, {"password": "wrong"}, path="/admin/invitations")
    assert wrong.status_code == 400 and "Mot de passe incorrect." in text(wrong)
    right = post_form(web, page, {"password": "admin"}, path="/admin/invitations")
    assert right.status_code == 302
    assert screen(web.get("/admin/invitations")) == "client-admin-invitations"


# --- against a live IdP: the whole sign-in, replay, invitation through the API -------------------

def idp_walk(session, url, email, password=PASSWORD):
    """Drive the IdP's returning sign-in screens with requests; return the URL sent back to the client."""
    for _ in range(20):
        response = session.get(url, allow_redirects=False)
        while response.status_code in (301, 302, 303):
            url = urljoin(url, response.headers["Location"])
            if url.startswith(BASE):
                return url
            response = session.get(url, allow_redirects=False)
        page = BeautifulSoup(response.text, "html.parser")
        current = page.body.get("data-screen")
        data, button = {}, "idSIButton9"
        if current == "email":
            data = {"loginfmt": email}
        elif current == "password":
            data = {"passwd": password}
        elif current == "app-consent":
            button = "idBtn_Accept"
        elif current != "kmsi":
            raise AssertionError(f"unexpected IdP screen {current}")
        form = Form(page.find(attrs={"data-testid": button}).find_parent("form"), url)
        values = dict(form.fields, **data)
        name, value = form.button(button)
        if name:
            values[name] = value
        response = session.post(form.action, data=values, allow_redirects=False)
        assert response.status_code in (302, 303), response.text[:500]
        url = urljoin(form.action, response.headers["Location"])
        if url.startswith(BASE):
            return url
    raise AssertionError("the IdP never sent the browser back")


def test_sign_in_through_the_idp_then_a_replayed_callback_is_refused(tmp_path, live_server):
    app = make_app(tmp_path, authority=f"{live_server.base_url}/{TENANT}/v2.0")
    web = app.test_client()
    # A code the IdP never issued, for a state this browser did start: the token request fails, a clear page.
    first = parse_qs(urlsplit(web.get("/login").location).query)["state"][0]
    refused = web.get(f"/auth/callback?code=not-a-real-code&state={first}")
    assert refused.status_code == 400 and "Connexion impossible" in text(refused)
    start = web.get("/login")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.location).query)
    assert query["client_id"] == [CLIENT_ID] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [BASE + "/auth/callback"] and query["nonce"] and query["state"]
    callback = idp_walk(requests.Session(), start.location, "client.demo@example.fr")
    path = callback[len(BASE):]
    response = web.get(path)
    # client.demo is a client the firm already had (seed data): no CGU, straight to the dashboard.
    assert response.status_code == 302 and response.location == "/tableau-de-bord"
    dashboard = web.get("/tableau-de-bord")
    assert screen(dashboard) == "client-dashboard" and "Client Démo" in text(dashboard)
    with app.app_context():
        account = db.session.query(Account).one()
        assert account.email == "client.demo@example.fr" and account.tenant_id == TENANT_ID
    # The same callback again (replay): refused with a clear page, never a 500.
    replay = web.get(path)
    assert replay.status_code == 400 and "déjà utilisée" in text(replay)
    # Sign-out goes through the IdP's end_session_endpoint with id_token_hint and comes back here.
    page = web.get("/tableau-de-bord")
    out = post_form(web, page, path="/tableau-de-bord", testid="logout")
    assert out.status_code == 302
    logout = urlsplit(out.location)
    assert logout.path == f"/{TENANT}/oauth2/v2.0/logout"
    params = parse_qs(logout.query)
    assert params["post_logout_redirect_uri"] == [BASE + "/"] and params["id_token_hint"]
    back = requests.get(out.location, allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(BASE + "/?state=")
    home = web.get(back.headers["Location"][len(BASE):])
    assert screen(home) == "client-connect" and "Vous êtes déconnecté" in text(home)


def test_admin_invites_a_client_through_the_idp_api(tmp_path, live_server):
    app = make_app(tmp_path, authority=f"{live_server.base_url}/{TENANT}/v2.0")
    web = app.test_client()
    page = web.get("/admin/invitations")
    post_form(web, page, {"password": "admin"}, path="/admin/invitations")
    page = web.get("/admin/invitations")
    response = post_form(web, page, {"email": "Camille.Durand@example.fr", "display_name": "Camille Durand"},
                         path="/admin/invitations")
    assert response.status_code == 200, text(response)
    sent = soup(response).find(attrs={"data-testid": "invitation-sent"})
    assert sent is not None and "camille.durand@example.fr" in sent.get_text()
    redeem = soup(response).find(attrs={"data-testid": "redeem-url"})["href"]
    assert redeem.startswith(live_server.base_url + "/redeem?")
    with app.app_context():
        assert db.session.query(SentInvitation).one().status == "PendingAcceptance"
    # The French page names Graph's status in French.
    assert "(statut : En attente d'acceptation)" in text(response) and "PendingAcceptance" not in text(response)


def test_admin_page_shows_graph_invitation_statuses_in_french(espace, web):
    with espace.app_context():
        for number, status in enumerate(("PendingAcceptance", "Completed", "InProgress", "Error", "SomethingNew")):
            db.session.add(SentInvitation(invitation_id=f"inv-{number}", email=f"c{number}@example.fr", display_name="C",
                                          redeem_url="http://localhost:8400/redeem", status=status,
                                          created_at=datetime.datetime(2026, 1, 10, 9, number)))
        db.session.commit()
    with web.session_transaction() as session:
        session["admin"] = True
    page = soup(web.get("/admin/invitations"))
    labels = {cell["data-status"]: cell.get_text(strip=True) for cell in page.find_all(attrs={"data-testid": "invitation-status"})}
    assert labels == {"PendingAcceptance": "En attente d'acceptation", "Completed": "Acceptée", "InProgress": "En cours",
                      "Error": "Erreur", "SomethingNew": "SomethingNew"}


def test_https_idp_is_trusted_through_client_ca_bundle_even_with_requests_ca_bundle_set(tmp_path, monkeypatch):
    server = LiveServer(tmp_path / "tls-idp", https=True).start()
    try:
        # A system-wide bundle in the environment must not replace the configured local CA.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
        app = make_app(tmp_path, authority=f"{server.base_url}/{TENANT}/v2.0", CLIENT_CA_BUNDLE=str(server.ca_path))
        response = app.test_client().get("/login")
        assert response.status_code == 302
        assert response.location.startswith(f"{server.base_url}/{TENANT}/oauth2/v2.0/authorize?")
    finally:
        server.stop()


def test_depot_doc_stores_the_uploaded_document_and_refuses_an_empty_post(espace, web, tmp_path):
    import io

    sign_in_as(espace, web)
    page = web.get("/espace/depot-doc")
    assert screen(page) == "client-depot-doc"
    token = soup(page).find("main").find("input", attrs={"name": "csrf_token"})["value"]
    empty = web.post("/espace/depot-doc", data={"csrf_token": token, "note": ""})
    assert empty.status_code == 400
    assert soup(empty).find(attrs={"data-testid": "error-document"}).get_text(strip=True) == "Choisissez un fichier à déposer."
    response = web.post("/espace/depot-doc", content_type="multipart/form-data", data={
        "csrf_token": token, "note": "Relevés d'avril", "document": (io.BytesIO(b"%PDF-1.4 demo"), "releves-avril.pdf")})
    assert response.status_code == 302
    listing = web.get(response.location)
    assert "Votre document a bien été déposé" in text(listing) and "releves-avril.pdf" in text(listing)
    stored = list((tmp_path / "client-data" / "deposits").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == b"%PDF-1.4 demo"
