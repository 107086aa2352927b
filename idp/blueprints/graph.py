"""The small Microsoft Graph surface for invitations: POST /v1.0/invitations and the redeem link."""
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select, update

from .. import invitations
from ..extensions import csrf, db
from ..journey.recorder import record
from ..models import Flow, Invitation, RefreshToken, SessionAccount, Tenant, User
from ..oidc.bearer import graph_error, graph_token, require_graph_token
from ..oidc.urls import base_url
from ..seeds import EMAIL
from ..journey.browser import current_browser
from ..journey.flow import go_next

bp = Blueprint("graph", __name__)

INVITE_ROLE = "User.Invite.All"
# Graph permissions that may revoke another user's sessions (application roles or delegated scopes).
REVOKE_PERMISSIONS = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")


def app_claims():
    """Return (claims, None) for a valid app-only Graph token, or (None, error response)."""
    claims, error = graph_token()
    if error is not None:
        return None, error
    if INVITE_ROLE not in (claims.get("roles") or []):
        return None, graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    return claims, None


@bp.route("/v1.0/invitations", methods=["POST"])
@csrf.exempt
def create_invitation():
    claims, error = app_claims()
    if error is not None:
        return error
    tenant = db.session.get(Tenant, claims.get("tid"))
    if tenant is None:
        return graph_error(401, "InvalidAuthenticationToken", "The token's tenant is unknown.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_error(400, "BadRequest", "Unable to read JSON request payload.")
    email = body.get("invitedUserEmailAddress")
    redirect_url = body.get("inviteRedirectUrl")
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        return graph_error(400, "BadRequest", "The invitedUserEmailAddress property is missing or not a valid email address.")
    if not isinstance(redirect_url, str) or urlsplit(redirect_url).scheme not in ("http", "https"):
        return graph_error(400, "BadRequest", "The inviteRedirectUrl property is missing or not an absolute http(s) URL.")
    display_name = body.get("invitedUserDisplayName") or ""
    send = body.get("sendInvitationMessage", False) is True
    user, invitation = invitations.invite(tenant, email, redirect_url, display_name=str(display_name),
                                          invited_by=claims.get("azp"))
    url = invitations.redeem_url(base_url(), invitation)
    document = invitation_document(invitation, user, url, body, send)
    if send:
        invitations.send_invitation(tenant, invitation, url)
    response = jsonify(document)
    response.status_code = 201
    return response


def invitation_document(invitation, user, url, body, send):
    """Return the Graph invitation resource, as POST /invitations answers it."""
    info = body.get("invitedUserMessageInfo") if isinstance(body.get("invitedUserMessageInfo"), dict) else {}
    return {
        "@odata.context": f"{base_url()}/v1.0/$metadata#invitations/$entity",
        "id": invitation.id,
        "inviteRedeemUrl": url,
        "invitedUserDisplayName": invitation.display_name,
        "invitedUserType": body.get("invitedUserType") or "Guest",
        "invitedUserEmailAddress": invitation.email,
        "sendInvitationMessage": send,
        "resetRedemption": bool(body.get("resetRedemption", False)),
        "inviteRedirectUrl": invitation.redirect_url,
        "invitedUserMessageInfo": {
            "messageLanguage": info.get("messageLanguage"),
            "ccRecipients": info.get("ccRecipients") or [],
            "customizedMessageBody": info.get("customizedMessageBody"),
        },
        "status": "PendingAcceptance" if not user.has_account else "Completed",
        "invitedUser": {"id": user.oid},
    }


@bp.route("/v1.0/me/revokeSignInSessions", methods=["POST"])
@csrf.exempt
@require_graph_token
def revoke_my_sign_in_sessions(token):
    if token.is_app:
        return graph_error(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    return revoke_sign_in_sessions(token, token.get("oid"))


@bp.route("/v1.0/users/<user_id>/revokeSignInSessions", methods=["POST"])
@csrf.exempt
@require_graph_token
def revoke_user_sign_in_sessions(token, user_id):
    granted = set(token.get("roles") or []) if token.is_app else set((token.get("scp") or "").split())
    oneself = not token.is_app and user_id in (token.get("oid"), token.get("preferred_username"))
    if not granted & set(REVOKE_PERMISSIONS) and not oneself:
        return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    return revoke_sign_in_sessions(token, user_id)


def revoke_sign_in_sessions(token, user_id):
    """Graph's revokeSignInSessions: every refresh token of the user is revoked, every browser signs them out."""
    user = db.session.scalar(select(User).where((User.oid == user_id) | (User.email == (user_id or "").lower())))
    if user is None or user.tenant_id != token.get("tid"):
        return graph_error(404, "Request_ResourceNotFound", f"Resource '{user_id}' does not exist or one of its "
                                                            "queried reference-property objects are not present.")
    RefreshToken.revoke_all(user.id)
    db.session.execute(update(SessionAccount).where(SessionAccount.user_id == user.id).values(signed_in=False))
    return jsonify({"@odata.context": f"{base_url()}/v1.0/$metadata#Edm.Boolean", "value": True})


@bp.route("/redeem")
def redeem():
    """The invitation link: start the invitation journey, then go where it says.

    The journey starts on the `email` screen, as in the guide: the client types the address on which they
    received the email (login.email lets only that address go on, see invitations.redeemed_by).
    """
    invitation = db.session.get(Invitation, request.args.get("invitation") or "")
    if invitation is None or (request.args.get("tenant") and request.args["tenant"] != invitation.tenant_id):
        return render_template("error.html", status=404,
                               message=_("Cette invitation n'existe pas ou n'est plus valable. "
                                         "Demandez une nouvelle invitation à votre cabinet.")), 404
    user = db.session.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        return render_template("error.html", status=404,
                               message=_("Le compte invité n'existe plus. Demandez une nouvelle invitation à votre cabinet.")), 404
    browser = current_browser(create=True)
    flow = Flow(browser_id=browser.id, tenant_id=invitation.tenant_id, client_id=None, params={}, state={},
                return_url=invitation.redirect_url or None, invitation_id=invitation.id)
    flow.user = None
    db.session.add(flow)
    record(flow.id, "request", "redeem", {"invitation": invitation.id})
    return go_next(flow)
