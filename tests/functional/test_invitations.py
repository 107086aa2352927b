"""POST /v1.0/invitations (Graph-shaped, client credentials with User.Invite.All) and the invitation email."""
import html
from urllib.parse import urlsplit

import pytest
from werkzeug.security import generate_password_hash

from idp.extensions import db
from idp.models import Client, Flow, Invitation, Message, User

from ..conftest import CLIENT_ID, CLIENT_SECRET, FAST_HASH, TENANT, TENANT_ID

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
NO_ROLE_CLIENT_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
NO_ROLE_SECRET = "no-role-secret"
REDIRECT = "http://localhost:8401/"


def app_token(client, client_id=CLIENT_ID, secret=CLIENT_SECRET):
    response = client.post(f"/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": GRAPH_SCOPE})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def invite(client, token, **body):
    payload = {"invitedUserEmailAddress": "invite.test@example.fr", "inviteRedirectUrl": REDIRECT,
               "invitedUserDisplayName": "Camille Durand", "sendInvitationMessage": True}
    payload.update(body)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/v1.0/invitations", json=payload, headers=headers)


@pytest.fixture
def no_role_client(app):
    with app.app_context():
        db.session.add(Client(client_id=NO_ROLE_CLIENT_ID, tenant_id=TENANT_ID, name="Application sans rôle",
                              secret_hash=generate_password_hash(NO_ROLE_SECRET, method=FAST_HASH),
                              redirect_uris=[], roles=[]))
        db.session.commit()
    return NO_ROLE_CLIENT_ID


def test_invitation_without_token_is_refused_with_graph_error(client):
    response = invite(client, None)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert "request-id" in error["innerError"]


def test_invitation_with_a_forged_token_is_refused(client):
    response = invite(client, "eyJhbGciOiJub25lIn0.eyJyb2xlcyI6WyJVc2VyLkludml0ZS5BbGwiXX0.")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "InvalidAuthenticationToken"


def test_invitation_with_a_token_lacking_the_role_is_forbidden(client, no_role_client):
    token = app_token(client, no_role_client, NO_ROLE_SECRET)
    response = invite(client, token)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "Authorization_RequestDenied"


def test_invitation_with_a_bad_body_is_a_graph_bad_request(client):
    token = app_token(client)
    response = invite(client, token, invitedUserEmailAddress="not-an-email")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "BadRequest"
    response = invite(client, token, inviteRedirectUrl="javascript:alert(1)")
    assert response.status_code == 400


def test_invitation_creates_the_invited_user_and_answers_like_graph(app, client):
    response = invite(client, app_token(client))
    assert response.status_code == 201
    body = response.get_json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#invitations/$entity")
    assert body["status"] == "PendingAcceptance"
    assert body["invitedUserEmailAddress"] == "invite.test@example.fr"
    assert body["inviteRedirectUrl"] == REDIRECT
    assert body["invitedUserDisplayName"] == "Camille Durand"
    assert urlsplit(body["inviteRedeemUrl"]).path == "/redeem"
    with app.app_context():
        user = User.by_email("invite.test@example.fr")
        assert user.invited and not user.has_account and user.name == "Camille Durand"
        assert body["invitedUser"]["id"] == user.oid
        invitation = db.session.get(Invitation, body["id"])
        assert invitation.email == user.email and invitation.invited_by == CLIENT_ID


def test_invitation_email_lands_in_the_mailbox_with_the_button_link(app, client):
    body = invite(client, app_token(client)).get_json()
    with app.app_context():
        message = db.session.query(Message).filter_by(to="invite.test@example.fr", channel="email").one()
        assert message.sender.startswith("Espace client Baker Tilly")
        assert message.links == [body["inviteRedeemUrl"]]
        body_html = message.body_html
        for text in ("Madame, Monsieur, Cher client,", "Important : cette action est désormais nécessaire",
                     "application Authenticator", "vos données ne seront pas stockées par Microsoft mais par Baker Tilly",
                     "Je configure mon nouvel accès", "02.41.66.17.49", "support.digital@bakertilly.fr",
                     "Votre équipe Baker Tilly", "www.bakertilly.fr"):
            assert text in body_html, text
            assert text in message.body_text, text
        assert f'href="{body["inviteRedeemUrl"]}"'.replace("&", "&amp;") in body_html


def test_no_email_without_send_invitation_message(app, client):
    invite(client, app_token(client), sendInvitationMessage=False)
    with app.app_context():
        assert db.session.query(Message).filter_by(to="invite.test@example.fr").count() == 0


def test_redeem_link_starts_the_invitation_journey_on_the_email_screen(app, client):
    body = invite(client, app_token(client)).get_json()
    path = body["inviteRedeemUrl"].split("localhost", 1)[1]
    response = client.get(path)
    with app.app_context():
        flow = db.session.query(Flow).filter_by(invitation_id=body["id"]).one()
        assert flow.return_url == REDIRECT and not flow.params and flow.client_id is None
        # Nobody is known yet: the client types the address the invitation was sent to (guide), nothing prefilled.
        assert flow.user_id is None and flow.email is None
        assert db.session.get(Invitation, body["id"]).redeemed_at is None
    assert response.status_code == 302
    with app.test_request_context():
        from flask import url_for

        assert response.headers["Location"].endswith(url_for("login.email", flow_id=flow.id))


def test_unknown_invitation_shows_a_french_page(client):
    response = client.get("/redeem?invitation=nope")
    assert response.status_code == 404
    assert "Cette invitation n'existe pas" in html.unescape(response.get_data(as_text=True))


def test_invite_command_without_a_running_idp_creates_the_invitation_in_the_database(app, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from idp.cli import main

    from ..conftest import free_port

    monkeypatch.setenv("IDP_DATA_DIR", app.config["IDP_DATA_DIR"])
    monkeypatch.setenv("IDP_PASSWORD_HASH", FAST_HASH)
    monkeypatch.setenv("IDP_SMTP_PORT", str(free_port()))  # nothing listens: straight into the mailbox
    idp_url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["invite", "Offline.Client@example.fr", "--name", "Client Hors Ligne",
                                       "--idp-url", idp_url, "--redirect-url", "http://localhost:8401/"])
    assert result.exit_code == 0, result.output
    assert "via the database" in result.output
    assert f"{idp_url}/redeem?" in result.output
    with app.app_context():
        user = User.by_email("offline.client@example.fr")
        assert user.invited and not user.has_account and user.name == "Client Hors Ligne"
        message = db.session.query(Message).filter_by(to="offline.client@example.fr").one()
        assert message.links[0].startswith(f"{idp_url}/redeem?")
