"""The emulator's own pages under /_emulator/: home with links, users and recent journeys; the journey recorder."""
from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import select

from ..extensions import db
from ..journey import timeline
from ..models import Client, Flow, Tenant, User
from ..trainer import demo

bp = Blueprint("emulator", __name__, url_prefix="/_emulator")


@bp.app_context_processor
def demo_context():
    """Every page of the IdP (screens, mailbox, phone, emulator pages) says discreetly when it is in demo mode."""
    return {"demo_mode": demo.active(), "demo_time": demo.shown_time}


@bp.route("/")
def home():
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.domain)).all()
    users = db.session.scalars(select(User).order_by(User.email)).all()
    clients = db.session.scalars(select(Client).order_by(Client.name)).all()
    journeys = timeline.recent(limit=20)
    return render_template("emulator/home.html", tenants=tenants, users=users, clients=clients, journeys=journeys)


@bp.route("/journeys/<flow_id>")
def journey(flow_id):
    """The recorder's timeline of one journey (HTML, or JSON with ?format=json); never a secret."""
    flow = db.session.get(Flow, flow_id)
    if flow is None:
        abort(404)
    data = timeline.export(flow)
    if request.args.get("format") == "json":
        return jsonify(data)
    return render_template("emulator/journey.html", journey=data)
