"""The emulator's own pages under /_emulator/: home with links, users and recent journeys."""
from flask import Blueprint, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Client, Flow, Tenant, User

bp = Blueprint("emulator", __name__, url_prefix="/_emulator")


@bp.route("/")
def home():
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.domain)).all()
    users = db.session.scalars(select(User).order_by(User.email)).all()
    clients = db.session.scalars(select(Client).order_by(Client.name)).all()
    flows = db.session.scalars(select(Flow).order_by(Flow.created_at.desc()).limit(20)).all()
    return render_template("emulator/home.html", tenants=tenants, users=users, clients=clients, flows=flows)
