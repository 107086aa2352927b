"""A single-page app with Microsoft's @azure/msal-browser in headless Chromium, against the real server over TLS."""
import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from .. import jslibs
from ..conftest import PASSWORD, TENANT

SPA_CLIENT_ID = "5b8e2d1f-3c4a-4f6b-9a7d-1e2c3b4a5d6e"
SPA_FILES = Path(__file__).parents[1] / "spa"
EMAIL = "client.demo@example.fr"

pytestmark = pytest.mark.browser


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def spa(client_libraries_server, tmp_path_factory):
    """The SPA's static files, msal-browser's bundle and a config.json, served on a loopback port of its own."""
    idp = client_libraries_server
    folder = tmp_path_factory.mktemp("spa")
    for name in ("index.html", "app.js"):
        shutil.copy(SPA_FILES / name, folder / name)
    shutil.copy(jslibs.msal_browser_bundle(jslibs.install()), folder / "msal-browser.min.js")
    (folder / "config.json").write_text(json.dumps({
        "clientId": SPA_CLIENT_ID, "authority": f"{idp.base_url}/{TENANT}", "graph": idp.base_url,
        "scopes": ["User.Read"]}))
    # The SPA is registered on http://127.0.0.1:8403/; any port matches a loopback redirect URI.
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def sign_in_on_the_idp(page, idp, back_to):
    """Answer the IdP's screens (email, password, stay signed in, consent) until the browser is back at the SPA."""
    page.wait_for_url(f"{idp.base_url}/**")
    seen = []
    for _ in range(8):
        page.wait_for_function("(back) => location.href.startsWith(back) || document.body && document.body.dataset.screen",
                               arg=back_to)
        if page.url.startswith(back_to):
            return seen
        screen = page.get_attribute("body", "data-screen")
        seen.append(screen)
        if screen == "email":
            page.fill("#i0116", EMAIL)
            button = "#idSIButton9"
        elif screen == "password":
            page.fill("#i0118", PASSWORD)
            button = "#idSIButton9"
        elif screen == "kmsi":
            button = "#idSIButton9"
        elif screen == "app-consent":
            button = "#idBtn_Accept"
        else:
            raise AssertionError(f"unexpected screen {screen}: {page.inner_text('body')[:500]}")
        with page.expect_navigation():
            page.click(button)
    raise AssertionError(f"still on the IdP after {seen}")


def ready(page):
    page.wait_for_selector("body[data-state=ready], body[data-state=error]")
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#error")


def test_msal_browser_login_silent_graph_and_logout(client_libraries_server, spa, chromium):
    idp = client_libraries_server
    context = chromium.new_context(ignore_https_errors=True, locale="fr-FR")  # the IdP's certificate is from its local CA
    try:
        page = context.new_page()
        token_calls = []
        page.on("response", lambda r: token_calls.append(r) if "/oauth2/v2.0/token" in r.url
                and r.request.method == "POST" else None)
        page.goto(spa)
        ready(page)
        page.evaluate("() => { spa.login(); }")  # navigates away: not awaited
        seen = sign_in_on_the_idp(page, idp, spa)
        assert seen == ["email", "password", "kmsi", "app-consent"]
        ready(page)
        signed_in = page.evaluate("spa.redirectResult")
        assert signed_in["username"] == EMAIL and "User.Read" in signed_in["scopes"]
        # The code was redeemed by the page's script, cross-origin: the IdP allowed this origin only.
        assert len(token_calls) == 1 and token_calls[0].status == 200
        origin = spa.rstrip("/")
        assert token_calls[0].request.all_headers()["origin"] == origin
        assert token_calls[0].all_headers()["access-control-allow-origin"] == origin

        cached = page.evaluate("spa.silent(false)")
        assert cached["fromCache"] is True and cached["accessToken"] == signed_in["accessToken"]
        refreshed = page.evaluate("spa.silent(true)")  # the SPA's refresh token, redeemed from the browser
        assert refreshed["fromCache"] is False and refreshed["accessToken"] != signed_in["accessToken"]
        assert len(token_calls) == 2 and token_calls[1].status == 200

        me = page.evaluate("(token) => spa.me(token)", refreshed["accessToken"])
        assert me["status"] == 200, me
        assert me["body"]["mail"] == EMAIL and me["body"]["userPrincipalName"] == EMAIL

        with page.expect_request(f"{idp.base_url}/{TENANT}/oauth2/v2.0/logout?*") as logout:
            page.evaluate("() => { spa.logout(); }")
        assert f"post_logout_redirect_uri={quote(spa, safe='')}" in logout.value.url
        page.wait_for_url(f"{spa}?state=*")  # the IdP sent the browser back to the SPA
        ready(page)
        assert page.evaluate("spa.accounts()") == []
        # Signed out at the IdP too: a new sign-in asks again who is signing in.
        page.evaluate("() => { spa.login(); }")
        page.wait_for_function("document.body && document.body.dataset.screen")
        assert page.get_attribute("body", "data-screen") in ("email", "account-picker")
    finally:
        context.close()
