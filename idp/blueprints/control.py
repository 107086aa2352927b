"""The control API (JSON) for QA scripts: scenarios, users, messages, devices, settings, clock, faults, journeys.

Described by /_emulator/api/openapi.json (idp/openapi.py). Bound to loopback by default: when the
server listens on another address, or IDP_CONTROL_KEY is set, every call needs
`Authorization: Bearer <IDP_CONTROL_KEY>`; a call from another origin is refused (both in idp.security).
"""
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, jsonify, request, url_for
from sqlalchemy import delete, select, update

from .. import clock, operations, seeds
from .. import settings as qa
from ..devices import otp
from ..devices import push as pushes
from ..devices.messages import delivered
from ..database import insert_missing
from ..extensions import csrf, db
from ..journey import timeline
from ..models import (AuthenticatorAccount, AuthorizationCode, Client, Consent, Flow, Message, OneTimeCode,
                      PushRequest, RefreshToken, SessionAccount, User)
from ..operations import OperationError

bp = Blueprint("control", __name__, url_prefix="/_emulator/api")
# A JSON API for scripts, protected by loopback or a bearer key, not by browser cookies.
csrf.exempt(bp)

class ApiError(OperationError):
    """An error answered as {"error": {"status": N, "message": "…"}}."""


@bp.errorhandler(OperationError)
def api_error(exc):
    db.session.rollback()
    return jsonify({"error": {"status": exc.status, "message": exc.message}}), exc.status, exc.headers


def body(required=True):
    """Return the request's JSON object, or raise 400."""
    data = request.get_json(silent=True)
    if data is None and not required and not request.get_data():
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object (Content-Type: application/json).")
    return data


def iso(moment):
    return moment.isoformat(timespec="milliseconds") + "Z" if moment is not None else None


def find_user(email):
    user = User.by_email(email)
    if user is None:
        raise ApiError(404, f"No user {email!r}.")
    return user


def user_json(user):
    return {
        "email": user.email,
        "name": user.name,
        "state": user.state,
        "locked": user.is_locked(),
        "locked_until": iso(user.locked_until) if user.is_locked() else None,
        "invited": user.invited,
        "has_account": user.has_account,
        "mfa_method": user.mfa_method,
        "phone": user.phone,
        "oid": user.oid,
        "tenant": user.tenant.domain,
        "created_at": iso(user.created_at),
        "mailbox_url": url_for("emulator.home", _external=True) + "mailbox?" + urlencode({"to": user.email}),
        "phone_url": url_for("emulator.home", _external=True) + "phone/" + quote(user.email),
    }


def message_json(message):
    return {
        "id": message.id,
        "channel": message.channel,
        "to": message.to,
        "from": message.sender,
        "subject": message.subject,
        "text": message.body_text,
        "code": message.code,
        "links": list(message.links or []),
        "journey": message.flow_id,
        "created_at": iso(message.created_at),
        "delivered_at": iso(message.deliver_at),
    }


# --- scenarios ---------------------------------------------------------------------------------

@bp.get("/scenarios")
def list_scenarios():
    return jsonify({"scenarios": operations.scenarios()})


@bp.post("/reset")
def reset():
    name = body(required=False).get("scenario", "default")
    tenant = operations.reset(name)
    return jsonify({"scenario": name, "tenant": tenant.domain,
                    "users": [u.email for u in db.session.scalars(select(User).order_by(User.email))]})


# --- users -------------------------------------------------------------------------------------

@bp.get("/users")
def list_users():
    users = db.session.scalars(select(User).order_by(User.email)).all()
    return jsonify({"users": [user_json(u) for u in users]})


def _check_user_body(data):
    """The seeds' user rule (seeds.check_user), plus what only a request body can get wrong."""
    unknown = set(data) - {*seeds.USER_FIELDS, "tenant"} - {"birth_date", "guest", "idp"}
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(sorted(unknown))}.")
    try:
        seeds.check_user({k: v for k, v in data.items() if k != "tenant"})
    except seeds.UserError as exc:
        raise ApiError(400, f"{exc}.") from None
    for client_id in data.get("consents") or []:
        if db.session.get(Client, client_id) is None:
            raise ApiError(400, f"'consents': no client {client_id!r}.")


@bp.post("/users")
def create_user():
    data = body()
    _check_user_body(data)
    tenant = operations.tenant(data.get("tenant"))
    email = data["email"].strip().lower()
    # One statement decides who creates the user: two identical requests at once get 201 and 409, never a 500.
    if not insert_missing(User, ("email",), email=email, tenant_id=tenant.id):
        raise ApiError(409, f"User {email!r} already exists; DELETE it first or use another email.")
    item = {k: v for k, v in data.items() if k != "tenant" and v is not None}
    user = seeds.apply_user(tenant, item)
    response = jsonify(user_json(user))
    response.status_code = 201
    response.headers["Location"] = url_for("control.get_user", email=user.email)
    return response


@bp.get("/users/<email>")
def get_user(email):
    return jsonify(user_json(find_user(email)))


@bp.delete("/users/<email>")
def delete_user(email):
    user = find_user(email)
    for model in (SessionAccount, Consent, AuthorizationCode, RefreshToken, OneTimeCode, AuthenticatorAccount, PushRequest):
        db.session.execute(delete(model).where(model.user_id == user.id))
    db.session.execute(update(Flow).where(Flow.user_id == user.id).values(user_id=None))
    db.session.delete(user)
    return "", 204


# --- invitations -------------------------------------------------------------------------------

@bp.post("/invitations")
def invite():
    data = body()
    user, invitation, url, sent = operations.invite(
        data.get("email"), name=data.get("name"), redirect_url=data.get("redirect_url"), send=data.get("send", True),
        tenant_name=data.get("tenant"))
    response = jsonify({"id": invitation.id, "email": invitation.email, "inviteRedeemUrl": url,
                        "inviteRedirectUrl": invitation.redirect_url, "sent": sent, "user": user_json(user)})
    response.status_code = 201
    return response


# --- messages ----------------------------------------------------------------------------------

@bp.get("/messages")
def list_messages():
    query = select(Message)
    channel = request.args.get("channel")
    if channel:
        if channel not in ("email", "sms"):
            raise ApiError(400, "'channel' must be email or sms.")
        query = query.where(Message.channel == channel)
    to = (request.args.get("to") or "").strip()
    if to:
        targets = {to.lower(), to}
        user = User.by_email(to) if "@" in to else None
        if user is not None and user.phone:
            targets.add(user.phone)  # an email also finds the SMS sent to that user's phone
        query = query.where(Message.to.in_(targets))
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 500)
    except ValueError:
        raise ApiError(400, "'limit' must be an integer.") from None
    rows = db.session.scalars(delivered(query).order_by(Message.deliver_at.desc(), Message.id.desc()).limit(limit)).all()
    return jsonify({"messages": [message_json(m) for m in rows]})


# --- devices -----------------------------------------------------------------------------------

@bp.get("/users/<email>/totp")
def totp(email):
    user = find_user(email)
    current = otp.current_totp(user)
    if current is None:
        raise ApiError(409, f"{user.email!r} has no authenticator app registered (state {user.state}).")
    return jsonify(current)


def push_json(push):
    faulty = qa.faults().get("push") == "timeout"
    return {"id": push.id, "number": push.number, "status": push.status, "journey": push.flow_id,
            "created_at": iso(push.created_at), "expires_at": iso(push.expires_at), "delivered": not faulty}


def _pending_push(email):
    user = find_user(email)
    push = pushes.pending(user)
    if push is None:
        raise ApiError(404, f"No pending Authenticator notification for {user.email!r}.")
    return push


@bp.get("/users/<email>/push")
def get_push(email):
    push = _pending_push(email)
    return jsonify(push_json(push))


def _answer_push(email, approve):
    push = _pending_push(email)
    if qa.faults().get("push") == "timeout":
        raise ApiError(409, "The push fault 'timeout' is on: the notification never reaches the phone.")
    number = None
    if approve:
        number = body(required=False).get("number")
        if number is not None and type(number) is not int:
            raise ApiError(400, "'number' must be the integer shown on the sign-in screen.")
    status = pushes.answer(push, approve, number)
    return jsonify(push_json(push) | {"status": status})


@bp.post("/users/<email>/push/approve")
def approve_push(email):
    return _answer_push(email, True)


@bp.post("/users/<email>/push/deny")
def deny_push(email):
    return _answer_push(email, False)


# --- captcha -----------------------------------------------------------------------------------

@bp.get("/captcha")
def captcha():
    from ..journey.captcha import current_answer

    email = (request.args.get("email") or "").strip().lower()
    if not email:
        raise ApiError(400, "'email' is required: the address of the user at the captcha screen.")
    for flow in db.session.scalars(select(Flow).where(Flow.email == email, Flow.completed_at.is_(None))
                                   .order_by(Flow.updated_at.desc(), Flow.created_at.desc()).limit(20)):
        if timeline.current_screen(flow) == "captcha":
            answer = current_answer(flow)
            if answer is None:
                raise ApiError(409, f"The captcha of {email!r} has not been shown yet: open the captcha screen first.")
            return jsonify({"journey": flow.id, "mode": qa.captcha_mode(), "answer": answer})
    raise ApiError(404, f"No journey of {email!r} is at the captcha screen.")


# --- settings, clock, faults -------------------------------------------------------------------

@bp.get("/settings")
def get_settings():
    return jsonify(qa.current())


@bp.put("/settings")
def put_settings():
    return jsonify(operations.change_settings(body()))


@bp.get("/clock")
def get_clock():
    return jsonify({"offset_seconds": clock.offset_seconds(), "now": iso(clock.now())})


@bp.put("/clock")
def put_clock():
    offset = body().get("offset_seconds")
    if type(offset) is not int or abs(offset) > 10 * 366 * 86400:
        raise ApiError(400, "'offset_seconds' must be an integer (seconds from real time, at most ten years).")
    clock.move(offset)
    return jsonify({"offset_seconds": offset, "now": iso(clock.now())})


@bp.get("/faults")
def get_faults():
    return jsonify(qa.current()["faults"])


@bp.put("/faults")
def put_faults():
    try:
        qa.apply_faults(body())
    except qa.SettingsError as exc:
        raise ApiError(400, str(exc)) from None
    return jsonify(qa.current()["faults"])


# --- journeys ----------------------------------------------------------------------------------

@bp.get("/journeys")
def list_journeys():
    try:
        limit = min(max(int(request.args.get("limit", 20)), 1), 200)
    except ValueError:
        raise ApiError(400, "'limit' must be an integer.") from None
    return jsonify({"journeys": timeline.recent(limit=limit, email=request.args.get("email"))})


@bp.get("/journeys/<journey_id>")
def get_journey(journey_id):
    flow = db.session.get(Flow, journey_id)
    if flow is None:
        raise ApiError(404, f"No journey {journey_id!r}.")
    return jsonify(timeline.export(flow))


# --- the document ------------------------------------------------------------------------------

@bp.get("/openapi.json")
def openapi():
    from ..openapi import document

    base = current_app.config.get("IDP_BASE_URL") or request.url_root.rstrip("/")
    return jsonify(document(base + bp.url_prefix))
