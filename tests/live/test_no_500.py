"""Every URL of both apps, given garbage (unknown ids, odd methods, junk bodies), answers below 500."""
import pytest

from client_app import create_app as create_client_app

JUNK_VALUES = ["x", "-1", "a" * 300]


def concrete_paths(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for value in JUNK_VALUES:
            values = {arg: value for arg in rule.arguments}
            try:
                path = app.url_map.bind("localhost").build(rule.endpoint, values, append_unknown=False)
            except Exception:
                continue
            yield rule, path


def hit_everything(app, client):
    failures = []
    for rule, path in concrete_paths(app):
        for method in ("GET", "POST", "PUT", "DELETE"):
            for kwargs in ({}, {"data": {"x": "é" * 50, "csrf_token": "junk"}}, {"json": {"email": 5, "x": [1]}},
                           {"data": b"\xff\xfe{", "content_type": "application/json"}):
                response = client.open(path, method=method, **kwargs)
                # The Espace Client's one deliberate 5xx: its French "IdP unreachable" page (503).
                unreachable = response.status_code == 503 and b'data-screen="client-error"' in response.data
                if response.status_code >= 500 and not unreachable:
                    failures.append((method, path, kwargs.keys(), response.status_code))
    return failures


def test_idp_never_answers_500(app, client):
    assert hit_everything(app, client) == []


@pytest.fixture
def client_app(tmp_path):
    return create_client_app({"TESTING": True, "CLIENT_DATA_DIR": str(tmp_path / "client"),
                              "CLIENT_AUTHORITY": "http://127.0.0.1:9/tenant/v2.0"})


def test_client_app_never_answers_500(client_app):
    assert hit_everything(client_app, client_app.test_client()) == []


# --- each 500 found by hand (issue #11), at its root -------------------------------------------

def test_a_unicode_digit_in_an_error_code_or_max_age_is_refused_not_a_500(client, browser):
    from ..helpers import authorize_url, sign_in

    # '²' passes str.isdigit() but int() refuses it.
    assert client.get("/error?code=%C2%B2").status_code == 404
    sign_in(browser)  # a signed-in browser: max_age is compared with its sign-in time
    url, _ = authorize_url(max_age="\u00b2")
    response = client.get(url)
    assert response.status_code < 500
    assert "error=invalid_request" in response.headers.get("Location", "")


def test_an_id_too_long_for_the_database_is_a_404(client):
    assert client.get("/_emulator/mailbox/100000000000000000000").status_code == 404
    assert client.get("/_emulator/mailbox/100000000000000000000/raw").status_code == 404


@pytest.mark.parametrize("path", ["/_emulator/api/users", "/_emulator/api/reset", "/_emulator/api/settings",
                                  "/_emulator/phone/activate/x", "/v1.0/invitations"])
def test_json_nested_too_deep_is_a_bad_request(app, client, path):
    method = "PUT" if path.endswith("settings") else "POST"
    headers = {}
    if path.startswith("/v1.0"):
        headers["Authorization"] = f"Bearer {graph_token(app)}"
    response = client.open(path, method=method, data="[" * 100_000, content_type="application/json", headers=headers)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    if path.startswith("/_emulator/api"):
        assert response.get_json()["error"]["status"] == 400


def graph_token(app):
    """An app-only Graph token of the Espace Client (client credentials), as the admin page's invitations use."""
    from ..conftest import CLIENT_ID, CLIENT_SECRET, TENANT

    response = app.test_client().post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "https://graph.microsoft.com/.default"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def test_a_database_outage_shows_microsofts_error_page_and_json(tmp_path):
    import shutil

    from idp import create_app, seeds
    from idp.extensions import db

    from ..conftest import FAST_HASH, TENANT
    from ..helpers import authorize_url

    database = tmp_path / "db" / "idp.sqlite"
    database.parent.mkdir()
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "data"), "IDP_PASSWORD_HASH": FAST_HASH,
                      "SECRET_KEY": "x", "IDP_DATABASE_URL": f"sqlite:///{database}"})
    with app.app_context():
        seeds.load("default")
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(database.parent)  # the database is gone (a server down, a volume unmounted)
    client = app.test_client()
    page = client.get(authorize_url(prompt="login")[0])
    assert page.status_code == 503
    assert b"AADSTS90033" in page.data and b"Request Id" in page.data
    token = client.post(f"/{TENANT}/oauth2/v2.0/token", data={"grant_type": "client_credentials"})
    assert token.status_code == 503
    assert token.get_json()["error"] == "temporarily_unavailable" and "AADSTS90033" in token.get_json()["error_description"]
    control = client.get("/_emulator/api/users")
    assert control.status_code == 503 and control.get_json()["error"]["status"] == 503


def test_espace_client_long_upload_name_and_huge_id(tmp_path):
    import io

    from .test_client_app import make_app, sign_in_as, soup

    espace = make_app(tmp_path)
    web = espace.test_client()
    sign_in_as(espace, web)
    assert web.get("/etre-recontacte/99999999999999999999").status_code == 404
    page = web.get("/espace/depot-doc")
    token = soup(page).find("main").find("input", attrs={"name": "csrf_token"})["value"]
    name = "r" * 250 + ".pdf"
    response = web.post("/espace/depot-doc", content_type="multipart/form-data", data={
        "csrf_token": token, "note": "", "document": (io.BytesIO(b"%PDF-1.4 demo"), name)})
    assert response.status_code == 302
    stored = list((tmp_path / "client-data" / "deposits").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith(".pdf") and len(stored[0].name) <= 255


def test_a_data_folder_or_database_that_cannot_be_used_stops_serve_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from ..conftest import free_port

    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    database_is_a_folder = tmp_path / "data"
    (database_is_a_folder / "idp.sqlite").mkdir(parents=True)
    for data_dir, extra in ((not_a_folder, {}), ("/proc/no-such-folder", {}),
                            (database_is_a_folder, {"IDP_DATABASE_URL": f"sqlite:///{database_is_a_folder}/idp.sqlite"})):
        env = {**os.environ, "IDP_DATA_DIR": str(data_dir), **extra}
        result = subprocess.run([sys.executable, "-m", "idp.cli", "serve", "--port", str(free_port()), "--no-smtp"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("idp-emulator: cannot use the"), result.stderr


def test_espace_client_refuses_a_host_that_is_no_host_name(tmp_path):
    from .test_client_app import make_app

    web = make_app(tmp_path).test_client()
    for host in ("a" * 300, "[::1", "x" * 64 + ".example"):
        response = web.get("/", headers={"Host": host})
        assert response.status_code == 400, host
    assert web.get("/", headers={"Host": "localhost:8401"}).status_code < 400


def test_a_crlf_in_post_logout_redirect_uri_is_no_500(client, browser):
    from ..conftest import TENANT
    from ..helpers import sign_in

    sign_in(browser)
    response = client.get(f"/{TENANT}/oauth2/v2.0/logout?post_logout_redirect_uri=http://localhost:8401/%0d%0aX:1")
    assert response.status_code < 500
    assert "\n" not in response.headers.get("Location", "")


@pytest.mark.parametrize("body", ["5", "[1]", '"code"', "null"])
def test_a_json_body_that_is_not_an_object_is_no_500(client, body):
    response = client.post("/_emulator/phone/activate/x", data=body, content_type="application/json")
    assert response.status_code == 404
