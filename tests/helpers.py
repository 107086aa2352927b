"""Small actions shared by tests: start an authorization request, sign in, redeem the code."""
import base64
import contextlib
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

from .conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, REDIRECT_URI, TENANT


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(tenant=TENANT, **params):
    verifier, challenge = pkce()
    query = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "scope": "openid profile email offline_access User.Read", "state": "state-123", "nonce": "nonce-456",
             "code_challenge": challenge, "code_challenge_method": "S256"}
    query.update(params)
    query = {k: v for k, v in query.items() if v is not None}
    from urllib.parse import urlencode

    return f"/{tenant}/oauth2/v2.0/authorize?{urlencode(query)}", verifier


def current_totp(app, email):
    """The code the user's authenticator app shows now, at the emulator's clock (idp.devices.otp.current_totp)."""
    from idp.devices import otp
    from idp.models import User

    with app.app_context():
        return otp.current_totp(User.by_email(email))["code"]


def callback_params(browser):
    """Return the query parameters the IdP sent to the client's redirect URI."""
    return {k: v[0] for k, v in parse_qs(urlsplit(browser.last_redirect).query).items()}


def sign_in_until_mfa(browser, email, password=PASSWORD, **params):
    """Start an authorization request and type email and password; return (page, PKCE verifier)."""
    url, verifier = authorize_url(**params)
    page = browser.get(url)
    if page.screen == "email":
        page = browser.submit(page, {"loginfmt": email}, button="idSIButton9")
    if page.screen == "password":
        page = browser.submit(page, {"passwd": password}, button="idSIButton9")
    return page, verifier


def sign_in(browser, email="client.demo@example.fr", password=PASSWORD, kmsi=True, **params):
    """Walk the returning sign-in screens to the redirect; return (params at the callback, verifier)."""
    page, verifier = sign_in_until_mfa(browser, email, password, **params)
    if page.screen == "kmsi":
        page = browser.submit(page, button="idSIButton9" if kmsi else "idBtn_Back")
    if page.screen == "app-consent":
        page = browser.submit(page, button="idBtn_Accept")
    return callback_params(browser), verifier, page


def redeem(client, code, verifier, tenant=TENANT, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code_verifier": verifier}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/{tenant}/oauth2/v2.0/token", data=data)


@contextlib.contextmanager
def written_by_the_flush(*events):
    """The rows the ORM's unit of work writes while the block runs (mapper events, e.g. "before_insert"): a list."""
    from sqlalchemy import event
    from sqlalchemy.orm import Mapper

    rows = []

    def written(mapper, connection, target):
        rows.append(target)

    for name in events:
        event.listen(Mapper, name, written)
    try:
        yield rows
    finally:
        for name in events:
            event.remove(Mapper, name, written)
