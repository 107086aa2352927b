"""The control API (interfaces.md "Control API"): every call, its errors, and its OpenAPI document."""
import re

import pyotp
import pytest
from openapi_spec_validator import validate

from idp import clock, create_app, seeds
from idp.extensions import db
from idp.models import Flow, Message, PushRequest, User

from ..conftest import FAST_HASH, PASSWORD
from ..helpers import sign_in

API = "/_emulator/api"


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    return error["message"]


# --- reset and scenarios -----------------------------------------------------------------------

def test_scenarios_lists_the_seed_folders(client):
    names = client.get(f"{API}/scenarios").get_json()["scenarios"]
    assert {"default", "new-client-invited", "sms-registered", "authenticator-registered", "locked-account",
            "captcha-loop"} <= set(names)


def test_reset_loads_a_scenario_and_forgets_everything_else(app, client):
    client.post(f"{API}/users", json={"email": "extra@example.fr", "password": PASSWORD})
    client.put(f"{API}/clock", json={"offset_seconds": 600})
    client.put(f"{API}/faults", json={"sms": "fail"})
    response = client.post(f"{API}/reset", json={"scenario": "sms-registered"})
    assert response.status_code == 200
    assert response.get_json()["users"] == ["sms.demo@example.fr"]
    assert [u["email"] for u in client.get(f"{API}/users").get_json()["users"]] == ["sms.demo@example.fr"]
    settings = client.get(f"{API}/settings").get_json()
    assert settings["clock_offset_seconds"] == 0 and settings["faults"] == {"sms": None, "email": None, "push": None}


def test_reset_without_body_loads_default(client):
    response = client.post(f"{API}/reset")
    assert response.status_code == 200 and response.get_json()["scenario"] == "default"


def test_captcha_loop_scenario_applies_its_settings(client):
    client.post(f"{API}/reset", json={"scenario": "captcha-loop"})
    assert client.get(f"{API}/settings").get_json()["captcha"] == "loop"


def test_locked_account_scenario_has_a_locked_user(client):
    client.post(f"{API}/reset", json={"scenario": "locked-account"})
    user = client.get(f"{API}/users/verrouille.demo@example.fr").get_json()
    assert user["locked"] is True and user["locked_until"]


@pytest.mark.parametrize("body, status", [
    ({"scenario": "no-such-scenario"}, 404),
    ({"scenario": "../default"}, 400),
    ({"scenario": 3}, 400),
])
def test_reset_refuses_unknown_or_unsafe_scenarios(client, body, status):
    message = error_of(client.post(f"{API}/reset", json=body), status)
    assert "scenario" in message.lower()
    assert client.get(f"{API}/users/client.demo@example.fr").status_code == 200  # nothing wiped


def test_reset_refuses_a_body_that_is_not_an_object(client):
    error_of(client.post(f"{API}/reset", data="[1]", content_type="application/json"), 400)


# --- users -------------------------------------------------------------------------------------

def test_users_lists_seeded_users_with_their_state(client):
    users = {u["email"]: u for u in client.get(f"{API}/users").get_json()["users"]}
    assert users["client.demo@example.fr"]["state"] == "registered"
    assert users["sms.demo@example.fr"]["state"] == "mfa_sms"
    assert users["nouveau.client@example.fr"]["state"] == "invited"
    assert users["verrouille.demo@example.fr"]["locked"] is True
    assert users["client.demo@example.fr"]["mailbox_url"].endswith("/_emulator/mailbox?to=client.demo%40example.fr")
    assert "password" not in str(users) and "totp_secret" not in str(users)


@pytest.mark.parametrize("state, extra, method", [
    ("invited", {}, None),
    ("registered", {"password": PASSWORD}, None),
    ("mfa_sms", {"password": PASSWORD, "phone": "+33700000001"}, "sms"),
    ("mfa_authenticator", {"password": PASSWORD}, "authenticator"),
    ("mfa_totp", {"password": PASSWORD}, "totp"),
])
def test_create_user_in_each_state(app, client, state, extra, method):
    response = client.post(f"{API}/users", json={"email": f"New.{state}@Example.fr", "state": state, **extra})
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert user["email"] == f"new.{state}@example.fr".lower()
    assert user["state"] == state and user["mfa_method"] == method
    assert response.headers["Location"].endswith(f"{API}/users/{user['email']}")
    assert client.get(f"{API}/users/{user['email']}").get_json() == user
    with app.app_context():
        row = User.by_email(user["email"])
        assert row.has_account is (state != "invited")
        if state != "invited":
            assert row.check_password(PASSWORD)


def test_create_locked_user(client):
    user = client.post(f"{API}/users", json={"email": "locked@example.fr", "password": PASSWORD, "locked": True,
                                             "locked_seconds": 120}).get_json()
    assert user["locked"] is True


@pytest.mark.parametrize("body, words", [
    ({}, "email"),
    ({"email": "not-an-email", "password": "x"}, "email"),
    ({"email": "a@example.fr", "state": "admin", "password": "x"}, "state"),
    ({"email": "a@example.fr", "state": "registered"}, "password"),
    ({"email": "a@example.fr", "state": "mfa_sms", "password": "x"}, "phone"),
    ({"email": "a@example.fr", "state": "mfa_sms", "password": "x", "phone": "0612345678"}, "phone"),
    ({"email": "a@example.fr", "password": "x", "locked": "yes"}, "locked"),
    ({"email": "a@example.fr", "password": "x", "totp_secret": "not base32!"}, "totp_secret"),
    ({"email": "a@example.fr", "password": "x", "consents": ["no-such-client"]}, "consents"),
    ({"email": "a@example.fr", "password": "x", "tenant": "nowhere.example"}, "tenant"),
    ({"email": "a@example.fr", "password": "x", "colour": "blue"}, "colour"),
])
def test_create_user_refuses_bad_bodies_with_a_clear_message(client, body, words):
    assert words in error_of(client.post(f"{API}/users", json=body), 400)


def test_create_user_refuses_non_json(client):
    assert "JSON" in error_of(client.post(f"{API}/users", data="email=a@b.fr"), 400)


def test_create_user_twice_is_a_conflict(client):
    assert "already exists" in error_of(client.post(f"{API}/users", json={"email": "client.demo@example.fr",
                                                                           "password": "x"}), 409)


def test_create_user_without_a_tenant_is_a_conflict(app, client):
    with app.app_context():
        seeds.wipe()
    assert "scenario" in error_of(client.post(f"{API}/users", json={"email": "a@example.fr", "password": "x"}), 409)


def test_unknown_user_is_404(client):
    error_of(client.get(f"{API}/users/nobody@example.fr"), 404)
    error_of(client.delete(f"{API}/users/nobody@example.fr"), 404)
    error_of(client.get(f"{API}/users/nobody@example.fr/totp"), 404)
    error_of(client.get(f"{API}/users/nobody@example.fr/push"), 404)


def test_delete_user_after_a_sign_in(app, client, browser):
    sign_in(browser)
    assert client.delete(f"{API}/users/client.demo@example.fr").status_code == 204
    error_of(client.get(f"{API}/users/client.demo@example.fr"), 404)
    journeys = client.get(f"{API}/journeys").get_json()["journeys"]
    assert journeys and client.get(f"{API}/journeys/{journeys[0]['id']}").status_code == 200


# --- invitations -------------------------------------------------------------------------------

def test_invitation_returns_the_redeem_url_and_sends_the_email(app, client):
    response = client.post(f"{API}/invitations", json={"email": "Invitee@Example.fr", "name": "Invité"})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert data["inviteRedeemUrl"].startswith("http://localhost/redeem?")
    assert data["user"]["state"] == "invited"
    mail = client.get(f"{API}/messages", query_string={"to": "invitee@example.fr"}).get_json()["messages"]
    assert len(mail) == 1 and data["inviteRedeemUrl"] in mail[0]["links"]


def test_invitation_without_sending(client):
    data = client.post(f"{API}/invitations", json={"email": "quiet@example.fr", "send": False}).get_json()
    assert data["sent"] is None
    assert client.get(f"{API}/messages", query_string={"to": "quiet@example.fr"}).get_json()["messages"] == []


def test_invitation_errors(client):
    error_of(client.post(f"{API}/invitations", json={}), 400)
    error_of(client.post(f"{API}/invitations", json={"email": "x@example.fr", "redirect_url": "/relative"}), 400)
    assert "account" in error_of(client.post(f"{API}/invitations", json={"email": "client.demo@example.fr"}), 409)


# --- messages ----------------------------------------------------------------------------------

def add_message(app, **values):
    with app.app_context():
        now = clock.now()
        db.session.add(Message(created_at=now, deliver_at=now, **values))
        db.session.commit()


def test_messages_newest_first_with_code_and_links(app, client):
    add_message(app, channel="email", to="client.demo@example.fr", subject="first", code="1234",
                links=["http://localhost/a"])
    add_message(app, channel="email", to="client.demo@example.fr", subject="second", code=None, links=[])
    add_message(app, channel="sms", to="+33612345678", body_text="Code 654321", code="654321")
    mail = client.get(f"{API}/messages", query_string={"to": "client.demo@example.fr"}).get_json()["messages"]
    assert [m["subject"] for m in mail] == ["second", "first"]
    assert mail[1]["code"] == "1234" and mail[1]["links"] == ["http://localhost/a"]
    sms = client.get(f"{API}/messages", query_string={"to": "sms.demo@example.fr", "channel": "sms"}).get_json()
    assert [m["code"] for m in sms["messages"]] == ["654321"]
    # Everything, newest first: the three above, then the invitation the seeds sent to their invited user.
    everything = client.get(f"{API}/messages").get_json()["messages"]
    assert [m["to"] for m in everything] == ["+33612345678", "client.demo@example.fr", "client.demo@example.fr",
                                             "nouveau.client@example.fr"]


def test_messages_hide_what_is_not_delivered_yet(app, client):
    with app.app_context():
        now = clock.now()
        db.session.add(Message(channel="sms", to="+33612345678", code="111111", created_at=now,
                               deliver_at=now + clock.timedelta(seconds=90)))
        db.session.commit()
    assert client.get(f"{API}/messages", query_string={"channel": "sms"}).get_json()["messages"] == []
    client.put(f"{API}/clock", json={"offset_seconds": 120})
    assert len(client.get(f"{API}/messages", query_string={"channel": "sms"}).get_json()["messages"]) == 1


def test_messages_refuse_an_unknown_channel(client):
    assert "channel" in error_of(client.get(f"{API}/messages", query_string={"channel": "fax"}), 400)
    error_of(client.get(f"{API}/messages", query_string={"limit": "many"}), 400)


# --- TOTP and push -----------------------------------------------------------------------------

def test_totp_is_the_code_of_the_users_secret_at_the_emulator_clock(app, client):
    client.put(f"{API}/clock", json={"offset_seconds": 3600})
    data = client.get(f"{API}/users/totp.demo@example.fr/totp").get_json()
    with app.app_context():
        secret = User.by_email("totp.demo@example.fr").totp_secret
        moment = clock.timestamp()
    assert data["code"] == pyotp.TOTP(secret).at(moment)
    assert 1 <= data["expires_in"] <= 30


def test_totp_for_a_user_without_an_app_is_a_conflict(client):
    assert "authenticator" in error_of(client.get(f"{API}/users/client.demo@example.fr/totp"), 409)


def add_push(app, email="authenticator.demo@example.fr", number=42, seconds=120):
    with app.app_context():
        user = User.by_email(email)
        now = clock.now()
        db.session.add(PushRequest(user_id=user.id, number=number, created_at=now,
                                   expires_at=now + clock.timedelta(seconds=seconds)))
        db.session.commit()


def test_push_shows_the_number_and_approve_with_it(app, client):
    add_push(app)
    pending = client.get(f"{API}/users/authenticator.demo@example.fr/push").get_json()
    assert pending["number"] == 42 and pending["status"] == "pending" and pending["delivered"] is True
    answered = client.post(f"{API}/users/authenticator.demo@example.fr/push/approve", json={"number": 42})
    assert answered.get_json()["status"] == "approved"
    error_of(client.get(f"{API}/users/authenticator.demo@example.fr/push"), 404)


def test_approve_without_a_number_uses_the_right_one(app, client):
    add_push(app, number=17)
    assert client.post(f"{API}/users/authenticator.demo@example.fr/push/approve").get_json()["status"] == "approved"


def test_approve_with_a_wrong_number_fails_the_push(app, client):
    add_push(app)
    response = client.post(f"{API}/users/authenticator.demo@example.fr/push/approve", json={"number": 41})
    assert response.get_json()["status"] == "wrong_number"


def test_deny_push(app, client):
    add_push(app)
    assert client.post(f"{API}/users/authenticator.demo@example.fr/push/deny").get_json()["status"] == "denied"


def test_push_errors(app, client):
    error_of(client.post(f"{API}/users/authenticator.demo@example.fr/push/approve"), 404)
    add_push(app)
    assert "number" in error_of(client.post(f"{API}/users/authenticator.demo@example.fr/push/approve",
                                            json={"number": "42"}), 400)
    client.put(f"{API}/faults", json={"push": "timeout"})
    assert "timeout" in error_of(client.post(f"{API}/users/authenticator.demo@example.fr/push/approve"), 409)


def test_an_expired_push_is_not_pending(app, client):
    add_push(app, seconds=60)
    client.put(f"{API}/clock", json={"offset_seconds": 61})
    error_of(client.get(f"{API}/users/authenticator.demo@example.fr/push"), 404)


# --- captcha -----------------------------------------------------------------------------------

def test_captcha_answer_of_the_flow_at_the_captcha_screen(app, client):
    with app.app_context():
        user = User.by_email("nouveau.client@example.fr")
        flow = Flow(browser_id="b", tenant_id=user.tenant_id, user_id=user.id, email=user.email,
                    params={"client_id": "x"},
                    state={"signup": {"password_hash": "h", "birth_date": "2000-01-01", "email_verified": True,
                                      "captcha_intro_seen": True},
                           "captcha": {"round": 1, "rounds": 1, "answer": "3"}})
        db.session.add(flow)
        db.session.commit()
        flow_id = flow.id
    data = client.get(f"{API}/captcha", query_string={"email": "nouveau.client@example.fr"}).get_json()
    assert data == {"journey": flow_id, "mode": "puzzle", "answer": "3"}


def test_captcha_errors(client):
    error_of(client.get(f"{API}/captcha"), 400)
    error_of(client.get(f"{API}/captcha", query_string={"email": "client.demo@example.fr"}), 404)


# --- settings, clock, faults -------------------------------------------------------------------

def test_settings_change_and_clear(client):
    data = client.put(f"{API}/settings", json={"captcha": "auto", "mfa": "never"}).get_json()
    assert data["captcha"] == "auto" and data["mfa"] == "never"
    data = client.put(f"{API}/settings", json={"mfa": None}).get_json()
    assert data["captcha"] == "auto" and data["mfa"] is None


@pytest.mark.parametrize("body", [{"captcha": "easy"}, {"mfa": "sometimes"}, {"colour": "blue"}])
def test_settings_refuse_unknown_values(client, body):
    assert re.search(r"captcha|mfa|colour", error_of(client.put(f"{API}/settings", json=body), 400))


def test_mfa_setting_never_skips_mfa_at_sign_in(client, browser):
    client.put(f"{API}/settings", json={"mfa": "never"})
    params, _, page = sign_in(browser, email="totp.demo@example.fr")
    assert "code" in params, page.screen


def test_clock_moves_and_reads_back(client):
    data = client.put(f"{API}/clock", json={"offset_seconds": 900}).get_json()
    assert data["offset_seconds"] == 900
    assert client.get(f"{API}/clock").get_json()["offset_seconds"] == 900


@pytest.mark.parametrize("body", [{}, {"offset_seconds": "900"}, {"offset_seconds": 1.5},
                                  {"offset_seconds": True}, {"offset_seconds": 10**12}])
def test_clock_refuses_bad_offsets(client, body):
    assert "offset_seconds" in error_of(client.put(f"{API}/clock", json=body), 400)


def test_faults_merge_and_clear(client):
    assert client.put(f"{API}/faults", json={"sms": "delay"}).get_json() == {"sms": "delay", "email": None,
                                                                             "push": None}
    assert client.put(f"{API}/faults", json={"email": "fail"}).get_json()["sms"] == "delay"
    assert client.put(f"{API}/faults", json={"sms": None, "email": None}).get_json() == {
        "sms": None, "email": None, "push": None}
    assert client.get(f"{API}/faults").get_json()["sms"] is None


@pytest.mark.parametrize("body", [{"sms": "explode"}, {"email": "delay"}, {"fax": "fail"}])
def test_faults_refuse_unknown_values(client, body):
    error_of(client.put(f"{API}/faults", json=body), 400)


# --- journeys ----------------------------------------------------------------------------------

def test_journeys_list_and_detail(client, browser):
    sign_in(browser)
    journeys = client.get(f"{API}/journeys").get_json()["journeys"]
    assert journeys[0]["email"] == "client.demo@example.fr" and journeys[0]["status"] == "complete"
    detail = client.get(f"{API}/journeys/{journeys[0]['id']}").get_json()
    assert detail["id"] == journeys[0]["id"] and detail["events"]
    assert client.get(f"{API}/journeys", query_string={"email": "nobody@example.fr"}).get_json()["journeys"] == []


def test_unknown_journey_is_404(client):
    error_of(client.get(f"{API}/journeys/nope"), 404)
    error_of(client.get(f"{API}/journeys", query_string={"limit": "x"}), 400)


def test_unknown_api_path_and_method_answer_json(client):
    error_of(client.get(f"{API}/nothing-here"), 404)
    error_of(client.patch(f"{API}/users"), 405)


def test_control_api_needs_no_csrf_token(app):
    app.config["WTF_CSRF_ENABLED"] = True
    assert app.test_client().put(f"{API}/clock", json={"offset_seconds": 1}).status_code == 200


# --- the OpenAPI document ----------------------------------------------------------------------

def openapi_path(rule):
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)[len(API):]


def test_openapi_document_is_valid_openapi_3(client):
    document = client.get(f"{API}/openapi.json").get_json()
    validate(document)
    assert document["servers"][0]["url"] == f"http://localhost{API}"


def test_openapi_documents_every_route_and_only_routes(app, client):
    document = client.get(f"{API}/openapi.json").get_json()
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            routes.setdefault(openapi_path(rule.rule), set()).update(
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    documented = {path: {m for m in item if m != "parameters"} for path, item in document["paths"].items()}
    assert documented == routes


def test_openapi_error_shape_matches_answers(client):
    document = client.get(f"{API}/openapi.json").get_json()
    schema = document["components"]["schemas"]["Error"]
    body = client.get(f"{API}/users/nobody@example.fr").get_json()
    assert set(body) == set(schema["required"]) and set(body["error"]) == set(schema["properties"]["error"]["required"])


# --- loopback and the control key --------------------------------------------------------------

@pytest.fixture
def exposed(tmp_path):
    def make(key):
        app = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "exposed"), "IDP_PASSWORD_HASH": FAST_HASH,
                          "SECRET_KEY": "test", "IDP_LISTEN_HOST": "0.0.0.0", "IDP_CONTROL_KEY": key})
        with app.app_context():
            seeds.load("default")
        return app.test_client()
    return make


def test_beyond_loopback_the_control_api_needs_the_key(exposed):
    client = exposed("s3cret-control-key")
    response = client.get(f"{API}/users")
    assert "Bearer" in error_of(response, 401) and response.headers["WWW-Authenticate"].startswith("Bearer")
    error_of(client.get(f"{API}/users", headers={"Authorization": "Bearer wrong"}), 403)
    error_of(client.get(f"{API}/users", headers={"Authorization": "Basic czNjcmV0"}), 401)
    error_of(client.post(f"{API}/reset", json={}), 401)
    error_of(client.get(f"{API}/openapi.json"), 401)
    ok = client.get(f"{API}/users", headers={"Authorization": "Bearer s3cret-control-key"})
    assert ok.status_code == 200


def test_beyond_loopback_without_a_key_the_control_api_is_off(exposed):
    client = exposed(None)
    assert "IDP_CONTROL_KEY" in error_of(client.get(f"{API}/users"), 503)
    error_of(client.get(f"{API}/users", headers={"Authorization": "Bearer anything"}), 503)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost"])
def test_on_loopback_no_key_is_needed(tmp_path, host):
    app = create_app({"TESTING": True, "IDP_DATA_DIR": str(tmp_path / "d"), "SECRET_KEY": "t",
                      "IDP_LISTEN_HOST": host, "IDP_CONTROL_KEY": None})
    assert app.test_client().get(f"{API}/users").status_code == 200


# --- the device helpers of the command line (same calls, in-process) ----------------------------

def test_cli_totp_approve_mail_and_sms(tmp_path):
    from click.testing import CliRunner

    from idp.cli import main

    env = {"IDP_DATA_DIR": str(tmp_path / "cli"), "IDP_PASSWORD_HASH": FAST_HASH, "IDP_SECRET_KEY": "t"}
    runner = CliRunner()
    assert runner.invoke(main, ["reset"], env=env).exit_code == 0
    result = runner.invoke(main, ["totp", "totp.demo@example.fr"], env=env)
    assert result.exit_code == 0 and re.match(r"^\d{6}  \(valid \d+ s more\)", result.output)
    missing = runner.invoke(main, ["totp", "nobody@example.fr"], env=env)
    assert missing.exit_code == 1 and "No user" in missing.output
    nothing = runner.invoke(main, ["approve", "authenticator.demo@example.fr"], env=env)
    assert nothing.exit_code == 1 and "No pending" in nothing.output
    # After a reset the mailbox holds one mail: the invitation of the seeds' invited user, with its link.
    mail = runner.invoke(main, ["mail"], env=env).output.splitlines()
    assert [line.split("  ")[1] for line in mail if not line.startswith(" ")] == ["nouveau.client@example.fr"]
    assert mail[1].startswith("    http://localhost:8400/redeem?tenant=")
    assert runner.invoke(main, ["mail", "--to", "client.demo@example.fr"], env=env).output.strip() == "No message."
    assert runner.invoke(main, ["sms", "--to", "sms.demo@example.fr"], env=env).exit_code == 0
