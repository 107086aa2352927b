"""MSAL Python's acquire_token_interactive: its loopback listener on a port of its own, the real screens in Chromium."""
import queue
import threading
import webbrowser

import msal
import pytest

from ..conftest import PUBLIC_CLIENT_ID, TENANT
from .test_spa import EMAIL, sign_in_on_the_idp

pytestmark = pytest.mark.browser


def test_acquire_token_interactive_with_a_portless_localhost_redirect_uri(client_libraries_server, monkeypatch,
                                                                         verify_with_the_emulator_ca, chromium):
    idp = client_libraries_server
    # MSAL opens "a web browser" with Python's webbrowser module: here, the URL goes to the Chromium below.
    opened = queue.Queue()
    monkeypatch.setattr(webbrowser, "open", lambda url, *args, **kwargs: opened.put(url) or True)
    app = msal.PublicClientApplication(PUBLIC_CLIENT_ID, authority=f"{idp.base_url}/{TENANT}",
                                       instance_discovery=False, verify=str(idp.ca_path))
    results = {}

    def interactive():
        try:
            # The public client registers http://localhost (no port); MSAL listens on a free port of its choosing.
            results["token"] = app.acquire_token_interactive(["User.Read"], timeout=60)
        except Exception as exc:  # shown by the assertion below
            results["token"] = exc

    thread = threading.Thread(target=interactive, daemon=True)
    thread.start()
    url = opened.get(timeout=30)
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A" in url
    with chromium.new_context(ignore_https_errors=True, locale="fr-FR") as context:
        page = context.new_page()
        page.goto(url)
        seen = sign_in_on_the_idp(page, idp, "http://localhost:")
        assert seen == ["email", "password", "kmsi", "app-consent"]
        page.wait_for_load_state()
        assert "Authentication complete" in page.inner_text("body")  # MSAL's own listener answered
    thread.join(timeout=30)
    result = results.get("token")
    assert isinstance(result, dict) and "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == EMAIL
    assert result["token_source"] == "identity_provider"
    account = app.get_accounts()[0]
    silent = app.acquire_token_silent(["User.Read"], account=account)
    assert silent["token_source"] == "cache" and silent["access_token"] == result["access_token"]
