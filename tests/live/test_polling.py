"""How often the waiting pages ask the server again: IDP_POLL_MS (1.5 s by default; 200 ms for test servers)."""
import subprocess
import sys
import time

import pytest

from idp.testing.server import LiveServer

PHONE = "/_emulator/phone/authenticator.demo@example.fr"


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
    from idp import create_app

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
