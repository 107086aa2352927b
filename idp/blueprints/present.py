"""The trainer's presenter view and the gallery of screens (issue 13).

`/_emulator/present`: one projected page with the PC journey (the real pages, in a frame), the client's virtual
phone beside it, the guide's step rail and its callout for the page shown, and the codes of the moment. The page
follows the frame by itself (static/js/present.js): an IdP page (same origin) says its `data-screen`, an Espace
Client page (another port) tells it by postMessage. The callouts live in this page only, never in the real pages.

`/_emulator/screens`: every screen with its place in the guide; « Commencer ici » prepares a new client at that
screen (idp/trainer/start.py) and opens it in the presenter view.
"""
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..devices import push as pushes
from ..extensions import db
from ..journey import timeline
from ..models import Flow, Message, Tenant, User
from ..trainer import demo, start as starting, steps
from ..trainer.steps import AUTHENTICATOR, METHODS, PARTS, STEPS

bp = Blueprint("present", __name__, url_prefix="/_emulator")


def _client_origin():
    """The Espace Client's origin (another port): the only other place the PC frame may open."""
    tenant = db.session.scalars(select(Tenant).order_by(Tenant.domain)).first()
    home = starting.espace_client(tenant) if tenant is not None else None
    if not home:
        return None
    parts = urlsplit(home)
    return f"{parts.scheme}://{parts.netloc}"


def _frame_url(value, client_origin):
    """A URL the PC frame may open: a path of this server, or a page of the Espace Client; else None."""
    if not value:
        return None
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    if client_origin and (value == client_origin or value.startswith(client_origin + "/")):
        return value
    return None


def _placed(step, method):
    """A step as the presenter's script reads it: its place on the branch, its texts in the page's language."""
    place = steps.place(step.screen, method)
    return {
        "screen": step.screen, "page": step.data_screen, "device": step.device, "beside": step.beside,
        "part": place.part, "part_title": _(place.part_title), "number": place.number, "total": place.total,
        "title": _(step.title),
        "callouts": [{"text": _(c.text), "target": c.target} for c in step.callouts],
    }


def _rail(method):
    return [{"part": part.number, "title": _(part.title), "banner": _(part.banner),
             "steps": [_placed(step, method) for step in screens]} for part, screens in steps.guide(method)]


@bp.route("/present")
def present():
    """The presenter view of one client (`user`), on one branch (`method`), the PC frame at `pc` (a start page)."""
    method = request.args.get("method") if request.args.get("method") in METHODS else AUTHENTICATOR
    email = (request.args.get("user") or "").strip().lower()
    user = User.by_email(email) if email else None
    users = db.session.scalars(select(User).order_by(User.email)).all()
    if user is None:
        return render_template("present/choose.html", users=users, method=method, methods=METHODS,
                               lang=str(get_locale() or "fr"), missing=email or None)
    client_origin = _client_origin()
    pc = _frame_url(request.args.get("pc"), client_origin) or url_for("mailbox.index", to=user.email)
    phone = _frame_url(request.args.get("phone"), None) or url_for("phone.home", key=user.email)
    data = {
        "method": method, "user": user.email, "client_origin": client_origin,
        "state_url": url_for("present.state", user=user.email),
        "phone_base": url_for("phone.index"),
        "steps": {screen: _placed(step, method) for screen, step in STEPS.items()},
        "labels": {"part": _("Partie %(n)s"), "step": _("Étape %(n)s sur %(total)s"), "outside": _("Hors du guide"),
                   "phone_step": _("Téléphone — étape %(n)s sur %(total)s"), "prerequisite": _("Prérequis")},
    }
    return render_template("present/present.html", user=user, method=method, methods=METHODS, pc=pc, phone=phone,
                           rail=_rail(method), data=data, lang=str(get_locale() or "fr"))


def codes(user):
    """The codes of the moment for this client: the last email code, the last SMS code, the number to match."""
    email_code = db.session.scalar(select(Message.code).where(Message.to == user.email, Message.channel == "email",
                                                              Message.code.is_not(None))
                                   .order_by(Message.id.desc()).limit(1))
    flows = select(Flow.id).where(Flow.user_id == user.id)
    targets = [user.phone] if user.phone else []
    sms_code = db.session.scalar(select(Message.code).where(Message.channel == "sms", Message.code.is_not(None),
                                                            (Message.flow_id.in_(flows)) | (Message.to.in_(targets)))
                                 .order_by(Message.id.desc()).limit(1))
    push = pushes.pending(user)
    return {"email_code": email_code, "sms_code": sms_code, "push_number": push.number if push else None}


@bp.route("/present/state")
def state():
    """What the presenter polls: the client's codes, demo mode, and the screen of their latest open IdP flow."""
    user = User.by_email((request.args.get("user") or "").strip().lower())
    if user is None:
        return jsonify({"error": "unknown user"}), 404
    flow = db.session.scalars(select(Flow).where(Flow.user_id == user.id, Flow.completed_at.is_(None))
                              .order_by(Flow.updated_at.desc(), Flow.created_at.desc()).limit(1)).first()
    screen = timeline.current_screen(flow) if flow is not None else None
    # The number typed on proofup-sms-phone: its phone gets the SMS until the number is the user's.
    typed = ((flow.get("proofup") or {}).get("phone") or {}).get("e164") if flow is not None else None
    result = {"user": user.email, "demo": demo.active(), "codes": codes(user), "screen": screen,
              "sms_phone": typed or user.phone}
    return jsonify(result)


# --- the gallery --------------------------------------------------------------------------------

@bp.route("/screens")
def screens():
    """Every screen, part by part, with its place in the guide, and « Commencer ici » where it can be prepared."""
    listed, sections = set(), []
    for part in PARTS.values():
        items = []
        for method in METHODS:
            for screen in steps.ORDER[method][part.number]:
                if screen not in listed:
                    listed.add(screen)
                    items.append(_card(screen))
        if part.number == 1:
            items += [_card(s) for m in METHODS for s in steps.PHONE_ORDER[m] if s not in listed]
            listed.update(s for m in METHODS for s in steps.PHONE_ORDER[m])
        sections.append({"title": _(part.title), "banner": _(part.banner), "cards": items})
    rest = [_card(s) for s in STEPS if s not in listed]
    sections.append({"title": _(steps.RETURNING), "banner": None, "cards": rest})
    return render_template("present/screens.html", sections=sections, lang=str(get_locale() or "fr"))


def _card(screen):
    method = starting.method_of(screen)
    placed = _placed(STEPS[screen], method)
    placed["method"] = method
    placed["can_start"] = starting.can_start(screen)
    placed["thumbnail"] = _thumbnail(screen)
    return placed


def _thumbnail(screen):
    """The URL of the screen's thumbnail shipped with the package (`idp-emulator guide --thumbnails`), or None
    for a screen the guide's journey never shows (its card stays a schematic one)."""
    name = f"img/screens/{screen}.webp"
    if not (Path(current_app.static_folder) / name).is_file():
        return None
    return url_for("static", filename=name)


@bp.route("/screens/<screen>/start", methods=["POST"])
def start(screen):
    """« Commencer ici »: a new client at `screen` in this browser, shown in the presenter view."""
    if screen not in STEPS:
        abort(404)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        email, method, pc, phone = starting.start(screen)
    except starting.CannotStart:
        db.session.rollback()
        return render_template("present/cannot_start.html", step=_placed(STEPS[screen], starting.method_of(screen)),
                               lang=str(get_locale() or "fr")), 409
    return redirect(url_for("present.present", user=email, method=method, pc=pc, phone=phone, screen=screen))
