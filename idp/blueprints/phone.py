"""The virtual phone's pages: the Microsoft Authenticator app and the Messages app (journey.md).

`/_emulator/phone/{phone-or-email}` opens the phone of a number or of a user. Plain forms that work
without JavaScript; the logic lives in idp.devices.phone and idp.devices.authenticator.
"""
from collections.abc import Mapping

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import StringField

from .. import clock
from ..devices import authenticator, phone as devices
from ..devices import push as pushes
from ..extensions import csrf, db
from ..journey.recorder import record
from ..models import User
from ..trainer import demo

bp = Blueprint("phone", __name__, url_prefix="/_emulator/phone")

class NotificationForm(FlaskForm):
    push_id = StringField()
    number = StringField()
    action = StringField()


def get_phone(key):
    found = devices.find(key)
    if found is None:
        abort(404)
    return found


def render(template, phone, **context):
    pending = pushes.pending(phone.user) if phone.user is not None else None
    return render_template(f"phone/{template}.html", phone=phone, pending=pending, now=demo.shown_time(clock.now(), "phone"),
                           sms_count=len(devices.sms(phone)), **context)


@bp.route("/")
def index():
    """Every phone the emulator knows: users with a number or a second factor."""
    users = db.session.scalars(select(User).where(or_(User.phone.is_not(None), User.mfa_method.is_not(None),
                                                      User.invited.is_(True))).order_by(User.email)).all()
    return render_template("phone/index.html", users=users)


@bp.route("/<key>")
def home(key):
    return render("home", get_phone(key))


@bp.route("/<key>/authenticator")
def authenticator_app(key):
    phone = get_phone(key)
    return render("authenticator", phone, accounts=devices.accounts(phone))


@bp.route("/<key>/authenticator/add")
def add_account(key):
    return render("add_account", get_phone(key))


@bp.route("/<key>/authenticator/work-or-school")
def account_type(key):
    return render("account_type", get_phone(key), form=FlaskForm())


@bp.route("/<key>/authenticator/scan", methods=["GET", "POST"])
def scan(key):
    """The camera: it "sees" the QR code shown to this user on proofup-app-qr."""
    phone = get_phone(key)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        account = authenticator.add_account_from_qr(phone.user) if phone.user is not None else None
        return redirect(url_for(".scan", key=phone.key, result="added" if account else "none"))
    return render("scan", phone, form=form, result=request.args.get("result"))


@bp.route("/<key>/notification", methods=["GET", "POST"])
def notification(key):
    phone = get_phone(key)
    form = NotificationForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        approve = form.action.data == "approve"
        answered = None
        if phone.user is not None:
            answered = authenticator.answer_push(phone.user, form.number.data, approve, push_id=form.push_id.data)
        result = answered.status if answered is not None else "none"
        if answered is not None:
            record(answered.flow_id, "input", "phone-notification", {"action": form.action.data, "number": ""})
        return redirect(url_for(".notification", key=phone.key, result=result))
    result = request.args.get("result")
    return render("notification", phone, form=form, result=result,
                  result_text=pushes.text(result, "phone-notification"))


@bp.route("/<key>/messages")
def messages(key):
    phone = get_phone(key)
    return render("messages", phone, messages=devices.sms(phone))


@bp.route("/<key>/status.json")
def status(key):
    """What changed on the phone, for its small refresh script."""
    phone = get_phone(key)
    pending = pushes.pending(phone.user) if phone.user is not None else None
    body = {"push": pending.id if pending else None, "sms": len(devices.sms(phone)),
            "accounts": len(authenticator.accounts(phone.user)) if phone.user is not None else 0}
    return jsonify(body)


@bp.route("/activate/<activation>", methods=["POST"])
@csrf.exempt
def activate(activation):
    """The activation URL of the QR code, as the real app calls it (code in the form or JSON body)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, Mapping):  # a JSON number, list or string: no code in it
        data = {}
    account = authenticator.activate(activation, data.get("code"))
    if account is None:
        return jsonify({"error": "unknown or expired activation, or wrong code"}), 404
    return jsonify({"added": True, "account": account.user.email})
