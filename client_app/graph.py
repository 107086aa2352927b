"""Invite a client through the IdP's Microsoft Graph invitations API (client credentials, User.Invite.All)."""
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from flask import current_app

from . import OAUTH
from .extensions import PinnedCASession

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class InvitationFailed(Exception):
    """The invitation could not be sent; the message is for the admin page (French)."""


def _verify():
    return current_app.config["CLIENT_CA_BUNDLE"] or True


def graph_url(metadata):
    """Return Microsoft Graph's v1.0 base URL: configured, or the discovery document's msgraph_host."""
    configured = current_app.config.get("CLIENT_GRAPH_URL")
    if configured:
        return configured
    host = metadata.get("msgraph_host") or "graph.microsoft.com"
    if host == "graph.microsoft.com":
        return "https://graph.microsoft.com/v1.0"
    scheme = urlsplit(current_app.config["CLIENT_AUTHORITY"]).scheme or "https"
    return f"{scheme}://{host}/v1.0"


def invite(email, display_name=""):
    """POST /v1.0/invitations; return the Graph invitation (dict) or raise InvitationFailed."""
    client = current_app.extensions[OAUTH].idp
    try:
        metadata = client.load_server_metadata()
        with PinnedCASession(current_app.config["CLIENT_ID"], current_app.config["CLIENT_SECRET"], scope=GRAPH_SCOPE) as session:
            session.verify = _verify()
            token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials", timeout=15)
            response = session.post(f"{graph_url(metadata)}/invitations", timeout=15, json={
                "invitedUserEmailAddress": email,
                "invitedUserDisplayName": display_name or None,
                "inviteRedirectUrl": current_app.config["CLIENT_BASE_URL"] + "/",
                "sendInvitationMessage": True,
            }, headers={"Authorization": f"Bearer {token['access_token']}"})
    except requests.RequestException as exc:
        current_app.logger.warning("invitation: IdP unreachable: %s", exc)
        raise InvitationFailed("Le service d'identité est injoignable. Vérifiez qu'il est démarré.") from None
    except (AuthlibBaseError, KeyError, ValueError) as exc:  # the token request was refused
        current_app.logger.warning("invitation: token refused: %s", exc)
        raise InvitationFailed(f"Le service d'identité a refusé l'accès de l'application ({exc}).") from None
    if response.status_code != 201:
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        raise InvitationFailed(f"L'invitation a été refusée (HTTP {response.status_code}, "
                               f"{error.get('code', 'erreur')} : {error.get('message', '')}).")
    return response.json()
